"""How ``paved metrics`` shows the platform's figures: sparklines, durations, whole tables on a
terminal and in a pipe, from hand-made figures."""

from __future__ import annotations

import copy
import io
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from paved.cli.metrics import (
    BARS,
    duration,
    share,
    show_adoption,
    show_delivery,
    show_onboarding,
    sparkline,
)
from paved.cli.output import Output
from tests.cli.test_metrics_client import ADOPTION, DELIVERY, ONBOARDING


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("values", "line"),
    [
        ([], ""),
        ([0, 0, 0], "▁▁▁"),
        ([5], "█"),
        ([0, 7], "▁█"),
        ([0, 1, 2, 3, 4, 5, 6, 7], BARS),
        ([7, 6, 5, 4, 3, 2, 1, 0], BARS[::-1]),
        # scaled from zero: a small wobble at a high level stays high
        ([100, 99, 100], "███"),
        ([10, 5, 0], "█▅▁"),  # 5/10 of 7 steps is 3.5, rounded to the even 4 (▅)
        ([None, 3, None, 6], "·▅·█"),
        ([None, None], "··"),
        ([-4, 2], "▁█"),  # negative: zero
        ([0.5, 1.0], "▅█"),
    ],
)
def test_a_sparkline_has_one_bar_per_value_scaled_from_zero(
    values: list[float | None], line: str
) -> None:
    assert sparkline(values) == line
    assert len(sparkline(values)) == len(values)


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (None, "-"),
        (0, "0s"),
        (59, "59s"),
        (60, "1m"),
        (3599, "60m"),
        (3600, "1.0h"),
        (5400, "1.5h"),
        (86399, "24.0h"),
        (86400, "1.0d"),
        (86400 * 2.25, "2.2d"),
    ],
)
def test_a_duration_reads_in_the_largest_unit_below_it(seconds: float | None, shown: str) -> None:
    assert duration(seconds) == shown


def test_a_share_is_a_percentage() -> None:
    assert [share(v) for v in (None, 0, 0.25, 1, 0.666)] == ["-", "0%", "25%", "100%", "67%"]


def _shown(
    show: Callable[[Output, Mapping[str, Any]], None],
    figures: Mapping[str, Any],
    *,
    terminal: bool = True,
    width: int = 120,
) -> tuple[str, str]:
    out = Terminal() if terminal else io.StringIO()
    err = io.StringIO()
    show(Output(stdout=out, stderr=err, env={"COLUMNS": str(width), "NO_COLOR": "1"}), figures)
    return out.getvalue(), err.getvalue()


def _weeks() -> dict[str, Any]:
    figures = copy.deepcopy(DELIVERY)
    week = figures["weeks"][0]
    figures["weeks"] = [
        {**week, "week_start": "2025-02-03T00:00:00Z", "deployments": 0, "incidents": 0,
         "lead_time_seconds": None, "change_failure_rate": None},
        {**week, "week_start": "2025-02-10T00:00:00Z", "deployments": 2, "incidents": 0,
         "lead_time_seconds": 7200.0, "change_failure_rate": 0.0},
        {**week, "week_start": "2025-02-17T00:00:00Z", "deployments": 8, "incidents": 2,
         "lead_time_seconds": 1800.0, "change_failure_rate": 0.5,
         "time_to_restore_seconds": 600.0},
    ]  # fmt: skip
    return figures


def test_delivery_on_a_terminal_is_a_table_per_service_and_a_trend_per_week() -> None:
    out, err = _shown(show_delivery, _weeks())
    assert err == ""
    assert out == (
        "Delivery to prod, every team, 2025-02-01 to 2025-03-01\n"
        "SERVICE   OWNER          DEPLOYS  PER DAY  LEAD TIME  FAILURE RATE  RESTORE  "
        "INCIDENTS  FAILED  ROLLBACKS\n"
        "payments  team-checkout  4        0.50     1.0h       25%           -        "
        "1          1       0\n"
        "(total)                  4        0.50     1.0h       25%           -        "
        "1          1       0\n"
        "\n"
        "Per week from 2025-02-03 (Mondays, oldest first)\n"
        "PER WEEK      TREND  LOWEST  HIGHEST  LAST\n"
        "deployments   ▁▃█    0       8        8\n"
        "lead time     ·█▃    30m     2.0h     30m\n"
        "failure rate  ·▁█    0%      50%      50%\n"
        "restore       ··█    10m     10m      10m\n"
        "incidents     ▁▁█    0       2        2\n"
    )


def test_delivery_in_a_pipe_is_rows_only_with_the_headings_on_stderr() -> None:
    out, err = _shown(show_delivery, _weeks(), terminal=False)
    assert out.splitlines()[0] == "payments\tteam-checkout\t4\t0.50\t1.0h\t25%\t-\t1\t1\t0"
    assert out.splitlines()[2] == "deployments\t▁▃█\t0\t8\t8"
    assert err.splitlines() == [
        "Delivery to prod, every team, 2025-02-01 to 2025-03-01",
        "Per week from 2025-02-03 (Mondays, oldest first)",
    ]


def test_delivery_without_deployments_says_so_and_shows_no_trend_without_weeks() -> None:
    figures = {**DELIVERY, "team": "team-checkout", "services": [], "weeks": []}
    out, err = _shown(show_delivery, figures)
    assert out == "Delivery to prod, team team-checkout, 2025-02-01 to 2025-03-01\n"
    assert err == "No deployments to prod in the window (2025-02-01 to 2025-03-01).\n"


def test_onboarding_shows_cohorts_with_their_trend_teams_and_steps() -> None:
    figures = copy.deepcopy(ONBOARDING)
    figures["cohorts"].insert(
        0, {"cohort": "2025-01", "started": 2, "finished": 2, "median_seconds": None,
            "p90_seconds": None, "suppressed": True},
    )  # fmt: skip
    figures["cohorts"].append(
        {"cohort": "2025-03", "started": 5, "finished": 4, "median_seconds": 43200.0,
         "p90_seconds": 90000.0, "suppressed": False},
    )  # fmt: skip
    out, err = _shown(show_onboarding, figures)
    assert err == ""
    assert out == (
        "Onboarding, every team, 2024-03-01 to 2025-03-01: per monthly cohort\n"
        "COHORT   STARTED  FINISHED  MEDIAN  P90\n"
        "2025-01  2        2         -       -\n"
        "2025-02  4        3         1.0d    2.0d\n"
        "2025-03  5        4         12.0h   1.0d\n"
        "\n"
        "Median per cohort, oldest first: ·█▅\n"
        "\n"
        "Per team\n"
        "TEAM           STARTED  FINISHED  MEDIAN  P90\n"
        "team-checkout  4        3         1.0d    2.0d\n"
        "\n"
        "Per step of paved onboard\n"
        "STEP    RUNS  FINISHED  MEDIAN  P90\n"
        "doctor  4     4         30s     1m\n"
    )


def test_adoption_marks_the_newest_version_and_shows_the_gate_and_the_teams() -> None:
    figures = copy.deepcopy(ADOPTION)
    figures["versions"].insert(
        0, {"scaffold": "paved-road", "version": "1.1.0", "services": 1, "share": 0.25,
            "released_at": None, "moved": 0, "time_to_patch_median_seconds": None,
            "time_to_patch_p90_seconds": None},
    )  # fmt: skip
    out, err = _shown(show_adoption, figures)
    assert err == ""
    assert out == (
        "The road layer: 3 services on the newest version (75%)\n"
        "SCAFFOLD    VERSION         SERVICES  SHARE  RELEASED    MOVED  PATCH MEDIAN  "
        "PATCH P90\n"
        "paved-road  1.1.0           1         25%    -           0      -             -\n"
        "paved-road  1.2.0 (newest)  3         75%    2025-03-01  2      1.0h          -\n"
        "\n"
        "The gate: 3 of 4 services reporting pass (75%)\n"
        "FAILING RULE   SERVICES\n"
        "PAVED-K8S-001  1\n"
        "\n"
        "Teams: 1 deployed in the window\n"
        "TEAM           SERVICES  DEPLOYED\n"
        "team-checkout  4         yes\n"
    )


def test_a_narrow_terminal_leaves_columns_out_and_says_which() -> None:
    out, err = _shown(show_delivery, _weeks(), width=60)
    assert all(len(line) <= 60 for line in out.splitlines())
    assert "left out to fit 60 columns" in err
    assert "SERVICE" in out.splitlines()[1]


@pytest.mark.parametrize(
    ("name", "figures"),
    [("delivery", DELIVERY), ("onboarding", ONBOARDING), ("adoption", ADOPTION)],
)
def test_the_json_of_each_command_follows_its_schema(name: str, figures: dict[str, Any]) -> None:
    import json

    import jsonschema

    from tests.helpers import REPO_ROOT

    schema = json.loads(
        (REPO_ROOT / "docs" / "schemas" / f"metrics-{name}.schema.json").read_text()
    )
    jsonschema.validate({"schema": f"paved/metrics-{name}/v1", **figures}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"schema": f"paved/metrics-{name}/v1", **figures, "x": 1}, schema)
