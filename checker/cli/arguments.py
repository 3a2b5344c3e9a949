"""Argument types the command line's modules share."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def path(text: str) -> Path:
    """A path argument; an empty one (``--key "$KEY"`` with the variable unset) is refused, not
    read as the current directory: ``--evidence ""`` would have read whatever files stood
    there, and ``--key ""`` failed as a directory without naming the option."""
    return Path(given(text))


def prefix(text: str) -> Path:
    """A prefix the command adds suffixes to (``keygen --output``): one ending in a separator
    names a directory, and ``Path`` drops the separator, so ``--output keys/`` wrote the
    private key beside the directory, as ``keys.key``, not in it."""
    if given(text).endswith(("/", os.sep)):
        raise argparse.ArgumentTypeError(
            f"{text!r} ends in a separator: it names a directory, and keys are written as "
            f"PREFIX.key and PREFIX.pub; give a prefix in it, e.g. {text}signing"
        )
    return Path(text)


def given(text: str) -> str:
    """An argument that names a file some other way too (``audit --key``: a file, or
    ``env:NAME``), refused where it is empty, as ``path`` refuses one."""
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty: a path was expected (an unset variable?)")
    return text
