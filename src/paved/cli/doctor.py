"""``paved doctor``: what is wrong with this machine or this service, and how to fix it."""

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from paved.cli.common import JsonOption, handle_errors, runtime_of
from paved.cli.output import Column
from paved.errors import InputError, PavedError

if TYPE_CHECKING:
    from paved.cli.runtime import Runtime
    from paved.doctor import Inputs, Report
    from paved.guardrails import Report as GuardrailsReport
    from paved.scaffold.store import TemplateSource

_MARKS = {"ok": "ok", "warn": "WARN", "fail": "FAIL", "skip": "skip"}


@handle_errors
def doctor(
    ctx: typer.Context,
    path: Annotated[
        Path | None,
        typer.Option(
            "--path", metavar="PATH", help="The service repository (default: the one around here)."
        ),
    ] = None,
    fix: Annotated[
        bool,
        typer.Option(
            "--fix",
            help="Apply the safe fixes (create the data directory, build the template store, "
            "register the service), then check again. Never edits your code.",
        ),
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Check the machine and this service; say how to fix what fails.

    Every environment and service check runs, whatever the others find. Exit 0 when every
    check is ok or skipped, 1 when any check fails, 2 when there are only warnings (paved
    docs doctor).
    """
    from paved.doctor import diagnose, find_service  # keep 'paved --help' fast

    try:
        runtime = runtime_of(ctx, json_output=json_output)
    except PavedError:  # bad settings: the env.config check reports them like any other
        runtime = ctx.obj
    if path is None:
        service = find_service(runtime.cwd)
    else:
        start = (runtime.cwd / path).absolute()
        service = find_service(start) if start.is_dir() else None
        if service is None:
            raise InputError(
                f"{path} is not a service repository (no .copier-answers.road.yml in it or above)",
                hint="give the folder of a service made by 'paved new service'",
            )
    where = f"this machine and {service.name}" if service else "this machine"
    with runtime.out.working(f"checking {where}"):
        report = diagnose(doctor_inputs(runtime, service), fix=fix, progress=runtime.out.progress)
    _render(runtime, report)
    if report.exit_code:
        raise typer.Exit(report.exit_code)


def doctor_inputs(runtime: "Runtime", service: Path | None) -> "Inputs":
    import shutil
    import sys

    from paved.doctor import Inputs

    def render(source: "TemplateSource", destination: Path, answers: Mapping[str, Any]) -> None:
        from paved.scaffold.engine import render as render_layer

        render_layer(source, destination, answers, cache_dir=runtime.paths.cache_dir / "copier")

    def guardrails(root: Path, today: dt.date) -> "GuardrailsReport":
        from paved.guardrails import check

        return check(root, today=today, env=runtime.env)

    return Inputs(
        paths=runtime.paths,
        env=runtime.env,
        home=runtime.home,
        settings=lambda: runtime.settings,
        catalog=runtime.catalog,
        registry=lambda: runtime.registry,
        store=lambda: runtime.store,
        clock=runtime.clock,
        which=lambda name: shutil.which(name, path=runtime.env.get("PATH")),
        python_version=sys.version_info[:3],
        render=render,
        guardrails=guardrails,
        service=service,
    )


def _render(runtime: "Runtime", report: "Report") -> None:
    out = runtime.out
    for fixed in report.fixed:
        out.info(f"fixed {fixed.check}: {fixed.change}")
    if out.json_mode:
        out.json(report.to_json())
    elif out.stdout_is_terminal:
        rows: list[tuple[str, str, str]] = []
        for r in report.results:
            rows.append((_MARKS[r.status], r.id, r.message))
            rows.extend(("", "", f"  {line}") for line in r.details)
            if r.fix and r.status in ("warn", "fail"):
                rows.append(("", "", f"  fix: {r.fix}"))
        columns = [Column("STATUS", shorten=False), Column("CHECK", shorten=False)]
        out.table([*columns, Column("MESSAGE", wrap=True)], rows, empty="")
    else:
        for r in report.results:
            out.line("\t".join((r.status, r.id, r.message, r.fix or "")))
    counts = report.counts()
    summary = ", ".join(f"{counts[s]} {s}" for s in ("ok", "warn", "fail", "skip"))
    changed = f"; {len(report.fixed)} fixed" if report.fixed else ""
    service = f" for {report.service}" if report.service else " (no service here)"
    out.info(f"doctor{service}: {report.status} ({summary}{changed})")
