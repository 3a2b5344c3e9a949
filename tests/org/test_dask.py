"""The systems fanned out on real ``dask.distributed`` clusters: a local cluster of one worker
process and an existing cluster of two (``--scheduler``) sign the same bytes as judging in
this process, whatever order the workers finish in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dask.distributed import LocalCluster

from checker.org.fanout import Placement, judge_all
from checker.org.model import load_org
from checker.runner import CheckOptions
from tests.org.orgcase import Org, three_teams


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Org:
    return three_teams(tmp_path_factory.mktemp("org"), failing="web")


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    """An existing cluster of two worker processes, as an operator would run one."""
    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
        silence_logs=50,
    ) as running:
        yield running


def test_one_and_two_workers_sign_the_same_bytes_as_this_process(
    org: Org, cluster: LocalCluster, tmp_path: Path
) -> None:
    here = org.audit(tmp_path / "here.json", "--workers", "0")
    one = org.audit(tmp_path / "one.json", "--workers", "1")
    two = org.audit(tmp_path / "two.json", "--scheduler", cluster.scheduler_address)
    assert here.code == one.code == two.code == 1, (here.err, one.err, two.err)
    assert "system web: fail" in two.err
    signed = (tmp_path / "here.json").read_bytes()
    assert (tmp_path / "one.json").read_bytes() == signed
    assert (tmp_path / "two.json").read_bytes() == signed


def test_the_results_come_back_sorted_whatever_order_the_systems_were_given(
    org: Org, cluster: LocalCluster
) -> None:
    systems = load_org(org.write()).systems
    base = CheckOptions(period="2024-03", audit=True)
    placement = Placement(scheduler=cluster.scheduler_address)
    forwards = judge_all(systems, base, placement)
    backwards = judge_all(tuple(reversed(systems)), base, placement)
    assert (
        [r.name for r in forwards] == [r.name for r in backwards] == ["ledger", "payments", "web"]
    )
    assert forwards == backwards


def test_a_scheduler_that_is_not_there_is_said_so(org: Org, tmp_path: Path) -> None:
    result = org.audit(tmp_path / "x.json", "--scheduler", "tcp://127.0.0.1:9")
    assert result.code == 3
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in result.err
    assert not (tmp_path / "x.json").exists()


def test_closing_the_embedded_engine_drops_it_on_the_closing_thread() -> None:
    """A Dask worker's profiler thread may hold a judging frame last; regorus's engine may
    only be dropped on the thread that made it, so closing drops it there and then."""
    from checker.engine import embedded_engine

    engine = embedded_engine()
    inner = engine._engine if hasattr(engine, "_limits") else engine  # type: ignore[attr-defined]
    assert inner._engine is not None
    engine.close()
    assert inner._engine is None
