"""``paved metrics delivery`` over a platform that answers a page of services: the table
holds the page and the total, and stderr says how many services there are in all."""

from __future__ import annotations

from paved.cli.metrics import show_delivery
from tests.cli.test_metrics_render import _shown, _weeks


def test_a_first_page_of_services_says_how_many_there_are_on_stderr() -> None:
    whole = _weeks()
    paged = {**whole, "service_count": 250, "next_cursor": "InBheW1lbnRzIg"}
    out, err = _shown(show_delivery, paged)
    assert out == _shown(show_delivery, whole)[0]
    assert err == (
        "The first 1 of 250 services by name, and the total of all; --team TEAM or "
        "--service NAME narrows the table.\n"
    )
    piped, notes = _shown(show_delivery, paged, terminal=False)
    assert piped == _shown(show_delivery, whole, terminal=False)[0]
    assert notes.splitlines()[1].startswith("The first 1 of 250 services by name")


def test_the_last_page_says_nothing_more() -> None:
    out, err = _shown(show_delivery, {**_weeks(), "service_count": 1, "next_cursor": None})
    assert err == ""
    assert out == _shown(show_delivery, _weeks())[0]
