"""The root command: global options, the runtime, and the one place errors become exit codes."""

import functools
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

from paved import __version__
from paved.errors import ExitCode, PavedError

if TYPE_CHECKING:
    from paved.cli.runtime import Runtime

__all__ = ["app", "handle_errors", "main", "runtime_of"]

F = TypeVar("F", bound=Callable[..., Any])

app = typer.Typer(
    name="paved",
    help=(
        "The paved road: new services that are secure from the first commit, "
        "pushed and registered in the platform's catalog in one command."
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"paved {__version__}")
        raise typer.Exit(0)


@app.callback()
def root(
    ctx: typer.Context,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the result as JSON (for scripts).")
    ] = False,
    no_color: Annotated[bool, typer.Option("--no-color", help="Never use colour.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Say more on stderr.")] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Say nothing on stderr but errors.")
    ] = False,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes", "-y", help="Never prompt; take defaults and fail on what is missing."
        ),
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Set up the runtime every command receives."""
    if verbose and quiet:
        typer.echo("error: --verbose and --quiet cannot be used together", err=True)
        raise typer.Exit(int(ExitCode.USAGE))
    from paved.cli.runtime import Runtime  # not needed for --version or --help

    runtime = ctx.obj if isinstance(ctx.obj, Runtime) else Runtime.from_process()
    runtime.json = runtime.json or json_output
    runtime.color = runtime.color and not no_color
    runtime.verbosity = 1 if verbose else -1 if quiet else runtime.verbosity
    runtime.yes = runtime.yes or yes
    ctx.obj = runtime
    ctx.call_on_close(runtime.close)


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
    from paved.text import escaped

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


def _register_commands() -> None:
    from paved.cli import (
        deploy,
        deployments,
        doctor,
        guardrails,
        login,
        new,
        platform,
        services,
        templates,
    )

    app.command("deploy")(deploy.deploy)
    app.add_typer(deployments.app, name="deployments")
    app.command("doctor")(doctor.doctor)
    app.add_typer(guardrails.app, name="guardrails")
    app.command("login")(login.login)
    app.command("logout")(login.logout)
    app.add_typer(new.app, name="new")
    app.add_typer(platform.app, name="platform")
    app.add_typer(services.app, name="services")
    app.add_typer(templates.app, name="templates")
    app.command("rollback")(deploy.rollback)


_register_commands()


def main() -> None:
    """The ``paved`` console script."""
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover - outside a command body
        print("interrupted", file=sys.stderr)
        sys.exit(int(ExitCode.INTERRUPTED))
