"""``paved metrics``: the platform's delivery, onboarding and adoption figures, in a table.

The figures are the platform's (docs/metrics.md defines each); this module only asks for them
and shows them: tables, with a Unicode sparkline per week (or per cohort) where a trend
matters. ``--json`` prints the platform's figures as they came, checked.
"""

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer

from paved.cli.common import JsonOption, handle_errors, runtime_of
from paved.cli.output import Column
from paved.errors import InputError

if TYPE_CHECKING:
    from paved.catalog import ProductCatalog
    from paved.cli.output import Output
    from paved.cli.runtime import Runtime

__all__ = ["BARS", "app", "duration", "platform_of", "share", "sparkline"]

app = typer.Typer(
    help="Delivery, onboarding and adoption, from the platform.",
    no_args_is_help=True,
)

#: The eight bars of a sparkline, lowest first.
BARS = "▁▂▃▄▅▆▇█"
#: What a sparkline shows where there is no figure (a week without a lead time).
GAP = "·"

TeamOption = Annotated[
    str | None, typer.Option("--team", metavar="TEAM", help="Only this team's services.")
]
DaysOption = Annotated[
    int | None,
    typer.Option("--days", metavar="N", help="The window: the last N days (1 to 366)."),
]


def sparkline(values: Sequence[float | None]) -> str:
    """One bar per value, from ``▁`` (zero) to ``█`` (the highest value), oldest first.

    Bars are scaled from zero, not from the lowest value, so a small wobble never looks like
    a cliff; a value that is ``None`` (no figure that week) is ``·``; negative values count
    as zero. All zeros (or no values) are all ``▁``.
    """
    known = [max(0.0, float(v)) for v in values if v is not None]
    top = max(known, default=0.0)
    line = []
    for value in values:
        if value is None:
            line.append(GAP)
        elif top <= 0:
            line.append(BARS[0])
        else:
            line.append(BARS[round(max(0.0, float(value)) / top * (len(BARS) - 1))])
    return "".join(line)


def duration(seconds: float | None) -> str:
    """``seconds`` for people: ``45s``, ``12m``, ``3.5h``, ``2.1d``; ``-`` for no figure."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds / 60:.0f}m"
    if seconds < 86400:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


def share(value: float | None) -> str:
    """A share (0 to 1) as a percentage; ``-`` for no figure."""
    return "-" if value is None else f"{value * 100:.0f}%"


def platform_of(runtime: "Runtime", command: str) -> "ProductCatalog":
    """The platform's catalog, or the one line saying that ``command`` needs one (exit 2)."""
    from paved.catalog import product_catalog

    catalog = runtime.catalog()
    platform = product_catalog(catalog)
    if platform is None:
        raise InputError(
            f"paved {command} reads the platform's records; this machine uses the local "
            f"catalog {catalog.location}",
            hint="log in to your organisation's platform first: paved login URL",
        )
    return platform


def _read(runtime: "Runtime", command: str) -> "ProductCatalog":
    from paved.cli.catalogs import say_catalog

    platform = platform_of(runtime, command)
    say_catalog(runtime.out, platform)
    return platform


def _heading(out: "Output", text: str, *, first: bool = False) -> None:
    """A section's heading: on a terminal above its table (a blank line before all but the
    first); in a pipe on stderr, so that stdout holds the tables' rows only."""
    if out.stdout_is_terminal:
        if not first:
            out.line()
        out.line(text)
    else:
        out.info(text)


def _day(stamp: str) -> str:
    return dt.datetime.fromisoformat(stamp).astimezone(dt.UTC).date().isoformat()


def _window(figures: Mapping[str, Any]) -> str:
    return f"{_day(figures['window_start'])} to {_day(figures['window_end'])}"


def _trend(name: str, values: Sequence[float | None], shown: Any) -> tuple[str, ...]:
    known = [v for v in values if v is not None]
    low = shown(min(known)) if known else "-"
    high = shown(max(known)) if known else "-"
    last = shown(values[-1]) if values and values[-1] is not None else "-"
    return (name, sparkline(values), low, high, last)


def _count(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


@app.command("delivery")
@handle_errors
def delivery(
    ctx: typer.Context,
    team: TeamOption = None,
    service: Annotated[
        str | None, typer.Option("--service", metavar="NAME", help="Only this service.")
    ] = None,
    environment: Annotated[
        str, typer.Option("--environment", metavar="ENV", help="The environment (default prod).")
    ] = "prod",
    days: DaysOption = None,
    json_output: JsonOption = False,
) -> None:
    """Show the four delivery keys per service and per week.

    Deployment frequency, lead time, change failure rate and time to restore, per service
    and in total over the window, then a sparkline per week (oldest first) for each, and the
    incidents. Lead time starts at the first commit of each change; failures
    count failed deployments, rollbacks and incidents (docs/metrics.md).
    """
    runtime = runtime_of(ctx, json_output=json_output)
    platform = _read(runtime, "metrics delivery")
    figures = platform.delivery_metrics(
        team=team, service=service, environment=environment, days=30 if days is None else days
    )
    out = runtime.out
    if out.json_mode:
        out.json({"schema": "paved/metrics-delivery/v1", **figures})
        return
    show_delivery(out, figures)


def show_delivery(out: "Output", figures: Mapping[str, Any]) -> None:
    """The delivery figures as two tables: per service (and the total), and per week."""
    scope = f"team {figures['team']}" if figures["team"] else "every team"
    _heading(out, f"Delivery to {figures['environment']}, {scope}, {_window(figures)}", first=True)

    def row(name: str, owner: str, m: Mapping[str, Any]) -> tuple[str, ...]:
        return (
            name,
            owner,
            str(m["deployments"]),
            f"{m['deployment_frequency']:.2f}",
            duration(m["lead_time_seconds"]),
            share(m["change_failure_rate"]),
            duration(m["time_to_restore_seconds"]),
            str(m["incidents"]),
            str(m["failed_deployments"]),
            str(m["rollbacks"]),
        )

    services = figures["services"]
    rows = [row(m["service"], m["owner"], m) for m in services]
    if rows:
        rows.append(row("(total)", "", figures["total"]))
    out.table(
        [
            Column("SERVICE"),
            Column("OWNER", hide=3),
            Column("DEPLOYS"),
            Column("PER DAY", hide=4),
            Column("LEAD TIME"),
            Column("FAILURE RATE"),
            Column("RESTORE"),
            Column("INCIDENTS", hide=5),
            Column("FAILED", hide=2),
            Column("ROLLBACKS", hide=1),
        ],
        rows,
        empty=f"No deployments to {figures['environment']} in the window ({_window(figures)}).",
    )
    # The platform answers a page of services (the first, by name) with the total of all.
    count = figures.get("service_count")
    if figures.get("next_cursor") and isinstance(count, int):
        out.info(
            f"The first {len(services)} of {count} services by name, and the total of all; "
            "--team TEAM or --service NAME narrows the table."
        )
    weeks = figures["weeks"]
    if not weeks:
        return
    _heading(out, f"Per week from {_day(weeks[0]['week_start'])} (Mondays, oldest first)")
    out.table(
        ["PER WEEK", "TREND", "LOWEST", "HIGHEST", "LAST"],
        [
            _trend("deployments", [w["deployments"] for w in weeks], _count),
            _trend("lead time", [w["lead_time_seconds"] for w in weeks], duration),
            _trend("failure rate", [w["change_failure_rate"] for w in weeks], share),
            _trend("restore", [w["time_to_restore_seconds"] for w in weeks], duration),
            _trend("incidents", [w["incidents"] for w in weeks], _count),
        ],
        empty="",
    )


@app.command("onboarding")
@handle_errors
def onboarding(
    ctx: typer.Context,
    team: TeamOption = None,
    days: DaysOption = None,
    json_output: JsonOption = False,
) -> None:
    """Show the time new people take to a first production deploy.

    The median and 90th percentile per monthly cohort (with a sparkline of the medians,
    oldest first) and per team, and each step of paved onboard. Never a row per person: a
    group of fewer than 3 who finished shows no times (docs/metrics.md).
    """
    runtime = runtime_of(ctx, json_output=json_output)
    platform = _read(runtime, "metrics onboarding")
    figures = platform.onboarding_metrics(team=team, days=365 if days is None else days)
    out = runtime.out
    if out.json_mode:
        out.json({"schema": "paved/metrics-onboarding/v1", **figures})
        return
    show_onboarding(out, figures)


def show_onboarding(out: "Output", figures: Mapping[str, Any]) -> None:
    """The onboarding figures: per cohort (and its trend), per team, per step."""
    scope = f"team {figures['team']}" if figures["team"] else "every team"
    _heading(out, f"Onboarding, {scope}, {_window(figures)}: per monthly cohort", first=True)
    spread = ["STARTED", "FINISHED", "MEDIAN", "P90"]

    def times(m: Mapping[str, Any]) -> tuple[str, ...]:
        return (duration(m["median_seconds"]), duration(m["p90_seconds"]))

    cohorts = figures["cohorts"]
    out.table(
        ["COHORT", *spread],
        [(c["cohort"], str(c["started"]), str(c["finished"]), *times(c)) for c in cohorts],
        empty="Nobody started onboarding in the window.",
    )
    if cohorts:
        medians = [c["median_seconds"] for c in cohorts]
        _heading(out, f"Median per cohort, oldest first: {sparkline(medians)}")
    _heading(out, "Per team")
    out.table(
        ["TEAM", *spread],
        [(t["team"], str(t["started"]), str(t["finished"]), *times(t)) for t in figures["teams"]],
        empty="No team has anyone onboarding in the window.",
    )
    _heading(out, "Per step of paved onboard")
    out.table(
        ["STEP", "RUNS", "FINISHED", "MEDIAN", "P90"],
        [(s["step"], str(s["runs"]), str(s["finished"]), *times(s)) for s in figures["steps"]],
        empty="No step of paved onboard was run in the window.",
    )


@app.command("adoption")
@handle_errors
def adoption(
    ctx: typer.Context,
    layer: Annotated[
        str, typer.Option("--layer", metavar="road|app", help="The layer measured (default road).")
    ] = "road",
    days: DaysOption = None,
    json_output: JsonOption = False,
) -> None:
    """Show road versions, the gate and teams across the services.

    Services per version of the layer's scaffolds (and the share on the newest), how long
    services took to move to each release, the share whose latest gate report passed (with
    the rules that fail), and the teams that deployed in the window (docs/metrics.md).
    """
    runtime = runtime_of(ctx, json_output=json_output)
    platform = _read(runtime, "metrics adoption")
    figures = platform.adoption_metrics(layer=layer, days=30 if days is None else days)
    out = runtime.out
    if out.json_mode:
        out.json({"schema": "paved/metrics-adoption/v1", **figures})
        return
    show_adoption(out, figures)


def show_adoption(out: "Output", figures: Mapping[str, Any]) -> None:
    """The adoption figures: versions, the gate, the failing rules, the teams."""
    newest = figures["newest"]
    on_newest = figures["on_newest"]
    _heading(
        out,
        f"The {figures['layer']} layer: {on_newest['services']} services on the newest "
        f"version ({share(on_newest['share'])})",
        first=True,
    )
    out.table(
        [
            Column("SCAFFOLD"),
            Column("VERSION"),
            Column("SERVICES"),
            Column("SHARE"),
            Column("RELEASED", hide=2),
            Column("MOVED", hide=1),
            Column("PATCH MEDIAN"),
            Column("PATCH P90", hide=3),
        ],
        [
            (
                v["scaffold"],
                v["version"] + (" (newest)" if newest.get(v["scaffold"]) == v["version"] else ""),
                str(v["services"]),
                share(v["share"]),
                _day(v["released_at"]) if v["released_at"] else "-",
                str(v["moved"]),
                duration(v["time_to_patch_median_seconds"]),
                duration(v["time_to_patch_p90_seconds"]),
            )
            for v in figures["versions"]
        ],
        empty=f"No service has a {figures['layer']} layer yet.",
    )
    gate = figures["gate"]
    _heading(
        out,
        f"The gate: {gate['passed']} of {gate['reported']} services reporting pass "
        f"({share(gate['share_passing'])})",
    )
    out.table(
        ["FAILING RULE", "SERVICES"],
        [(r["rule_id"], str(r["services"])) for r in gate["failing_rules"]],
        empty="No rule fails in the latest gate reports.",
    )
    deployed = figures["teams_deployed"]
    _heading(out, f"Teams: {deployed} deployed in the window")
    out.table(
        ["TEAM", "SERVICES", "DEPLOYED"],
        [
            (t["team"], str(t["services"]), "yes" if t["deployed_in_window"] else "no")
            for t in figures["teams"]
        ],
        empty="No team owns a service yet.",
    )
