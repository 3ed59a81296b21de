"""``paved update``: bring a service to the newest paved road, without losing a local line."""

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from paved.cli.common import JsonOption, handle_errors, runtime_of
from paved.cli.output import Column
from paved.errors import ExitCode, InputError

if TYPE_CHECKING:
    from paved.cli.output import Output
    from paved.cli.runtime import Runtime
    from paved.update import UpdateDeps, UpdateResult

_LAYERS = ("road", "app", "all")

PathArgument = Annotated[
    Path | None,
    typer.Argument(metavar="PATH", help="The service, or any folder in it (default: this folder)."),
]
LayerOption = Annotated[
    str,
    typer.Option(
        "--layer",
        metavar="road|app|all",
        show_default=False,
        help="Which layer to update: the platform's road (default), the app, or both.",
    ),
]
ToOption = Annotated[
    str | None,
    typer.Option("--to", metavar="VERSION", help="Update to this version, not the newest."),
]
DryRunOption = Annotated[
    bool,
    typer.Option("--dry-run", help="Say what would happen to every file; change nothing."),
]
DiffOption = Annotated[
    bool, typer.Option("--diff", help="Show the unified diff of what the update changes.")
]
ContinueOption = Annotated[
    bool,
    typer.Option("--continue", help="Commit an update whose conflicts you have resolved."),
]
AbortOption = Annotated[
    bool,
    typer.Option("--abort", help="Undo an update that stopped at conflicts, exactly."),
]
DeclineOption = Annotated[
    str | None,
    typer.Option(
        "--decline",
        metavar="VERSION",
        help="Decline VERSION for now (with --reason and --until): recorded in the service.",
    ),
]
ReasonOption = Annotated[
    str | None, typer.Option("--reason", metavar="TEXT", help="Why it is declined (one line).")
]
UntilOption = Annotated[
    str | None,
    typer.Option("--until", metavar="YYYY-MM-DD", help="The last day the decline counts."),
]


@handle_errors
def update(
    ctx: typer.Context,
    path: PathArgument = None,
    layer: LayerOption = "road",
    to: ToOption = None,
    dry_run: DryRunOption = False,
    diff: DiffOption = False,
    resume: ContinueOption = False,
    abort: AbortOption = False,
    decline: DeclineOption = None,
    reason: ReasonOption = None,
    until: UntilOption = None,
    json_output: JsonOption = False,
) -> None:
    """Update this service to the newest road, keeping your changes.

    A three-way merge of the scaffold's old and new versions into your files, committed when
    it is clean. Conflicts stop the update with exit 6 and are real git conflicts: resolve
    them (git mergetool, your editor, git checkout --ours/--theirs), git add, then paved
    update --continue; or paved update --abort to put everything back.
    """
    runtime = runtime_of(ctx, json_output=json_output)
    _run(runtime, path, layer, to, dry_run, diff, resume, abort, decline, reason, until)


def _run(
    runtime: "Runtime",
    path: Path | None,
    layer: str,
    to: str | None,
    dry_run: bool,
    diff: bool,
    resume: bool,
    abort: bool,
    decline: str | None,
    reason: str | None,
    until: str | None,
) -> None:
    from paved import update as domain
    from paved.scaffold.registry import Layer

    if layer not in _LAYERS:
        raise InputError(f"--layer {layer!r} is not one of road, app, all")
    modes = [name for name, on in (("--continue", resume), ("--abort", abort)) if on]
    if decline is not None:
        modes.append("--decline")
    if len(modes) > 1:
        raise InputError(f"{' and '.join(modes)} cannot be used together")
    where = runtime.cwd if path is None else (runtime.cwd / path).absolute()
    if not where.is_dir():
        raise InputError(f"{path or where} is not a folder", hint="give the service's folder")
    deps = update_deps(runtime)
    if resume:
        result = domain.continue_update(where, deps)
    elif abort:
        result = domain.abort_update(where)
    elif decline is not None:
        result = domain.decline_update(
            where,
            deps,
            version=decline,
            reason=_required(reason, "--reason", "why the version is declined"),
            until=_date(_required(until, "--until", "the last day the decline counts")),
            dry_run=dry_run,
        )
    else:
        layers = (Layer.ROAD, Layer.APP) if layer == "all" else (Layer(layer),)
        from paved.scaffold.engine import preload

        preload()  # a dry run renders too
        request = domain.UpdateRequest(where, layers, to, dry_run, diff)
        with runtime.out.working("rendering and merging the new version"):
            result = domain.run_update(request, deps)
    _show(runtime.out, result)
    if result.status == "conflicts":
        raise typer.Exit(int(ExitCode.CONFLICT))


def _required(value: str | None, option: str, what: str) -> str:
    if value is None or not value.strip():
        raise InputError(f"--decline needs {option}: {what}")
    return value


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(f"--until {text!r} is not a date", hint="write it as YYYY-MM-DD") from None


def update_deps(runtime: "Runtime") -> "UpdateDeps":
    """What an update works with, from the runtime (paved fleet uses it too)."""
    from paved.repository_url import configured_git_host
    from paved.update import UpdateDeps

    return UpdateDeps(
        registry=runtime.registry,
        store=runtime.store,
        catalog=runtime.catalog,
        cache_dir=runtime.paths.cache_dir,
        clock=runtime.clock,
        env=runtime.env,
        progress=runtime.out.progress,
        git_host=configured_git_host(
            runtime.settings.githost_api, runtime.settings.githost_api_url
        ),
    )


def _show(out: "Output", result: "UpdateResult") -> None:
    from paved.update import Change, describe

    if out.json_mode:
        out.json(describe(result))
    else:
        rows = []
        for change in result.files:
            if change.change is Change.UNCHANGED:
                continue
            detail = f"from {change.moved_from}" if change.moved_from else ""
            if change.change is Change.CONFLICT:
                lines = ", ".join(str(n) for n in change.lines)
                detail = ", ".join(
                    part for part in (detail, change.conflict, lines and f"lines {lines}") if part
                )
            rows.append((change.change.value, change.path, detail))
        out.table(
            [Column("CHANGE"), Column("FILE", shorten=True), Column("DETAIL", wrap=True)],
            rows,
            empty="",
        )
        if result.diff:  # the files' text, with no terminal sequence a repository put there
            from paved.text import escaped

            out.line(escaped(result.diff, keep="\n\t"))
    _say(out, result)


def _say(out: "Output", result: "UpdateResult") -> None:
    moves = ", ".join(f"{r['scaffold']} {r['from']} -> {r['to']}" for r in result.layers)
    unchanged = sum(1 for f in result.files if f.change.value == "unchanged")
    if result.status == "up-to-date":
        newest = ", ".join(f"{r['scaffold']} {r['to']}" for r in result.layers)
        out.info(f"{result.service} is up to date ({newest}).")
    elif result.status == "planned" and result.decline is not None:
        d = result.decline
        out.info(f"Would decline {d['scaffold']} {d['version']} until {d['until']} (dry run).")
    elif result.status == "planned":
        out.info(f"Dry run, nothing changed: {moves}; {unchanged} file(s) unchanged.")
    elif result.status == "updated":
        out.info(f"Updated {moves}: committed {result.commit}; catalog: {result.catalog}.")
        out.info("Next: review it (git show), push, and deploy as usual.")
    elif result.status == "conflicts":
        out.info(
            f"{len(result.conflicts)} conflict(s) in {moves}; nothing committed. Resolve them "
            "(git status lists them; git mergetool helps), git add, then paved update "
            "--continue. paved update --abort puts everything back."
        )
    elif result.status == "continued":
        out.info(f"Committed {result.commit}; catalog: {result.catalog}.")
    elif result.status == "aborted":
        out.info(f"Aborted: {result.root} is back as it was before the update.")
        if result.left:
            out.info("Files you created meanwhile are left in place: " + ", ".join(result.left))
    elif result.status == "declined" and result.decline is not None:
        d = result.decline
        out.info(
            f"Declined {d['scaffold']} {d['version']} until {d['until']}: committed "
            f"{result.commit}. paved doctor shows it."
        )
