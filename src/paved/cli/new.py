"""``paved new service``: one command from nothing to a pushed, registered service."""

from pathlib import Path
from typing import Annotated

import typer

from paved.cli.common import JsonOption, handle_errors, runtime_of
from paved.cli.completion import complete_app_templates
from paved.errors import InputError

app = typer.Typer(help="Create things on the paved road.", no_args_is_help=True)


def _parse_sets(pairs: list[str]) -> dict[str, str]:
    answers: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--set '{pair}' is not KEY=VALUE", hint="for example --set port=8080")
        answers[key.strip()] = value
    return answers


@app.command("service")
@handle_errors
def new_service(
    ctx: typer.Context,
    name: Annotated[
        str,
        typer.Argument(metavar="NAME", help="The service name: lower-case words joined by '-'."),
    ],
    owner: Annotated[
        str | None,
        typer.Option("--owner", "-o", metavar="TEAM", help="The team that owns the service."),
    ] = None,
    template: Annotated[
        str | None,
        typer.Option(
            "--template",
            "-t",
            metavar="SCAFFOLD",
            help="The app-layer scaffold.",
            autocompletion=complete_app_templates,
        ),
    ] = None,
    description: Annotated[
        str,
        typer.Option(
            "--description", "-d", metavar="TEXT", help="One line saying what the service does."
        ),
    ] = "",
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir",
            metavar="DIR",
            help="Where to create it (a new or empty folder). Default: ./NAME.",
        ),
    ] = None,
    sets: Annotated[
        list[str] | None,
        typer.Option(
            "--set", metavar="KEY=VALUE", help="Answer a scaffold question: KEY=VALUE. Repeatable."
        ),
    ] = None,
    remote: Annotated[
        str | None,
        typer.Option(
            "--remote", metavar="URL", help="Push to this existing, empty git repository instead."
        ),
    ] = None,
    no_push: Annotated[
        bool, typer.Option("--no-push", help="Commit locally; push nothing.")
    ] = False,
    no_register: Annotated[
        bool, typer.Option("--no-register", help="Leave the service out of the catalog.")
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Show the plan (files, remote, catalog entry); write nothing."
        ),
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Create a service: render its scaffolds, commit, push and register it.

    Every step can be run again: after a failure the same command carries on where it
    stopped; after success it changes nothing and says so.
    """
    from paved.service import new as domain

    runtime = runtime_of(ctx, json_output=json_output)
    out = runtime.out
    if remote is not None and not remote.strip():
        raise InputError(
            "--remote is empty",
            hint="give the URL of an existing, empty git repository, or leave --remote out",
        )
    if owner is None:
        if not runtime.interactive:
            raise InputError("the owning team is missing", hint="pass --owner TEAM")
        owner = typer.prompt("Owning team", err=True)
    request = domain.NewServiceRequest(
        name=name,
        owner=owner,
        description=description,
        template=template or runtime.settings.default_template,
        road_template=runtime.settings.road_template,
        destination=directory,
        answers=_parse_sets(sets or []),
        remote=remote,
        push=not no_push,
        register=not no_register,
    )
    deps = domain.NewServiceDeps(
        registry=runtime.registry,
        store=runtime.store,
        githost=lambda: runtime.githost(remote),
        catalog=runtime.catalog,
        cwd=runtime.cwd,
        cache_dir=runtime.paths.cache_dir,
        locks_dir=runtime.paths.locks_dir,
        data_dir=runtime.paths.data_dir,
        clock=runtime.clock,
        progress=out.progress,
    )
    if not dry_run:
        from paved.scaffold.engine import preload

        preload()
    plan = domain.plan_new_service(request, deps)
    if dry_run:
        result = domain.dry_run(plan, deps)
        files = plan.files()
        if out.json_mode:
            out.json(domain.describe(result, files=files))
            return
        out.info(f"Plan for {name} (dry run: nothing written):")
        out.fields(_summary(domain.describe(result)))
        for path in files:
            out.line(f"file\t{path}" if not out.stdout_is_terminal else f"  {path}")
        return

    out.info(f"Creating {name} for {owner} in {plan.destination}")
    result = domain.create_service(plan, deps)
    described = domain.describe(result)
    if out.json_mode:
        out.json(described)
    else:
        out.fields(_summary(described))
    if result.status == "unchanged":
        out.info(f"{name} already exists and is complete; nothing to do.")
    else:
        out.info(
            f"Done. Next: cd {plan.destination} and read README.md; paved services show {name}"
        )


def _summary(described: dict[str, object]) -> list[tuple[str, object]]:
    layers = described["layers"]
    assert isinstance(layers, list)
    return [
        ("name", described["name"]),
        ("owner", described["owner"]),
        ("status", described["status"]),
        ("path", described["path"]),
        ("repository", described["repository"]),
        ("layers", ", ".join(f"{r['scaffold']} {r['version']}" for r in layers)),
        ("registered", "yes" if described["registered"] else "no"),
    ]
