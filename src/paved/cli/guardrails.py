"""``paved guardrails``: the rule catalogue, and the rules over one service (for CI)."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from paved.cli.common import JsonOption, handle_errors, runtime_of
from paved.cli.completion import complete_rule_ids
from paved.cli.output import Column
from paved.docs import reference
from paved.errors import GuardrailBlocked, InputError

if TYPE_CHECKING:
    from paved.cli.runtime import Runtime
    from paved.guardrails import Report

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
    report_to_platform: Annotated[
        bool,
        typer.Option(
            "--report", help="Send the result to the platform: the service's latest gate report."
        ),
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Check a service against every guardrail.

    Exit 3 on any unwaived error. Warnings alone, and errors covered by an unexpired waiver in
    .paved/waivers.yaml, exit 0.

    With --report the result (the commit, passed or not, the rules that failed, the open
    findings) goes to the platform for its adoption figures; a report that cannot be sent is
    one warning line, and the exit code stays the check's.
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
    if report_to_platform:
        _report(runtime, root, report)
    if out.json_mode:
        out.json(report.to_json())
    elif out.stdout_is_terminal:
        out.table(
            [
                *(Column(name, shorten=False) for name in ("RULE", "SEVERITY", "STATUS")),
                Column("WHERE", shorten=True),
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
        hint="fix each finding ('paved guardrails explain RULE-ID' shows how) or waive it in "
        f".paved/waivers.yaml ({reference('guardrails', 'waivers')})",
    )


@app.command("explain")
@handle_errors
def explain_rule(
    ctx: typer.Context,
    rule_id: Annotated[
        str,
        typer.Argument(
            metavar="RULE-ID",
            help="A rule's id, as paved guardrails list or a finding shows it: PAVED-K8S-007.",
            autocompletion=complete_rule_ids,
            show_default=False,
        ),
    ],
    json_output: JsonOption = False,
) -> None:
    """Explain one rule: why it exists, what it refuses, and the fix.

    Each rule also shows an example of what passes.

    Every guardrail is explained (plug-in rules included, as far as they say), and so are the
    deploy gate's own rules, PAVED-DEPLOY-*.
    """
    import difflib

    from paved.deploy import GATE_RULES  # keep 'paved --help' fast
    from paved.guardrails import all_rules

    runtime = runtime_of(ctx, json_output=json_output)
    explained = {r.id: r.explain() for r in all_rules()}
    explained.update({r.id: r.explain() for r in GATE_RULES})
    wanted = rule_id.strip().upper()
    if wanted not in explained:
        close = difflib.get_close_matches(wanted, list(explained), n=3, cutoff=0.6)
        raise InputError(
            f"no guardrail '{rule_id}'",
            hint=f"closest: {', '.join(close)}" if close else "see paved guardrails list",
        )
    rule = explained[wanted]
    out = runtime.out
    if out.json_mode:
        out.json({"schema": "paved/guardrails-explain/v1", "rule": rule})
        return
    severity = rule["severity"]
    if wanted in {r.id for r in GATE_RULES}:
        severity = "error in a protected environment, warning elsewhere"
    waivable = "" if rule["waivable"] else " · never waived"
    width = out.columns
    out.line(_said(f"{rule['id']}: {rule['title']}"))
    out.line(_said(f"{severity}{waivable} · {rule['source']}"))
    for heading, key in (("Why", "reason"), ("Refused", "refuses"), ("Passes", "passes")):
        out.line()
        out.line(f"{heading}:")
        text = _said(rule[key] or "(the rule does not say)")
        for line in text.splitlines():
            if key == "reason":  # prose; what is refused and passes are examples, kept as-is
                for part in _wrapped(line, width, first="    ", rest="    "):
                    out.line(part)
            else:
                out.line(f"    {line}")
    out.line()
    for part in _wrapped(_said(f"Fix: {rule['fix']}"), width, first="", rest="     "):
        out.line(part)
    out.line(_said(f"More: {_docs_reference(rule['docs'])}"))


def _said(text: str) -> str:
    """Text a rule (a plug-in's too) gives, with any terminal sequence in it shown as escapes
    (its own line breaks kept), as messages are."""
    from paved.text import escaped

    return escaped(text, keep="\n")


def _wrapped(text: str, width: int, *, first: str, rest: str) -> list[str]:
    """Prose in lines of at most ``width`` columns, broken at its spaces, the first line
    after ``first`` and the others after ``rest``. A word is never cut (a URL stays whole)."""
    import textwrap

    return textwrap.wrap(
        text,
        width=max(20, width),
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [first.rstrip()]


def _docs_reference(docs: str) -> str:
    """``docs/guardrails.md#paved-k8s-007`` as the command that prints it; any other link
    (a plug-in's own page) as it is."""
    path, _, anchor = docs.partition("#")
    if path.startswith("docs/") and path.endswith(".md"):
        return reference(path.removeprefix("docs/").removesuffix(".md"), anchor or None)
    return docs


def _report(runtime: "Runtime", root: Path, report: "Report") -> None:
    """Send the check's result to the platform; any failure is one warning line, never a
    change of the exit code (the check's result is what the command says)."""
    from paved.catalog import product_catalog
    from paved.errors import PavedError
    from paved.gitcmd import Git
    from paved.names import check_name
    from paved.service.layout import ROAD_ANSWERS, read_answers
    from paved.text import escaped

    out = runtime.out
    try:
        platform = product_catalog(runtime.catalog())
        if platform is None:
            raise InputError(
                f"this machine uses the local catalog {runtime.catalog().location}",
                hint="log in to the platform first: paved login URL",
            )
        name = read_answers(root, ROAD_ANSWERS).get("service_name")
        service = check_name(name if isinstance(name, str) else "")  # the answers are input
        commit = Git(root, runtime.env).head()
        failed = sorted({f.rule for f in report.errors})
        sent = platform.report_gate(
            service,
            commit=commit,
            passed=report.passed,
            rule_ids=failed,
            findings=len(report.open),
        )
    except PavedError as exc:
        out.info(f"warning: the gate report was not sent: {escaped(str(exc))}")
        return
    at = f" at {sent.commit[:12]}" if sent.commit else ""
    out.info(
        f"reported to {platform.location}: {service}{at} "
        f"{'passed' if sent.passed else 'failed'} ({len(sent.rule_ids)} failed rules, "
        f"{sent.findings} open findings)"
    )
