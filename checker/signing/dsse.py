"""DSSE envelopes: sign the pre-authentication encoding of the payload bytes, keep the bytes.

Verification works on the bytes carried in the envelope and never re-serialises them.
"""

from __future__ import annotations

import base64
import binascii
import codecs
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from checker.errors import InputError, VerificationError
from checker.evidence import jsonread
from checker.signing.keys import key_id

IN_TOTO = "application/vnd.in-toto+json"


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def sign(payload: bytes, key: Ed25519PrivateKey, payload_type: str = IN_TOTO) -> dict[str, Any]:
    """An envelope carrying ``payload`` and one Ed25519 signature over its PAE."""
    return {
        "payloadType": payload_type,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [
            {
                "keyid": key_id(key.public_key()),
                "sig": base64.b64encode(key.sign(pae(payload_type, payload))).decode(),
            }
        ],
    }


@dataclass(frozen=True)
class Opened:
    """An envelope's payload as signed, and its type."""

    payload_type: str
    payload: bytes
    signatures: list[dict[str, str]]


def _b64(text: object, what: str, source: str) -> bytes:
    if not isinstance(text, str):
        raise InputError(f"malformed envelope: {what} is not a base64 string", path=source)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InputError(f"malformed envelope: {what} is not valid base64", path=source) from exc


ENVELOPE_FIELDS = frozenset({"payloadType", "payload", "signatures"})
SIGNATURE_FIELDS = frozenset({"keyid", "sig"})


def open_envelope(data: bytes, source: str) -> Opened:
    """Parse an envelope's structure (no signature check yet). Exactly DSSE's fields, each
    once: a second ``payload`` must not be the one verified while a reader sees the first."""
    if data.startswith(codecs.BOM_UTF8):
        raise InputError(
            "malformed envelope: starts with a UTF-8 byte-order mark (EF BB BF), which an "
            "envelope never holds (an editor adds one when it saves the file again)",
            path=source,
            hint="verify the file as `knightwatch audit` wrote it",
        )
    try:
        envelope = jsonread.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        copy = _readable_copy(data)
        if copy:
            raise InputError(
                f"this is the {copy} copy of a report, for reading: it carries no signature",
                path=source,
                hint="verify the signed report, the JSON envelope that `knightwatch audit` "
                "wrote with -o (e.g. audit-2012-07.json)",
            ) from exc
        raise InputError(f"malformed envelope: not JSON ({exc})", path=source) from exc
    if not isinstance(envelope, dict) or not isinstance(envelope.get("signatures"), list):
        raise InputError("malformed envelope: expected a DSSE envelope object", path=source)
    _only(envelope, ENVELOPE_FIELDS, "the envelope", source)
    payload_type = envelope.get("payloadType")
    if not isinstance(payload_type, str):
        raise InputError("malformed envelope: payloadType missing", path=source)
    payload = _b64(envelope.get("payload"), "payload", source)
    signatures = envelope["signatures"]
    if not signatures:
        raise InputError("malformed envelope: no signatures", path=source)
    for index, signature in enumerate(signatures):
        if not isinstance(signature, dict):
            raise InputError(
                f"malformed envelope: signature #{index + 1} is not an object", path=source
            )
        _only(signature, SIGNATURE_FIELDS, f"signature #{index + 1}", source)
    return Opened(payload_type, payload, signatures)


def _readable_copy(data: bytes) -> str | None:
    """``HTML`` or ``Markdown`` when the file is one of the readable copies an audit writes
    beside its signed report (``--html``, ``--markdown``); else None."""
    start = data[:512].lstrip().lower()
    if start.startswith((b"<!doctype html", b"<html")):
        return "HTML"
    if start.startswith(b"## knightwatch"):
        return "Markdown"
    return None


def _only(fields: dict[str, Any], allowed: frozenset[str], what: str, source: str) -> None:
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise InputError(
            f"malformed envelope: {what} has unknown field {unknown[0]!r} (DSSE has "
            + ", ".join(sorted(allowed))
            + ")",
            path=source,
        )


def verify(opened: Opened, public: Ed25519PublicKey, source: str) -> str:
    """The id of the key whose signature holds; a VerificationError says what failed."""
    wanted = key_id(public)
    candidates = [s for s in opened.signatures if s.get("keyid") in (wanted, "", None)]
    if not candidates:
        ids = ", ".join(str(s.get("keyid")) for s in opened.signatures)
        raise VerificationError(
            "key", f"{source}: signed by key {ids}, not by the given key {wanted}"
        )
    message = pae(opened.payload_type, opened.payload)
    for signature in candidates:
        try:
            public.verify(_b64(signature.get("sig"), "sig", source), message)
        except InvalidSignature:
            continue
        return wanted
    raise VerificationError(
        "signature", f"{source}: the signature does not match the payload (altered or forged)"
    )
