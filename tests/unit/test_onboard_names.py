"""The first service's name from a git identity, and the onboarding state file, as input."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paved.errors import InputError
from paved.names import MAX_LENGTH, name_problem
from paved.onboard import (
    STEPS,
    ServiceChoice,
    State,
    StepRecord,
    derive_name,
    production_allowed,
    read_state,
    write_state,
)


@pytest.mark.parametrize(
    ("email", "user_name", "expected"),
    [
        ("Jane.Smith@example.com", "Jane Smith", "jane-smith-first"),
        ("", "Jane Smith", "jane-smith-first"),  # no email: the name
        ("42@example.com", "Ana", "ana-first"),  # the local part has no letter: the name
        ("../../etc/passwd@example.com", "", "etc-passwd-first"),
        ("jose@example.com", "", "jose-first"),
        ("José.Núñez@example.com", "", "jose-nunez-first"),  # accents dropped, letters kept
        ("a\nb@example.com", "", "a-b-first"),  # a newline is one more separator
        ("--__--@example.com", "Łukasz Żółć", "ukasz-zoc-first"),  # Ł and ł have no ASCII form
        ("@example.com", "", None),
        ("", "", None),
        ("../..@example.com", "\n\t", None),
        ("李雷@example.com", "李雷", None),  # nothing Latin: no name, never a guess
        ("123-456@example.com", "7", None),
    ],
)
def test_names_from_git_identities(email: str, user_name: str, expected: str | None) -> None:
    assert derive_name(email, user_name) == expected


def test_a_long_identity_is_cut_at_a_word_edge_and_keeps_room_for_a_number() -> None:
    name = derive_name("x" * 200 + "@example.com", "")
    assert name is not None
    assert name == "x" * (MAX_LENGTH - len("-first") - 2) + "-first"
    assert len(f"{name}-9") == MAX_LENGTH
    cut = derive_name("abc-" * 50 + "@example.com", "")
    assert cut is not None
    assert "--" not in cut
    assert name_problem(cut) is None


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=300), st.text(max_size=300))
def test_any_identity_gives_a_valid_name_or_none(email: str, user_name: str) -> None:
    name = derive_name(email, user_name)
    if name is None:
        return
    assert name_problem(name) is None
    assert name_problem(f"{name}-9") is None  # the numbered form for a taken name too
    assert name.endswith("-first")


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"[a-z][a-z0-9]{0,5}(\.[a-z0-9]{1,5}){0,3}", fullmatch=True))
def test_a_plain_email_keeps_its_words(local: str) -> None:
    name = derive_name(f"{local}@example.com", "Someone Else")
    assert name == local.replace(".", "-") + "-first"


# -- the state file ----------------------------------------------------------------------

T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def _state() -> State:
    return State(
        {
            "doctor": StepRecord("finished", T0, T0 + dt.timedelta(seconds=3), "ok (9 ok)"),
            "service": StepRecord("started", T0 + dt.timedelta(seconds=4)),
        },
        ServiceChoice("jane-first", "team-a", Path("/home/jane/src/jane-first")),
    )


def test_the_state_file_reads_back_what_was_written(tmp_path: Path) -> None:
    path = tmp_path / "data" / "onboarding.json"
    assert read_state(path) == State()  # none yet
    write_state(path, _state())
    assert read_state(path) == _state()
    data = json.loads(path.read_text())
    assert data["version"] == 1
    assert data["steps"]["doctor"] == {
        "status": "finished",
        "started_at": "2026-12-01T09:00:00Z",
        "finished_at": "2026-12-01T09:00:03Z",
        "detail": "ok (9 ok)",
    }
    assert list(tmp_path.joinpath("data").iterdir()) == [path]  # no temporary file left


def _good() -> dict[str, object]:
    return json.loads(json.dumps(_state().to_json()))


def _with(change: str) -> bytes:
    data = _good()
    steps = data["steps"]
    assert isinstance(steps, dict)
    service = data["service"]
    assert isinstance(service, dict)
    if change == "version":
        data["version"] = 2
    elif change == "unknown step":
        steps["deploy-everything"] = steps["doctor"]
    elif change == "status":
        steps["doctor"]["status"] = "done"
    elif change == "time":
        steps["doctor"]["started_at"] = "yesterday"
    elif change == "naive time":
        steps["doctor"]["started_at"] = "2026-12-01T09:00:00"
    elif change == "backwards":
        steps["doctor"]["finished_at"] = "2026-11-30T09:00:00Z"
    elif change == "detail newline":
        steps["doctor"]["detail"] = "ok\nerror: forged"
    elif change == "long detail":
        steps["doctor"]["detail"] = "x" * 501
    elif change == "extra field":
        steps["doctor"]["exit"] = 0
    elif change == "name":
        service["name"] = "../../etc"
    elif change == "owner":
        service["owner"] = "Team A"
    elif change == "relative path":
        service["path"] = "src/jane-first"
    elif change == "extra key":
        data["token"] = "pvd_x"
    elif change == "not an object":
        return b"[1, 2]"
    elif change == "not json":
        return b'{"version": 1, "steps": {'
    elif change == "not utf-8":
        return b'{"version": 1, "steps": {}, "x": "\xff"}'
    return json.dumps(data).encode()


@pytest.mark.parametrize(
    "change",
    [
        "version", "unknown step", "status", "time", "naive time", "backwards",
        "detail newline", "long detail", "extra field", "name", "owner", "relative path",
        "extra key", "not an object", "not json", "not utf-8",
    ],
)  # fmt: skip
def test_a_bad_state_file_is_one_line_that_points_to_restart(tmp_path: Path, change: str) -> None:
    path = tmp_path / "onboarding.json"
    path.write_bytes(_with(change))
    with pytest.raises(InputError) as raised:
        read_state(path)
    assert str(raised.value).startswith(f"the onboarding state {path} ")
    assert "\n" not in str(raised.value)
    assert raised.value.hint is not None
    assert "--restart" in raised.value.hint
    assert "forged" not in str(raised.value)


def test_a_folder_in_place_of_the_state_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "onboarding.json").mkdir()
    with pytest.raises(InputError, match="is a folder"):
        read_state(tmp_path / "onboarding.json")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_read_back_as_a_state_or_one_refusal(
    tmp_path_factory: pytest.TempPathFactory, raw: bytes
) -> None:
    path = tmp_path_factory.mktemp("state") / "onboarding.json"
    path.write_bytes(raw)
    try:
        state = read_state(path)
    except InputError as refused:
        problem = str(refused)
    else:
        assert set(state.steps) <= set(STEPS)
        return
    assert "\n" not in problem


@pytest.mark.parametrize(
    ("settings_", "allowed"),
    [
        ({}, False),
        ({"onboarding": {"production_deploy": True}}, True),
        ({"onboarding": {"production_deploy": False}}, False),
        ({"onboarding": {"production_deploy": "true"}}, False),  # only a JSON true says yes
        ({"onboarding": {"production_deploy": 1}}, False),
        ({"onboarding": ["production_deploy"]}, False),
    ],
)
def test_only_a_true_in_the_platform_settings_asks_for_production(
    settings_: dict[str, object], allowed: bool
) -> None:
    assert production_allowed(settings_) is allowed
