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

__all__ = [
    "GLOBAL_OPTIONS",
    "JsonOption",
    "apply_global_option",
    "handle_errors",
    "refuse_verbose_with_quiet",
    "runtime_of",
]

F = TypeVar("F", bound=Callable[..., Any])

#: The global options, by flag, with the one help text each has wherever it is given: before
#: the command (the root callback) or after it (every leaf command, ``paved.cli.shape``).
GLOBAL_OPTIONS = {
    "--json": "Print the result as JSON on stdout (for scripts).",
    "--no-color": "Never use colour.",
    "--verbose": "Say more on stderr.",
    "--quiet": "Say nothing on stderr but errors.",
    "--yes": "Never prompt: say yes to confirmations, take defaults, fail on what is missing.",
}

#: A command's own ``--json``: the same option as the global one, its value given to the command.
JsonOption = Annotated[bool, typer.Option("--json", help=GLOBAL_OPTIONS["--json"])]


def apply_global_option(runtime: "Runtime", flag: str) -> None:
    """What a global option means, wherever it was given: a field of the runtime."""
    if flag == "--yes":
        runtime.yes = True
        return
    if flag == "--json":
        runtime.json = True
    elif flag == "--no-color":
        runtime.color = False
    elif flag == "--verbose":
        runtime.verbosity = 1
    elif flag == "--quiet":
        runtime.verbosity = -1
    else:  # pragma: no cover - GLOBAL_OPTIONS names every flag above
        raise ValueError(flag)
    runtime.__dict__.pop("out", None)  # built again, with the option, when first used


def refuse_verbose_with_quiet() -> NoReturn:
    """``--verbose`` with ``--quiet``, before or after the command: a usage error (exit 2)."""
    typer.echo("error: --verbose and --quiet cannot be used together", err=True)
    raise typer.Exit(int(ExitCode.USAGE))


def runtime_of(ctx: typer.Context, *, json_output: bool = False) -> "Runtime":
    """The runtime for a command; a command's own ``--json`` turns JSON on too.

    Reads the settings first, so that a broken configuration file is reported the same way
    by every command.
    """
    runtime: Runtime = ctx.obj
    if json_output and not runtime.json:
        apply_global_option(runtime, "--json")
    settings = runtime.settings
    for field, origin in settings.sources.items():
        value = "(set, not shown)" if field == "backstage_token" else repr(getattr(settings, field))
        runtime.out.debug(f"setting {field} = {value} (from {origin})")
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
        "PAVED_HOME (or the XDG folders: paved docs commands#configuration)",
    )
