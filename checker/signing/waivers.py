"""Signed waivers: an approver's Ed25519 signature over what a waiver says.

A waiver's ``approved_by`` is written by the audited team, in its own waivers.yaml: without
more, "approved by the CRO" is the team's word. Where the auditor's side gives an approver's
public key (``waiver_keys``), a waiver naming that approver counts only with a ``signature``
that key verifies, made over the waiver's every field but the signature itself, so the team
can neither write the approval nor widen, prolong or re-word one it was given.

The signature is Ed25519 over DSSE's pre-authentication encoding of the waiver's canonical
JSON (its fields sorted, no white space, UTF-8), with the payload type ``PAYLOAD_TYPE``: the
same encoding as a signed audit's envelope, under a type of its own, so a signature over one
can never be taken for the other. A public key is written ``ed25519:`` and the base64 of its
32 raw bytes: it fits on one line of a configuration file, and a report can record it whole.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from nacl.bindings import crypto_core_ed25519_is_valid_point

from checker.signing.dsse import pae

if TYPE_CHECKING:
    from checker.evidence.git import GitHistory

PAYLOAD_TYPE = "application/vnd.knightwatch.waiver+json"
KEY_PREFIX = "ed25519:"
SIGNED_FIELDS = ("rule", "subject", "cause", "purpose", "reason", "approved_by", "expires")
"""What a signature covers: every field of a waiver but the signature."""


def key_text(public: Ed25519PublicKey) -> str:
    """A public key as ``waiver_keys`` takes it: ``ed25519:`` and its raw bytes in base64."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return KEY_PREFIX + base64.b64encode(raw).decode()


def parse_key(text: str) -> Ed25519PublicKey:
    """The public key ``text`` writes, or a ``ValueError`` saying why it is none."""
    if not text.startswith(KEY_PREFIX):
        raise ValueError(
            f"{text[:20]!r} is not a public key written as {KEY_PREFIX}BASE64 "
            "('knightwatch waiver key APPROVER.pub' prints it)"
        )
    try:
        raw = base64.b64decode(text.removeprefix(KEY_PREFIX), validate=True)
    except binascii.Error:
        raise ValueError(f"{text[:20]!r}...: its key is not base64") from None
    if len(raw) != 32:
        raise ValueError(f"an Ed25519 public key is 32 bytes, and this one is {len(raw)}")
    problem = _weak(raw)
    if problem is not None:
        raise ValueError(f"{text[:20]!r}...: {problem}")
    return Ed25519PublicKey.from_public_bytes(raw)


def _weak(raw: bytes) -> str | None:
    """Why 32 bytes are no key a signature can be trusted under, or None, as libsodium tells
    (``crypto_core_ed25519_is_valid_point``: the canonical encoding of a point of the curve
    in its prime-order subgroup, which every key pair's public key is). A point of small
    order (the all-zero placeholder ``ed25519:AAAA...A=`` is one, of order 4) verifies a
    signature made without any private key, for most messages: whoever writes the waiver
    varies its reason until one does. Bytes that are no point of the curve verify nothing,
    and are refused as the mistake they are."""
    if crypto_core_ed25519_is_valid_point(raw):
        return None
    return (
        "it is no key pair's public key: not a point of Ed25519, or a point of small order, "
        "under which a signature verifies without any private key"
    )


def payload(fields: Mapping[str, Any], repository: str) -> bytes:
    """The bytes a waiver's signature covers: its signed fields as canonical JSON, a date as
    ``YYYY-MM-DD``, a field it does not have left out, and the repository it is for
    (``repository_of``). A subject names a deployment by the id its team gave it: without
    the repository, the CRO's waiver of one team's ``hotfix-1`` waived another's."""
    present = {k: str(fields[k]) for k in SIGNED_FIELDS if fields.get(k) is not None}
    present[REPOSITORY] = repository
    text = json.dumps(present, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return pae(PAYLOAD_TYPE, text.encode())


REPOSITORY = "repository"
"""The name the repository a waiver is for has among its signed fields (no waiver field's)."""


def repository_of(history: GitHistory) -> str:
    """The repository a waiver is signed for: the first commit of its HEAD's first-parent
    line, which every branch and clone of it shares, and which no other repository holds."""
    roots = history.git_output(["rev-list", "--first-parent", "--max-parents=0", "HEAD"])
    return roots.decode().split()[-1]


def sign(fields: Mapping[str, Any], key: Ed25519PrivateKey, repository: str) -> str:
    """The signature of a waiver's fields, for ``repository``, in base64."""
    return base64.b64encode(key.sign(payload(fields, repository))).decode()


def verified(
    fields: Mapping[str, Any], signature: str | None, key: Ed25519PublicKey, repository: str
) -> bool:
    """Whether ``signature`` is ``key``'s over the waiver's fields, for ``repository``."""
    if signature is None:
        return False
    try:
        key.verify(base64.b64decode(signature, validate=True), payload(fields, repository))
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True
