"""``paved new service``: one command from nothing to a pushed, registered service."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from paved.cli.common import JsonOption, handle_errors, runtime_of
from paved.cli.completion import complete_app_templates, complete_set_keys
from paved.errors import InputError

if TYPE_CHECKING:
    from paved.backstage import Backstage
    from paved.cli.output import Output
    from paved.cli.runtime import Runtime
    from paved.service.new import NewServiceDeps, NewServicePlan, NewServiceResult

app = typer.Typer(help="Create things on the paved road.", no_args_is_help=True)


def _parse_sets(pairs: list[str]) -> dict[str, str]:
    answers: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--set '{pair}' is not KEY=VALUE", hint="for example --set port=8080")
        answers[key.strip()] = value
    return answers


NameArgument = Annotated[
    str, typer.Argument(metavar="NAME", help="The service name: lower-case words joined by '-'.")
]
OwnerOption = Annotated[
    str | None,
    typer.Option("--owner", "-o", metavar="TEAM", help="The team that owns the service."),
]
TemplateOption = Annotated[
    str | None,
    typer.Option(
        "--template",
        "-t",
        metavar="SCAFFOLD",
        help="The app-layer scaffold.",
        autocompletion=complete_app_templates,
    ),
]
DescriptionOption = Annotated[
    str,
    typer.Option(
        "--description", "-d", metavar="TEXT", help="One line saying what the service does."
    ),
]
DirOption = Annotated[
    Path | None,
    typer.Option(
        "--dir", metavar="DIR", help="Where to create it (a new or empty folder). Default: ./NAME."
    ),
]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="KEY=VALUE",
        help="Answer a scaffold question: KEY=VALUE. Repeatable.",
        autocompletion=complete_set_keys,
    ),
]
RemoteOption = Annotated[
    str | None,
    typer.Option(
        "--remote", metavar="URL", help="Push to this existing, empty git repository instead."
    ),
]
NoPushOption = Annotated[bool, typer.Option("--no-push", help="Commit locally; push nothing.")]
NoRegisterOption = Annotated[
    bool, typer.Option("--no-register", help="Leave the service out of the catalog.")
]
DryRunOption = Annotated[
    bool,
    typer.Option("--dry-run", help="Show the plan (files, remote, catalog entry); write nothing."),
]


@app.command("service")
@handle_errors
def new_service(
    ctx: typer.Context,
    name: NameArgument,
    owner: OwnerOption = None,
    template: TemplateOption = None,
    description: DescriptionOption = "",
    directory: DirOption = None,
    sets: SetOption = None,
    remote: RemoteOption = None,
    no_push: NoPushOption = False,
    no_register: NoRegisterOption = False,
    dry_run: DryRunOption = False,
    json_output: JsonOption = False,
) -> None:
    """Create a service: render, commit, push and register it.

    The app and road scaffolds are rendered into a new folder, committed, pushed to a new
    repository and registered in the catalog.

    Every step can be run again: after a failure the same command carries on where it
    stopped; after success it changes nothing and says so.
    """
    from paved.service import new as domain

    runtime = runtime_of(ctx, json_output=json_output)
    if remote is not None and not remote.strip():
        raise InputError(
            "--remote is empty",
            hint="give the URL of an existing, empty git repository, or leave --remote out",
        )
    if owner is None:
        owner = ask_owner(runtime)
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
    deps = new_service_deps(runtime, remote)
    if not dry_run:
        from paved.scaffold.engine import preload

        preload()
    plan = domain.plan_new_service(request, deps)
    if dry_run:
        _show_plan(runtime.out, plan, deps)
    else:
        runtime.out.info(f"Creating {name} for {owner} in {plan.destination}")
        with runtime.out.working(f"creating {name}"):  # render, commit, push, register
            result = domain.create_service(plan, deps)
        _show_result(runtime.out, plan, result)


def ask_owner(runtime: "Runtime") -> str:
    """The owning team from a prompt, checked by the rule --owner follows."""
    from paved.cli.prompts import ask
    from paved.names import check_name, example_name

    example = example_name("team")
    return ask(
        runtime,
        f"Owning team (for example {example})",
        check=lambda answer: check_name(answer, what="owner team"),
        missing=InputError("the owning team is missing", hint="pass --owner TEAM"),
    )


def new_service_deps(runtime: "Runtime", remote: str | None) -> "NewServiceDeps":
    from paved.repository_url import configured_git_host
    from paved.service.new import NewServiceDeps

    return NewServiceDeps(
        registry=runtime.registry,
        store=runtime.store,
        githost=lambda: runtime.githost(remote),
        catalog=runtime.catalog,
        cwd=runtime.cwd,
        cache_dir=runtime.paths.cache_dir,
        locks_dir=runtime.paths.locks_dir,
        data_dir=runtime.paths.data_dir,
        git_host=configured_git_host(
            runtime.settings.githost_api, runtime.settings.githost_api_url
        ),
        clock=runtime.clock,
        progress=runtime.out.progress,
        backstage=lambda: _backstage(runtime),
    )


def _backstage(runtime: "Runtime") -> "Backstage | None":
    settings = runtime.settings
    if not settings.backstage_url:
        return None
    from paved.backstage import Backstage
    from paved.config import check_backstage_target

    check_backstage_target(settings)

    return Backstage(
        settings.backstage_url, settings.backstage_token, githost_api=settings.githost_api
    )


def _show_plan(out: "Output", plan: "NewServicePlan", deps: "NewServiceDeps") -> None:
    from paved.service.new import describe, dry_run

    result = dry_run(plan, deps)
    files = plan.files()
    if out.json_mode:
        out.json(describe(result, files=files))
        return
    out.info(f"Plan for {plan.request.name} (dry run: nothing written):")
    out.fields(_summary(describe(result)))
    for path in files:
        out.line(f"file\t{path}" if not out.stdout_is_terminal else f"  {path}")


def _show_result(out: "Output", plan: "NewServicePlan", result: "NewServiceResult") -> None:
    from paved.service.new import describe

    described = describe(result)
    if out.json_mode:
        out.json(described)
    else:
        out.fields(_summary(described))
    name = plan.request.name
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
