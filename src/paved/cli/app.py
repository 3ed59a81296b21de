"""The root command: global options, the runtime, and every command registered under it.

Commands never import this module: what they share lives below them in ``paved.cli.common``.
"""

import os
import sys
from collections.abc import Sequence
from typing import Annotated

import typer

from paved import __version__
from paved.cli.common import GLOBAL_OPTIONS, apply_global_option, refuse_verbose_with_quiet
from paved.cli.completion import InstallCompletionOption, ShowCompletionOption
from paved.cli.shape import PavedGroup, record_root_options
from paved.errors import ExitCode

__all__ = ["app", "main"]

app = typer.Typer(
    name="paved",
    cls=PavedGroup,
    help=(
        "The paved road: new services that are secure from the first commit, "
        "pushed and registered in the platform's catalog in one command."
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    add_completion=False,  # the root's own, which honour the shell named
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"paved {__version__}")
        raise typer.Exit(0)


@app.callback()
def root(
    ctx: typer.Context,
    json_output: Annotated[bool, typer.Option("--json", help=GLOBAL_OPTIONS["--json"])] = False,
    no_color: Annotated[
        bool, typer.Option("--no-color", help=GLOBAL_OPTIONS["--no-color"])
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help=GLOBAL_OPTIONS["--verbose"])
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help=GLOBAL_OPTIONS["--quiet"])] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help=GLOBAL_OPTIONS["--yes"])] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
    install_completion: InstallCompletionOption = None,
    show_completion: ShowCompletionOption = None,
) -> None:
    """Set up the runtime every command receives.

    The global options are accepted after the command too (``paved doctor --quiet``): each leaf
    command carries them (``paved.cli.shape``), with the same meaning.
    """
    if verbose and quiet:
        refuse_verbose_with_quiet()
    from paved.cli.runtime import Runtime  # not needed for --version or --help

    runtime = ctx.obj if isinstance(ctx.obj, Runtime) else Runtime.from_process()
    values = (json_output, no_color, verbose, quiet, yes)  # in the order of GLOBAL_OPTIONS
    given = [flag for flag, value in zip(GLOBAL_OPTIONS, values, strict=True) if value]
    for flag in given:
        apply_global_option(runtime, flag)
    record_root_options(ctx, given)
    ctx.obj = runtime
    ctx.call_on_close(runtime.close)


def _register_commands() -> None:
    from paved.cli import (
        deploy,
        deployments,
        docs,
        doctor,
        fleet,
        guardrails,
        incidents,
        login,
        metrics,
        new,
        onboard,
        platform,
        resources,
        services,
        templates,
        update,
    )

    app.add_typer(resources.add_app, name="add")
    app.command("deploy")(deploy.deploy)
    app.add_typer(deployments.app, name="deployments")
    app.command("docs")(docs.docs)
    app.command("doctor")(doctor.doctor)
    app.add_typer(fleet.app, name="fleet")
    app.add_typer(guardrails.app, name="guardrails")
    app.add_typer(incidents.app, name="incident")
    app.command("login")(login.login)
    app.command("logout")(login.logout)
    app.add_typer(metrics.app, name="metrics")
    app.add_typer(new.app, name="new")
    app.command("onboard")(onboard.onboard)
    app.add_typer(platform.app, name="platform")
    app.add_typer(resources.remove_app, name="remove")
    app.add_typer(resources.resources_app, name="resources")
    app.add_typer(services.app, name="services")
    app.add_typer(templates.app, name="templates")
    app.command("rollback")(deploy.rollback)
    app.command("update")(update.update)


_register_commands()


def main(args: Sequence[str] | None = None, *, obj: object = None) -> None:
    """The ``paved`` console script (``args`` and a runtime ``obj`` for a launcher of one's
    own, as the benchmarks have).

    Once the command is done (its files closed, its clients closed by the runtime), the process
    ends without the interpreter's teardown of some 800 modules, which costs 0.15 to 0.25 s
    after every command (decision 0004).
    """
    try:
        app(args, prog_name="paved", obj=obj)
    except KeyboardInterrupt:  # pragma: no cover - outside a command body
        print("interrupted", file=sys.stderr)
        code: object = int(ExitCode.INTERRUPTED)
    except SystemExit as exc:
        code = exc.code
    else:  # pragma: no cover - click always exits in standalone mode
        code = 0
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # a reader that went away: what was unsaid stays unsaid
        code = code or 0
    os._exit(code or 0)
