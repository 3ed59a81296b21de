"""``paved deploy`` and ``paved rollback``: guarded GitOps deploys, recorded, revertible."""

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from paved.cli.common import JsonOption, handle_errors, runtime_of
from paved.cli.completion import complete_environments
from paved.errors import InputError
from paved.names import check_name

if TYPE_CHECKING:
    from paved.cli.runtime import Runtime
    from paved.deploy import DeployDeps, DeployPlan, DeployResult, Plan, RollbackPlan

_ENV_HELP = "The environment (dev, staging, prod, or one from the settings)."
_PATH_HELP = "The service repository (default: this folder)."


def deploy_deps(runtime: "Runtime") -> "DeployDeps":
    """What deploy, rollback and the readers of the records work with."""
    from paved.deploy import DeployDeps  # keep 'paved --help' fast

    return DeployDeps(
        settings=runtime.settings,
        data_dir=runtime.paths.data_dir,
        catalog=runtime.catalog,
        clock=runtime.clock,
        env=runtime.env,
        progress=runtime.out.progress,
    )


def _root(runtime: "Runtime", path: Path | None) -> Path:
    """--path, or the service repository this folder is in (as git finds its repository)."""
    if path is not None:
        return path if path.is_absolute() else runtime.cwd / path
    from paved.service.layout import find_service

    return find_service(runtime.cwd) or runtime.cwd


def _confirm(
    runtime: "Runtime",
    plan: "Plan",
    what: str,
    details: Callable[[], list[tuple[str, str]]],
    *,
    yes: bool,
    undone: str,
) -> None:
    """Ask before changing a protected environment, showing what would change; in a script,
    --yes answers. A declined confirmation is not an attempt: nothing is recorded."""
    from paved.cli.prompts import confirm, declined

    environment = plan.environment
    if not environment.protected or yes or runtime.yes:
        return
    missing = InputError(
        f"{what} to {environment.name} (a protected environment) needs confirmation"
    )
    question = f"{what} to {environment.name}?"
    if not confirm(runtime, question, missing=missing, details=details()):
        declined(
            f"not {undone}: {plan.source.name} in {environment.name} was not confirmed; "
            "nothing was changed or recorded"
        )


def _deploy_details(plan: "DeployPlan") -> list[tuple[str, str]]:
    """What a deploy would ship, for the person confirming it."""
    image = (
        str(plan.image)
        if plan.image is not None
        else f"the image of the last successful deployment to {plan.environment.name}"
    )
    return [
        ("service", plan.source.name),
        ("environment", f"{plan.environment.name} (protected)"),
        ("image", image),
        ("source commit", _commit_line(plan.source.root, plan.commit)),
    ]


def _rollback_details(plan: "RollbackPlan") -> list[tuple[str, str]]:
    """What a rollback would restore, for the person confirming it."""
    pairs = [
        ("service", plan.source.name),
        ("environment", f"{plan.environment.name} (protected)"),
    ]
    restore = plan.restore
    if restore is None:  # open attempts are settled first; they decide what it restores
        return [*pairs, ("restores", "the deployment before the current one")]
    restored = f"deployment {restore.restored}" if restore.restored is not None else "a commit"
    if restore.recovers is not None:
        restored += f" (rolling back from deployment {restore.recovers})"
    return [
        *pairs,
        ("restores", restored),
        ("image", plan.image or restore.image),
        ("source commit", _commit_line(plan.source.root, restore.source_commit)),
    ]


def _commit_line(root: Path, sha: str | None) -> str:
    """``SHORT-SHA SUBJECT`` of a commit of the service, as far as its repository knows it."""
    import re

    from paved.gitcmd import Git

    if not sha or re.fullmatch(r"[0-9a-f]{7,64}", sha) is None:
        return sha or "(not recorded)"
    subject = Git(root)("log", "-1", "--format=%s", "--end-of-options", sha, "--", check=False)
    return f"{sha[:12]} {_subject_shown(subject.splitlines()[0])}" if subject else sha[:12]


#: The most terminal columns a commit's subject takes in a confirmation: a long one written
#: into the repository can never push the lines after it off the screen.
_SUBJECT_COLUMNS = 72


def _subject_shown(subject: str) -> str:
    """``subject`` with its control characters escaped, cut to :data:`_SUBJECT_COLUMNS`
    columns (a wide character takes two) with an ellipsis at the end when longer."""
    import unicodedata

    from paved.text import escaped

    pieces = [escaped(char) for char in subject]  # a cut never falls inside an escape
    widths = [
        2 if unicodedata.east_asian_width(piece[0]) in "WF" else len(piece) for piece in pieces
    ]
    if sum(widths) <= _SUBJECT_COLUMNS:
        return "".join(pieces)
    shown, used = [], 0
    for piece, width in zip(pieces, widths, strict=True):
        if used + width > _SUBJECT_COLUMNS - 1:  # the ellipsis takes one
            break
        shown.append(piece)
        used += width
    return "".join(shown) + "\u2026"


def _break_glass_reason(break_glass: bool, reason: str | None) -> str | None:
    """``--break-glass --reason TEXT``: the reason, or None without --break-glass."""
    if reason is not None and not break_glass:
        raise InputError("--reason goes with --break-glass")
    if break_glass and not (reason or "").strip():
        raise InputError("--break-glass needs --reason TEXT saying why")
    return (reason or "") if break_glass else None


def _show(runtime: "Runtime", result: "DeployResult") -> None:
    out = runtime.out
    if out.json_mode:
        out.json(result.to_json())
        return
    if result.status == "refused":
        for line in result.refusals:
            out.info(f"  refused: {line}")
        return
    if result.diff is not None:
        if result.diff:
            out.line(result.diff.rstrip("\n"))
        else:
            out.info("no change: what is deployed is what would be deployed")
        out.info("dry run: nothing was written and nothing was recorded")
        return
    record = result.deployment
    pairs: list[tuple[str, Any]] = [
        ("deployment", record.id if record else None),
        ("status", result.status),
        ("service", result.service),
        ("environment", result.environment),
        ("image", result.image),
        ("target", result.target),
    ]
    if result.repository:
        pairs += [("repository", result.repository), ("path", result.path)]
    if record is not None:
        pairs += [("revision", record.revision), ("source commit", record.source_commit)]
        if record.rollback_of is not None:
            pairs += [("rollback of", record.rollback_of), ("restored", record.restored)]
        if record.break_glass:
            pairs.append(("break glass", record.break_glass))
    out.fields(pairs)


#: ``--env``, the same for deploy and rollback.
EnvOption = Annotated[
    str,
    typer.Option(
        "--env", "-e", metavar="ENV", help=_ENV_HELP, autocompletion=complete_environments
    ),
]


@handle_errors
def deploy(
    ctx: typer.Context,
    env: EnvOption = "dev",
    image: Annotated[
        str | None,
        typer.Option(
            "--image",
            metavar="REF",
            help="The image: REGISTRY/NAME[:TAG][@sha256:DIGEST] (a digest in prod). "
            "Default: the image of the last successful deployment to ENV.",
        ),
    ] = None,
    path: Annotated[Path | None, typer.Option("--path", metavar="DIR", help=_PATH_HELP)] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Show the diff against what is deployed; change and record nothing."
        ),
    ] = False,
    break_glass: Annotated[
        bool,
        typer.Option(
            "--break-glass",
            help="Deploy although the gate refuses (never in prod); needs --reason; recorded.",
        ),
    ] = False,
    reason: Annotated[
        str | None,
        typer.Option("--reason", metavar="TEXT", help="Why --break-glass is needed."),
    ] = None,
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
    """Deploy this service to an environment, behind the guardrails.

    Runs the guardrails (any unwaived error refuses, exit 3; prod also refuses warnings, an
    unregistered service and an old road layer), renders k8s/overlays/ENV with the image set,
    commits the manifests to the environment repository and pushes, or applies them with
    kubectl. Every attempt is recorded: see 'paved deployments list'.
    """
    from paved.deploy import DeployRefused, DeployRequest, execute, plan_deploy

    runtime = runtime_of(ctx, json_output=json_output)
    check_name(env, what="environment")
    reason = _break_glass_reason(break_glass, reason)
    root = _root(runtime, path)
    request = DeployRequest(root, env, image=image, dry_run=dry_run, break_glass=reason)
    runtime.out.info(f"{'Planning' if dry_run else 'Deploying'} {root} to {env}")
    deps = deploy_deps(runtime)
    plan = plan_deploy(request, deps)
    if not dry_run:
        _confirm(
            runtime, plan, f"Deploy {root.name}", lambda: _deploy_details(plan), yes=yes,
            undone="deployed",
        )  # fmt: skip
    try:
        with runtime.out.working(f"deploying {root.name} to {env}"):  # gate, render, push
            result = execute(plan, deps)
    except DeployRefused as refused:
        _show(runtime, refused.result)
        raise
    _show(runtime, result)


@handle_errors
def rollback(
    ctx: typer.Context,
    env: EnvOption = "dev",
    to: Annotated[
        int | None,
        typer.Option(
            "--to",
            metavar="DEPLOYMENT_ID",
            help="Restore this deployment (default: the one before the current).",
        ),
    ] = None,
    path: Annotated[Path | None, typer.Option("--path", metavar="DIR", help=_PATH_HELP)] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the diff; change and record nothing.")
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
    """Restore an earlier successful deployment, byte for byte.

    Its manifests are restored as they were deployed, and recorded as a rollback of the
    deployment it recovers from. No gate: it goes back to manifests that were deployed before.
    """
    from paved.deploy import RollbackRequest, execute, plan_rollback

    runtime = runtime_of(ctx, json_output=json_output)
    check_name(env, what="environment")
    root = _root(runtime, path)
    request = RollbackRequest(path=root, environment=env, to=to, dry_run=dry_run)
    runtime.out.info(f"{'Planning a rollback of' if dry_run else 'Rolling back'} {root} in {env}")
    deps = deploy_deps(runtime)
    plan = plan_rollback(request, deps)
    if not dry_run:
        _confirm(
            runtime, plan, f"Roll back {root.name}", lambda: _rollback_details(plan), yes=yes,
            undone="rolled back",
        )  # fmt: skip
    with runtime.out.working(f"rolling back {root.name} in {env}"):
        result = execute(plan, deps)
    _show(runtime, result)
