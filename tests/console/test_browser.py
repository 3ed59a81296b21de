"""The console in a real Chromium (Debian's, driven by Playwright): sign-in, the catalog, a
service page, the charts' numbers against the records, another team's data, the cookie,
accessibility (axe-core, no serious or critical violation), and screenshots.

Skipped with the reason when /usr/bin/chromium is missing, unless PAVED_CI_REQUIRE_CHROMIUM=1
(as in .ci/run), which makes a missing browser a failure.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.console.conftest import Console, expected_weeks
from tests.helpers import REPO_ROOT

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = REPO_ROOT / "build" / "screenshots"
#: The screenshots docs/console.md shows, rewritten when PAVED_DOCS_SCREENSHOTS=1.
DOCS = REPO_ROOT / "docs" / "console"
# Read at import: the autouse fixture of tests/conftest.py drops PAVED_* from each test's
# environment.
REQUIRE_CHROMIUM = os.environ.get("PAVED_CI_REQUIRE_CHROMIUM") == "1"
DOCS_SCREENSHOTS = os.environ.get("PAVED_DOCS_SCREENSHOTS") == "1"


def _missing_browser() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    for module in ("playwright", "axe_playwright_python"):
        if importlib.util.find_spec(module) is None:
            return f"the test extra is not installed ({module})"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    missing = _missing_browser()
    if missing is not None:
        if REQUIRE_CHROMIUM:
            pytest.fail(f"the browser tests must run here: {missing}")
        pytest.skip(missing)
    sync_playwright = importlib.import_module("playwright.sync_api").sync_playwright

    # Playwright starts Chromium with a new empty profile of its own (a temporary
    # --user-data-dir, removed at close): it refuses one given in the arguments.
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(30_000)
    try:
        yield opened
    finally:
        context.close()


def sign_in(page: Any, console: Console, who: str) -> None:
    page.goto(console.url + "/")
    assert page.url == console.url + "/sign-in"  # redirected: no session yet
    page.get_by_label("Platform token").fill(console.tokens[who])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(console.url + "/")


def shoot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    if DOCS_SCREENSHOTS:
        DOCS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS / f"{name}.png"), full_page=True)


def serious_violations(page: Any) -> list[str]:
    axe = importlib.import_module("axe_playwright_python.sync_playwright").Axe()
    found = axe.run(page).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {v['help']}"
        for v in found
        if v.get("impact") in ("serious", "critical")
    ]


def table(page: Any, selector: str) -> dict[str, str]:
    """The rows of a chart's table: label -> the value shown."""
    rows = page.locator(f"{selector} table.figures tbody tr")
    return {
        rows.nth(i).locator("th").inner_text(): rows.nth(i)
        .locator("td")
        .get_attribute("data-value")
        for i in range(rows.count())
    }


def test_sign_in_catalog_and_service_page(organisation: Console, page: Any) -> None:
    sign_in(page, organisation, "owner")
    cookies = page.context.cookies()
    assert [(c["name"], c["httpOnly"], c["sameSite"], c["path"]) for c in cookies] == [
        ("paved_console", True, "Strict", "/")
    ]
    assert organisation.tokens["owner"] not in page.content()
    # A script on the page cannot read the session.
    assert "paved_console" not in page.evaluate("document.cookie")
    names = page.locator("table.catalog tbody td:first-child").all_inner_texts()
    assert names == ["payments", "refunds", "search-api"]
    assert serious_violations(page) == []
    shoot(page, "catalog")

    page.get_by_label("Team").select_option("team-search")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**/?*team=team-search*")
    assert page.locator("table.catalog tbody td:first-child").all_inner_texts() == ["search-api"]

    page.goto(organisation.url + "/")
    page.get_by_role("link", name="payments").click()
    page.wait_for_url("**/services/payments")
    assert page.get_by_role("heading", level=1).inner_text() == "payments"
    layers = page.locator("#layers tbody tr").all_inner_texts()
    assert [" ".join(row.split()) for row in layers] == [
        "app service-python 1.0.0",
        "road paved-road 1.1.0",
    ]
    prod = page.locator("#deployments-prod tbody tr")
    sent = [d for d in organisation.deployments if d["service"] == "payments"]
    assert prod.count() == len(sent)
    gate = " ".join(page.locator("#gate").inner_text().split())
    assert gate.endswith("at abc1234: failing, 2 findings.")
    assert page.locator("#gate-rules").inner_text() == "PAVED-CI-001"
    link = page.get_by_role("link", name="https://git.example.com/repos/payments.git")
    assert link.get_attribute("href") == "https://git.example.com/repos/payments.git"
    assert page.locator("#audit").count() == 0  # for admins only
    assert serious_violations(page) == []
    shoot(page, "service")

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/sign-in")
    page.goto(organisation.url + "/services/payments")
    assert page.url.endswith("/sign-in")


def test_the_charts_show_the_numbers_of_the_records(organisation: Console, page: Any) -> None:
    sign_in(page, organisation, "other")
    page.goto(organisation.url + "/metrics")
    weeks = expected_weeks(organisation, 8)
    deploys = table(page, "#deployments-per-week")
    lead = table(page, "#lead-time-trend")
    assert deploys == {label: str(count) for label, (count, _) in weeks.items()}
    assert lead == {label: median for label, (_, median) in weeks.items()}
    # The SVG draws the same numbers: one bar per week with its value, a title for readers.
    bars = page.locator("#deployments-per-week svg rect.bar")
    assert {
        bars.nth(i).get_attribute("data-label"): bars.nth(i).get_attribute("data-value")
        for i in range(bars.count())
    } == deploys
    title = page.locator("#deployments-per-week svg title").text_content()
    assert title == "Deploy attempts per week (deployments)"
    heights = {
        bars.nth(i).get_attribute("data-label"): float(bars.nth(i).get_attribute("height"))
        for i in range(bars.count())
    }
    most = max(count for count, _ in weeks.values())
    tallest = max(heights.values())
    for label, (count, _) in weeks.items():
        assert heights[label] == pytest.approx(tallest * count / most, abs=0.2), label
    roads = table(page, "#road-versions")
    assert roads == {"paved-road 1.0.0": "1", "paved-road 1.1.0": "2"}
    assert serious_violations(page) == []
    shoot(page, "metrics")

    # One team's page: its own services and deployments only.
    page.goto(organisation.url + "/teams/team-checkout")
    assert page.locator("#team-services tbody td:first-child").all_inner_texts() == [
        "payments",
        "refunds",
    ]
    team = expected_weeks(organisation, 8, {"payments", "refunds"})
    assert table(page, "#deployments-per-week") == {label: str(c) for label, (c, _) in team.items()}
    assert "search-api" not in page.content()
    assert serious_violations(page) == []
    shoot(page, "team")


def test_another_team_s_admin_only_data_is_hidden_in_the_browser(
    organisation: Console, page: Any
) -> None:
    sign_in(page, organisation, "other")
    page.goto(organisation.url + "/services/payments")
    assert page.get_by_role("heading", level=1).inner_text() == "payments"
    assert page.locator("#audit").count() == 0
    assert "service.register" not in page.content()


def test_sign_in_page_and_errors_are_accessible(organisation: Console, page: Any) -> None:
    page.goto(organisation.url + "/sign-in")
    assert serious_violations(page) == []
    shoot(page, "sign-in")
    page.get_by_label("Platform token").fill(organisation.tokens["revoked"])
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text().startswith("That token is not valid")
    assert organisation.tokens["revoked"] not in page.content()
    assert page.context.cookies() == []
    sign_in(page, organisation, "admin")
    page.goto(organisation.url + "/services/nothing-here")
    assert page.get_by_role("heading", level=1).inner_text() == "Not found"
    assert serious_violations(page) == []
    page.goto(organisation.url + "/services/payments")
    assert page.locator("#audit").count() == 1  # an admin reads the audit trail
    assert serious_violations(page) == []


def test_the_onboarding_chart_shows_each_cohort_s_median(console: Console, page: Any) -> None:
    """Three new hires in February (first token to first production deploy: 1, 3 and 5
    days) and two in January (too few to show): the chart has February's median only."""
    import datetime as dt

    from paved.server import issue_token
    from tests.console.conftest import NOW

    with console.api("owner") as alice:
        body = {
            "name": "payments",
            "owner": "team-checkout",
            "description": "",
            "repository": "https://git.example.com/repos/payments.git",
            "layers": [{"layer": "road", "scaffold": "paved-road", "version": "1.1.0"}],
        }
        assert alice.post("/v1/services", json=body).status_code == 201
    # February: five who finished, the fewest for which a median is shown (docs/metrics.md);
    # January: two, not shown.
    hires = [("erin", 2, 2, 1), ("frank", 2, 4, 3), ("grace", 2, 6, 5)]
    hires += [("judy", 2, 8, 7), ("ken", 2, 10, 9)]
    hires += [("heidi", 1, 5, 2), ("ivan", 1, 6, 9)]
    for user, month, day, took in hires:
        started = dt.datetime(2025, month, day, 9, 0, tzinfo=dt.UTC)
        token = issue_token(
            console.engine,
            user=user,
            teams=["team-checkout"],
            admin=False,
            lifetime=dt.timedelta(days=90),
            now=started,
            actor="test",
        ).token
        finished = started + dt.timedelta(days=took)
        deploy = {
            "service": "payments",
            "environment": "prod",
            "target": "gitops",
            "source_commit": "abc1234",
            "source_time": (finished - dt.timedelta(hours=1)).isoformat(),
            "actor": user,
            "started_at": (finished - dt.timedelta(minutes=5)).isoformat(),
            "finished_at": finished.isoformat(),
            "outcome": "succeeded",
        }
        headers = {"Authorization": f"Bearer {token}"}
        # Recorded when it happened: the platform takes no deployment from long ago.
        console.clock.now = finished
        with console.client() as client:
            got = client.post("/v1/deployments", json=deploy, headers=headers)
        assert got.status_code == 201, got.text
        assert finished < NOW
    console.clock.now = NOW
    sign_in(page, console, "owner")
    page.goto(console.url + "/metrics")
    cohorts = table(page, "#onboarding-per-cohort")
    assert cohorts["2025-01"] == "-"  # two people: not shown
    assert cohorts["2025-02"] == "5.0"
    assert "erin" not in page.content()
