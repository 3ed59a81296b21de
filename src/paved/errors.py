"""One exception tree and one exit-code table for all of paved.

Every expected failure is a :class:`PavedError`. Its message is one line that names the
object, says what failed and what to do next; ``exit_code`` comes from :class:`ExitCode`.
The command line maps these to the process exit status in exactly one place
(``paved.cli.app``); nothing else decides an exit code.
"""

from __future__ import annotations

import enum

__all__ = [
    "AuthError",
    "ConflictError",
    "ExitCode",
    "GuardrailBlocked",
    "InputError",
    "PavedError",
    "RemoteError",
    "StepFailed",
]


class ExitCode(enum.IntEnum):
    """The exit codes of every paved command (documented in docs/exit-codes.md)."""

    OK = 0
    FAILURE = 1
    USAGE = 2
    GUARDRAIL = 3
    AUTH = 4
    REMOTE = 5
    CONFLICT = 6
    INTERRUPTED = 130


class PavedError(Exception):
    """An expected failure: printed as one line, never with a traceback."""

    exit_code: ExitCode = ExitCode.FAILURE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}; {self.hint}"
        return self.message


class InputError(PavedError):
    """The user's input (a name, a flag, a path) is not valid. Nothing was written."""

    exit_code = ExitCode.USAGE


class GuardrailBlocked(PavedError):
    """A guardrail refused the operation."""

    exit_code = ExitCode.GUARDRAIL


class AuthError(PavedError):
    """Authentication or permission was refused."""

    exit_code = ExitCode.AUTH


class RemoteError(PavedError):
    """A remote (the catalog, a git host, a cluster) is unreachable or failing."""

    exit_code = ExitCode.REMOTE


class ConflictError(PavedError):
    """The object exists already or is in conflict (a name taken, unresolved conflicts)."""

    exit_code = ExitCode.CONFLICT


class StepFailed(PavedError):
    """One step of a multi-step command failed; what was done before it is kept.

    Wraps the underlying error so that the exit code stays the cause's, and names the step
    so that the person knows that running the same command again carries on from there.
    """

    def __init__(self, step: str, cause: PavedError) -> None:
        super().__init__(
            f"step '{step}' failed: {cause}",
            hint=None,
        )
        self.step = step
        self.cause = cause
        self.exit_code = cause.exit_code
