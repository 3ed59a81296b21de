"""``paved deployments``: the history of deploys and rollbacks, from the catalog."""

from typing import TYPE_CHECKING, Annotated

import typer

from paved.cli.catalogs import say_catalog
from paved.cli.common import JsonOption, handle_errors, runtime_of
from paved.cli.completion import complete_environments
from paved.cli.output import Column

if TYPE_CHECKING:
    from paved.models import Deployment

app = typer.Typer(help="Read the deployment history.", no_args_is_help=True)


@app.command("list")
@handle_errors
def list_deployments(
    ctx: typer.Context,
    service: Annotated[
        str | None, typer.Option("--service", "-s", metavar="NAME", help="Only this service.")
    ] = None,
    env: Annotated[
        str | None,
        typer.Option(
            "--env",
            "-e",
            metavar="ENV",
            help="Only this environment.",
            autocompletion=complete_environments,
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """List every deploy and rollback attempt, newest first.

    An attempt that was cut off (its process killed) is settled first against the
    environment repository: succeeded if its commit is there, failed (interrupted) if not.
    """
    runtime = runtime_of(ctx, json_output=json_output)
    from paved.cli.deploy import deploy_deps  # keep 'paved --help' fast
    from paved.deploy import settle

    # Open records whose attempt is over are settled first: the list tells what happened.
    settle(deploy_deps(runtime), service=service, environment=env)
    catalog = runtime.catalog()
    found = list(reversed(catalog.deployments(service=service, environment=env)))
    out = runtime.out
    say_catalog(out, catalog)
    if out.json_mode:
        out.json({"schema": "paved/deployments/v1", "deployments": [d.to_json() for d in found]})
        return

    def note(d: "Deployment") -> str:
        if d.rollback_of is not None:
            return f"rollback of {d.rollback_of} to {d.restored}"
        if d.break_glass:
            return f"break glass: {d.break_glass}"
        return d.message if d.outcome != "succeeded" else ""

    rows = [
        (
            d.id,
            d.service,
            d.environment,
            d.outcome,
            d.image,
            d.actor,
            d.to_json()["finished_at"],
            note(d),
        )
        for d in found
    ]
    out.table(
        [
            *(Column(name, shorten=False) for name in ("ID", "SERVICE", "ENV", "OUTCOME")),
            Column("IMAGE", shorten=True),
            Column("ACTOR", hide=2),
            Column("FINISHED", shorten=False, hide=3),
            Column("NOTE", wrap=True, hide=1),
        ],
        rows,
        empty=f"No deployments{_of(service, env)} in the catalog {catalog.location} yet. "
        "Deploy a service: paved deploy --env dev --image REF",
    )


def _of(service: str | None, env: str | None) -> str:
    """`` of SERVICE to ENV`` for the filters given, for the empty list's message."""
    return (f" of {service}" if service else "") + (f" to {env}" if env else "")
