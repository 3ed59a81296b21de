"""What every command shares: its runtime, the one place errors become exit codes, and the
options spelled the same way everywhere.

This module sits below the commands (``paved.cli.app`` imports the commands, never the other
way round), so any ``paved.cli`` module imports on its own.
"""

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

from paved.errors import ExitCode, PavedError
from paved.text import escaped

if TYPE_CHECKING:
    from paved.cli.runtime import Runtime

__all__ = ["JsonOption", "handle_errors", "runtime_of"]

F = TypeVar("F", bound=Callable[..., Any])

#: A command's own ``--json`` (the root's ``paved --json`` works for every command too).
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def runtime_of(ctx: typer.Context, *, json_output: bool = False) -> "Runtime":
    """The runtime for a command; a command's own ``--json`` turns JSON on too.

    Reads the settings first, so that a broken configuration file is reported the same way
    by every command.
    """
    runtime: Runtime = ctx.obj
    if json_output and not runtime.json:
        runtime.json = True
        runtime.__dict__.pop("out", None)
    settings = runtime.settings
    for field, origin in settings.sources.items():
        runtime.out.debug(f"setting {field} = {getattr(settings, field)!r} (from {origin})")
    runtime.out.debug(f"data directory {runtime.paths.data_dir}")
    return runtime


def handle_errors(command: F) -> F:
    """Map paved's errors to one line on stderr and the documented exit code."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except PavedError as exc:
            _fail(exc)
        except OSError as exc:  # a folder or file of this machine's that cannot be used
            if isinstance(exc, BrokenPipeError):
                raise
            _fail(_local_failure(exc))
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None

    return wrapper  # type: ignore[return-value]


def _fail(exc: PavedError) -> NoReturn:
    # one line, whatever a repository or a record put into the message
    typer.echo(f"error: {escaped(str(exc))}", err=True)
    raise typer.Exit(int(exc.exit_code)) from None


def _local_failure(exc: OSError) -> PavedError:
    """An operating-system error no adapter turned into a paved error: a read-only or full
    disk, a folder that is a file, a permission refused (exit 1, docs/exit-codes.md)."""
    reason = exc.strerror or type(exc).__name__
    if exc.filename is None:
        return PavedError(f"a file operation failed ({reason})")
    return PavedError(
        f"{exc.filename} cannot be used ({reason})",
        hint="check that the folder exists and is writable; paved keeps its own files under "
        "PAVED_HOME (or the XDG folders, see docs/commands.md)",
    )
