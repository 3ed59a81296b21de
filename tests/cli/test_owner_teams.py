"""``paved new service --owner``: one of the teams the settings declare (or the platform knows),
checked in the plan, before anything is written, dry run included."""

from __future__ import annotations

from pathlib import Path

import pytest

from paved.catalog import unknown_team
from paved.catalog.sqlite import SqliteCatalog
from paved.errors import ExitCode, InputError
from tests.cli.test_new_bad_input import assert_nothing_written, one_line_error

TEAMS = "team-checkout, team-search,team-data"


@pytest.fixture
def before(pinned_env: Path) -> set[str]:
    return {p.relative_to(pinned_env).as_posix() for p in pinned_env.rglob("*")}


def _config(pinned_env: Path, text: str) -> None:
    config = pinned_env / "paved-home" / "config" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(text, encoding="utf-8")


@pytest.mark.parametrize(
    "dry_run",
    [["--dry-run"], [], ["--no-register"], ["--no-register", "--no-push"]],
    ids=["dry-run", "run", "no-register", "no-register-no-push"],
)
def test_an_owner_the_settings_do_not_declare_is_refused_naming_the_closest(
    paved, pinned_env: Path, before: set[str], monkeypatch: pytest.MonkeyPatch, dry_run: list[str]
) -> None:
    monkeypatch.setenv("PAVED_TEAMS", TEAMS)
    got = paved("new", "service", "payments", "--owner", "team-chekout", *dry_run)
    assert got.exit_code == ExitCode.USAGE, got.stderr
    line = one_line_error(got.stderr)
    assert line == (
        "error: owner team 'team-chekout' is not a known team in the settings ([teams] names) "
        "(closest: team-checkout (and 2 more))"
    )
    assert got.stdout == ""
    assert_nothing_written(pinned_env, before)


def test_a_declared_owner_is_accepted_from_the_config_file(paved, pinned_env: Path) -> None:
    _config(pinned_env, '[teams]\nnames = ["team-checkout", "team-search"]\n')
    got = paved("new", "service", "payments", "--owner", "team-search", "--dry-run")
    assert got.exit_code == 0, got.stderr
    refused = paved("new", "service", "payments", "--owner", "team-a", "--dry-run")
    assert refused.exit_code == ExitCode.USAGE
    assert "closest: team-checkout, team-search" in one_line_error(refused.stderr)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[teams]\nnames = "team-a"\n', "must be a list of team names"),
        ("[teams]\nnames = [1]\n", "must be a list of team names"),
        ('[teams]\nnames = ["Team A"]\n', "team 'Team A' has upper-case letters"),
        ('[teams]\nnames = ["a"]\n', "team 'a' is shorter"),
    ],
)
def test_bad_teams_in_the_settings_are_one_line(
    paved, pinned_env: Path, text: str, message: str
) -> None:
    _config(pinned_env, text)
    got = paved("new", "service", "payments", "--owner", "team-a", "--dry-run")
    assert got.exit_code == ExitCode.USAGE
    line = one_line_error(got.stderr)
    assert "setting 'teams.names'" in line
    assert message in line


def test_a_bad_name_in_paved_teams_is_one_line(
    paved, pinned_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAVED_TEAMS", "team-a,../x")
    got = paved("new", "service", "payments", "--owner", "team-a", "--dry-run")
    assert got.exit_code == ExitCode.USAGE
    assert "setting 'teams.names' in $PAVED_TEAMS: team '../x'" in one_line_error(got.stderr)


def test_without_declared_teams_any_valid_owner_is_accepted(paved, pinned_env: Path) -> None:
    got = paved("new", "service", "payments", "--owner", "team-anything", "--dry-run")
    assert got.exit_code == 0, got.stderr


def test_the_local_catalog_refuses_an_unknown_owner_itself(tmp_path: Path) -> None:
    from tests.server.test_remote_catalog import _service

    catalog = SqliteCatalog(tmp_path / "catalog.db", teams=["team-search"])
    assert catalog.teams() == ("team-search",)
    with pytest.raises(InputError, match="owner team 'team-checkout' is not a known team"):
        catalog.register(_service(), dry_run=True)
    with pytest.raises(InputError):
        catalog.register(_service())
    assert catalog.get("payments") is None
    assert SqliteCatalog(tmp_path / "other.db").teams() is None


def test_the_closest_teams_are_at_most_three() -> None:
    names = [f"team-{n}" for n in ("aa", "ab", "ac", "ad", "zz")]
    problem = unknown_team("team-a", names, "here")
    assert problem is not None
    closest = problem.partition("(closest: ")[2]
    assert closest.endswith(" (and 2 more))")
    assert len(closest.split(", ")) == 3
    assert "team-zz" not in closest
    assert unknown_team("team-zz", names, "here") is None
    assert "closest: team-aa" in (unknown_team("other", ["team-aa"], "here") or "")
