"""``.paved/declines.yaml``: what a valid file holds, what each rule refuses, and writing one."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from paved.errors import InputError
from paved.service.declines import (
    DECLINES_FILE,
    MAX_REASON,
    Decline,
    read_declines,
    with_decline,
)

UNTIL = dt.date(2030, 3, 31)
GOOD = {
    "scaffold": "paved-road",
    "version": "0.2.0",
    "reason": "new ingress",
    "until": "2030-03-31",
}


def write(root: Path, text: str) -> Path:
    path = root / DECLINES_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def write_entries(root: Path, *entries: Any) -> Path:
    return write(root, yaml.safe_dump({"declines": list(entries)}, allow_unicode=True))


def test_a_valid_file_gives_its_declines(tmp_path: Path) -> None:
    write(
        tmp_path,
        "declines:\n"
        "  - scaffold: paved-road\n"
        "    version: 0.2.0\n"
        "    reason: waiting for the new ingress controller\n"
        "    until: 2030-03-31\n"  # a YAML date
        "  - scaffold: service-python\n"
        "    version: v1.4.0\n"
        "    reason: Python 3.13 first — ok\n"
        "    until: '2030-04-15'\n",  # a string
    )
    assert read_declines(tmp_path) == [
        Decline("paved-road", "0.2.0", "waiting for the new ingress controller", UNTIL),
        Decline("service-python", "v1.4.0", "Python 3.13 first — ok", dt.date(2030, 4, 15)),
    ]


def test_a_bare_list_is_a_valid_file_too(tmp_path: Path) -> None:
    write(tmp_path, yaml.safe_dump([GOOD]))
    assert read_declines(tmp_path) == [Decline("paved-road", "0.2.0", "new ingress", UNTIL)]


@pytest.mark.parametrize("text", [None, "", "# nothing declined\n", "declines:\n", "{}\n"])
def test_no_file_or_an_empty_one_declines_nothing(tmp_path: Path, text: str | None) -> None:
    if text is not None:
        write(tmp_path, text)
    assert read_declines(tmp_path) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"scaffold": None}, "an entry has no scaffold"),
        ({"version": None, "until": None}, "an entry has no version, until"),
        ({"owner": "team-a"}, "an entry has unknown fields: owner"),
        ({"scaffold": "Paved_Road"}, "scaffold 'Paved_Road' is not a scaffold name"),
        ({"scaffold": 7}, "scaffold '7' is not a scaffold name"),
        ({"version": "latest"}, "version 'latest' is not a version"),
        ({"version": 1.5}, "version '1.5' is not a version"),
        ({"version": "0.2.0\n"}, "version '0.2.0\\\\n' is not a version"),
        ({"version": " 0.2.0"}, "version ' 0.2.0' is not a version"),
        ({"reason": "  "}, "the reason is empty"),
        ({"reason": 42}, "the reason is empty"),
        ({"reason": "two\nlines"}, "the reason contains the control character U+000A"),
        ({"reason": "x" * (MAX_REASON + 1)}, f"the reason is longer than {MAX_REASON} characters"),
        ({"until": "next spring"}, "until 'next spring' is not a date (YYYY-MM-DD)"),
        ({"until": "2030-02-30"}, "until '2030-02-30' is not a date (YYYY-MM-DD)"),
        ({"until": 20300331}, "until '20300331' is not a date (YYYY-MM-DD)"),
        (
            {"until": dt.datetime(2030, 3, 31, 12, 0)},
            "until '2030-03-31 12:00:00' is not a date (YYYY-MM-DD)",
        ),
    ],
)
def test_each_rule_broken_names_the_file_and_the_entry(
    tmp_path: Path, change: dict[str, Any], problem: str
) -> None:
    entry = {key: value for key, value in {**GOOD, **change}.items() if value is not None}
    path = write_entries(tmp_path, GOOD, entry)
    with pytest.raises(InputError) as raised:
        read_declines(tmp_path)
    assert raised.value.message == f"{path}: decline 2: {problem}"
    assert raised.value.hint is not None
    assert "paved docs update#declining-a-version" in raised.value.hint
    assert "\n" not in str(raised.value)


def test_an_entry_that_is_not_a_mapping(tmp_path: Path) -> None:
    path = write_entries(tmp_path, "paved-road 0.2.0")
    with pytest.raises(InputError, match="decline 1: an entry is not a mapping") as raised:
        read_declines(tmp_path)
    assert raised.value.message.startswith(str(path))


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("declines: [unclosed\n", "is not valid YAML"),
        ("declines: paved-road\n", "must hold a list of declines"),
        ("just text\n", "must hold a list of declines"),
    ],
)
def test_a_file_that_is_not_a_list_of_declines(tmp_path: Path, text: str, problem: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InputError) as raised:
        read_declines(tmp_path)
    assert raised.value.message == f"{path} {problem}"


def test_a_symbolic_link_or_an_unreadable_file_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.yaml"
    elsewhere.write_text(yaml.safe_dump([GOOD]))
    link = tmp_path / "svc" / DECLINES_FILE
    link.parent.mkdir(parents=True)
    link.symlink_to(elsewhere)
    with pytest.raises(InputError, match="is a symbolic link"):
        read_declines(tmp_path / "svc")
    path = write(tmp_path, "")
    path.write_bytes(b"\xff\xfe declines")
    with pytest.raises(InputError, match=r"cannot be read \(UnicodeDecodeError\)"):
        read_declines(tmp_path)


@pytest.mark.parametrize(
    ("version", "covered"),
    [
        ("0.9.0", True),
        ("0.10.0", True),  # its own version
        ("v0.10.0", True),
        ("0.10.0+tree.3f2a", True),  # the local part is ignored
        ("0.10.0-rc.1", True),  # a pre-release is older than its release
        ("0.10.1", False),
        ("0.11.0", False),
        ("1.0.0", False),
        ("newest", False),
    ],
)
def test_a_decline_covers_its_version_and_every_older_one(version: str, covered: bool) -> None:
    decline = Decline("paved-road", "0.10.0", "r", UNTIL)
    assert decline.covers("paved-road", version) is covered
    assert decline.covers("service-python", version) is False  # another scaffold's versions


def test_a_decline_covers_by_version_order_not_text_order() -> None:
    assert Decline("paved-road", "0.10.0", "r", UNTIL).covers("paved-road", "0.9.0")
    assert not Decline("paved-road", "0.9.0", "r", UNTIL).covers("paved-road", "0.10.0")


def test_a_decline_is_active_through_its_until_day() -> None:
    decline = Decline("paved-road", "0.2.0", "r", UNTIL)
    assert decline.active(UNTIL - dt.timedelta(days=30))
    assert decline.active(UNTIL)
    assert not decline.active(UNTIL + dt.timedelta(days=1))


def test_with_decline_adds_and_replaces_one_of_the_same_scaffold_and_version(
    tmp_path: Path,
) -> None:
    road = Decline("paved-road", "0.2.0", "new ingress", UNTIL)
    app = Decline("service-python", "1.4.0", "Python 3.13 first: ok", dt.date(2030, 4, 15))
    write(tmp_path, with_decline([], road))
    assert read_declines(tmp_path) == [road]
    write(tmp_path, with_decline(read_declines(tmp_path), app))
    assert read_declines(tmp_path) == [road, app]

    later = Decline("paved-road", "0.2.0", "the ingress moved to May # really", dt.date(2030, 5, 1))
    text = with_decline(read_declines(tmp_path), later)
    assert text.startswith("# Scaffold versions this service declines for now")
    write(tmp_path, text)
    assert read_declines(tmp_path) == [app, later]  # replaced, not added
    other = Decline("paved-road", "0.3.0", "one more", UNTIL)
    write(tmp_path, with_decline(read_declines(tmp_path), other))
    assert read_declines(tmp_path) == [app, later, other]  # another version is another decline


@pytest.mark.parametrize(
    ("decline", "problem"),
    [
        (Decline("paved-road", "0.2.0", "", UNTIL), "the reason is empty"),
        (Decline("paved-road", "soon", "r", UNTIL), "version 'soon' is not a version"),
        (Decline("Paved", "0.2.0", "r", UNTIL), "scaffold 'Paved' is not a scaffold name"),
        (Decline("paved-road", "0.2.0", "a\x1b[31m", UNTIL), "the reason contains"),
    ],
)
def test_with_decline_refuses_a_decline_that_breaks_a_rule(decline: Decline, problem: str) -> None:
    with pytest.raises(InputError, match=f"^the decline is refused: {problem}"):
        with_decline([], decline)


def test_a_declines_folder_that_links_out_of_the_service_is_refused(tmp_path: Path) -> None:
    """paved writes the file on --decline: a linked .paved would put it outside the service."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "declines.yaml").write_text(yaml.safe_dump([GOOD]))
    service = tmp_path / "svc"
    service.mkdir()
    (service / ".paved").symlink_to(outside)
    with pytest.raises(InputError, match="is a symbolic link, not the service's own folder"):
        read_declines(service)
