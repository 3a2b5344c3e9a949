"""Argument types the command line's modules share."""

from __future__ import annotations

import argparse
from pathlib import Path


def path(text: str) -> Path:
    """A path argument; an empty one (``--key "$KEY"`` with the variable unset) is refused, not
    read as the current directory: ``--evidence ""`` would have read whatever files stood
    there, and ``--key ""`` failed as a directory without naming the option."""
    return Path(given(text))


def given(text: str) -> str:
    """An argument that names a file some other way too (``audit --key``: a file, or
    ``env:NAME``), refused where it is empty, as ``path`` refuses one."""
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty: a path was expected (an unset variable?)")
    return text
