"""Identities: every spelling of one address is one person; a value that names nobody is refused
with its reason; identities.yaml and .mailmap only ever merge."""

from __future__ import annotations

import pytest

from checker.errors import InputError
from checker.evidence.identities import Identity, IdentityResolver, normalise, visible

PEOPLE = {"dana": ["dana@example.com", "dana-gh"], "lee": ["lee@example.com"]}
FULLWIDTH = "".join(chr(ord(c) + 0xFEE0) for c in "dana@example.com")
"""Dana's address in full-width forms, which NFKC makes ASCII."""


@pytest.mark.parametrize(
    "value",
    [
        "dana@example.com",
        "DANA@Example.COM",
        "Dana Doe <dana@example.com>",
        "dana+review@example.com",
        "dana@example.com>",
        "<dana@example.com",
        "dana@example.com.",
        ".dana@example.com",
        "dana@example.com (self)",
        "(me) dana@example.com",
        "dana@example.com <Dana+git@Example.com>",  # one address, twice
        "Dana <dana@example.com> (Lee <lee@example.com>)",  # a comment is no address
        "  dana@example.com\n",
        FULLWIDTH,
        "dana-gh",  # a login listed for her
        "Dana",  # her key in identities.yaml
    ],
)
def test_every_spelling_of_a_listed_address_is_its_person(value: str) -> None:
    assert IdentityResolver(PEOPLE).identify(value) == Identity("dana")


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("Dana Doe", "a name, not an address"),
        ("me", "a name, not an address"),
        ("dana\u200b@example.com", "an invisible character, U+200B ZERO WIDTH SPACE"),
        ("dana@example.com\u2060", "U+2060 WORD JOINER"),
        ("da\u00adna@example.com", "U+00AD SOFT HYPHEN"),
        ("dana@exa\x1fmple.com", "U+001F"),
        ("d\u034fana@example.com", "U+034F COMBINING GRAPHEME JOINER"),
        ("d\u0430na@example.com", "characters outside ASCII"),  # a Cyrillic a
        ("dana@localhost", "not a well-formed address"),
        ("dana@@example.com", "not a well-formed address"),
        ("dana@example.com, lee@example.com", "more than one address: dana@example.com, lee"),
        # Only the last address was read: Dana, written before Lee, counted as Lee.
        ("Dana <dana@example.com>, Lee <lee@example.com>", "more than one address: dana@"),
        ("dana@example.com <lee@example.com>", "more than one address: dana@example.com, lee"),
        ("Dana <dana@example.com> <lee@example.com>", "more than one address"),
        ("Dana <dana@example.com> and Kim <kim\uff20example.org>", "more than one address"),
        ('"dana"@example.com', "not a well-formed address"),
        ("Dana Doe <>", "holds no address"),
        ("", "holds no address"),
    ],
)
def test_a_value_that_names_nobody_is_refused_with_its_reason(value: str, why: str) -> None:
    found = IdentityResolver(PEOPLE).identify(value)
    assert found.identity is None
    assert why in found.unresolved


def test_an_unlisted_well_formed_address_is_its_own_identity() -> None:
    resolver = IdentityResolver(PEOPLE)
    assert resolver.identify("Kim <Kim+ci@Example.org.>") == Identity("kim@example.org")


def test_normalise_and_visible() -> None:
    assert normalise("Dana <Dana+Review@Ex.com.>") == "dana@ex.com"
    assert normalise("+tag@ex.com") == "+tag@ex.com"  # nothing before the tag: kept
    assert visible("dana\u200b@ex.com") == "dana\\u200b@ex.com"
    assert visible("plain") == "plain"


def test_mailmap_merges_addresses_and_never_splits_them() -> None:
    base = IdentityResolver(PEOPLE)
    merged = base.merged(
        [
            ("dana@old.example", "dana@example.com"),  # an old address of Dana's
            ("dana@localhost", "dana@example.com"),  # even one that is no address by itself
            ("kim@example.org", "kim@corp.example"),  # two unlisted addresses of one person
        ]
    )
    assert merged.identify("Dana <dana@old.example>") == Identity("dana")
    assert merged.identify("dana@localhost") == Identity("dana")
    assert merged.identify("kim@example.org") == merged.identify("kim@corp.example")
    assert merged.identify("lee@example.com") == Identity("lee")
    assert base.identify("dana@old.example") == Identity("dana@old.example")  # unchanged


def test_a_mailmap_joining_two_people_makes_them_one() -> None:
    """Whatever the spelling: a key named its own person while its addresses named the
    group's, so ``dana`` (a deployer) and ``dana@example.com`` (her approval) were two."""
    merged = IdentityResolver(PEOPLE).merged([("lee@example.com", "dana@example.com")])
    values = ["lee@example.com", "dana@example.com", "dana", "lee", "Dana", "dana-gh"]
    assert len({merged.identify(v).identity for v in values}) == 1


@pytest.mark.parametrize(
    ("people", "needle"),
    [
        ({"ann": ["a@x.example"], "bob": ["A+1@X.example"]}, "is listed for both 'ann' and 'bob'"),
        ({"ann": ["a@x.example"], "Ann": ["b@x.example"]}, "differ only in case"),
        ({"ann": ["bob"], "bob": ["b@x.example"]}, "'bob' is both a person and an address"),
        ({"ann": ["a\u200b@x.example"]}, "invisible character (U+200B ZERO WIDTH SPACE)"),
        ({"ann": ["<>"]}, "names no address"),
    ],
)
def test_an_identities_file_that_contradicts_itself_is_an_input_error(
    people: dict[str, list[str]], needle: str
) -> None:
    with pytest.raises(InputError) as error:
        IdentityResolver(people, source="identities.yaml")
    assert needle in error.value.message
    assert error.value.path == "identities.yaml"


def test_resolve_keeps_a_value_for_grouping_when_it_names_nobody() -> None:
    resolver = IdentityResolver(PEOPLE)
    assert resolver.resolve("octocat") == "octocat"
    assert resolver.resolve("Lee <LEE@example.com>") == "lee"


def test_the_identities_of_github_apps_met_are_known() -> None:
    resolver = IdentityResolver(PEOPLE)
    for value in (
        "dependabot[bot] <49699333+dependabot[bot]@users.noreply.github.com>",
        "12345+octocat@users.noreply.github.com",  # a person's no-reply address
        "dana@example.com",
    ):
        assert resolver.identify(value).identity is not None
    assert resolver.github_apps() == {"49699333@users.noreply.github.com"}
