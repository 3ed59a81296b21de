"""``paved onboard``: the new hire's checklist as one command that resumes where it stopped."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from paved.cli.common import JsonOption, handle_errors, runtime_of
from paved.cli.completion import complete_environments
from paved.errors import InputError

if TYPE_CHECKING:
    from paved.cli.runtime import Runtime
    from paved.onboard import Identity, OnboardDeps, OnboardResult

#: The file the checklist keeps its state in, under the data folder.
STATE_FILE = "onboarding.json"


@handle_errors
def onboard(
    ctx: typer.Context,
    name: Annotated[
        str | None,
        typer.Option(
            "--name", metavar="NAME", help="The first service's name (default: from git)."
        ),
    ] = None,
    path: Annotated[
        Path | None,
        typer.Option("--path", metavar="DIR", help="Where to create it (default: ./NAME)."),
    ] = None,
    owner: Annotated[
        str | None,
        typer.Option("--owner", "-o", metavar="TEAM", help="Your team (default: your only team)."),
    ] = None,
    environment: Annotated[
        str | None,
        typer.Option(
            "--environment",
            "-e",
            metavar="ENV",
            help="The first deploy's environment (default: the first that is not protected).",
            autocompletion=complete_environments,
        ),
    ] = None,
    image: Annotated[
        str | None,
        typer.Option(
            "--image",
            metavar="REF",
            help="The image to deploy (default: the one the service's manifests name).",
        ),
    ] = None,
    skip_production: Annotated[
        bool,
        typer.Option("--skip-production", help="Leave out the guided production deploy."),
    ] = False,
    restart: Annotated[
        bool,
        typer.Option("--restart", help="Forget the recorded steps and start from the first one."),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Say what each step would do; write and send nothing."),
    ] = False,
    yes: Annotated[
        bool,
        typer.Option("--yes", "-y", help="Never prompt: confirm the production deploy."),
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Day one: doctor, a first service, a first deploy; resumable.

    Each step says what it does and why, and is recorded with its start and end (locally,
    and on the platform when you are logged in). Run it again after a failure or a kill: it
    skips the finished steps and picks up what the stopped one made.
    """
    from paved.onboard import OnboardRequest
    from paved.onboard import onboard as run_checklist

    runtime = runtime_of(ctx, json_output=json_output)
    request = OnboardRequest(
        name=name,
        path=path,
        owner=owner,
        environment=environment,
        image=image,
        skip_production=skip_production,
        restart=restart,
        dry_run=dry_run,
        yes=yes or runtime.yes,
    )
    deps = _deps(runtime)
    if not dry_run:
        from paved.scaffold.engine import preload

        preload()
    runtime.out.info(
        "Onboarding plan (dry run: nothing written or sent):" if dry_run else "Onboarding"
    )
    with runtime.out.working("onboarding"):
        result = run_checklist(request, deps)
    _render(runtime, result)
    if result.error is not None:
        raise result.error


def _deps(runtime: "Runtime") -> "OnboardDeps":
    from paved.catalog import product_catalog
    from paved.cli.deploy import deploy_deps
    from paved.cli.doctor import doctor_inputs
    from paved.cli.new import new_service_deps
    from paved.onboard import OnboardDeps

    platform = bool(runtime.settings.catalog_url or runtime.platform_login)
    catalog = runtime.catalog() if platform else None
    events = product_catalog(catalog) if catalog is not None else None

    def platform_settings() -> dict[str, Any]:
        from paved.catalog.remote import RemoteCatalog

        return catalog.settings() if isinstance(catalog, RemoteCatalog) else {}

    return OnboardDeps(
        state_file=runtime.paths.data_dir / STATE_FILE,
        clock=runtime.clock,
        doctor=doctor_inputs(runtime, None),
        new_service=new_service_deps(runtime, None),
        deploy=deploy_deps(runtime),
        identity=lambda: _identity(runtime),
        owner=lambda: _owner(runtime),
        platform_settings=platform_settings if catalog is not None else None,
        events=events,
        confirm=lambda question, details: _confirm(runtime, question, details),
        announce=runtime.out.info,
        warn=runtime.out.info,
    )


def _identity(runtime: "Runtime") -> "Identity":
    from paved.gitcmd import Git
    from paved.onboard import Identity

    git = Git(runtime.cwd, runtime.env)
    return Identity(
        email=git("config", "user.email", check=False),
        name=git("config", "user.name", check=False),
    )


def _owner(runtime: "Runtime") -> str:
    """The person's only team (the platform's word, else the settings'), else asked."""
    from paved.cli.new import ask_owner

    caller = runtime.catalog().caller()
    teams = caller.teams if caller is not None else runtime.settings.teams
    if len(teams) == 1:
        return teams[0]
    return ask_owner(runtime)


def _confirm(runtime: "Runtime", question: str, details: list[tuple[str, str]]) -> bool:
    from paved.cli.prompts import confirm

    missing = InputError("the production deploy of onboarding needs confirmation")
    return confirm(runtime, question, missing=missing, details=details)


def _render(runtime: "Runtime", result: "OnboardResult") -> None:
    out = runtime.out
    if out.json_mode:
        out.json(result.to_json())
    else:
        rows = [
            (view.status, view.name, view.to_json()["detail"] or view.what) for view in result.steps
        ]
        if out.stdout_is_terminal:
            from paved.cli.output import Column

            columns = [Column("STATUS", shorten=False), Column("STEP", shorten=False)]
            out.table([*columns, Column("DETAIL", wrap=True)], rows, empty="")
        else:
            for row in rows:
                out.line("\t".join(row))
    service = result.service.name if result.service else "no service"
    out.info(f"onboarding of {service}: {result.status} (state in {result.state_file})")
    if result.status == "finished":
        path = result.service.path if result.service else ""
        out.info(f"Done. Next: cd {path} and read README.md; paved deployments list")
