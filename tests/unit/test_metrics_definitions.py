"""The metric definitions of docs/metrics.md on hand-built histories with known answers."""

from __future__ import annotations

import datetime as dt

import pytest

from paved.server._metrics import (
    GateRecord,
    IncidentRecord,
    OnboardingPerson,
    OnboardingStepRecord,
    Record,
    adoption_metrics,
    delivery_metrics,
    onboarding_metrics,
    week_start,
    weekly_delivery,
)

#: A Monday.
T0 = dt.datetime(2025, 3, 3, tzinfo=dt.UTC)
H = 3600.0


def at(hours: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


def deploy(
    id: int,
    done: float,
    outcome: str = "succeeded",
    *,
    service: str = "payments",
    commit: float | None = None,
    began: float | None = None,
    rollback_of: int | None = None,
) -> Record:
    return Record(
        id=id,
        service=service,
        outcome=outcome,
        source_time=at(commit) if commit is not None else None,
        finished_at=at(done),
        rollback_of=rollback_of,
        change_started_at=at(began) if began is not None else None,
    )


def incident(
    id: int,
    opened: float,
    resolved: float | None,
    *,
    deployment_id: int | None = None,
    service: str = "payments",
) -> IncidentRecord:
    return IncidentRecord(
        id=id,
        service=service,
        opened_at=at(opened),
        resolved_at=at(resolved) if resolved is not None else None,
        deployment_id=deployment_id,
    )


def test_a_deploy_with_no_prior_deploy_is_a_change_led_from_its_commit() -> None:
    found = delivery_metrics([deploy(1, 5, commit=2)], days=1)
    assert found == {
        "deployments": 1,
        "deployment_frequency": 1.0,
        "lead_time_seconds": 3 * H,
        "change_failure_rate": 0.0,
        "time_to_restore_seconds": None,
        "incidents": 0,
        "failed_deployments": 0,
        "rollbacks": 0,
    }


def test_lead_time_starts_when_the_change_began_and_falls_back_to_the_commit() -> None:
    records = [
        deploy(1, 10, commit=8, began=1),  # 9h from the first commit of the change
        deploy(2, 20, commit=18),  # an older client: 2h from the deployed commit
        deploy(3, 30),  # no times: no lead time
    ]
    assert delivery_metrics(records, days=2)["lead_time_seconds"] == 5.5 * H


def test_a_rollback_of_a_rollback_fails_one_change_and_restores_at_the_first_rollback() -> None:
    records = [
        deploy(1, 1, commit=0),  # the change, rolled back by 2
        deploy(2, 3, rollback_of=1),  # the rollback: restores 2h after the change
        deploy(3, 4, rollback_of=2),  # the rollback of the rollback: no change either
    ]
    found = delivery_metrics(records, days=1)
    assert found["change_failure_rate"] == 1.0  # one change, failed
    assert found["time_to_restore_seconds"] == 2 * H
    assert found["lead_time_seconds"] == 1 * H  # rollbacks have no lead time
    assert (found["deployments"], found["rollbacks"], found["failed_deployments"]) == (3, 2, 0)


def test_a_failure_with_no_restore_in_the_window_has_no_time_to_restore() -> None:
    records = [deploy(1, 1, commit=0), deploy(2, 2, "failed", commit=1)]
    found = delivery_metrics(records, days=1)
    assert found["change_failure_rate"] == 0.5
    assert found["time_to_restore_seconds"] is None
    assert found["failed_deployments"] == 1
    # Another service's success restores nothing of this one.
    found = delivery_metrics([*records, deploy(3, 5, service="search")], days=1)
    assert found["time_to_restore_seconds"] is None


def test_a_failure_is_restored_by_the_next_good_deployment_not_a_failed_one() -> None:
    records = [
        deploy(1, 1, "failed"),
        deploy(2, 2),  # succeeded, but an incident names it: a failed change
        deploy(3, 4),  # restores both failures
    ]
    incidents = [incident(1, 2.5, 3.5, deployment_id=2)]
    found = delivery_metrics(records, days=1, incidents=incidents)
    assert found["change_failure_rate"] == round(2 / 3, 4)
    # deployment 1: 3h to the next good one; the incident: 1h from opened to resolved.
    assert found["time_to_restore_seconds"] == 2 * H
    assert found["incidents"] == 1


def test_an_incident_linked_to_a_deployment_fails_that_change() -> None:
    records = [deploy(1, 1), deploy(2, 2), deploy(3, 3), deploy(4, 4)]
    linked = [incident(1, 2.5, 4.5, deployment_id=2)]
    found = delivery_metrics(records, days=1, incidents=linked)
    assert found["change_failure_rate"] == 0.25
    assert found["time_to_restore_seconds"] == 2 * H
    # Not linked: an incident is a failure of its own, but no change failed.
    loose = [incident(1, 2.5, 4.5)]
    found = delivery_metrics(records, days=1, incidents=loose)
    assert found["change_failure_rate"] == 0.0
    assert found["time_to_restore_seconds"] == 2 * H


def test_an_incident_naming_a_rolled_back_change_is_that_failure_counted_once() -> None:
    records = [deploy(1, 1), deploy(2, 2, rollback_of=1)]
    found = delivery_metrics(records, days=1, incidents=[incident(1, 1.5, 9, deployment_id=1)])
    assert found["change_failure_rate"] == 1.0
    assert found["time_to_restore_seconds"] == 1 * H  # the rollback's, not the incident's


def test_an_incident_never_resolved_counts_but_has_no_time_to_restore() -> None:
    found = delivery_metrics([deploy(1, 1)], days=1, incidents=[incident(1, 2, None)])
    assert (found["incidents"], found["time_to_restore_seconds"]) == (1, None)
    assert found["change_failure_rate"] == 0.0


def test_refused_attempts_count_for_nothing_and_no_history_has_no_rates() -> None:
    found = delivery_metrics([deploy(1, 1, "refused")], days=30)
    assert found["deployments"] == 0
    assert found["deployment_frequency"] == 0.0
    assert found["change_failure_rate"] is None
    assert found["lead_time_seconds"] is None


def test_weeks_start_on_monday_in_utc() -> None:
    sunday_night = dt.datetime(2025, 3, 9, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-2)))
    assert week_start(sunday_night) == dt.datetime(2025, 3, 10, tzinfo=dt.UTC)
    assert week_start(at(24 * 6 + 23)) == T0


def test_weekly_delivery_covers_the_window_oldest_first_judging_across_weeks() -> None:
    start, end = at(24 * 2), at(24 * 16)  # Wednesday of week 1 to Wednesday of week 3
    records = [
        deploy(1, 24 * 3, commit=24 * 3 - 2),  # week 1; rolled back in week 2
        deploy(2, 24 * 8, rollback_of=1),  # week 2
        deploy(3, 24 * 9, "failed"),  # week 2, restored in week 3
        deploy(4, 24 * 15, commit=24 * 15 - 1),  # week 3
    ]
    weeks = weekly_delivery(records, [incident(1, 24 * 15 + 1, None)], start, end)
    assert [w["week_start"] for w in weeks] == [T0, at(24 * 7), at(24 * 14)]
    first, second, third = weeks
    assert first == {
        "week_start": T0,
        "deployments": 1,
        "deployment_frequency": round(1 / 5, 4),  # 5 days of this week lie in the window
        "lead_time_seconds": 2 * H,
        "change_failure_rate": 1.0,  # rolled back the week after
        "time_to_restore_seconds": 5 * 24 * H,
        "incidents": 0,
    }
    assert (second["deployments"], second["change_failure_rate"]) == (2, 1.0)
    assert second["time_to_restore_seconds"] == 6 * 24 * H
    assert second["deployment_frequency"] == round(1 / 7, 4)
    assert (third["deployments"], third["incidents"], third["lead_time_seconds"]) == (1, 1, H)
    assert third["deployment_frequency"] == round(1 / 2, 4)


def test_weekly_delivery_of_an_empty_window_is_empty_weeks() -> None:
    weeks = weekly_delivery([], [], at(1), at(2))
    assert weeks == [
        {
            "week_start": T0,
            "deployments": 0,
            "deployment_frequency": 0.0,
            "lead_time_seconds": None,
            "change_failure_rate": None,
            "time_to_restore_seconds": None,
            "incidents": 0,
        }
    ]


def _person(start: float, end: float | None, *teams: str) -> OnboardingPerson:
    return OnboardingPerson(at(start), at(end) if end is not None else None, teams)


def test_onboarding_time_per_cohort_and_team_is_suppressed_below_five_and_ten_people() -> None:
    april = 24 * 31  # 2025-04-03
    people = [_person(0, 10 * (n + 1), "team-a") for n in range(9)]  # 10h .. 90h
    people += [
        _person(0, 20, "team-b", "team-a"),  # in two teams: both rows, one cohort row
        _person(0, None, "team-b"),  # started, never finished
        _person(april, april + 5, "team-b"),
        _person(-24 * 400, 1, "team-a"),  # started before the window
    ]
    for n in range(4):
        people.append(_person(april, april + n + 1, "team-c"))
    found = onboarding_metrics(people, [], at(-24), at(april + 24))
    assert found["window_start"] == dt.datetime(2025, 3, 1, tzinfo=dt.UTC)  # whole months
    assert found["cohorts"] == [
        {  # ten finished: median and p90 (by nearest rank: the 9th of 10)
            "cohort": "2025-03",
            "started": 11,
            "finished": 10,
            "median_seconds": 45 * H,
            "p90_seconds": 80 * H,
            "suppressed": False,
        },
        {  # five finished: a median, no p90
            "cohort": "2025-04",
            "started": 5,
            "finished": 5,
            "median_seconds": 3 * H,
            "p90_seconds": None,
            "suppressed": True,
        },
    ]
    teams = {row["team"]: row for row in found["teams"]}
    assert (teams["team-a"]["started"], teams["team-a"]["p90_seconds"]) == (10, 80 * H)
    # team-b: 3 started, 2 finished; team-c: 4 finished: no times shown.
    for team, started, finished in (("team-b", 3, 2), ("team-c", 4, 4)):
        assert teams[team] == {
            "team": team,
            "started": started,
            "finished": finished,
            "median_seconds": None,
            "p90_seconds": None,
            "suppressed": True,
        }
    assert "person" not in str(found)


def test_an_onboarding_that_ends_after_the_window_is_not_finished_yet() -> None:
    people = [_person(0, 10), _person(0, 11), _person(0, 500)]
    found = onboarding_metrics(people, [], at(-1), at(100))
    assert (found["cohorts"][0]["started"], found["cohorts"][0]["finished"]) == (3, 2)


def _step(person: str, step: str, status: str, hours: float, id: int = 0) -> OnboardingStepRecord:
    return OnboardingStepRecord(person, step, status, at(hours), id)


def test_a_step_counts_each_person_once_from_their_first_start_to_their_next_finish() -> None:
    steps = [
        _step("p1", "doctor", "started", 0, 1),
        _step("p1", "doctor", "failed", 1, 2),
        _step("p1", "doctor", "finished", 2, 3),  # 2h: the failure does not end the step
        _step("p2", "doctor", "started", 0, 4),
        _step("p3", "doctor", "finished", 1, 5),  # before p3 started: no time
        _step("p2", "doctor", "finished", 4, 6),  # 4h
        _step("p3", "doctor", "started", 5, 7),
        _step("p3", "doctor", "finished", 6, 8),  # 1h
        _step("p4", "doctor", "started", 0.5, 11),
        _step("p4", "doctor", "finished", 3.5, 12),  # 3h
        _step("p5", "doctor", "started", 1, 13),
        _step("p5", "doctor", "finished", 6, 14),  # 5h
        _step("p1", "service", "started", 3, 9),
        _step("p1", "service", "finished", 3.5, 10),
    ]
    # One person running a step again and again counts once: their first run.
    steps += [_step("p1", "service", "started", 4 + n / 10, 100 + 2 * n) for n in range(20)]
    steps += [_step("p1", "service", "finished", 4.05 + n / 10, 101 + 2 * n) for n in range(20)]
    found = {row["step"]: row for row in onboarding_metrics([], steps, at(-1), at(10))["steps"]}
    assert list(found) == ["doctor", "service", "first-deploy", "production-deploy"]
    assert found["doctor"] == {
        "step": "doctor",
        "runs": 5,
        "finished": 5,
        "median_seconds": 3 * H,
        "p90_seconds": None,
        "suppressed": True,
    }
    assert found["service"] == {
        "step": "service",
        "runs": 1,
        "finished": 1,
        "median_seconds": None,
        "p90_seconds": None,
        "suppressed": True,
    }
    assert found["first-deploy"]["runs"] == 0


def test_adoption_counts_versions_the_gate_and_teams() -> None:
    versions = [
        {"scaffold": "paved-road", "version": "1.0.0", "services": 3},
        {"scaffold": "paved-road", "version": "1.1.0", "services": 1},
        {"scaffold": "other-road", "version": "2.0.0", "services": 1},
    ]
    gate = [
        GateRecord("a", True, ()),
        GateRecord("b", False, ("SEC-IMG-001", "DEP-PIN-002")),
        GateRecord("c", False, ("SEC-IMG-001",)),
    ]
    teams = [("team-b", 0, False), ("team-a", 4, True)]
    found = adoption_metrics("road", versions, gate, teams)
    assert found["newest"] == {"paved-road": "1.1.0", "other-road": "2.0.0"}
    assert found["on_newest"] == {"services": 2, "share": 0.4}
    assert found["gate"] == {
        "reported": 3,
        "passed": 1,
        "share_passing": round(1 / 3, 4),
        "failing_rules": [
            {"rule_id": "SEC-IMG-001", "services": 2},
            {"rule_id": "DEP-PIN-002", "services": 1},
        ],
    }
    assert found["teams"] == [
        {"team": "team-a", "services": 4, "deployed_in_window": True},
        {"team": "team-b", "services": 0, "deployed_in_window": False},
    ]
    assert found["teams_deployed"] == 1


@pytest.mark.parametrize("reports", [[], [GateRecord("a", True, ())]])
def test_adoption_with_nothing_known_has_no_shares(reports: list[GateRecord]) -> None:
    found = adoption_metrics("road", [], reports, [])
    assert found["on_newest"] == {"services": 0, "share": None}
    assert found["gate"]["share_passing"] == (1.0 if reports else None)


def test_one_report_answers_as_the_functions_it_stands_for() -> None:
    from paved.server._metrics import delivery_report

    records = [
        deploy(1, 1, commit=0),
        deploy(2, 30, rollback_of=1),
        deploy(3, 40, "failed", service="search"),
        deploy(4, 200, service="search", commit=190),
    ]
    incidents = [incident(1, 50, 60, service="search"), incident(2, 70, None, service="other")]
    start, end = at(-24), at(24 * 13)
    total, services, weeks = delivery_report(records, incidents, start, end)
    days = 14
    assert total == delivery_metrics(records, days, incidents)
    assert list(services) == ["other", "payments", "search"]
    for name, found in services.items():
        mine = [r for r in records if r.service == name]
        theirs = [i for i in incidents if i.service == name]
        assert found == delivery_metrics(mine, days, theirs), name
    assert weeks == weekly_delivery(records, incidents, start, end)
    assert delivery_report(records, incidents, start, end, weeks=False)[2] == []


@pytest.mark.parametrize(
    ("environments", "protected"),
    [
        ({}, ("prod",)),
        ({"live": {"protected": "true"}}, ("live", "prod")),
        ({"live": {"protected": True}}, ("live", "prod")),
        # What the settings file refuses protects nothing.
        ({"live": {"protected": "TRUE"}}, ("prod",)),
        ({"live": {"protected": "yes"}}, ("prod",)),
        # prod is protected unless the settings say otherwise, as paved deploy reads them.
        ({"prod": {"protected": "false"}}, ()),
    ],
)
def test_protected_environments_follow_the_settings_rule(
    environments: dict[str, dict[str, object]], protected: tuple[str, ...]
) -> None:
    from paved.server._metrics import protected_environments

    assert protected_environments({"environments": environments}) == protected
