"""Every question paved asks on a terminal: asked, checked by the rule its flag follows, and
asked again after an invalid answer.

A command asks only when the run is interactive (stdin and stderr are terminals, no
``--yes``, no ``CI``); otherwise it fails at once with the error it passes as ``missing``,
which names the flag. An invalid answer is explained in one line and asked again, up to
:data:`ATTEMPTS` times; the last invalid answer fails like the flag with that value would.
A confirmation that is declined ends the command with :data:`DECLINED` (docs/exit-codes.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NoReturn, TypeVar

import typer

from paved.errors import ExitCode, InputError, PavedError
from paved.text import escaped

if TYPE_CHECKING:
    from paved.cli.runtime import Runtime

__all__ = ["ATTEMPTS", "DECLINED", "YES_HINT", "ask", "confirm", "declined"]

T = TypeVar("T")

#: How many answers a question takes before it fails.
ATTEMPTS = 3
#: The exit code of a declined confirmation: nothing was written, as with a usage error, and
#: the same code as the run that could not ask (no terminal, no ``--yes``).
DECLINED = ExitCode.USAGE
#: What a confirmation that cannot be asked tells to do.
YES_HINT = "pass --yes when not running interactively"


def ask(
    runtime: Runtime,
    question: str,
    *,
    check: Callable[[str], T],
    missing: PavedError,
    retry: tuple[type[PavedError], ...] = (InputError,),
    hide_input: bool = False,
) -> T:
    """Ask ``question`` until ``check`` accepts the answer (at most :data:`ATTEMPTS` times).

    ``check`` is the rule the flag follows: it returns the value or raises a paved error;
    the errors in ``retry`` are explained and asked again, any other ends the command.
    """
    if not runtime.interactive:
        raise missing
    for attempt in range(1, ATTEMPTS + 1):
        answer = typer.prompt(  # a question may name a folder or a record: never raw
            escaped(question), default="", show_default=False, hide_input=hide_input, err=True
        )
        try:
            return check(answer.strip())
        except retry as exc:
            if attempt == ATTEMPTS:
                raise
            left = ATTEMPTS - attempt
            typer.echo(f"{escaped(str(exc))} ({left} more {_tries(left)})", err=True)
    raise AssertionError("unreachable")  # pragma: no cover


def confirm(
    runtime: Runtime,
    question: str,
    *,
    missing: PavedError,
    details: Sequence[tuple[str, str]] = (),
) -> bool:
    """Show ``details`` (``key: value`` lines on stderr), then ask a yes-or-no question.

    The default is no: an empty answer declines. When the run is not interactive, ``missing``
    is raised, with the hint to pass ``--yes`` unless it gives its own.
    """
    if not runtime.interactive:
        raise type(missing)(missing.message, hint=missing.hint or YES_HINT)
    if details:
        width = max(len(key) for key, _ in details) + 1
        for key, value in details:
            typer.echo(f"  {key + ':':<{width}} {escaped(value)}", err=True)
    return ask(runtime, f"{question} [y/N]", check=_yes_or_no, missing=missing)


def declined(message: str) -> NoReturn:
    """End the command after a declined confirmation: ``message`` on stderr, exit 2."""
    typer.echo(escaped(message), err=True)
    raise typer.Exit(int(DECLINED))


def _yes_or_no(answer: str) -> bool:
    word = answer.lower()
    if word in ("y", "yes"):
        return True
    if word in ("", "n", "no"):
        return False
    raise InputError(f"'{answer}' is not an answer", hint="answer y (yes) or n (no)")


def _tries(count: int) -> str:
    return "try" if count == 1 else "tries"
