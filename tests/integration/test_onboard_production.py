"""The guided production deploy and a platform that fails to record the steps, through the
engine with the command's own deps (real git, copier, deploy gate and catalog), the platform's
answers given: its settings (``onboarding.production_deploy``) and its events endpoint."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from paved.catalog.sqlite import SqliteCatalog
from paved.cli.onboard import _deps
from paved.cli.runtime import Runtime
from paved.errors import InputError, RemoteError
from paved.onboard import OnboardDeps, OnboardRequest, onboard, read_state
from tests.deploy_helpers import REAL_KUBECTL

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(REAL_KUBECTL is None, reason="the deploy renders with kubectl kustomize"),
]

NAME = "engineer-first"
ASKS = {"onboarding": {"production_deploy": True}}


class Events:
    """The platform's onboarding_event as it answers: recorded, or refused with ``fail``."""

    def __init__(self, fail: bool = False) -> None:
        self.sent: list[tuple[str, str]] = []
        self.fail = fail

    def onboarding_event(self, step: str, status: str, detail: str = "") -> object:
        self.sent.append((step, status))
        if self.fail:
            raise RemoteError("platform http://127.0.0.1:9 failed (HTTP 500)")
        return None


def deps(**changes: Any) -> OnboardDeps:
    return dataclasses.replace(_deps(Runtime.from_process()), **changes)


def deployed(root: Path) -> list[tuple[str, str, str]]:
    catalog = SqliteCatalog(root / "paved-home" / "data" / "catalog.db")
    return [(d.environment, d.outcome, d.image) for d in catalog.deployments(service=NAME)]


def test_the_production_deploy_is_shown_asked_and_then_shipped(pinned_env: Path) -> None:
    asked: list[tuple[str, dict[str, str]]] = []

    def decline(question: str, details: list[tuple[str, str]]) -> bool:
        asked.append((question, dict(details)))
        return False

    events = Events()
    first = onboard(
        OnboardRequest(owner="team-a"),
        deps(platform_settings=lambda: ASKS, events=events, confirm=decline),
    )
    assert isinstance(first.error, InputError)
    assert (
        first.error.message
        == f"not deployed: {NAME} in prod was not confirmed; nothing was changed"
    )
    (question, details) = asked[0]
    assert question == f"Deploy {NAME} to prod?"
    assert details["environment"] == "prod (protected)"
    image = details["image"]
    assert deployed(pinned_env) == [("dev", "succeeded", image)]  # what dev got, and no prod
    state = read_state(pinned_env / "paved-home" / "data" / "onboarding.json")
    assert "production-deploy" not in state.steps  # a declined question is not an attempt
    assert ("production-deploy", "started") not in events.sent

    def never(question: str, details: list[tuple[str, str]]) -> bool:
        raise AssertionError("--yes asks nothing")

    second = onboard(
        OnboardRequest(yes=True),
        deps(platform_settings=lambda: ASKS, events=events, confirm=never),
    )
    assert second.error is None
    assert [step.status for step in second.steps] == ["finished"] * 4
    assert second.steps[3].record is not None
    assert second.steps[3].record.detail.startswith(f"{NAME} deployed to prod (deployment 2): ")
    assert deployed(pinned_env) == [("dev", "succeeded", image), ("prod", "succeeded", image)]
    assert events.sent == [
        ("doctor", "started"), ("doctor", "finished"),
        ("service", "started"), ("service", "finished"),
        ("first-deploy", "started"), ("first-deploy", "finished"),
        ("production-deploy", "started"), ("production-deploy", "finished"),
    ]  # fmt: skip


@pytest.mark.parametrize("settings", [{}, {"onboarding": {"production_deploy": "yes"}}])
def test_without_the_setting_there_is_no_production_deploy(
    pinned_env: Path, settings: Mapping[str, Any]
) -> None:
    result = onboard(
        OnboardRequest(owner="team-a"), deps(platform_settings=lambda: settings, events=Events())
    )
    assert result.error is None
    assert result.steps[3].status == "skipped"
    assert [e for e, _, _ in deployed(pinned_env)] == ["dev"]


def test_a_platform_that_fails_to_record_is_one_warning_per_event(pinned_env: Path) -> None:
    warned: list[str] = []
    events = Events(fail=True)
    result = onboard(
        OnboardRequest(owner="team-a"),
        deps(platform_settings=lambda: {}, events=events, warn=warned.append),
    )
    assert result.error is None
    assert [step.status for step in result.steps] == ["finished", "finished", "finished", "skipped"]
    assert len(events.sent) == len(warned) == 7
    assert warned[0] == (
        "warning: the platform did not record onboarding step doctor started (platform "
        "http://127.0.0.1:9 failed (HTTP 500)); carrying on"
    )
