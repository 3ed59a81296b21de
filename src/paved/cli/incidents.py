"""``paved incident``: record what went wrong in production, and when it was put right.

Incidents live on the platform (its clock opens and resolves them); the delivery metrics
count them in the change failure rate and the time to restore (docs/metrics.md).
"""

from typing import TYPE_CHECKING, Annotated

import typer

from paved.cli.common import JsonOption, handle_errors, runtime_of
from paved.cli.output import Column

if TYPE_CHECKING:
    from paved.catalog import Incident
    from paved.cli.output import Output

__all__ = ["app"]

app = typer.Typer(help="Open, resolve and list incidents on the platform.", no_args_is_help=True)

DryRunOption = Annotated[
    bool,
    typer.Option("--dry-run", help="Let the platform check everything; record nothing."),
]


def _stamp(incident: "Incident", key: str) -> str:
    value = incident.to_json()[key]
    return "" if value is None else str(value)


@app.command("open")
@handle_errors
def open_incident(
    ctx: typer.Context,
    service: Annotated[str, typer.Argument(metavar="SERVICE", help="The service affected.")],
    title: Annotated[str, typer.Option("--title", metavar="TEXT", help="One line: what is wrong.")],
    environment: Annotated[
        str,
        typer.Option("--environment", metavar="ENV", help="Where (default prod)."),
    ] = "prod",
    severity: Annotated[
        str,
        typer.Option(
            "--severity", metavar="SEVERITY", help="sev1 (the worst) to sev4 (default sev2)."
        ),
    ] = "sev2",
    deployment: Annotated[
        int | None,
        typer.Option("--deployment", metavar="ID", help="The deployment that caused it."),
    ] = None,
    dry_run: DryRunOption = False,
    json_output: JsonOption = False,
) -> None:
    """Open an incident of a service, now.

    Only a member of the team that owns the service (or an admin) may. With --deployment,
    the deployment (of that service, to that environment) that caused it: the change
    failure rate counts it as failed.
    """
    from paved.catalog import SEVERITIES
    from paved.cli.metrics import platform_of
    from paved.errors import InputError

    runtime = runtime_of(ctx, json_output=json_output)
    if severity not in SEVERITIES:
        raise InputError(f"--severity {severity!r} is not one of {', '.join(SEVERITIES)}")
    platform = platform_of(runtime, "incident open")
    made = platform.open_incident(
        service,
        environment,
        title,
        severity=severity,  # type: ignore[arg-type]
        deployment_id=deployment,
        dry_run=dry_run,
    )
    _said(runtime.out, made, "would open" if dry_run else "opened", dry_run=dry_run)


@app.command("resolve")
@handle_errors
def resolve_incident(
    ctx: typer.Context,
    incident: Annotated[int, typer.Argument(metavar="ID", help="The incident's id.")],
    dry_run: DryRunOption = False,
    json_output: JsonOption = False,
) -> None:
    """Resolve an open incident, now.

    The time from its opening to now is its time to restore. An incident resolved already
    stays as it is (exit 6).
    """
    from paved.cli.metrics import platform_of

    runtime = runtime_of(ctx, json_output=json_output)
    platform = platform_of(runtime, "incident resolve")
    made = platform.resolve_incident(incident, dry_run=dry_run)
    _said(runtime.out, made, "would resolve" if dry_run else "resolved", dry_run=dry_run)


def _said(out: "Output", incident: "Incident", verb: str, *, dry_run: bool) -> None:
    if out.json_mode:
        out.json({"schema": "paved/incident/v1", "dry_run": dry_run, **incident.to_json()})
        return
    which = f"incident {incident.id}" if incident.id is not None else "an incident"
    out.info(
        f"{verb} {which} of {incident.service} in {incident.environment} "
        f"({incident.severity}): {incident.title}"
    )
    if dry_run:
        out.info("dry run: nothing was recorded")


@app.command("list")
@handle_errors
def list_incidents(
    ctx: typer.Context,
    service: Annotated[
        str | None, typer.Option("--service", metavar="NAME", help="Only this service.")
    ] = None,
    team: Annotated[
        str | None, typer.Option("--team", metavar="TEAM", help="Only this team's services.")
    ] = None,
    open_only: Annotated[
        bool, typer.Option("--open/--all", help="Only open incidents (default), or all.")
    ] = True,
    json_output: JsonOption = False,
) -> None:
    """List incidents, newest first.

    Open ones only unless --all; RESOLVED is empty while an incident is open.
    """
    from paved.cli.catalogs import say_catalog
    from paved.cli.metrics import platform_of

    runtime = runtime_of(ctx, json_output=json_output)
    platform = platform_of(runtime, "incident list")
    say_catalog(runtime.out, platform)
    found = platform.incidents(service=service, team=team, open=True if open_only else None)
    out = runtime.out
    if out.json_mode:
        out.json({"schema": "paved/incidents/v1", "incidents": [i.to_json() for i in found]})
        return
    which = "open incidents" if open_only else "incidents"
    scope = (f" of {service}" if service else "") + (f" of team {team}" if team else "")
    out.table(
        [
            Column("ID"),
            Column("SERVICE"),
            Column("ENV"),
            Column("SEVERITY"),
            Column("OPENED", hide=2),
            Column("RESOLVED", hide=1),
            Column("DEPLOYMENT", hide=3),
            Column("TITLE", wrap=True),
        ],
        [
            (
                i.id,
                i.service,
                i.environment,
                i.severity,
                _stamp(i, "opened_at"),
                _stamp(i, "resolved_at"),
                "" if i.deployment_id is None else i.deployment_id,
                i.title,
            )
            for i in found
        ],
        empty=f"No {which}{scope} on the platform.",
    )
