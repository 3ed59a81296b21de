"""``paved guardrails``: the rule catalogue, and the rules over one service (for CI)."""

from pathlib import Path
from typing import Annotated

import typer

from paved.cli.common import JsonOption, handle_errors, runtime_of
from paved.cli.output import Column
from paved.errors import GuardrailBlocked, InputError

app = typer.Typer(help="Check a service against the paved road's guardrails.", no_args_is_help=True)


@app.command("list")
@handle_errors
def list_rules(
    ctx: typer.Context,
    json_output: JsonOption = False,
) -> None:
    """List every guardrail: id, severity and title.

    Rules from plug-ins are included.
    """
    from paved.guardrails import all_rules  # keep 'paved --help' fast

    runtime = runtime_of(ctx, json_output=json_output)
    rules = all_rules()
    out = runtime.out
    if out.json_mode:
        out.json({"schema": "paved/guardrails-list/v1", "rules": [r.to_json() for r in rules]})
        return
    out.table(
        [*(Column(name, shorten=False) for name in ("ID", "SEVERITY")), Column("TITLE", wrap=True)],
        [(r.id, r.severity, r.title) for r in rules],
        empty="No guardrails.",
    )


@app.command("check")
@handle_errors
def check_service(
    ctx: typer.Context,
    path: Annotated[
        Path | None,
        typer.Argument(
            metavar="PATH",
            help="The service repository, or any folder in it (default: this folder).",
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Check a service against every guardrail.

    Exit 3 on any unwaived error. Warnings alone, and errors covered by an unexpired waiver in .paved/waivers.yaml, exit 0.
    """
    from paved.guardrails import check  # keep 'paved --help' fast
    from paved.service.layout import ROAD_ANSWERS, find_service

    runtime = runtime_of(ctx, json_output=json_output)
    start = runtime.cwd if path is None else (runtime.cwd / path).absolute()
    if not start.is_dir():
        named = start if path is None else path
        raise InputError(f"{named} is not a folder", hint="give the path of a service repository")
    root = find_service(start)  # as doctor and deploy find it: the service around ``start``
    if root is None:
        raise InputError(
            f"{start} is not inside a paved service (no {ROAD_ANSWERS} in it or above)",
            hint="run it in a service made by 'paved new service', or give its path",
        )
    with runtime.out.working(f"checking {root.name} against the guardrails"):
        report = check(root, today=runtime.clock().date(), env=runtime.env)
    out = runtime.out
    if out.json_mode:
        out.json(report.to_json())
    elif out.stdout_is_terminal:
        out.table(
            [
                *(Column(name, shorten=False) for name in ("RULE", "SEVERITY", "STATUS")),
                "WHERE",
                Column("MESSAGE", wrap=True),
            ],
            [(f.rule, f.severity, f.status, f.location, f.message) for f in report.findings],
            empty="",
        )
    else:
        for f in report.findings:
            shown = "waived" if f.status == "waived" else f.severity
            out.line(f"{f.rule} {shown} {f.location} {f.message}")
    for waiver in report.waivers:
        state = "expired" if waiver.expired(report.today) else "active"
        out.info(
            f"waiver {waiver.rule} on '{waiver.path}' ({state} until {waiver.expires}, "
            f"owner {waiver.owner}): {waiver.reason}"
        )
    summary = (
        f"{len(report.rules)} rules: {len(report.errors)} error(s), "
        f"{len(report.warnings)} warning(s), {len(report.waived)} waived"
    )
    if report.passed:
        out.info(f"guardrails passed ({summary})")
        return
    raise GuardrailBlocked(
        f"guardrails failed for {report.root} ({summary})",
        hint="fix each finding (see docs/guardrails.md) or waive it in .paved/waivers.yaml",
    )
