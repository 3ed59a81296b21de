"""Deploy records as a journal: what the records say is what the environment repository ran.

Deploys run in-process, or in a forked child that is killed with SIGKILL at an exact
moment (after its push, before its push), like a laptop lid closed or a CI job cancelled.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from paved.cli.runtime import Runtime
from paved.deploy import DeployRequest, deploy
from paved.gitcmd import Git
from paved.server import Record, delivery_metrics
from tests.deploy_helpers import (
    DIGEST_2,
    break_guardrail,
    deploy_deps,
    env_repo,
    image,
    make_service,
    records,
    show,
)
from tests.helpers import git

pytestmark = pytest.mark.slow

MANIFESTS = "envs/dev/orders/manifests.yaml"


class _Dies:
    """A catalog that kills its own process with SIGKILL when ``method`` is called."""

    def __init__(self, inner: Any, method: str) -> None:
        self.inner = inner
        self.method = method

    def __getattr__(self, name: str) -> Any:
        if name == self.method:
            return lambda *_a, **_k: os.kill(os.getpid(), signal.SIGKILL)
        return getattr(self.inner, name)


def _in_child(work: Callable[[], object]) -> int:
    """Run ``work`` in a forked child; returns its exit status, or minus the killing signal."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 0
        try:
            work()
        except BaseException:  # noqa: BLE001 - the child reports by its exit code only
            code = 1
        os._exit(code)
    _pid, status = os.waitpid(pid, 0)
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def _raw(service: str = "orders") -> list[Any]:
    """The catalog's rows as they are, not settled."""
    return Runtime.from_process().catalog().deployments(service=service)


def _deploy(pinned_env: Path, digest: str, **extra: Any) -> Any:
    request = DeployRequest(pinned_env / "orders", "dev", image("orders", digest))
    return deploy(request, deploy_deps(pinned_env, **extra))


def _killed_at(pinned_env: Path, method: str, digest: str = DIGEST_2, env: str = "dev") -> int:
    def work() -> None:
        deps = deploy_deps(pinned_env)
        catalog = deps.catalog
        deps = deploy_deps(pinned_env, catalog=lambda: _Dies(catalog(), method))
        deploy(DeployRequest(pinned_env / "orders", env, image("orders", digest)), deps)

    return _in_child(work)


def _head(pinned_env: Path) -> str:
    return git("--git-dir", str(env_repo(pinned_env)), "rev-parse", "main")


def test_a_deploy_killed_after_its_push_is_settled_as_succeeded(paved, pinned_env: Path) -> None:
    make_service(paved, pinned_env, "orders")
    assert paved("deploy", "--path", "orders", "--image", image("orders")).exit_code == 0
    good = _head(pinned_env)

    assert _killed_at(pinned_env, "finish_deployment") == -signal.SIGKILL
    landed = _head(pinned_env)
    assert landed != good  # the push happened; the record was never closed
    assert [d.outcome for d in _raw()] == ["succeeded", "started"]

    second, first = records(paved)  # the reader settles it first
    assert second["outcome"] == "succeeded"
    assert second["revision"] == landed
    assert "settled" in second["message"]
    assert second["finished_at"] is not None

    # Rollback goes back one step, to the first, and says it recovers from the second.
    done = paved("rollback", "--path", "orders", "--json")
    assert done.exit_code == 0, done.stderr
    assert show(env_repo(pinned_env), "main", MANIFESTS) == show(
        env_repo(pinned_env), good, MANIFESTS
    )
    rolled = records(paved)[0]
    assert (rolled["rollback_of"], rolled["restored"]) == (second["id"], first["id"])


def test_a_deploy_without_image_after_a_killed_one_chooses_from_the_settled_records(
    paved, pinned_env: Path
) -> None:
    """The plan reads the records open; execute settles them first, then chooses again."""
    make_service(paved, pinned_env, "orders")
    assert paved("deploy", "--path", "orders", "--image", image("orders")).exit_code == 0
    assert _killed_at(pinned_env, "finish_deployment") == -signal.SIGKILL
    assert [d.outcome for d in _raw()] == ["succeeded", "started"]

    again = deploy(DeployRequest(pinned_env / "orders", "dev"), deploy_deps(pinned_env))
    assert (again.status, again.image) == ("unchanged", image("orders", DIGEST_2))
    assert [d.outcome for d in _raw()] == ["succeeded", "succeeded", "succeeded"]


def test_a_protected_deploy_whose_choice_an_open_record_left_open_stops_before_anything(
    paved, pinned_env: Path
) -> None:
    """In prod the person confirmed "the image of the last successful deployment" without
    seeing which: once the records are settled the choice is made, but not run (exit 6); the
    next run names the image before it is confirmed."""
    from paved.errors import ConflictError

    make_service(paved, pinned_env, "orders")
    prod = ("--env", "prod", "--yes")
    first = paved("deploy", "--path", "orders", *prod, "--image", image("orders"))
    assert first.exit_code == 0, first.stderr
    assert _killed_at(pinned_env, "finish_deployment", env="prod") == -signal.SIGKILL
    assert [d.outcome for d in _raw()] == ["succeeded", "started"]

    with pytest.raises(ConflictError, match="left the choice open; it is now image "):
        deploy(DeployRequest(pinned_env / "orders", "prod"), deploy_deps(pinned_env))
    assert [d.outcome for d in _raw()] == ["succeeded", "succeeded"]  # settled, nothing new

    again = deploy(DeployRequest(pinned_env / "orders", "prod"), deploy_deps(pinned_env))
    assert (again.status, again.image) == ("unchanged", image("orders", DIGEST_2))


def test_a_deploy_killed_before_its_push_is_settled_as_interrupted(paved, pinned_env: Path) -> None:
    make_service(paved, pinned_env, "orders")
    assert paved("deploy", "--path", "orders", "--image", image("orders")).exit_code == 0
    good = _head(pinned_env)

    def work() -> None:
        _deploy(pinned_env, DIGEST_2, before_push=lambda _n: os.kill(os.getpid(), signal.SIGKILL))

    assert _in_child(work) == -signal.SIGKILL
    assert _head(pinned_env) == good
    assert [d.outcome for d in _raw()] == ["succeeded", "started"]

    second, _first = records(paved)
    assert second["outcome"] == "failed"
    assert second["message"].startswith("interrupted")
    assert second["revision"] is None

    # Nothing earlier than what runs: rollback says so and records nothing.
    before = records(paved)
    again = paved("rollback", "--path", "orders")
    assert again.exit_code == 2
    assert "no earlier successful deployment" in again.stderr
    assert records(paved) == before


def test_an_interrupt_during_a_push_that_landed_is_recorded_as_succeeded(
    paved, pinned_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_service(paved, pinned_env, "orders")
    push = Git.push

    def push_then_ctrl_c(self: Git, url: str, *args: str) -> None:
        push(self, url, *args)
        raise KeyboardInterrupt  # Ctrl-C while git was still saying goodbye

    with monkeypatch.context() as patched:
        patched.setattr(Git, "push", push_then_ctrl_c)
        with pytest.raises(KeyboardInterrupt):
            _deploy(pinned_env, DIGEST_2)
    (record,) = records(paved)
    assert record["outcome"] == "succeeded"
    assert record["revision"] == _head(pinned_env)
    assert show(env_repo(pinned_env), "main", MANIFESTS).count(DIGEST_2.encode()) == 1


def test_an_attempt_still_running_is_left_open_until_its_process_is_gone(
    paved, pinned_env: Path
) -> None:
    make_service(paved, pinned_env, "orders")
    ready_r, ready_w = os.pipe()
    hold_r, hold_w = os.pipe()

    def wait_before_push(_attempt: int) -> None:
        os.write(ready_w, b"x")
        os.read(hold_r, 1)  # until the parent says
        os.kill(os.getpid(), signal.SIGKILL)

    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            _deploy(pinned_env, DIGEST_2, before_push=wait_before_push)
        finally:
            os._exit(1)
    try:
        assert os.read(ready_r, 1) == b"x"
        (live,) = records(paved)  # read while the deploy waits at its push
        assert live["outcome"] == "started"
        assert live["finished_at"] is None
    finally:
        os.write(hold_w, b"x")
        os.waitpid(pid, 0)
    (over,) = records(paved)
    assert over["id"] == live["id"]
    assert over["outcome"] == "failed"
    assert over["message"].startswith("interrupted")


def test_ctrl_c_before_the_attempt_opens_leaves_no_record(paved, pinned_env: Path) -> None:
    make_service(paved, pinned_env, "orders")

    def ctrl_c_at_the_gate(line: str) -> None:
        if line.startswith("gate:"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _deploy(pinned_env, DIGEST_2, progress=ctrl_c_at_the_gate)
    assert records(paved) == []
    assert not env_repo(pinned_env).exists()


def _metrics(found: list[dict[str, Any]]) -> dict[str, Any]:
    def when(text: str | None) -> dt.datetime | None:
        return dt.datetime.fromisoformat(text) if text else None

    return delivery_metrics(
        [
            Record(
                id=r["id"],
                service=r["service"],
                outcome=r["outcome"],
                source_time=when(r["source_time"]),
                finished_at=when(r["finished_at"]) or dt.datetime.now(dt.UTC),
                rollback_of=r["rollback_of"],
            )
            for r in found
        ],
        days=30,
    )


def test_typos_and_refusals_leave_the_change_failure_rate_untouched(
    paved, pinned_env: Path
) -> None:
    service = make_service(paved, pinned_env, "orders")
    assert paved("deploy", "--path", "orders", "--image", image("orders")).exit_code == 0
    before = _metrics(records(paved))
    assert before["change_failure_rate"] == 0.0

    assert paved("deploy", "--path", "orders", "--image", "not an image").exit_code == 2
    assert paved("rollback", "--path", "orders").exit_code == 2  # nothing earlier
    assert paved("deploy", "--path", "orders", "--env", "nowhere").exit_code == 2
    break_guardrail(service)
    refused = paved("deploy", "--path", "orders", "--image", image("orders", DIGEST_2))
    assert refused.exit_code == 3

    found = records(paved)
    assert [r["outcome"] for r in found] == ["refused", "succeeded"]
    assert _metrics(found) == before
