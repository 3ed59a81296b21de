"""Carry out a plan: settle the open records, then gate, render and apply, and record it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from paved.deploy._attempt import Attempt
from paved.deploy._choice import Restore
from paved.deploy._environments import Environment, resolve_environments
from paved.deploy._gate import GATE_REFERENCE, GateResult, gate
from paved.deploy._image import ImageRef
from paved.deploy._journal import settle_open
from paved.deploy._model import (
    Action,
    DeployDeps,
    DeployRefused,
    DeployRequest,
    DeployResult,
    timed,
)
from paved.deploy._plan import (
    DeployPlan,
    Plan,
    RollbackPlan,
    choose_again,
    plan_deploy,
)
from paved.deploy._render import check_overlay, render
from paved.deploy._source import source_commit
from paved.errors import ConflictError
from paved.kustomize import builder

__all__ = ["deploy", "execute", "settle"]


def deploy(request: DeployRequest, deps: DeployDeps) -> DeployResult:
    """Gate, render and apply one service to one environment, and record the attempt."""
    return execute(plan_deploy(request, deps), deps)


def execute(plan: Plan, deps: DeployDeps) -> DeployResult:
    """Run a plan: the attempt is recorded whatever happens, except in a dry run.

    First the open records of the service in the environment are settled (a dry run writes
    nothing, not even a settled record). Then what may have changed since the plan, while a
    person read it and confirmed, is looked at again (:func:`_still_as_planned`).
    """
    if not plan.request.dry_run:
        settle_open(
            deps.catalog(),
            {plan.environment.name: plan.environment},
            data_dir=deps.data_dir,
            env=deps.env,
            now=deps.clock(),
            progress=deps.progress,
            service=plan.source.name,
            environment=plan.environment.name,
        )
        plan = _still_as_planned(plan, deps)
    if isinstance(plan, RollbackPlan):
        return _rollback(plan, deps)
    return _deploy(plan, deps)


def _still_as_planned(plan: Plan, deps: DeployDeps) -> Plan:
    """The plan, with its choices made again from the records as they are now.

    A choice the plan left open (an open record might have been the last success) is made now,
    except in a protected environment, where the person confirmed a plan that did not name it:
    that stops too, and the next run shows the choice before it is confirmed. A choice that
    comes out different (another deploy landed during the confirmation), or a service repository
    that moved to another commit, stops the attempt before anything happens: what the person
    confirmed is not what would run (exit 6, nothing recorded). The overlay's checks run again,
    on the files the render is about to read.
    """
    if isinstance(plan, DeployPlan):
        commit, _ = source_commit(plan.source.root)
        if commit != plan.commit:
            raise _changed(plan, f"the service is at commit {commit[:12]}, not {plan.commit[:12]}")
        if (plan.source.overlay(plan.environment.name) / "kustomization.yaml").is_file():
            check_overlay(plan.source, plan.environment.name)
        if plan.request.image is not None:
            return choose_again(plan, deps)  # when the change began, from the settled records
    again = choose_again(plan, deps)
    was, now = _choice(plan), _choice(again)
    if was is not None and now is not None and was != now:
        raise _changed(plan, f"it would now use {now[0]}, not {was[0]}")
    if was is None and now is not None and plan.environment.protected:
        # a protected environment runs only what was shown before it was confirmed
        raise _changed(plan, f"an unfinished attempt left the choice open; it is now {now[0]}")
    return again


def _choice(plan: Plan) -> tuple[object, ...] | None:
    """What the plan chose from the records or the history, or None when it left it open."""
    if isinstance(plan, RollbackPlan):
        restore = plan.restore
        if restore is None:
            return None
        return (_restored(restore), restore.revision, restore.image, restore.recovers)
    return None if plan.image is None else (f"image {plan.image}",)


def _restored(restore: Restore) -> str:
    if restore.restored is not None:
        return f"deployment {restore.restored}"
    return f"environment commit {(restore.revision or '')[:12]}"


def _changed(plan: Plan, what: str) -> ConflictError:
    action = "rollback" if isinstance(plan, RollbackPlan) else "deploy"
    return ConflictError(
        f"{plan.source.name} in {plan.environment.name} changed since the {action} was "
        f"planned: {what}",
        hint=f"run paved {action} again to see the new plan",
    )


def settle(deps: DeployDeps, *, service: str | None = None, environment: str | None = None) -> int:
    """Settle the open records (of one service, one environment) against the environments.

    What every reader of the records runs first (``paved deployments list``; deploy and
    rollback do it for their own service and environment); returns how many it closed.
    """
    return settle_open(
        deps.catalog(),
        resolve_environments(deps.settings, deps.data_dir),
        data_dir=deps.data_dir,
        env=deps.env,
        now=deps.clock(),
        progress=deps.progress,
        service=service,
        environment=environment,
    )


def _attempt(plan: Plan, deps: DeployDeps) -> Attempt:
    return Attempt(deps, plan.environment, record=not plan.request.dry_run, **plan.record_fields())


def _result(
    plan: Plan, action: Action, image: str, verdict: GateResult | None = None
) -> DeployResult:
    return DeployResult(
        action=action,
        status="planned",
        service=plan.source.name,
        environment=plan.environment.name,
        target=plan.environment.target,
        image=image,
        deployment=None,
        repository=plan.target.repository,
        path=plan.target.path,
        findings=verdict.findings if verdict else (),
        refusals=verdict.refusals if verdict else (),
    )


def _deploy(plan: DeployPlan, deps: DeployDeps) -> DeployResult:
    image, environment, service = plan.image, plan.environment, plan.source.name
    assert image is not None
    attempt = _attempt(plan, deps)
    with attempt.recording():
        verdict, built = _gate(plan, image, deps)
        attempt.set(findings=verdict.findings, break_glass=verdict.break_glass)
        result = _result(plan, "deploy", str(image), verdict)
        _check_gate(verdict, result, environment, deps)
        deps.progress(f"render: k8s/overlays/{environment.name} with image {image}…")
        with timed(deps, "render"):
            manifests = render(
                plan.source,
                environment.name,
                image,
                kubectl=plan.kubectl,
                env=deps.env,
                built=built.get(plan.source.overlay(environment.name)),
            )
        if plan.request.dry_run:
            return dataclasses.replace(result, diff=plan.target.preview(manifests))
        revision, changed = plan.target.apply(attempt, manifests, image, verdict.break_glass)
        attempt.set(revision=revision)
        status = "deployed" if changed else "unchanged"
        recorded = attempt.record("succeeded", f"{service} {image} {status} to {environment.name}")
        return dataclasses.replace(result, status=status, deployment=recorded)


def _gate(
    plan: DeployPlan, image: ImageRef, deps: DeployDeps
) -> tuple[GateResult, dict[Path, str]]:
    """The gate's verdict, and what each overlay it built printed (by folder): the render
    sets the image in the target's build rather than building that overlay again."""
    from paved.guardrails import ParseCache, check  # loads the rules

    source = plan.source
    deps.progress(f"gate: guardrails over {source.root} for {plan.environment.name}…")
    build = builder(deps.env)
    built: dict[Path, str] = {}

    def building(directory: Path) -> tuple[str, str | None]:
        output, error = build(directory)
        if error is None:
            built[directory] = output
        return output, error

    with timed(deps, "gate"):
        report = check(
            source.root,
            today=deps.clock().date(),
            env=deps.env,
            kustomize=building,
            # a dry run writes nothing anywhere, not even in the cache
            cache=ParseCache.from_env(deps.env, read_only=plan.request.dry_run) or False,
        )
        verdict = gate(
            report,
            plan.environment,
            service=source.name,
            registered=plan.registered is not None,
            road_version=source.road_version,
            min_road_version=deps.settings.deploy_min_road_version,
            image=image,
            break_glass=plan.request.break_glass,
        )
    return verdict, built


def _check_gate(
    verdict: GateResult, result: DeployResult, environment: Environment, deps: DeployDeps
) -> None:
    if verdict.passed:
        for f in verdict.findings:
            if f["status"] == "open" and verdict.break_glass is None:
                where = f"{f['file']}:{f['line']}" if f["line"] else f["file"]
                deps.progress(f"gate: {f['severity']} {f['rule']} {where} {f['message']}")
        if verdict.break_glass is not None:
            deps.progress(
                f"gate: refused, but let through with --break-glass ({verdict.break_glass}); "
                "this is recorded"
            )
            for line in verdict.refusals:
                deps.progress(f"  {line}")
        return
    refused = dataclasses.replace(result, status="refused")
    count = len(verdict.refusals)
    own = "; ".join(f"{rule}: {fix}" for rule, fix in verdict.unwaivable)
    if verdict.waivable:
        # only the guardrails' findings can be waived: with the gate's own, the hint says which
        each = "each guardrail finding" if own else "each finding"
        hint = (
            f"fix {each} (paved guardrails explain RULE-ID) or waive it in .paved/waivers.yaml"
            if environment.protected
            else f"fix {each} (paved guardrails explain RULE-ID), waive it in .paved/waivers.yaml, "
            "or "
            "--break-glass --reason TEXT"
        )
        if own:
            hint += f"; and {own} (no waiver lifts the gate's own findings: {GATE_REFERENCE})"
    elif own:
        hint = f"{own} (no waiver lifts the gate's own findings: {GATE_REFERENCE})"
    else:
        hint = f"deploy without --break-glass: {environment.name} does not allow it"
    raise DeployRefused(
        f"deploy of {result.service} to {environment.name} refused by the gate "
        f"({count} reason{'s' if count != 1 else ''}: {verdict.refusals[0]}"
        + (", ..." if count > 1 else "")
        + ")",
        refused,
        hint=hint,
    )


def _rollback(plan: RollbackPlan, deps: DeployDeps) -> DeployResult:
    restore, environment, service = plan.restore, plan.environment, plan.source.name
    assert restore is not None
    attempt = _attempt(plan, deps)
    with attempt.recording():
        what = _restored(restore)
        result = _result(plan, "rollback", restore.image)
        recovering = f", recovering from deployment {restore.recovers}" if restore.recovers else ""
        deps.progress(
            f"rollback: {service} in {environment.name} to {what} ({restore.image}){recovering}…"
        )
        if plan.request.dry_run:
            return dataclasses.replace(result, diff=plan.target.preview_restore(restore))
        revision, done = plan.target.restore(attempt, restore, what)
        attempt.set(revision=revision)
        recorded = attempt.record("succeeded", done)
        return dataclasses.replace(result, status="rolled back", deployment=recorded)
