"""The git collector against git itself: ranges, resolution, trailers, and process count."""

from __future__ import annotations

import itertools
import os
import subprocess
from pathlib import Path

import git
import pytest

from checker.demo.builder import ScriptedRepo
from checker.errors import InputError
from checker.evidence.git import GitHistory, ObjectId
from checker.evidence.git_content import TreeIndex, commit_review_lines
from tests.conftest import DEV, LEAD


def _date(n: int) -> str:
    return f"2024-01-01T00:{n // 60:02d}:{n % 60:02d}Z"


@pytest.fixture
def merged(tmp_path: Path) -> tuple[ScriptedRepo, dict[str, str]]:
    """main with two feature branches merged, one of them branched before the other merged."""
    repo = ScriptedRepo(tmp_path / "repo")
    s: dict[str, str] = {}
    counter = itertools.count()
    s["m0"] = repo.commit("m0", {"m": "0"}, author=DEV, date=_date(next(counter)))
    s["m1"] = repo.commit("m1", {"m": "1"}, author=DEV, date=_date(next(counter)))
    repo.branch("a")
    s["a1"] = repo.commit("a1", {"a": "1"}, author=DEV, date=_date(next(counter)))
    s["a2"] = repo.commit("a2", {"a": "2"}, author=DEV, date=_date(next(counter)))
    repo.checkout("main")
    repo.branch("b")
    s["b1"] = repo.commit("b1", {"b": "1"}, author=DEV, date=_date(next(counter)))
    repo.checkout("main")
    s["m2"] = repo.commit("m2", {"m": "2"}, author=DEV, date=_date(next(counter)))
    s["ma"] = repo.merge("a", "merge a", author=LEAD, date=_date(next(counter)))
    s["m3"] = repo.commit("m3", {"m": "3"}, author=DEV, date=_date(next(counter)))
    s["mb"] = repo.merge("b", "merge b", author=LEAD, date=_date(next(counter)))
    return repo, s


def test_range_matches_git_rev_list_for_every_pair(
    merged: tuple[ScriptedRepo, dict[str, str]],
) -> None:
    repo, shas = merged
    history = GitHistory(repo.path)
    history.load(list(shas.values()))
    for tip, exclude in itertools.product(shas.values(), repeat=2):
        want = sorted(repo.git("rev-list", tip, f"^{exclude}").split())
        assert history.range(tip, exclude) == want, (tip, exclude)


def test_loads_add_up_to_one_load_of_everything(
    merged: tuple[ScriptedRepo, dict[str, str]],
) -> None:
    """A background load of the branch, then the rest: same graph as one load of all."""
    repo, shas = merged
    repo.checkout("a")
    shas["a3"] = repo.commit("a3", {"a": "3"}, author=DEV, date=_date(99))  # off main
    whole = GitHistory(repo.path)
    whole.load(list(shas.values()))
    parts = GitHistory(repo.path)
    parts.load_in_background([shas["m2"]])
    parts.load([shas["a3"], shas["m2"]])
    parts.load([shas["mb"], shas["a1"]])
    assert parts.commits == whole.commits
    assert parts._generation == whole._generation
    for tip, exclude in itertools.product(shas.values(), repeat=2):
        assert parts.range(tip, exclude) == whole.range(tip, exclude)
    parts.close()
    whole.close()


def test_a_background_load_that_fails_fails_the_next_load(tmp_path: Path) -> None:
    repo = ScriptedRepo(tmp_path / "repo")
    repo.commit("c0", {"f": "0"}, author=DEV, date=_date(0))
    history = GitHistory(repo.path)
    history.load_in_background(["f" * 40])
    with pytest.raises(InputError, match=r"git object f{40} cannot be read"):
        history.load([])
    history.close()


def test_ancestors_matches_git(merged: tuple[ScriptedRepo, dict[str, str]]) -> None:
    repo, shas = merged
    history = GitHistory(repo.path)
    history.load([shas["mb"]])
    assert history.ancestors(shas["ma"]) == set(repo.git("rev-list", shas["ma"]).split())


def test_in_history_of_matches_merge_base_for_every_pair(
    merged: tuple[ScriptedRepo, dict[str, str]],
) -> None:
    """One walk answers for every commit asked about what ``git merge-base --is-ancestor``
    answers for each, across branches and merges, the commit itself included."""
    repo, shas = merged
    history = GitHistory(repo.path)
    every = list(shas.values())
    for descendant in every:
        expected = {sha for sha in every if history.is_ancestor(sha, descendant)}
        assert history.in_history_of(every, descendant) == expected, descendant
        assert history.in_history_of([], descendant) == set()
    history.close()


def test_first_reaching_matches_git_for_any_wanted_set(
    merged: tuple[ScriptedRepo, dict[str, str]],
) -> None:
    """Whatever the wanted commits (one range, two ranges with a gap between them, commits
    that descend from one another) and the order of the tips: each wanted commit's first tip
    is the first that git's ``rev-list`` reaches it from. Stopping the walk at a wanted
    commit's parent that descends from another wanted commit hid that commit (a change
    deployed from its branch before its late approval passed the merge gate)."""
    repo, shas = merged
    history = GitHistory(repo.path)
    sets = [{shas[n] for n in chosen} for chosen in itertools.combinations(sorted(shas), 2)]
    sets += [set(shas.values()), {shas[n] for n in ("m0", "m1", "ma", "m3")}]  # gaps
    below = {n: set(repo.git("rev-list", shas[n]).split()) for n in shas}
    for order in (("a2", "m3", "mb"), ("b1", "a1", "m2"), ("mb",), ("m0", "ma", "m0")):
        tips = [shas[n] for n in order]
        for wanted in sets:
            expected = {
                w: next(i for i, n in enumerate(order) if w in below[n])
                for w in wanted
                if any(w in below[n] for n in order)
            }
            assert history.first_reaching(tips, wanted) == expected, (order, wanted)
    history.close()


def test_resolve_abbreviated_refs_tags_and_garbage(
    merged: tuple[ScriptedRepo, dict[str, str]],
) -> None:
    repo, shas = merged
    repo.git("tag", "-a", "v1", "-m", "annotated", shas["m1"])
    history = GitHistory(repo.path)
    got = history.resolve([shas["a1"][:7], "b", "v1", "main~1", "nope", "", "two words"])
    assert got == {
        shas["a1"][:7]: shas["a1"],
        "b": shas["b1"],
        "v1": shas["m1"],  # an annotated tag peels to its commit
        "main~1": shas["m3"],
        "nope": None,
        "": None,
        "two words": None,
    }


def test_protected_branch_falls_back_to_origin(
    tmp_path: Path, merged: tuple[ScriptedRepo, dict[str, str]]
) -> None:
    repo, shas = merged
    clone = tmp_path / "clone"
    repo.git("clone", "--quiet", "--no-checkout", f"file://{repo.path}", str(clone))
    subprocess.run(["git", "checkout", "--quiet", "--detach", shas["m3"]], cwd=clone, check=True)
    subprocess.run(["git", "branch", "--quiet", "-D", "main"], cwd=clone, check=True)
    history = GitHistory(clone)
    assert history.resolve_branch("main") == shas["mb"]  # refs/remotes/origin/main


def test_the_protected_branch_is_a_branch_never_a_tag_or_another_rev(
    tmp_path: Path, merged: tuple[ScriptedRepo, dict[str, str]]
) -> None:
    """In a clone without ``main`` or ``origin/main``, a tag ``main`` (on a commit main never
    merged) was taken for the protected branch; so was any rev. Only a branch or a
    remote-tracking branch is one, by whatever name git reads it; anything else of that name is
    refused, named."""
    repo, shas = merged
    clone = tmp_path / "clone"
    repo.git("clone", "--quiet", "--no-checkout", f"file://{repo.path}", str(clone))

    def git_in_clone(*args: str) -> None:
        subprocess.run(["git", *args], cwd=clone, check=True, capture_output=True)

    git_in_clone("checkout", "--quiet", "--detach", shas["b1"])
    git_in_clone("branch", "--quiet", "-D", "main")
    # origin/HEAD itself (without --no-deref, git deletes origin/main through it and leaves
    # origin/HEAD pointing at nothing: a ref git cannot read, refused where it is read)
    git_in_clone("update-ref", "-d", "--no-deref", "refs/remotes/origin/HEAD")
    git_in_clone("update-ref", "-d", "refs/remotes/origin/main")
    git_in_clone("tag", "main", shas["b1"])
    history = GitHistory(clone)
    assert history.resolve_branch("main") is None
    with pytest.raises(InputError, match="'main' names the tag refs/tags/main"):
        history.refuse_non_branch("main")
    for rev, said in [
        ("HEAD", "is the ref HEAD"),
        (shas["m1"], "is a commit sha"),
        ("origin/b~1", "is a relative revision"),
    ]:
        assert history.resolve_branch(rev) is None
        with pytest.raises(InputError, match=f"is not a branch: .* {said}"):
            history.refuse_non_branch(rev)
    history.refuse_non_branch("nothing")  # nothing of that name: the caller's "not found"
    # A branch or remote-tracking branch counts, under any name git reads it by.
    git_in_clone("update-ref", "refs/remotes/upstream/main", shas["m2"])
    history = GitHistory(clone)
    assert history.resolve_branch("upstream/main") == shas["m2"]
    assert history.resolve_branch("refs/remotes/upstream/main") == shas["m2"]
    assert history.resolve_branch("origin/b") == shas["b1"]
    git_in_clone("update-ref", "refs/remotes/origin/main", shas["m3"])
    history = GitHistory(clone)
    assert history.resolve_branch("main") == shas["m3"]  # the tag is passed over
    git_in_clone("branch", "main", shas["mb"])
    history = GitHistory(clone)
    assert history.resolve_branch("main") == shas["m3"]  # origin's, over the clone's own
    assert history.resolve_branch("refs/heads/main") == shas["mb"]
    tip = history.branch_tip("main")
    assert tip is not None and (tip.ref, tip.commit) == ("refs/remotes/origin/main", shas["m3"])
    git_in_clone("update-ref", "-d", "refs/remotes/origin/main")
    history = GitHistory(clone)
    assert history.resolve_branch("main") == shas["mb"]  # the local branch, where it is alone


def test_a_branch_pushed_under_the_protected_branchs_written_name_does_not_stand_in_for_it(
    tmp_path: Path, merged: tuple[ScriptedRepo, dict[str, str]]
) -> None:
    """``protected_branch: origin/main`` (or ``refs/heads/main``): a branch pushed with that
    name is ``refs/remotes/origin/origin/main`` in a clone, and was found before the real
    one (and a local branch of that name, where CI checked the pushed branch out). A name
    with a remote's prefix is that remote's branch alone, a full name that ref alone."""
    repo, shas = merged
    repo.git("branch", "origin/main", shas["b1"])  # pushed by anyone who may push a branch
    repo.git("branch", "refs/heads/main", shas["b1"])
    clone = tmp_path / "clone"
    repo.git("clone", "--quiet", f"file://{repo.path}", str(clone))
    history = GitHistory(clone)
    main = history.resolve_branch("main")
    assert main is not None and main != shas["b1"]
    assert history.resolve_branch("origin/main") == main
    assert history.resolve_branch("refs/heads/main") == main
    assert history.resolve_branch("refs/remotes/origin/main") == main
    subprocess.run(["git", "update-ref", "-d", "refs/remotes/origin/main"], cwd=clone, check=True)
    history = GitHistory(clone)
    assert history.resolve_branch("origin/main") is None  # not origin/origin/main
    # A CI checkout of a pushed branch named origin/main makes it a local branch: not origin's.
    subprocess.run(["git", "branch", "origin/main", shas["b1"]], cwd=clone, check=True)
    assert GitHistory(clone).resolve_branch("origin/main") is None
    subprocess.run(["git", "update-ref", "refs/remotes/origin/main", main], cwd=clone, check=True)
    assert GitHistory(clone).resolve_branch("origin/main") == main
    # A remote configured but never fetched: its branch is not origin's branch of that name.
    repo.git("branch", "upstream/main", shas["b1"])
    subprocess.run(["git", "fetch", "--quiet", "origin"], cwd=clone, check=True)
    subprocess.run(["git", "remote", "add", "upstream", str(repo.path)], cwd=clone, check=True)
    assert GitHistory(clone).resolve_branch("upstream/main") is None
    # No remote of that name: only a branch so named, which anyone may push.
    with pytest.raises(InputError, match="'team' is no remote of this clone"):
        GitHistory(clone).resolve_branch("team/main")


def test_review_lines_are_read_from_the_message(tmp_path: Path) -> None:
    repo = ScriptedRepo(tmp_path / "repo")
    sha = repo.commit(
        "subject\n\nbody mentions Reviewed-by: nobody@example.com in prose",
        {"x": "1"},
        author=DEV,
        date=_date(0),
        trailers=(
            "Signed-off-by: Dana Dev <dana@example.com>",
            "Reviewed-by: Lee Lead <lee@example.com>",
            "approved-by: kim@example.com",
            "Co-authored-by: Pat <pat@example.com>",
        ),
    )
    history = GitHistory(repo.path)
    history.load([sha])
    commit = history.commits[sha]
    assert commit_review_lines(history, [sha]) == {
        sha: [
            ("Reviewed-by", "Lee Lead <lee@example.com>"),
            ("approved-by", "kim@example.com"),
            ("Co-authored-by", "Pat <pat@example.com>"),
        ]
    }
    assert commit.author_email == "dana@example.com"
    assert commit.author_mapped == "dana@example.com"
    assert commit.parents == ()


def test_a_separator_in_the_author_address_injects_nothing(tmp_path: Path) -> None:
    """git keeps control characters inside an author's address; the parser must not split on
    them (the address then names nobody), and no review appears from outside the message."""
    repo = ScriptedRepo(tmp_path / "repo")
    forged = "dana@example.com\x1f1700000000\x1f\x1eReviewed-by: lee@example.com"
    sha = repo.commit("unreviewed", {"x": "1"}, author=f"Dana <{forged}>", date=_date(0))
    history = GitHistory(repo.path)
    history.load([sha])
    commit = history.commits[sha]
    assert "\x1f" in commit.author_email and commit.author_mapped == ""
    assert commit.author_time == 1704067200  # the real date, not the forged one
    assert commit_review_lines(history, [sha]) == {}


def test_replace_objects_and_grafts_are_ignored(tmp_path: Path) -> None:
    """History as its objects record it: a ``git replace`` or a graft could drop a commit
    from a range or swap its message."""
    repo = ScriptedRepo(tmp_path / "repo")
    first = repo.commit("first", {"x": "1"}, author=DEV, date=_date(0))
    hidden = repo.commit("hidden", {"x": "2"}, author=DEV, date=_date(1))
    last = repo.commit("last", {"x": "3"}, author=DEV, date=_date(2))
    reviewed = repo.commit(
        "stand-in", {"x": "4"}, author=DEV, date=_date(3), trailers=(f"Reviewed-by: {LEAD}",)
    )
    repo.git("replace", "--graft", last, first)
    repo.git("replace", hidden, reviewed)
    (repo.path / ".git" / "info" / "grafts").write_text(f"{last} {first}\n")
    assert repo.git("log", "--format=%s", last).split() == ["last", "first"]
    history = GitHistory(repo.path)
    history.load([last])
    assert history.range(last, first) == sorted([hidden, last])
    assert history.commits[last].parents == (hidden,)
    assert commit_review_lines(history, [hidden]) == {}


def test_evidence_revisions_are_object_ids_only(
    merged: tuple[ScriptedRepo, dict[str, str]],
) -> None:
    repo, shas = merged
    short = shas["a1"][:7]
    repo.git("tag", short, shas["b1"])  # a tag named like another commit's short sha
    repo.git("tag", "-a", "v1", "-m", "annotated", shas["m1"])
    history = GitHistory(repo.path)
    names = [shas["m0"], shas["m0"][:8], shas["m0"][:8].upper(), short, "b", "v1"]
    names += ["HEAD", "main~1", "main^", "main@{0}", "HEAD:m", "nope", "deadbeef"]
    got = history.resolve_ids(names)
    assert got[shas["m0"]] == ObjectId(shas["m0"])
    assert got[shas["m0"][:8]] == ObjectId(shas["m0"])
    assert got[shas["m0"][:8].upper()] == ObjectId(shas["m0"])
    assert got["deadbeef"] == ObjectId(None)  # a sha that is not there: absent, not refused
    assert got[short].sha is None and f"the ref refs/tags/{short}" in got[short].refused
    for name, kind in [
        ("b", "a ref (a branch or tag)"),
        ("v1", "a ref (a branch or tag)"),
        ("HEAD", "HEAD"),
        ("main~1", "a relative revision"),
        ("main^", "a relative revision"),
        ("main@{0}", "a reflog entry"),
    ]:
        assert got[name].sha is None
        assert got[name].refused.startswith(f"is {kind}, not a sha (it points at "), name
        assert got[name].refused.endswith("record the full commit sha")
    assert got["nope"] == ObjectId(None, "is not a sha; record the full commit sha")
    # A form git dies on (no upstream here) is refused all the same, with the others.
    got = history.resolve_ids(["main@{upstream}", "v1", shas["m0"]])
    assert got["main@{upstream}"] == ObjectId(None, "is not a sha; record the full commit sha")
    assert got["v1"].refused == "is not a sha; record the full commit sha"
    assert got[shas["m0"]] == ObjectId(shas["m0"])


def test_a_full_sha_that_is_also_a_ref_name_is_refused(
    merged: tuple[ScriptedRepo, dict[str, str]],
) -> None:
    repo, shas = merged
    repo.git("branch", shas["m0"], shas["b1"])
    got = GitHistory(repo.path).resolve_ids([shas["m0"], shas["m1"]])
    assert got[shas["m0"]].sha is None and "ambiguous" in got[shas["m0"]].refused
    assert got[shas["m1"]] == ObjectId(shas["m1"])


def test_mailmap_pairs_follow_git_check_mailmap(tmp_path: Path) -> None:
    repo = ScriptedRepo(tmp_path / "repo")
    repo.commit("x", {"x": "1"}, author="Dana Old <dana@old.example>", date=_date(0))
    (repo.path / ".mailmap").write_text(
        "<dana@example.com> <dana@old.example>\n"
        "Lee <lee@example.com> Lee Lead <lee.alt@example.com>\n"
    )
    history = GitHistory(repo.path)
    values = ["dana@old.example", "Lee Lead <lee.alt@example.com>", "me", "x\x1f@y.com"]
    assert history.mailmap(values) == [
        ("dana@old.example", "dana@example.com"),
        ("lee.alt@example.com", "lee@example.com"),  # the name-qualified entry, with the name
    ]
    history.load([history.head()])
    commit = history.commits[history.head()]
    assert (commit.author_email, commit.author_mapped) == ("dana@old.example", "dana@example.com")


def test_one_git_log_whatever_the_history_length(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[list[str]] = []
    real_execute = git.Git.execute

    def counting(self: git.Git, command: list[str], *args: object, **kwargs: object) -> object:
        calls.append(list(command))
        return real_execute(self, command, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(git.Git, "execute", counting)
    counts = []
    for size in (3, 40):
        repo = ScriptedRepo(tmp_path / f"r{size}")
        shas = [repo.commit(f"c{n}", {"f": str(n)}, author=DEV, date=_date(n)) for n in range(size)]
        calls.clear()
        history = GitHistory(repo.path)
        history.load(shas)
        assert len(history.commits) == size
        counts.append(len(calls))
        assert sum(1 for c in calls if c[1] == "log") == 1
    assert counts[0] == counts[1]


def test_tree_index_lists_files_in_sorted_order_like_git_grep(tmp_path: Path) -> None:
    """Paths come out of the tree walk already sorted, as git grep lists them; the names
    around "/" and beyond ASCII are where a tree walk could disagree with a sort."""
    repo = ScriptedRepo(tmp_path / "repo")
    names = ["a-b.py", "a.txt", "a/b.py", "a/b/c.py", "ab.py", "a0.py", "A.py", "é.py", "a/é.py"]
    sha = repo.commit(
        "files",
        {name: "if power_peg:\n    pass\n" for name in names} | {"other.py": "x = 1\n"},
        author="dana@knight.example",
        date="2024-01-01T00:00:00Z",
    )
    index = TreeIndex(GitHistory(repo.path))
    with index:
        index.load([sha])
        index.search({"power_peg", "absent"})
        found = index.references(sha)
    assert found == {"power_peg": sorted(names)}
    listed = subprocess.run(
        ["git", "-c", "core.quotePath=false", "grep", "-l", "-w", "power_peg", sha],
        cwd=repo.path, capture_output=True, text=True, check=True,
        env={**os.environ, "LC_ALL": "C"},
    ).stdout.split()  # fmt: skip
    assert [line.split(":", 1)[1] for line in listed] == found["power_peg"]
