"""Run every check, whatever the others do; apply the safe fixes; run them again."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from paved.doctor import _environment as env
from paved.doctor import _service as svc
from paved.doctor._inputs import Inputs
from paved.doctor._model import Fixed, Group, Outcome, Report, Result, Skip, Status
from paved.errors import PavedError

__all__ = ["CHECKS", "Check", "diagnose", "run_check", "run_checks"]


@dataclasses.dataclass(frozen=True)
class Check:
    """One check: a stable id, its group, what it does, and its safe fix (if any)."""

    id: str
    group: Group
    run: Callable[[Inputs], Outcome]
    fix: Callable[[Inputs], list[str]] | None = None
    #: Slow checks start first, so that the fast ones run while they wait.
    slow: bool = False
    #: Runs in the calling thread: it uses the catalog, whose SQLite connection belongs to
    #: the thread that opened it.
    main_thread: bool = False


CHECKS: tuple[Check, ...] = (
    Check("env.python", "environment", lambda i: env.check_python(i.python_version)),
    Check("env.git", "environment", env.check_git),
    Check("env.git-identity", "environment", env.check_git_identity),
    Check("env.config", "environment", env.check_config),
    Check("env.data-dir", "environment", env.check_data_dir, fix=env.fix_data_dir),
    Check("env.catalog", "environment", env.check_catalog, main_thread=True),
    Check("env.githost", "environment", env.check_githost),
    Check("env.kubectl", "environment", env.check_kubectl),
    Check(
        "env.template-store", "environment", env.check_template_store, fix=env.fix_template_store
    ),
    Check("service.catalog-info", "service", svc.check_catalog_info),
    Check(
        "service.registered",
        "service",
        svc.check_registered,
        fix=svc.fix_registered,
        main_thread=True,
    ),
    Check("service.version-drift", "service", svc.check_version_drift),
    Check("service.content-drift", "service", svc.check_content_drift, slow=True),
    Check("service.conflicts", "service", svc.check_conflicts),
    Check("service.uncommitted", "service", svc.check_uncommitted),
    Check("service.unpushed", "service", svc.check_unpushed),
    Check("service.guardrails", "service", svc.check_guardrails, slow=True),
)


def run_check(check: Check, inputs: Inputs) -> Result:
    """Run one check; whatever it raises becomes its result, never the caller's problem."""

    def result(
        status: Status, message: str, fix: str | None = None, details: Sequence[str] = ()
    ) -> Result:
        return Result(check.id, check.group, status, message, fix, tuple(details))

    if check.group == "service" and inputs.service is None:
        return result("skip", "not inside a service repository (use --path)")
    try:
        outcome = check.run(inputs)
    except Skip as skip:
        return result("skip", skip.reason)
    except PavedError as exc:
        return result("fail", exc.message, exc.hint)
    except Exception as exc:  # noqa: BLE001 - one broken check never stops the others
        text = " ".join(str(exc).split()) or "no message"
        return result(
            "fail",
            f"check {check.id} could not run ({type(exc).__name__}: {text})",
            "report this to the platform team with the output of 'paved doctor --json'",
        )
    return result(outcome.status, outcome.message, outcome.fix, outcome.details)


def run_checks(inputs: Inputs, checks: Sequence[Check] = CHECKS) -> tuple[Result, ...]:
    """Every check, at once in threads (they mostly wait for git, kubectl and copier)."""
    order = sorted(range(len(checks)), key=lambda n: not checks[n].slow)
    results: dict[int, Result] = {}
    with ThreadPoolExecutor(max_workers=max(1, len(checks)), thread_name_prefix="doctor") as pool:
        futures = {
            n: pool.submit(run_check, checks[n], inputs) for n in order if not checks[n].main_thread
        }
        for n in order:
            if checks[n].main_thread:
                results[n] = run_check(checks[n], inputs)
        results.update((n, future.result()) for n, future in futures.items())
    return tuple(results[n] for n in range(len(checks)))


def diagnose(
    inputs: Inputs,
    *,
    fix: bool = False,
    checks: Sequence[Check] = CHECKS,
    progress: Callable[[str], None] = lambda _message: None,
) -> Report:
    """Run every check; with ``fix``, apply the safe fixes, then run every check again."""
    results = run_checks(inputs, checks)
    fixed: list[Fixed] = []
    if fix:
        for check, result in zip(checks, results, strict=True):
            if check.fix is None or result.status not in ("warn", "fail"):
                continue
            progress(f"fixing {check.id}…")
            try:
                changes = check.fix(inputs)
            except Skip:
                continue
            except Exception as exc:  # noqa: BLE001 - report it; the re-run shows the state
                progress(f"could not fix {check.id}: {exc}")
                continue
            fixed.extend(Fixed(check.id, change) for change in changes)
        if fixed:
            results = run_checks(inputs, checks)
    service = str(inputs.service) if inputs.service is not None else None
    return Report(results, tuple(fixed), service)
