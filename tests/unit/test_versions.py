"""One version type for the scaffolds: how versions read and compare."""

from __future__ import annotations

import pytest

from paved.versions import VERSION_TEXT, Version


def v(text: str) -> Version:
    parsed = Version.parse(text)
    assert parsed is not None, text
    return parsed


@pytest.mark.parametrize(
    ("older", "newer"),
    [
        ("0.1.0", "0.2.0"),
        ("0.9.9", "0.10.0"),
        ("0.2.0-rc.1", "0.2.0"),
        ("0.2.0-rc.1", "0.2.0-rc.2"),
        ("0.2.0-1", "0.2.0-alpha"),
        ("1.2", "1.2.1"),
    ],
)
def test_versions_compare_as_numbers(older: str, newer: str) -> None:
    assert v(older) < v(newer)
    assert v(newer) > v(older)
    assert v(older) != v(newer)


@pytest.mark.parametrize(
    ("one", "other"), [("0.1.0+tree.abc", "0.1.0"), ("v1.0.0", "1.0.0"), ("1.2", "1.2.0")]
)
def test_the_local_part_and_a_leading_v_are_ignored(one: str, other: str) -> None:
    assert v(one) == v(other)
    assert hash(v(one)) == hash(v(other))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "garbage",
        "1",
        "1.x.0",
        "0.1.0 ; rm -rf /",
        "v",
        "1..2",
        "\u0661.\u0662.\u0660",
        "1.\uff12",
    ],
)
def test_what_is_not_a_version_parses_to_none(text: str) -> None:
    assert Version.parse(text) is None


def test_stored_version_text_is_checked_before_it_is_compared() -> None:
    assert VERSION_TEXT.fullmatch("0.1.0+tree.3f2a")
    assert not VERSION_TEXT.fullmatch("0.1.0\n")
    assert not VERSION_TEXT.fullmatch("-rf")
