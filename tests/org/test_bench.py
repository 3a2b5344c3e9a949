"""``make bench``'s organisation at a small size: generated repositories audited in one
process and on a real two-worker Dask cluster, the table printed, the same bytes signed."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from tests.bench import fanout


def test_the_organisation_bench_compares_one_process_with_two_workers(tmp_path: Path) -> None:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        fanout.report(tmp_path, small=True)
    lines = printed.getvalue().splitlines()
    assert lines[0] == "organisation of 3 repositories, one a monorepo of 3 path-scoped services"
    rows = {line[:34].strip(): line[34:].split() for line in lines[2:] if line.strip()}
    assert rows[""] == ["one", "process", "2", "workers"]
    assert len(rows["audit (s, wall clock)"]) == 2
    assert rows["peak memory, worker 1 (MiB)"][0] == "-"
    assert float(rows["peak memory, worker 2 (MiB)"][1]) > 0
    # Every generated month holds unreviewed commits: both runs find them.
    assert rows["exit code"] == ["1", "1"]
    assert lines[-1] == "the same signed bytes in one process and on the cluster: yes"
    org = (tmp_path / "small-fanout" / "org.yaml").read_text()
    assert "paths:\n    - services/svc00/**" in org
