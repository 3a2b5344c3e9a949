"""Ed25519 keys: generated into files, or read from a file or an environment variable."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from checker.errors import InputError, UsageError
from checker.writer import note_input

ENV_KEY = "KNIGHTWATCH_SIGNING_KEY"
"""Holds the private key's PEM text when ``--key`` is not given (a CI secret)."""


def key_id(public: Ed25519PublicKey) -> str:
    """The key's id: sha256 of its raw 32 bytes, in hex."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def generate(prefix: Path) -> tuple[Path, Path]:
    """Write ``PREFIX.key`` (PKCS#8 PEM, mode 0600) and ``PREFIX.pub``; never overwrite."""
    private_path = prefix.with_name(prefix.name + ".key")
    public_path = prefix.with_name(prefix.name + ".pub")
    if prefix.is_dir():
        raise UsageError(
            f"{prefix} is a directory: the keys would be written beside it, as "
            f"{private_path} and {public_path}",
            hint=f"give a prefix in it, e.g. {prefix / 'signing'}",
        )
    for path in (private_path, public_path):
        if path.exists() or path.is_symlink():
            raise UsageError(f"{path} already exists; keys are never overwritten")
    if not private_path.parent.is_dir():
        raise UsageError(f"directory {private_path.parent} does not exist")
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # Created 0600 from the first byte: the secret is never readable by others, even briefly.
    # O_EXCL: a file that appeared meanwhile, or a symbolic link, is never written through.
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(private_pem)
    fd = os.open(public_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(public_pem)
    return private_path, public_path


def load_private(spec: str | None) -> Ed25519PrivateKey:
    """The signing key: a path, ``env:NAME``, or (no ``--key``) $KNIGHTWATCH_SIGNING_KEY."""
    if spec is None or spec.startswith("env:"):
        name = spec[4:] if spec else ENV_KEY
        text = os.environ.get(name)
        if not text:
            raise UsageError(
                f"no signing key: pass --key PATH, or put the key's PEM text in ${name}"
            )
        data, source = text.encode(), f"${name}"
    else:
        if _looks_like_key_material(spec):
            raise UsageError(
                "--key takes the path of a key file or env:NAME, and the value given looks "
                "like key material itself (it is not shown)",
                hint=f"pass --key signing.key, or put the PEM text in ${ENV_KEY} and leave "
                "out --key",
            )
        path = Path(spec)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read signing key: {exc.strerror}", path=spec) from exc
        note_input(path)
        source = spec
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise InputError(
            "not an unencrypted PEM private key (make one with 'knightwatch keygen')", path=source
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError("the signing key must be an Ed25519 key", path=source)
    return key


def _looks_like_key_material(spec: str) -> bool:
    """PEM armour or a line break: no file name looks like that, and an error message must
    never repeat a secret pasted where a path belongs."""
    return "-----" in spec or "\n" in spec or "\r" in spec


def load_public(path: Path) -> Ed25519PublicKey:
    """A public key from its PEM file."""
    if _looks_like_key_material(str(path)):
        raise UsageError(
            "--key takes the path of a public key file, and the value given looks like key "
            "material itself (it is not shown)"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read public key: {exc.strerror}", path=str(path)) from exc
    _one_public_block(data, str(path))
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise InputError("not a PEM public key", path=str(path)) from exc
    if not isinstance(key, Ed25519PublicKey):
        raise InputError("the key must be an Ed25519 public key", path=str(path))
    return key


_PEM_BEGIN = re.compile(rb"^-----BEGIN ([A-Z0-9 ]+)-----\s*$", re.MULTILINE)


def _one_public_block(data: bytes, source: str) -> None:
    """A public key file holds one PEM block, a public key. The PEM reader takes the first
    block and ignores the rest: of two keys the first would verify, whatever the file's
    reader took it for, and a private key beside the public one would let anyone given the
    file sign reports."""
    labels = _PEM_BEGIN.findall(data)
    if any(b"PRIVATE" in label for label in labels):
        raise InputError(
            "holds a private key: whoever has this file can sign reports, so a signature it "
            "verifies proves nothing",
            path=source,
            hint="verify with the public key alone (the .pub file 'knightwatch keygen' wrote); "
            "if this file was handed out, make a new key pair and keep the .key secret",
        )
    if len(labels) > 1:
        raise InputError(
            f"holds {len(labels)} PEM blocks; a public key file holds the one key reports are "
            "verified with",
            path=source,
            hint="keep each signing key's public key in a file of its own",
        )
