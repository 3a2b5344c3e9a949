"""``make bench``'s organisation at a small size: the generated repositories and the org.yaml
naming them, one a monorepo of path-scoped services. (Timing them, in one process and on a
two-worker cluster, is ``make bench``'s; that both sign the same bytes is test_dask's.)"""

from __future__ import annotations

from pathlib import Path

from checker.org.model import load_org
from tests.bench import fanout


def test_the_bench_organisation_is_a_valid_org_with_a_path_scoped_monorepo(
    tmp_path: Path,
) -> None:
    root = fanout.build(tmp_path, fanout.SMALL_SYSTEMS, small=True)
    org = load_org(root / "org.yaml")
    assert [s.name for s in org.systems] == ["s000", "s001", "s002"]
    monorepo, other, _ = org.systems
    assert monorepo.service_paths == {
        f"s000/svc{n:02d}": [f"services/svc{n:02d}/**"] for n in range(3)
    }
    assert other.service_paths == {}
    for system in org.systems:
        assert (Path(system.location) / ".git").is_dir()
        assert system.evidence_path is not None
        assert any(system.evidence_path.glob("deploys.*"))
    # Cached: a second build does not generate the repositories again.
    stamp = root / "repos" / "s001" / "size.json"
    before = stamp.stat().st_mtime_ns
    fanout.build(tmp_path, fanout.SMALL_SYSTEMS, small=True)
    assert stamp.stat().st_mtime_ns == before
