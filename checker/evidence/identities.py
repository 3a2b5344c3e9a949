"""One person, several addresses: identities compared case-insensitively after identities.yaml."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from checker.errors import InputError

_ANGLE = re.compile(r"<([^<>]+)>")


class IdentityResolver:
    """Maps an email (or a ``Name <email>`` trailer value) to one identity per person."""

    def __init__(
        self, people: Mapping[str, Sequence[str]] | None = None, *, source: str = ""
    ) -> None:
        self._by_address: dict[str, str] = {}
        self._people: dict[str, str] = {}
        for person, addresses in sorted((people or {}).items()):
            self._people[person.casefold()] = person
            for address in addresses:
                key = address.strip().casefold()
                owner = self._by_address.get(key)
                if owner is not None and owner != person:
                    raise InputError(
                        f"address {address!r} is listed for both {owner!r} and {person!r}",
                        path=source or None,
                    )
                self._by_address[key] = person

    def resolve(self, value: str) -> str:
        """The identity behind an address: the person's name if listed, else the address."""
        text = value.strip()
        match = _ANGLE.search(text)
        address = (match.group(1) if match else text).strip().casefold()
        if address in self._by_address:
            return self._by_address[address]
        if match is None and address in self._people:
            # A trailer may name a person rather than an address ("Reviewed-by: alice").
            return self._people[address]
        return address
