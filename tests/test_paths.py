"""Service globs mean what they mean in a .gitignore, and what cannot be a list of a
service's files is refused with the glob named."""

from __future__ import annotations

import pytest

from checker.paths import PathScope, service_glob


@pytest.mark.parametrize(
    ("glob", "path", "matches"),
    [
        ("services/payments/**", "services/payments/charge.py", True),
        ("services/payments/**", "services/payments/api/v1/charge.py", True),
        ("services/payments/**", "services/payments-old/charge.py", False),
        ("services/payments/**", "vendor/services/payments/charge.py", False),  # anchored
        ("services/payments/", "services/payments/charge.py", True),  # a directory
        ("services/payments", "services/payments/charge.py", True),
        ("services/*/charge.py", "services/payments/charge.py", True),
        ("services/*/charge.py", "services/payments/v1/charge.py", False),  # * stays in one
        ("*.proto", "api/payments/charge.proto", True),  # no slash: at any depth
        ("libs/money/[ab]*.py", "libs/money/amount.py", True),
    ],
)
def test_a_glob_matches_as_gitignore_does(glob: str, path: str, matches: bool) -> None:
    assert PathScope.of("payments", [glob])(path) is matches


def test_a_scope_is_the_union_of_its_globs_and_names_those_that_match_nothing() -> None:
    scope = PathScope.of("payments", ["services/payments/**", "libs/money/**", "lib/mony/**"])
    files = ["services/payments/charge.py", "libs/money/amount.py", "docs/index.md"]
    assert [scope(f) for f in files] == [True, True, False]
    assert scope.unmatched(files) == ["lib/mony/**"]


@pytest.mark.parametrize(
    ("glob", "message"),
    [
        ("", "not a path glob"),
        (" services/** ", "not a path glob"),
        ("!services/orders/**", "negation"),
        ("#services", "comment"),
        ("/services/payments/**", "not a path inside the repository"),
        ("services/../../etc/**", "not a path inside the repository"),
    ],
)
def test_what_is_not_a_list_of_files_is_refused(glob: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        service_glob(glob)
