"""A user or password in a repository URL is never printed nor kept: ``paved new service
--remote https://USER:TOKEN@host/...`` pushes to the remote as given (real git, rewritten by
``url.<base>.insteadOf`` to a bare repository on this machine) but says, answers in ``--json``
and stores in the local catalog the URL without them; ``--set repository_url=...`` with them is
refused without repeating them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from paved.catalog.sqlite import SqliteCatalog
from paved.errors import ExitCode
from tests.cli.test_new_bad_input import assert_nothing_written, one_line_error
from tests.helpers import git

TOKEN = "s3cr3t-t0ken"
REMOTE = f"https://engineer:{TOKEN}@git.example.com/acme/payments.git"
CLEAN = "https://git.example.com/acme/payments.git"


@pytest.fixture
def bare(pinned_env: Path) -> Path:
    """The bare repository git reaches through ``REMOTE`` (and only through it)."""
    served = pinned_env / "served"
    git("init", "--quiet", "--bare", str(served / "payments.git"))
    with (pinned_env / "home" / ".gitconfig").open("a", encoding="utf-8") as config:
        config.write(
            f'[url "{served.as_uri()}/"]\n'
            f"\tinsteadOf = https://engineer:{TOKEN}@git.example.com/acme/\n"
        )
    return served / "payments.git"


@pytest.mark.slow
def test_a_remote_with_credentials_is_pushed_to_but_never_shown_nor_kept(
    paved, pinned_env: Path, bare: Path
) -> None:
    made = paved("new", "service", "payments", "--owner", "team-a", "--remote", REMOTE)
    assert made.exit_code == 0, made.stderr
    assert TOKEN not in made.stdout + made.stderr
    assert CLEAN in made.stdout + made.stderr
    pushed = git("--git-dir", str(bare), "rev-parse", "refs/heads/main")
    assert pushed == git("rev-parse", "HEAD", cwd=pinned_env / "payments")

    stored = SqliteCatalog(pinned_env / "paved-home" / "data" / "catalog.db").get("payments")
    assert stored is not None
    assert stored.repository == CLEAN

    again = paved("new", "service", "payments", "--owner", "team-a", "--remote", REMOTE, "--json")
    assert again.exit_code == 0, again.stderr
    assert TOKEN not in again.stdout + again.stderr
    described = json.loads(again.stdout)
    assert described["status"] == "unchanged"  # the kept URL is this remote's, without them
    assert described["repository"] == CLEAN

    for args in (("services", "list"), ("services", "show", "payments")):
        for output in ((), ("--json",)):
            shown = paved(*args, *output)
            assert shown.exit_code == 0, shown.stderr
            assert TOKEN not in shown.stdout + shown.stderr
            assert "engineer" not in shown.stdout
            assert CLEAN in shown.stdout


def test_a_dry_run_with_a_credentialed_remote_never_shows_them(
    paved, pinned_env: Path, bare: Path
) -> None:
    for output in ((), ("--json",)):
        planned = paved(
            "new", "service", "payments", "--owner", "team-a", "--remote", REMOTE, "--dry-run",
            *output,
        )  # fmt: skip
        assert planned.exit_code == 0, planned.stderr
        assert TOKEN not in planned.stdout + planned.stderr
        assert CLEAN in planned.stdout
    assert git("--git-dir", str(bare), "for-each-ref") == ""


def test_a_repository_url_answer_with_credentials_is_refused_without_repeating_them(
    paved, pinned_env: Path
) -> None:
    before = {p.relative_to(pinned_env).as_posix() for p in pinned_env.rglob("*")}
    answer = f"repository_url=https://u:{TOKEN}@git.example.com/acme/payments"
    result = paved("new", "service", "payments", "--owner", "team-a", "--no-push", "--set", answer)
    assert result.exit_code == ExitCode.USAGE, result.stderr
    line = one_line_error(result.stderr)
    assert "--set repository_url='https://***@git.example.com/acme/payments'" in line
    assert TOKEN not in result.stdout + result.stderr
    assert_nothing_written(pinned_env, before)
