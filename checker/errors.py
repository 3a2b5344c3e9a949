"""The error tree: each class knows its exit code and how to advise the user."""

from __future__ import annotations

EXIT_PASS = 0
EXIT_FINDINGS = 1
EXIT_INPUT = 2
EXIT_INTERNAL = 3


class KnightwatchError(Exception):
    """Base of every error the user is meant to see; never shown as a traceback."""

    exit_code = EXIT_INTERNAL

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def render(self) -> str:
        """The message as printed on stderr."""
        text = f"knightwatch: error: {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class UsageError(KnightwatchError):
    """The command line or knightwatch.yaml asks for something impossible."""

    exit_code = EXIT_INPUT


class InputError(KnightwatchError):
    """Evidence, configuration or repository that cannot be read as the contract says."""

    exit_code = EXIT_INPUT

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        where = path or ""
        if path and line is not None:
            where = f"{path}:{line}"
        super().__init__(f"{where}: {message}" if where else message, hint=hint)
        self.path = path
        self.line = line


class EngineUnavailable(KnightwatchError):
    """A remote engine could not be reached or did not answer: no verdict is possible."""

    exit_code = EXIT_INTERNAL


class PolicyError(KnightwatchError):
    """A policy that does not load or evaluate; the message names its file and line."""

    exit_code = EXIT_INPUT


class InternalError(KnightwatchError):
    """A failure that is knightwatch's own fault."""

    exit_code = EXIT_INTERNAL


class VerificationError(KnightwatchError):
    """A signed report that does not verify: its signature, key, chain link or replay."""

    exit_code = EXIT_FINDINGS

    def __init__(self, what: str, message: str, *, hint: str | None = None) -> None:
        super().__init__(f"verification failed ({what}): {message}", hint=hint)
        self.what = what
