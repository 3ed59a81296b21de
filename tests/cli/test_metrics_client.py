"""The platform client's incidents, gate reports, onboarding events and metrics: what it sends,
and every answer read as input (one line, exit 5, never a traceback)."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from paved.catalog import GateReport, Incident, product_catalog
from paved.catalog.remote import RemoteCatalog
from paved.catalog.sqlite import SqliteCatalog
from paved.errors import ConflictError, InputError, RemoteError

T0 = "2025-03-01T12:00:00Z"

INCIDENT: dict[str, Any] = {
    "id": 7, "service": "payments", "environment": "prod", "title": "Checkout fails",
    "severity": "sev2", "deployment_id": 3, "opened_at": T0, "opened_by": "alice",
    "resolved_at": None, "resolved_by": None,
}  # fmt: skip
GATE: dict[str, Any] = {
    "id": 2, "service": "payments", "commit": "abc1234", "passed": False,
    "rule_ids": ["PAVED-K8S-001"], "findings": 3, "reported_at": T0, "reported_by": "ci",
}  # fmt: skip
EVENT: dict[str, Any] = {
    "id": 1, "user": "alice", "step": "doctor", "status": "started", "at": T0, "detail": "",
}  # fmt: skip
_FIGURES = {"deployments": 4, "deployment_frequency": 0.5, "lead_time_seconds": 3600.0,
            "change_failure_rate": 0.25, "time_to_restore_seconds": None}  # fmt: skip
_SERVICE = {"service": "payments", "owner": "team-checkout", **_FIGURES, "incidents": 1,
            "failed_deployments": 1, "rollbacks": 0}  # fmt: skip
DELIVERY: dict[str, Any] = {
    "environment": "prod", "team": None, "window_start": "2025-02-01T12:00:00Z",
    "window_end": T0, "total": {**_SERVICE, "service": "*", "owner": "*"},
    "services": [_SERVICE],
    "weeks": [{"week_start": "2025-02-24T00:00:00Z", **_FIGURES, "incidents": 1}],
}  # fmt: skip
_SPREAD = {"started": 4, "finished": 3, "median_seconds": 86400.0, "p90_seconds": 172800,
           "suppressed": False}  # fmt: skip
ONBOARDING: dict[str, Any] = {
    "window_start": "2024-03-01T12:00:00Z", "window_end": T0, "team": None,
    "cohorts": [{"cohort": "2025-02", **_SPREAD}],
    "teams": [{"team": "team-checkout", **_SPREAD}],
    "steps": [{"step": "doctor", "runs": 4, "finished": 4, "median_seconds": 30.0,
               "p90_seconds": 60.0, "suppressed": False}],
}  # fmt: skip
ADOPTION: dict[str, Any] = {
    "layer": "road", "newest": {"paved-road": "1.2.0"},
    "versions": [{"scaffold": "paved-road", "version": "1.2.0", "services": 3, "share": 0.75,
                  "released_at": T0, "moved": 2, "time_to_patch_median_seconds": 3600.0,
                  "time_to_patch_p90_seconds": None}],
    "on_newest": {"services": 3, "share": 0.75},
    "gate": {"reported": 4, "passed": 3, "share_passing": 0.75,
             "failing_rules": [{"rule_id": "PAVED-K8S-001", "services": 1}]},
    "teams": [{"team": "team-checkout", "services": 4, "deployed_in_window": True}],
    "teams_deployed": 1,
}  # fmt: skip


def _remote(handler: Callable[[httpx.Request], httpx.Response]) -> RemoteCatalog:
    client = httpx.Client(base_url="http://p", transport=httpx.MockTransport(handler))
    return RemoteCatalog("http://p", "t", client=client, sleep=lambda _: None)


def _answering(status: int, body: Any, sent: list[httpx.Request] | None = None) -> RemoteCatalog:
    def handler(request: httpx.Request) -> httpx.Response:
        if sent is not None:
            sent.append(request)
        return httpx.Response(status, json=body)

    return _remote(handler)


def _unused(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"no request was to be sent: {request.method} {request.url}")


def test_only_the_platform_s_catalog_keeps_incidents_and_metrics(tmp_path: Any) -> None:
    local = SqliteCatalog(tmp_path / "catalog.db")
    assert product_catalog(local) is None
    local.close()
    remote = _remote(_unused)
    assert product_catalog(remote) is remote


def test_an_incident_is_sent_as_asked_and_read_back() -> None:
    sent: list[httpx.Request] = []
    remote = _answering(201, INCIDENT, sent)
    made = remote.open_incident("payments", "prod", "Checkout fails", deployment_id=3)
    assert made == Incident.from_json(INCIDENT)
    assert made.opened_at == dt.datetime(2025, 3, 1, 12, tzinfo=dt.UTC)
    assert made.to_json() == INCIDENT
    assert sent[0].method == "POST"
    assert sent[0].url.path == "/v1/incidents"
    assert "dry_run" not in sent[0].url.params
    assert json.loads(sent[0].content) == {
        "service": "payments", "environment": "prod", "title": "Checkout fails",
        "severity": "sev2", "deployment_id": 3,
    }  # fmt: skip


def test_a_dry_run_incident_has_no_id_and_one_with_an_id_is_refused() -> None:
    sent: list[httpx.Request] = []
    remote = _answering(200, {**INCIDENT, "id": None}, sent)
    assert remote.open_incident("payments", "prod", "x", dry_run=True).id is None
    assert sent[0].url.params["dry_run"] == "true"
    with pytest.raises(RemoteError, match="with another incident"):
        _answering(200, INCIDENT).open_incident("payments", "prod", "x", dry_run=True)
    with pytest.raises(RemoteError, match="with another incident"):
        _answering(201, {**INCIDENT, "service": "orders"}).open_incident("payments", "prod", "x")


@pytest.mark.parametrize(
    ("call", "problem"),
    [
        (lambda r: r.open_incident("Payments", "prod", "x"), "service name 'Payments'"),
        (lambda r: r.open_incident("payments", "../x", "x"), "environment name"),
        (lambda r: r.open_incident("payments", "prod", "a\nb"), "control character"),
        (lambda r: r.open_incident("payments", "prod", "x" * 201), "longer than 200"),
        (lambda r: r.open_incident("payments", "prod", "  "), "title is empty"),
        (lambda r: r.open_incident("payments", "prod", "x", severity="p1"), "severity 'p1'"),
        (lambda r: r.open_incident("payments", "prod", "x", deployment_id=0), "not a positive"),
        (lambda r: r.resolve_incident(True), "not a positive"),
        (lambda r: r.incidents(team="Team X"), "team name"),
        (
            lambda r: r.report_gate(
                "payments", commit="main", passed=True, rule_ids=[], findings=0
            ),
            "not a git commit",
        ),
        (
            lambda r: r.report_gate(
                "payments", commit=None, passed=False, rule_ids=["k8s-1"], findings=1
            ),
            "'k8s-1' is not a rule id",
        ),
        (
            lambda r: r.report_gate("payments", commit=None, passed=True, rule_ids=[], findings=-1),
            "not a count",
        ),
        (lambda r: r.latest_gate_report("../v1"), "service name"),
        (lambda r: r.onboarding_event("lunch", "started"), "step 'lunch'"),
        (lambda r: r.onboarding_event("doctor", "done"), "status 'done'"),
        (lambda r: r.delivery_metrics(days=0), "--days 0 is not from 1 to 366"),
        (lambda r: r.delivery_metrics(environment="PROD"), "environment name"),
        (lambda r: r.onboarding_metrics(days=367), "--days 367"),
        (lambda r: r.adoption_metrics(layer="x"), "layer name 'x'"),
    ],
)
def test_what_goes_into_a_url_or_a_body_is_checked_before_anything_is_sent(
    call: Callable[[RemoteCatalog], object], problem: str
) -> None:
    with pytest.raises(InputError, match=problem) as refused:
        call(_remote(_unused))
    assert refused.value.exit_code == 2


def test_a_resolved_incident_is_a_conflict_and_an_answer_still_open_is_refused() -> None:
    resolved = {**INCIDENT, "resolved_at": "2025-03-01T13:00:00Z", "resolved_by": "bob"}
    sent: list[httpx.Request] = []
    made = _answering(200, resolved, sent).resolve_incident(7)
    assert made.resolved_by == "bob"
    assert sent[0].url.path == "/v1/incidents/7/resolve"
    conflict = _answering(409, {"error": "conflict", "message": "incident 7 is resolved"})
    with pytest.raises(ConflictError, match="incident 7 is resolved") as refused:
        conflict.resolve_incident(7)
    assert refused.value.exit_code == 6
    with pytest.raises(RemoteError, match="one still open"):
        _answering(200, INCIDENT).resolve_incident(7)
    with pytest.raises(RemoteError, match="another incident"):
        _answering(200, {**resolved, "id": 8}).resolve_incident(7)


def test_incidents_are_listed_with_the_filters_asked() -> None:
    sent: list[httpx.Request] = []
    found = _answering(200, {"incidents": [INCIDENT]}, sent).incidents(
        service="payments", team="team-checkout", open=True
    )
    assert [i.id for i in found] == [7]
    assert dict(sent[0].url.params) == {
        "limit": "1000", "service": "payments", "team": "team-checkout", "open": "true",
    }  # fmt: skip
    sent.clear()
    _answering(200, {"incidents": []}, sent).incidents(open=False)
    assert dict(sent[0].url.params) == {"limit": "1000", "open": "false"}


def test_a_gate_report_sends_the_failed_rules_sorted_once_each() -> None:
    sent: list[httpx.Request] = []
    remote = _answering(201, GATE, sent)
    made = remote.report_gate(
        "payments", commit="abc1234", passed=False,
        rule_ids=["PAVED-K8S-001", "PAVED-CI-001", "PAVED-K8S-001"], findings=3,
    )  # fmt: skip
    assert made == GateReport.from_json(GATE)
    assert made.to_json() == GATE
    assert sent[0].url.path == "/v1/services/payments/gate"
    assert json.loads(sent[0].content)["rule_ids"] == ["PAVED-CI-001", "PAVED-K8S-001"]
    sent.clear()
    plugin = {**GATE, "rule_ids": ["K8S-NET-001"]}  # a plug-in's id: digits in its first part
    _answering(201, plugin, sent).report_gate(
        "payments", commit=None, passed=False, rule_ids=["K8S-NET-001"], findings=1
    )
    assert json.loads(sent[0].content)["rule_ids"] == ["K8S-NET-001"]


def test_the_latest_gate_report_is_none_only_when_the_service_has_none() -> None:
    assert _answering(200, GATE).latest_gate_report("payments") == GateReport.from_json(GATE)
    none = _answering(404, {"error": "no_gate_report", "message": "payments has no report"})
    assert none.latest_gate_report("payments") is None
    unknown = _answering(404, {"error": "not_found", "message": "no service payments"})
    with pytest.raises(InputError, match="no service payments"):
        unknown.latest_gate_report("payments")


def test_an_onboarding_event_is_sent_once_with_its_detail_on_one_line() -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(503, json={"error": "internal", "message": "down"})

    with pytest.raises(RemoteError, match="HTTP 503"):
        _remote(handler).onboarding_event("doctor", "failed", "git\nmissing")
    assert len(sent) == 1
    assert json.loads(sent[0].content) == {
        "step": "doctor", "status": "failed", "detail": "git missing",
    }  # fmt: skip
    made = _answering(201, EVENT).onboarding_event("doctor", "started")
    assert made.to_json() == EVENT


def test_the_metrics_are_asked_with_their_query_and_read_back_whole() -> None:
    sent: list[httpx.Request] = []
    remote = _answering(200, DELIVERY, sent)
    assert remote.delivery_metrics(team="team-checkout", environment="staging", days=7) == (
        DELIVERY
    )
    assert sent[0].url.path == "/v1/metrics/delivery"
    assert dict(sent[0].url.params) == {  # every service: 1,000 a page, one page here
        "team": "team-checkout", "environment": "staging", "days": "7", "limit": "1000",
    }  # fmt: skip
    assert _answering(200, ONBOARDING).onboarding_metrics() == ONBOARDING
    assert _answering(200, ADOPTION).adoption_metrics() == ADOPTION


def _broken(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """``data`` with the value at ``path`` (keys and list indexes joined by dots) replaced,
    or dropped when ``value`` is ``...``."""
    data = copy.deepcopy(data)
    *parents, last = path.split(".")
    here: Any = data
    for key in parents:
        here = here[int(key)] if isinstance(here, list) else here[key]
    if value is ...:
        del here[last]
    else:
        here[last] = value
    return data


@pytest.mark.parametrize(
    ("call", "body", "problem"),
    [
        ("delivery", _broken(DELIVERY, "weeks", ...), "delivery metrics has no weeks"),
        ("delivery", _broken(DELIVERY, "weeks.0.deployments", "4"), r"weeks\[0\].deployments"),
        ("delivery", _broken(DELIVERY, "total.incidents", True), "total.incidents is not a whole"),
        ("delivery", _broken(DELIVERY, "window_end", "2025-03-01"), "has no time zone"),
        ("delivery", _broken(DELIVERY, "services.0.service", "a\x1b[2Jb"), "control character"),
        ("delivery", _broken(DELIVERY, "total.lead_time_seconds", "1h"), "is not a number"),
        ("delivery", [], "delivery metrics paved cannot use: delivery metrics is not an object"),
        ("adoption", [], "answered with an adoption metrics paved cannot use"),
        ("onboarding", _broken(ONBOARDING, "cohorts.0.p90_seconds", ...), "has no p90_seconds"),
        ("onboarding", _broken(ONBOARDING, "teams", {}), "teams is not a list"),
        ("adoption", _broken(ADOPTION, "newest.paved-road", 1), "newest.paved-road is not text"),
        ("adoption", _broken(ADOPTION, "gate.failing_rules", None), "failing_rules is not a list"),
        ("adoption", _broken(ADOPTION, "versions.0.released_at", "soon"), "Invalid isoformat"),
        ("incidents", {"incidents": [_broken(INCIDENT, "severity", "p1")]}, "severity 'p1'"),
        ("incidents", {"incidents": [_broken(INCIDENT, "opened_by", ...)]}, "no opened_by"),
        ("incidents", {"incidents": None}, "list of incidents paved cannot use"),
        ("gate", _broken(GATE, "rule_ids", ["../x"]), "'../x', not a rule id"),
        ("gate", _broken(GATE, "passed", "yes"), "passed is not true or false"),
        ("event", _broken(EVENT, "step", "lunch"), "step 'lunch'"),
    ],
)
def test_an_answer_that_is_not_the_documented_shape_is_a_remote_error(
    call: str, body: Any, problem: str
) -> None:
    remote = _answering(200, body)
    calls: dict[str, Callable[[], object]] = {
        "delivery": remote.delivery_metrics,
        "onboarding": remote.onboarding_metrics,
        "adoption": remote.adoption_metrics,
        "incidents": remote.incidents,
        "gate": lambda: remote.latest_gate_report("payments"),
        "event": lambda: remote.onboarding_event("doctor", "started"),
    }
    with pytest.raises(RemoteError, match=problem) as refused:
        calls[call]()
    assert refused.value.exit_code == 5
    assert str(refused.value).startswith("the platform answered with a")
    assert "\n" not in str(refused.value)
    assert "\x1b" not in str(refused.value)


def test_an_answer_that_is_not_json_is_a_remote_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"<html>proxy</html>")

    with pytest.raises(RemoteError, match="not JSON") as refused:
        _remote(handler).adoption_metrics()
    assert refused.value.exit_code == 5


def test_keys_the_documented_shape_does_not_name_are_left_out() -> None:
    """What paved prints keeps its documented shape, whatever else a newer platform sends."""
    newer = copy.deepcopy(DELIVERY)
    newer["forecast"] = "sunny"
    newer["services"][0]["flair"] = 1
    newer["weeks"][0]["extra"] = None
    assert _answering(200, newer).delivery_metrics() == DELIVERY
    newer_adoption = {**copy.deepcopy(ADOPTION), "gate": {**ADOPTION["gate"], "new": 1}}
    assert _answering(200, newer_adoption).adoption_metrics() == ADOPTION
