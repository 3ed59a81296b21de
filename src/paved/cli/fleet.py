"""``paved fleet``: see which services are behind, roll a release out in waves, follow it."""

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from paved.cli.common import JsonOption, handle_errors, runtime_of
from paved.cli.output import Column
from paved.errors import ExitCode, InputError

if TYPE_CHECKING:
    from paved.catalog import Catalog
    from paved.cli.output import Output
    from paved.cli.runtime import Runtime
    from paved.fleet import FleetRequest, FleetRun, Outcome
    from paved.githost.change_requests import ChangeRequests
    from paved.update import UpdateDeps

app = typer.Typer(
    help="Roll a paved-road release across every service, in waves.", no_args_is_help=True
)

LayerOption = Annotated[
    str, typer.Option("--layer", metavar="road|app", help="The layer to update (default road).")
]
ToOption = Annotated[
    str | None, typer.Option("--to", metavar="VERSION", help="This version, not the newest.")
]
OwnerOption = Annotated[
    str | None, typer.Option("--owner", metavar="TEAM", help="Only this team's services.")
]
TemplateOption = Annotated[
    str | None,
    typer.Option("--template", metavar="SCAFFOLD", help="Only services made from this scaffold."),
]
ParallelOption = Annotated[
    int | None,
    typer.Option("--parallel", metavar="N", help="Services at once (default: the CPU count)."),
]


def _request(
    layer: str,
    to: str | None,
    owner: str | None,
    template: str | None,
    parallel: int | None,
    **more: object,
) -> "FleetRequest":
    import os

    from paved.fleet import FleetRequest
    from paved.names import check_name

    if layer not in ("road", "app"):
        raise InputError(f"--layer {layer!r} is not road or app")
    if owner is not None:
        check_name(owner, what="--owner team")
    workers = parallel if parallel is not None else max(1, os.cpu_count() or 1)
    if workers < 1 or workers > 64:
        raise InputError(f"--parallel {workers} is not from 1 to 64")
    return FleetRequest(layer, to, owner, template, workers, **more)  # type: ignore[arg-type]


def _deps(runtime: "Runtime") -> "UpdateDeps":
    from paved.cli.update import update_deps

    return update_deps(runtime)


@app.command("plan")
@handle_errors
def plan(
    ctx: typer.Context,
    layer: LayerOption = "road",
    to: ToOption = None,
    owner: OwnerOption = None,
    template: TemplateOption = None,
    parallel: ParallelOption = None,
    json_output: JsonOption = False,
) -> None:
    """Show what an update would do to each service, pushing nothing.

    One row per service: its version, the target, and what an update would do to it.

    Each service is cloned and dry-run updated, in parallel; nothing is pushed or recorded.
    """
    runtime = runtime_of(ctx, json_output=json_output)
    request = _request(layer, to, owner, template, parallel)
    _plan_and_show(runtime, request, layer)


def _confirm_direct(
    runtime: "Runtime",
    catalog: "Catalog",
    *,
    layer: str,
    to: str | None,
    owner: str | None,
    template: str | None,
) -> None:
    """Ask before pushing to default branches, saying which; declined, nothing is pushed."""
    from paved.cli.prompts import confirm, declined

    what = f"Push the {layer} update straight to the default branch of every service selected"
    missing = InputError(f"{what} needs confirmation")
    selected = " and ".join(
        part
        for part in (
            f"owned by {owner}" if owner else "",
            f"made from {template}" if template else "",
        )
        if part
    )
    details = [
        ("layer", f"{layer}, to {to or 'the newest version'}"),
        ("services", f"every service {selected + ' ' if selected else ''}in {catalog.location}"),
        ("pushed to", "each service's default branch (no pull request)"),
    ]
    if not confirm(runtime, f"{what}?", missing=missing, details=details):
        declined(
            f"not pushed: the {layer} update was not confirmed; nothing was pushed or recorded"
        )


def _plan_and_show(runtime: "Runtime", request: "FleetRequest", layer: str) -> None:
    """What ``fleet plan`` and ``fleet update --dry-run`` both print: the plan, computed once."""
    from paved.fleet import fleet_plan

    with runtime.out.working(f"planning the {layer} update of the fleet"):
        result = fleet_plan(
            request,
            runtime.catalog(),
            runtime.registry,
            _deps(runtime),
            runtime.paths.data_dir / "fleet",
            progress=_progress(runtime.out),
        )
    _show(runtime.out, result, kind="plan")


@app.command("update")
@handle_errors
def update(
    ctx: typer.Context,
    layer: LayerOption = "road",
    to: ToOption = None,
    owner: OwnerOption = None,
    template: TemplateOption = None,
    parallel: ParallelOption = None,
    waves: Annotated[
        str,
        typer.Option("--waves", metavar="N,P%,...", help="Wave sizes, cumulative, ending at 100%."),
    ] = "100%",
    max_failures: Annotated[
        int | None,
        typer.Option(
            "--max-failures", metavar="N", help="Stop before the next wave past N failures."
        ),
    ] = None,
    mode: Annotated[
        str,
        typer.Option(
            "--mode",
            metavar="branch|direct",
            help="Push a branch per service (default), or push clean updates to main.",
        ),
    ] = "branch",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Plan only (as paved fleet plan); push nothing.")
    ] = False,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes",
            "-y",
            help="Never prompt: say yes to confirmations, take defaults, fail on what is missing.",
        ),
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Update every service to the newest road, in waves.

    --owner and --template narrow it to some services. Each service, in a clean clone: update on
    a branch paved/update-LAYER-VERSION, the guardrails on the result, then push the branch (or,
    with --mode direct, the default branch). A conflicted update is committed on its branch with
    its files listed, never on the default branch. Exit 0 when every service is updated, 6 when
    some conflicted, 3 when the guardrails refused some, 5 when remotes failed. Run the same
    command again to carry on after a failure: nothing is pushed twice.
    """
    from paved.fleet import Mode, fleet_update, parse_waves

    if mode not in ("branch", "direct"):
        raise InputError(f"--mode {mode!r} is not branch or direct")
    if max_failures is not None and max_failures < 0:
        raise InputError("--max-failures cannot be negative")
    runtime = runtime_of(ctx, json_output=json_output)
    request = _request(
        layer, to, owner, template, parallel,
        waves=parse_waves(waves), max_failures=max_failures, mode=Mode(mode), dry_run=dry_run,
    )  # fmt: skip
    if dry_run:
        _plan_and_show(runtime, request, layer)
        return
    catalog = runtime.catalog()
    if request.mode is Mode.DIRECT and not (yes or runtime.yes):
        _confirm_direct(runtime, catalog, layer=layer, to=to, owner=owner, template=template)
    requests = runtime.change_requests() if request.mode is Mode.BRANCH else None
    try:
        with runtime.out.working(f"updating {layer} across the fleet"):
            result = fleet_update(
                request,
                catalog,
                runtime.registry,
                _deps(runtime),
                runtime.paths.data_dir / "fleet",
                progress=_progress(runtime.out),
                after=_after(catalog, request, runtime.out, requests),
            )
    finally:
        if requests is not None:
            requests.close()
    _show(runtime.out, result, kind="update")
    code = _exit_code(result)
    if code:
        raise typer.Exit(code)


@app.command("status")
@handle_errors
def status(
    ctx: typer.Context,
    rollout: Annotated[
        str | None,
        typer.Argument(metavar="[ROLLOUT]", help="A roll-out id (default: the newest)."),
    ] = None,
    no_refresh: Annotated[
        bool,
        typer.Option("--no-refresh", help="Show the journal only; do not look at the remotes."),
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Show where a roll-out stands, service by service.

    Each service of the roll-out is pending, ready, pr-open, merged, conflicted, refused,
    failed, declined or up-to-date; then the share of services on each version, and the time
    to patch.

    A service whose default branch now holds the update is merged: its new version is
    recorded in the catalog. --no-refresh shows the journal as it is.
    """
    from paved.fleet import adoption, fleet_status, refresh

    runtime = runtime_of(ctx, json_output=json_output)
    fleet_dir = runtime.paths.data_dir / "fleet"
    result = fleet_status(fleet_dir, rollout)
    layer = result.rollout.split("-", 1)[0]
    if not no_refresh:
        result = refresh(result, runtime.catalog(), _deps(runtime), fleet_dir, layer)
    versions: dict[str, int] = {}
    for service in runtime.catalog().list():
        for ref in service.layers:
            if ref.layer == layer:
                key = f"{ref.scaffold} {ref.version}"
                versions[key] = versions.get(key, 0) + 1
    extra: dict[str, object] = {
        "versions": dict(sorted(versions.items())),
        "adoption": adoption(fleet_dir, result.rollout),
    }
    from paved.catalog import rollout_catalog

    platform = rollout_catalog(runtime.catalog())
    if platform is not None:  # the organisation's figures, over every roll-out and machine
        extra["patching"] = [figures.to_json() for figures in platform.patching(layer)]
    _show(runtime.out, result, kind="status", extra=extra)


def _progress(out: "Output") -> "Callable[[Outcome, int, int], None]":
    def said(outcome: "Outcome", index: int, total: int) -> None:
        detail = f": {outcome.detail}" if outcome.detail else ""
        out.progress(f"[{index}/{total}] {outcome.service} {outcome.status.value}{detail}")

    return said


def _after(
    catalog: "Catalog",
    request: "FleetRequest",
    out: "Output",
    requests: "ChangeRequests | None",
) -> "Callable[[Outcome], Outcome]":
    """What the parent does with each finished service before journaling it: a pushed branch
    gets its pull or merge request; a merged update's version goes to the catalog."""
    from paved.errors import PavedError
    from paved.fleet import Status, record_merged, request_for

    repositories: dict[str, str] = {}

    def after(outcome: "Outcome") -> "Outcome":
        if requests is not None and outcome.branch is not None:
            if not repositories:
                repositories.update({s.name: s.repository for s in catalog.list()})
            try:
                outcome = request_for(
                    requests, outcome, repositories[outcome.service], request.layer
                )
            except PavedError as exc:
                detail = f"the branch is pushed; the request failed: {exc}"
                return dataclasses.replace(outcome, status=Status.FAILED, detail=detail)
        if outcome.status is Status.MERGED:
            try:
                record_merged(catalog, outcome, request.layer)
            except PavedError as exc:
                out.info(f"warning: {outcome.service}: the catalog did not record it ({exc})")
        return outcome

    return after


def _exit_code(result: "FleetRun") -> int:
    from paved.fleet import Status

    found = {outcome.status for outcome in result.outcomes}
    if Status.CONFLICTED in found:
        return int(ExitCode.CONFLICT)
    if Status.REFUSED in found:
        return int(ExitCode.GUARDRAIL)
    if Status.FAILED in found or result.stopped:
        return int(ExitCode.REMOTE)
    return 0


def _show(
    out: "Output", result: "FleetRun", *, kind: str, extra: dict[str, object] | None = None
) -> None:
    from paved.fleet import describe

    if out.json_mode:
        data = describe(result.rollout, result.outcomes, kind=kind, stopped=result.stopped)
        out.json({**data, **(extra or {})})
    else:
        rows = [
            (
                o.service,
                o.owner,
                o.status.value,
                f"{o.current} -> {o.target}" if o.target else o.current,
                ", ".join(f"{k} {v}" for k, v in sorted(o.counts.items()) if k != "unchanged"),
                ", ".join(o.conflicts) or o.detail,
            )
            for o in result.outcomes
        ]
        out.table(
            [
                Column("SERVICE", shorten=False),
                Column("OWNER", shorten=False, hide=2),
                Column("STATUS", shorten=False),
                Column("VERSION", shorten=False, hide=3),
                Column("FILES", wrap=True, hide=1),
                Column("DETAIL", wrap=True),
            ],
            rows,
            empty="No services.",
        )
    totals: dict[str, int] = {}
    for outcome in result.outcomes:
        totals[outcome.status.value] = totals.get(outcome.status.value, 0) + 1
    summary = ", ".join(f"{count} {name}" for name, count in sorted(totals.items()))
    out.info(f"roll-out {result.rollout}: {summary or 'no services'}")
    if result.stopped:
        out.info(result.stopped)
    if extra:
        versions = extra.get("versions") or {}
        assert isinstance(versions, dict)
        out.info("on each version: " + ", ".join(f"{k}: {v}" for k, v in versions.items()))
        times = extra.get("adoption") or {}
        assert isinstance(times, dict)
        if times.get("median_seconds") is not None:
            out.info(
                f"time to patch: {times['merged']} of {times['services']} merged, median "
                f"{times['median_seconds']:.0f} s, p90 {times['p90_seconds']:.0f} s"
            )
        for figures in extra.get("patching") or []:  # type: ignore[attr-defined]
            median = figures.get("time_to_patch_median_seconds")
            shown = f", time to patch median {median:.0f} s" if median is not None else ""
            out.info(
                f"platform: {figures['scaffold']} {figures['version']}: "
                f"{figures['services']} service(s){shown}"
            )
