"""``paved add``, ``paved remove`` and ``paved resources``: a service's data resources."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from paved.cli.common import JsonOption, handle_errors, runtime_of
from paved.cli.output import Column
from paved.errors import ExitCode, InputError

if TYPE_CHECKING:
    from paved.cli.runtime import Runtime
    from paved.models import DataResource
    from paved.resources import ResourceResult

add_app = typer.Typer(
    help="Add a database, a bucket or a queue to this service.",
    no_args_is_help=True,
)
remove_app = typer.Typer(
    help="Remove a database, a bucket or a queue from this service.",
    no_args_is_help=True,
)
resources_app = typer.Typer(help="Read a service's data resources.", no_args_is_help=True)

NameArgument = Annotated[
    str,
    typer.Argument(
        metavar="NAME",
        help="The resource's name in the service: 2-20 lower-case letters, digits and '-'.",
        show_default=False,
    ),
]
PathOption = Annotated[
    Path | None,
    typer.Option("--path", metavar="DIR", help="The service (default: the one around here)."),
]
BranchOption = Annotated[
    str | None,
    typer.Option(
        "--branch",
        metavar="BRANCH",
        help="Commit on this new branch (from HEAD), for a pull request, not on this one.",
    ),
]
DryRunOption = Annotated[
    bool,
    typer.Option("--dry-run", help="Say what would change in every file; change nothing."),
]
DiffOption = Annotated[
    bool, typer.Option("--diff", help="Show the unified diff of what the change does.")
]


def _root(runtime: "Runtime", path: Path | None) -> Path:
    if path is not None:
        return path if path.is_absolute() else runtime.cwd / path
    from paved.service.layout import find_service

    return find_service(runtime.cwd) or runtime.cwd


def _resource(kind: str, name: str, **options: Any) -> "DataResource":
    from paved.models import DataResource, resource_name_problem

    if (problem := resource_name_problem(name)) is not None:
        from paved.text import escaped

        raise InputError(
            f"{kind} name {escaped(repr(name))} {problem}",
            hint="use 2-20 lower-case letters (a-z), digits and single hyphens, such as orders",
        )
    try:
        return DataResource.make(kind, name, **options)
    except ValueError as exc:
        raise InputError(str(exc)) from None


def _add(
    ctx: typer.Context, resource: "DataResource", path: Path | None, branch: str | None,
    dry_run: bool, diff: bool, json_output: bool,
) -> None:  # fmt: skip
    from paved.cli.update import update_deps
    from paved.resources import ResourceRequest, add_resource

    runtime = runtime_of(ctx, json_output=json_output)
    root = _root(runtime, path)
    request = ResourceRequest(root, resource, branch, dry_run, diff)
    _preload()
    with runtime.out.working(f"adding the {resource.kind} {resource.name}"):
        result = add_resource(request, update_deps(runtime))
    _show(runtime, result)


def _preload() -> None:
    from paved.scaffold.engine import preload

    preload()


@add_app.command("database")
@handle_errors
def add_database(
    ctx: typer.Context,
    name: NameArgument,
    engine: Annotated[
        str, typer.Option("--engine", metavar="postgres|mysql", help="The database engine.")
    ] = "postgres",
    size: Annotated[
        str,
        typer.Option(
            "--size",
            metavar="small|medium|large",
            help="The instance class and storage the road gives each size.",
        ),
    ] = "small",
    path: PathOption = None,
    branch: BranchOption = None,
    dry_run: DryRunOption = False,
    diff: DiffOption = False,
    json_output: JsonOption = False,
) -> None:
    """Add a database (RDS) with the organisation's defaults.

    One in every environment of the service, encrypted with its own KMS key, private
    subnets only, TLS and IAM authentication, the master password in Secrets Manager,
    backups, and in prod Multi-AZ and deletion protection. The service's role gains
    rds-db:connect as its own database user, and the overlays get the connection settings.
    One commit; review it, push, apply the Terraform.
    """
    for option, value, choices in (
        ("--engine", engine, ("postgres", "mysql")),
        ("--size", size, ("small", "medium", "large")),
    ):
        if value not in choices:
            raise InputError(f"{option} {value!r} is not one of {', '.join(choices)}")
    resource = _resource("database", name, engine=engine, size=size)
    _add(ctx, resource, path, branch, dry_run, diff, json_output)


@add_app.command("bucket")
@handle_errors
def add_bucket(
    ctx: typer.Context,
    name: NameArgument,
    path: PathOption = None,
    branch: BranchOption = None,
    dry_run: DryRunOption = False,
    diff: DiffOption = False,
    json_output: JsonOption = False,
) -> None:
    """Add an S3 bucket with the organisation's defaults.

    One in every environment of the service: public access blocked, encrypted with its
    own KMS key, versioned, TLS only, access logged, old versions expired, object
    ownership enforced. The service's role gains the object actions on that bucket only.
    """
    _add(ctx, _resource("bucket", name), path, branch, dry_run, diff, json_output)


@add_app.command("queue")
@handle_errors
def add_queue(
    ctx: typer.Context,
    name: NameArgument,
    dead_letter: Annotated[
        bool,
        typer.Option(
            "--dead-letter/--no-dead-letter",
            help="Give it a dead-letter queue for messages that keep failing (default: yes).",
        ),
    ] = True,
    path: PathOption = None,
    branch: BranchOption = None,
    dry_run: DryRunOption = False,
    diff: DiffOption = False,
    json_output: JsonOption = False,
) -> None:
    """Add an SQS queue with the organisation's defaults.

    One in every environment of the service, encrypted with its own KMS key, TLS only,
    with a dead-letter queue. The service's role gains sending, receiving and deleting
    on that queue only.
    """
    resource = _resource("queue", name, dead_letter=dead_letter)
    _add(ctx, resource, path, branch, dry_run, diff, json_output)


def _remove(
    ctx: typer.Context, kind: str, name: str, path: Path | None, branch: str | None,
    break_glass: bool, reason: str | None, dry_run: bool, json_output: bool,
) -> None:  # fmt: skip
    from paved.cli.prompts import confirm, declined
    from paved.cli.update import update_deps
    from paved.deploy import resolve_environments
    from paved.models import DATA_RESOURCE_OPTIONS
    from paved.resources import ResourceRequest, remove_resource

    runtime = runtime_of(ctx, json_output=json_output)
    if reason is not None and not break_glass:
        raise InputError("--reason goes with --break-glass")
    if break_glass and not (reason or "").strip():
        raise InputError("--break-glass needs --reason TEXT saying why")
    # The name only: a removal does not need the options, which the service's answers hold.
    defaults = {key: choices[0] for key, choices in DATA_RESOURCE_OPTIONS[kind].items()}
    resource = _resource(kind, name, **defaults)
    environments = resolve_environments(runtime.settings, runtime.paths.data_dir)
    protected = frozenset(n for n, e in environments.items() if e.protected) | {"prod"}
    root = _root(runtime, path)
    request = ResourceRequest(
        root, resource, branch, dry_run, protected=protected,
        break_glass=reason if break_glass else None,
    )  # fmt: skip
    if not dry_run and not runtime.yes:
        missing = InputError(
            f"removing the {kind} {name} deletes it from the service's Terraform: it needs "
            "confirmation",
            hint="add --yes (its data goes when the Terraform is applied; a database keeps its "
            "final snapshot)",
        )
        if not confirm(runtime, f"Remove the {kind} {name}?", missing=missing):
            declined(f"not removed: the {kind} {name} was not confirmed; nothing was changed")
    _preload()
    with runtime.out.working(f"removing the {kind} {name}"):
        result = remove_resource(request, update_deps(runtime))
    _show(runtime, result)


def _remove_command(kind: str, summary: str) -> Any:
    @handle_errors
    def remove(
        ctx: typer.Context,
        name: NameArgument,
        path: PathOption = None,
        branch: BranchOption = None,
        break_glass: Annotated[
            bool,
            typer.Option(
                "--break-glass",
                help="Remove it although a protected environment (prod) has it; needs --reason.",
            ),
        ] = False,
        reason: Annotated[
            str | None,
            typer.Option("--reason", metavar="TEXT", help="Why --break-glass is needed."),
        ] = None,
        dry_run: DryRunOption = False,
        json_output: JsonOption = False,
    ) -> None:
        _remove(ctx, kind, name, path, branch, break_glass, reason, dry_run, json_output)

    remove.__doc__ = summary
    remove.__name__ = f"remove_{kind}"
    return remove


_REMOVE_DETAIL = """

    Only with --yes (or a yes at the prompt), and in a protected environment (prod) only with
    --break-glass --reason, which the commit records. The road's final snapshot setting
    stays on: deleting a database keeps its final snapshot.
    """
remove_app.command("database")(
    _remove_command("database", "Remove a database from this service." + _REMOVE_DETAIL)
)
remove_app.command("bucket")(
    _remove_command("bucket", "Remove a bucket from this service." + _REMOVE_DETAIL)
)
remove_app.command("queue")(
    _remove_command("queue", "Remove a queue from this service." + _REMOVE_DETAIL)
)


def _show(runtime: "Runtime", result: "ResourceResult") -> None:
    out = runtime.out
    if out.json_mode:
        out.json(result.to_json())
    else:
        rows = [
            (change.change.value, change.path)
            for change in result.files
            if change.change.value != "unchanged"
        ]
        out.table([Column("CHANGE"), Column("FILE", shorten=True)], rows, empty="")
        if result.diff:
            from paved.text import escaped

            out.line(escaped(result.diff, keep="\n\t"))
    what = f"the {result.resource.kind} {result.resource.name}"
    where = f" on the branch {result.branch}" if result.branch else ""
    if result.status == "unchanged":
        out.info(
            f"{result.service} has {what} already{where}; nothing to do."
            if result.action == "add"
            else f"{what} is removed already; nothing to do."
        )
    elif result.status == "planned":
        out.info(f"Dry run, nothing changed: would {result.action} {what}{where}.")
    elif result.status in ("added", "removed", "resumed"):
        done = "Added" if result.action == "add" else "Removed"
        out.info(f"{done} {what}: committed {result.commit}{where}; catalog: {result.catalog}.")
        out.info("Next: review it (git show), push, and apply the Terraform as usual.")
    elif result.status == "conflicts":
        out.info(
            f"The change to {what} conflicts with your edits; nothing committed. Resolve "
            "them (git status lists them), git add, then paved update --continue; paved "
            "update --abort puts everything back."
        )
        raise typer.Exit(int(ExitCode.CONFLICT))


@resources_app.command("list")
@handle_errors
def list_resources(
    ctx: typer.Context,
    path: PathOption = None,
    json_output: JsonOption = False,
) -> None:
    """List this service's data resources.

    From its files and from the catalog; IN says where each is: files (not in the catalog
    yet: on a branch, or not recorded), catalog (removed here, or added on another branch)
    or both.
    """
    from paved.cli.update import update_deps
    from paved.resources import list_resources as read_files
    from paved.resources import resource_rows

    runtime = runtime_of(ctx, json_output=json_output)
    service, files = read_files(_root(runtime, path), update_deps(runtime))
    record = runtime.catalog().get(service)
    rows = resource_rows(service, files, record.catalog if record is not None else None)
    if runtime.out.json_mode:
        runtime.out.json({"service": service, "registered": record is not None, "resources": rows})
        return
    runtime.out.table(
        [Column("NAME"), Column("KIND"), Column("OPTIONS"), Column("IN"), Column("ENTITY")],
        [
            (
                row["name"],
                row["kind"],
                ", ".join(f"{k}={str(v).lower()}" for k, v in row.items()
                          if k not in ("name", "kind", "entity", "in")),
                row["in"],
                row["entity"],
            )
            for row in rows
        ],
        empty=f"{service} has no data resources (paved add database|bucket|queue NAME adds one).",
    )  # fmt: skip
