"""Output on a terminal: tables that fit its width, and a working line that goes away.

Tables are checked at 80 columns with realistic values (a 40-character service name, an image
with its digest, a file:// URL under a long home), through ``Output`` and through the CLI with
a stdout that claims to be a terminal. The working line is checked in a real pseudo-terminal.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import pty
import re
import select
import subprocess
import sys
import textwrap
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from paved.catalog.sqlite import SqliteCatalog
from paved.cli.output import Column, Output, _shortened
from paved.models import Deployment, LayerRef, Service

NOW = dt.datetime(2026, 11, 26, 10, 0, tzinfo=dt.UTC)
LONG_NAME = "payments-reconciliation-batch-processors"  # 40 characters, the most a name has
DIGEST = "sha256:3f2a" + "0123456789abcdef" * 3 + "89ab9c1d"
IMAGE = f"registry.example.com/{LONG_NAME}@{DIGEST}"
SHORT_IMAGE = "registry.example.com/payments"
HOME_URL = f"file:///home/jane.smith/work/platform/git-remotes/checkout/{LONG_NAME}.git"
SSH_URL = "git@git.example.com:checkout/payments.git"


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def table(
    columns: Sequence[str | Column], rows: Sequence[Sequence[object]], width: int = 80
) -> tuple[str, str]:
    out, err = Terminal(), io.StringIO()
    env = {"COLUMNS": str(width), "NO_COLOR": "1"}
    Output(stdout=out, stderr=err, env=env).table(columns, rows, empty="-")
    return out.getvalue(), err.getvalue()


def assert_fits(text: str, width: int = 80) -> None:
    """Every line fits, as rich itself measures it on a terminal of ``width`` columns."""
    from rich.console import Console
    from rich.text import Text

    lines = text.splitlines()
    for line in lines:
        assert Text(line).cell_len <= width, line
    screen = io.StringIO()
    console = Console(file=screen, width=width, force_terminal=True, no_color=True)
    for line in lines:
        console.print(Text(line))
    assert len(screen.getvalue().splitlines()) == len(lines)  # nothing wrapped


def assert_visible(text: str) -> None:
    """No control character but line breaks, and every escape whole (``\\u001b``)."""
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f]", text), repr(text)
    for found in re.finditer(r"\\u(.{0,4})", text):
        assert re.fullmatch("[0-9a-f]{4}", found.group(1)), (found.group(), text)


# -- shortening ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "width", "shown"),
    [
        (SSH_URL, 80, SSH_URL),
        ("https://git.example.com/checkout/payments.git", 29, "https://git.example.com/….git"),
        ("https://git.example.com/checkout/payments.git", 40, "https://git.example.com/checkou…ents.git"),
        ("https://git.example.com.attacker.io/checkout/payments.git", 30, "https://…com.attacker.io/….git"),
        (SSH_URL, 30, "git@git.example.com:…ments.git"),
        (DIGEST, 16, "sha256:3f2a…9c1d"),
        (IMAGE, 40, "registry.example.com/p…@sha256:3f2a…9c1d"),
        (f"{SHORT_IMAGE}@{DIGEST}", 46, f"{SHORT_IMAGE}@sha256:3f2a…9c1d"),
        (f"{SHORT_IMAGE}@{DIGEST}", 47, f"{SHORT_IMAGE}@sha256:3f2a0…9c1d"),
        ("abcdefghij", 5, "ab…ij"),
        ("ab\x1b[31mcd\x1b[0mef", 12, "ab…[0mef"),
        ("ab\x1b[31mcd\x1b[0mef", 16, "ab\\u001b…[0mef"),
        ("名前名前名前名前", 9, "名前…名前"),
    ],
)  # fmt: skip
def test_a_long_value_keeps_both_ends(value: str, width: int, shown: str) -> None:
    assert _shortened(value, width) == shown


@pytest.mark.parametrize("width", range(1, 30))
def test_shortening_never_cuts_an_escape_in_half(width: int) -> None:
    raw = "\x1b]0;title\x07https://x.example/\u202erepo\x9b.git"
    shown = _shortened(raw, width)
    assert_visible(shown)
    from rich.cells import cell_len

    assert cell_len(shown) <= width


LOOKALIKE = "https://git.example.com.attacker.io/checkout/payments.git"
GENUINE = "https://git.example.com/checkout/payments.git"


@pytest.mark.parametrize("width", [5, 8, 12, 16, 20, 25, 29, 30, 35, 40, 45, 50])
def test_a_shortened_url_never_hides_its_host(width: int) -> None:
    lookalike, genuine = _shortened(LOOKALIKE, width), _shortened(GENUINE, width)
    assert lookalike != genuine
    assert len(lookalike) <= width
    assert len(genuine) <= width
    host = lookalike.split("://")[-1].split("/")[0]
    assert "attacker.io".endswith(host.lstrip("…")) or host.lstrip("…").endswith("attacker.io")


def test_a_huge_cell_of_hex_runs_is_shortened_from_its_ends() -> None:
    runs = [f"{n:064x}" for n in range(3000)]  # 3000 runs of 64 hex digits: ~200 KB
    value = "start " + " ".join(runs) + " end"
    assert len(value) > 190_000
    assert _shortened(value, 40) == "start 00000000000000…000000000000bb7 end"
    few = " ".join(runs[:3])  # short enough to keep: each run loses its middle, once
    assert _shortened(few, 60) == "0000…0000 0000…0001 " + "0" * 20 + "…" + "0" * 18 + "2"
    rows = [(f"n{i}", "note " + "x" * 1990 + f" {i:04d}") for i in range(200)]
    shown, _ = table(["ID", Column("NOTE", shorten=True)], rows)
    lines = shown.splitlines()
    assert len(lines) == 201
    assert lines[1] == "n0    note " + "x" * 32 + "…" + "x" * 31 + " 0000"
    assert lines[-1].endswith(" 0199")
    assert_fits(shown)


# -- tables -------------------------------------------------------------------------------

SERVICES: list[str | Column] = [
    Column("NAME", shorten=False),
    Column("OWNER", shorten=False),
    Column("TEMPLATES", shorten=False, hide=1),
    Column("CREATED", shorten=False, hide=2),
    Column("REPOSITORY", shorten=True),
]
TEMPLATES = "service-python 0.1.0, paved-road 0.1.0"
PROSE = Column("MESSAGE", wrap=True)


def test_a_table_that_fits_is_unchanged() -> None:
    shown, said = table(["NAME", "OWNER"], [("payments", "team-a"), ("search", "team-b")])
    assert shown == "NAME      OWNER\npayments  team-a\nsearch    team-b\n"
    assert said == ""


def test_the_widest_cell_loses_its_middle_and_names_stay_whole() -> None:
    shown, said = table(
        ["NAME", "OWNER", Column("REPOSITORY", shorten=True)],
        [(LONG_NAME, "team-a", HOME_URL), ("payments", "team-a", SSH_URL)],
    )
    assert_fits(shown)
    assert shown.splitlines() == [
        "NAME                                      OWNER   REPOSITORY",
        f"{LONG_NAME}  team-a  file:///home/jane.…cessors.git",
        "payments                                  team-a  git@git.example.com:…ments.git",
    ]
    assert said == ""


def test_services_at_80_columns_leave_out_what_cannot_fit_and_say_so() -> None:
    rows = [
        (LONG_NAME, "team-a", TEMPLATES, "2026-11-26", HOME_URL),
        ("payments", "team-a", TEMPLATES, "2026-11-26", SSH_URL),
    ]
    shown, said = table(SERVICES, rows)
    assert_fits(shown)
    assert shown.splitlines() == [
        "NAME                                      OWNER   REPOSITORY",
        f"{LONG_NAME}  team-a  file:///home/jane.…cessors.git",
        "payments                                  team-a  git@git.example.com:…ments.git",
    ]
    assert said == (
        "(TEMPLATES, CREATED left out to fit 80 columns: a wider terminal, a pipe or --json "
        "shows every column)\n"
    )
    short, said = table(SERVICES, rows[1:])
    assert short.splitlines() == [
        "NAME      OWNER   CREATED     REPOSITORY",
        f"payments  team-a  2026-11-26  {SSH_URL}",
    ]
    assert said.startswith("(TEMPLATES left out to fit 80 columns")
    wide, said = table(SERVICES, rows, width=220)
    assert wide.splitlines()[0].split() == ["NAME", "OWNER", "TEMPLATES", "CREATED", "REPOSITORY"]
    assert wide.splitlines()[1].endswith(HOME_URL)
    assert said == ""


def test_a_prose_column_wraps_at_its_spaces_under_its_header() -> None:
    fix = (
        "  fix: install git (https://git-scm.com/downloads, 'apt install git') then run "
        "paved doctor again"
    )
    shown, _ = table(
        [Column("STATUS", shorten=False), Column("CHECK", shorten=False), PROSE],
        [("FAIL", "env.git", "git is not installed"), ("", "", fix)],
        width=60,
    )  # fmt: skip
    assert_fits(shown, 60)
    assert shown.splitlines() == [
        "STATUS  CHECK    MESSAGE",
        "FAIL    env.git  git is not installed",
        "                   fix: install git",
        "                   (https://git-scm.com/downloads, 'apt",
        "                   install git') then run paved doctor again",
    ]


def test_values_from_the_catalog_show_escapes_whole_and_no_control_character() -> None:
    forged = "payments\x1b[2J\x1b]0;pwned\x07\u202e\n\tlate"
    shown, _ = table(["NAME", "REPOSITORY"], [(forged, forged * 5)])
    assert_fits(shown)
    assert_visible(shown)
    assert len(shown.splitlines()) == 2


def test_a_pipe_gets_every_value_whole() -> None:
    out, err = io.StringIO(), io.StringIO()
    Output(stdout=out, stderr=err, env={"COLUMNS": "80"}).table(
        SERVICES, [(LONG_NAME, "team-a", TEMPLATES, "2026-11-26", HOME_URL)], empty="-"
    )
    assert out.getvalue() == f"{LONG_NAME}\tteam-a\t{TEMPLATES}\t2026-11-26\t{HOME_URL}\n"
    assert err.getvalue() == ""


def test_a_table_with_only_names_too_wide_still_fits() -> None:
    columns: list[str | Column] = [Column(h, shorten=False) for h in ("A", "B", "C")]
    shown, _ = table(columns, [("x" * 50, "y" * 50, "z" * 50)])
    assert_fits(shown)


# -- the commands -------------------------------------------------------------------------


@pytest.fixture
def on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """stdout claims to be a terminal (COLUMNS=80 comes from the pinned environment)."""
    monkeypatch.setattr(Output, "stdout_is_terminal", property(lambda self: True))


@pytest.fixture
def catalog(pinned_env: Path) -> Path:
    path = pinned_env / "paved-home" / "data" / "catalog.db"
    catalog = SqliteCatalog(path)
    layers = (LayerRef("app", "service-python", "0.1.0"), LayerRef("road", "paved-road", "0.1.0"))
    for name, url in ((LONG_NAME, HOME_URL), ("payments", SSH_URL)):
        catalog.register(Service(name, "team-a", "Pays.", url, layers, NOW))
        catalog.record_deployment(
            Deployment(
                name, "dev", "gitops", IMAGE, "a" * 40, NOW, "Jane Smith <jane.smith@example.com>",
                NOW, NOW, "succeeded", revision="b" * 40,
            )
        )  # fmt: skip
    catalog.close()
    return path


def test_services_list_fits_80_columns(paved, catalog: Path, on_a_terminal: None) -> None:
    done = paved("services", "list")
    assert done.exit_code == 0, done.stderr
    assert_fits(done.stdout)
    lines = done.stdout.splitlines()
    assert len(lines) == 3
    assert f"{LONG_NAME}  team-a  file:///home/jane.…cessors.git" in lines
    assert f"{'payments':<40}  team-a  git@git.example.com:…ments.git" in lines
    assert "(TEMPLATES, CREATED left out to fit 80 columns" in done.stderr


def test_services_list_in_a_pipe_keeps_full_values(paved, catalog: Path) -> None:
    done = paved("services", "list")
    assert done.exit_code == 0, done.stderr
    assert f"{LONG_NAME}\tteam-a\t{TEMPLATES}\t2026-11-26\t{HOME_URL}" in done.stdout.splitlines()


def test_deployments_list_fits_80_columns(paved, catalog: Path, on_a_terminal: None) -> None:
    done = paved("deployments", "list")
    assert done.exit_code == 0, done.stderr
    assert_fits(done.stdout)
    lines = done.stdout.splitlines()
    assert len(lines) == 3  # the header and one line per deployment
    assert lines[0].split()[:5] == ["ID", "SERVICE", "ENV", "OUTCOME", "IMAGE"]
    assert lines[1:] == [
        "2   payments                                  dev  succeeded  registry.…f2a…9c1d",
        f"1   {LONG_NAME}  dev  succeeded  registry.…f2a…9c1d",
    ]
    assert "(ACTOR, FINISHED, NOTE left out to fit 80 columns" in done.stderr
    assert IMAGE in paved("deployments", "list", "--json").stdout


@pytest.mark.parametrize(
    "args",
    [
        ["templates", "list"],
        ["templates", "show", "service-python"],
        ["templates", "show", "paved-road"],
        ["guardrails", "list"],
        ["docs"],
    ],
)
def test_the_catalogues_fit_80_columns(paved, on_a_terminal: None, args: list[str]) -> None:
    done = paved(*args)
    assert done.exit_code == 0, done.stderr
    assert len(done.stdout.splitlines()) > 1
    assert_fits(done.stdout)
    assert "…" not in done.stdout.split("\n", 1)[1]  # names, keys and pages stay whole


def test_token_list_fits_80_columns_with_the_id_whole(paved, on_a_terminal: None) -> None:
    """The id is what ``token revoke`` takes: shortened, it could not be copied."""
    import json

    created = paved(
        "platform",
        "token",
        "create",
        "--user",
        "alice.smith@example.com",
        "--team",
        "team-checkout",
        "--team",
        "team-payments-platform",
        "--json",
    )
    assert created.exit_code == 0, created.stderr
    token_id = json.loads(created.stdout)["id"]
    done = paved("platform", "token", "list")
    assert done.exit_code == 0, done.stderr
    assert_fits(done.stdout)
    assert token_id in done.stdout


def test_fleet_results_fit_80_columns() -> None:
    from paved.cli.fleet import _show
    from paved.fleet import Outcome, Status
    from paved.fleet._run import FleetRun

    outcomes = (
        Outcome(LONG_NAME, "team-a", Status.CONFLICTED, "paved-road", "0.1.0", "0.2.0",
                conflicts=("k8s/base/deployment.yaml", "README.md"), counts={"changed": 3}),
        Outcome("payments", "team-payments", Status.FAILED, "paved-road", "0.1.0", "0.2.0",
                detail=f"push to {HOME_URL} was refused: the remote is read-only"),
    )  # fmt: skip
    out, err = Terminal(), io.StringIO()
    output = Output(stdout=out, stderr=err, env={"COLUMNS": "80", "NO_COLOR": "1"})
    _show(output, FleetRun("r1", outcomes), kind="plan")
    assert_fits(out.getvalue())
    assert LONG_NAME in out.getvalue()
    assert "k8s/base/deployment.yaml" in out.getvalue()


# -- the working line ---------------------------------------------------------------------

SCRIPT = textwrap.dedent(
    """
    import os, sys, threading
    from paved.cli import output
    from paved.cli.output import Output

    drawn = threading.Event()
    draw = output._Indicator.draw

    def drawing(self, tick):
        draw(self, tick)
        drawn.set()

    output._Indicator.draw = drawing
    out = Output(env=os.environ)
    how = sys.argv[1]
    shown = out.stderr_is_terminal and "CI" not in os.environ  # else nothing is ever drawn
    if not shown:
        drawn.set()
    try:
        with out.working("rendering payments", delay=0.05):
            assert drawn.wait(30)  # the line is on the screen ...
            out.progress("halfway")
            if shown:
                drawn.clear()
            assert drawn.wait(30)  # ... and back after the message
            if how == "fail":
                raise RuntimeError("boom")
            if how == "interrupt":
                raise KeyboardInterrupt
    except (RuntimeError, KeyboardInterrupt) as exc:
        out.info(f"stopped: {type(exc).__name__}")
    out.info("done")
    """
)


def _screen(raw: str) -> list[str]:
    """What a terminal shows after ``raw``: carriage returns, erase-to-end and new lines."""
    lines, col = [""], 0
    for token in re.findall(r"\x1b\[K|\r\n|\r|\n|.", raw, flags=re.S):
        if token in ("\n", "\r\n"):
            lines.append("")
            col = 0
        elif token == "\r":
            col = 0
        elif token == "\x1b[K":
            lines[-1] = lines[-1][:col]
        else:
            line = lines[-1]
            lines[-1] = line[:col] + token + line[col + 1 :]
            col += 1
    return lines[:-1] if lines[-1] == "" else lines


def _run_on_a_pty(*args: str, env: dict[str, str]) -> str:
    """Run python with ``args``, its stderr (and stdout) a pseudo-terminal; all it wrote."""
    main, side = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, *args], stdin=subprocess.DEVNULL, stdout=side, stderr=side, env=env
    )
    os.close(side)
    chunks = []
    while True:
        ready, _, _ = select.select([main], [], [], 60)
        if not ready:
            process.kill()
            break
        try:
            chunk = os.read(main, 4096)
        except OSError:  # the other side closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(main)
    assert process.wait(timeout=60) == 0
    return b"".join(chunks).decode()


def _env(**extra: str) -> dict[str, str]:
    src = str(Path(__file__).parents[2] / "src")
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    return {**env, "PYTHONPATH": src, "TERM": "xterm", **extra}


@pytest.mark.parametrize(
    ("how", "said"),
    [
        ("ok", ["  halfway", "done"]),
        ("fail", ["  halfway", "stopped: RuntimeError", "done"]),
        ("interrupt", ["  halfway", "stopped: KeyboardInterrupt", "done"]),
    ],
)
def test_on_a_terminal_slow_work_shows_a_line_that_goes_away(how: str, said: list[str]) -> None:
    raw = _run_on_a_pty("-c", SCRIPT, how, env=_env(COLUMNS="80"))
    assert "rendering payments" in raw  # it was shown ...
    assert _screen(raw) == said  # ... and nothing of it is left, not even half a line
    assert "\r\x1b[K" in raw


def test_a_working_line_never_wraps_on_a_narrow_terminal() -> None:
    raw = _run_on_a_pty("-c", SCRIPT, "ok", env=_env(COLUMNS="12"))
    drawn = [part for part in raw.split("\r") if "ren" in part]
    assert drawn
    assert all(len(part.replace("\x1b[K", "")) <= 11 for part in drawn)
    assert _screen(raw) == ["  halfway", "done"]


def test_with_ci_set_a_terminal_gets_none_of_it() -> None:
    raw = _run_on_a_pty("-c", SCRIPT, "ok", env=_env(CI="1"))
    assert raw.replace("\r\n", "\n") == "  halfway\ndone\n"


def test_a_pipe_gets_none_of_it() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, "ok"], capture_output=True, text=True, env=_env(), check=True
    )
    assert done.stderr == "  halfway\ndone\n"


class TerminalErr(io.StringIO):
    encoding = "utf-8"

    def isatty(self) -> bool:
        return True


def test_fast_work_and_quiet_show_nothing() -> None:
    err = TerminalErr()
    with Output(stderr=err, env={}).working("quick", delay=30):
        pass
    with Output(stderr=err, env={}, verbosity=-1).working("quiet", delay=0):
        import time

        time.sleep(0.3)
    assert err.getvalue() == ""


@pytest.fixture
def slow(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """stderr claims to be a terminal, and the working line shows at once; the event is set
    when it has been drawn."""
    from paved.cli import output

    monkeypatch.setattr(Output, "stderr_is_terminal", property(lambda self: True))
    monkeypatch.setattr(Output, "WORKING_DELAY", 0.0)
    drawn = threading.Event()
    draw = output._Indicator.draw

    def drawing(self: output._Indicator, tick: int) -> None:
        draw(self, tick)
        drawn.set()

    monkeypatch.setattr(output._Indicator, "draw", drawing)
    return drawn


def test_guardrails_check_says_it_is_working(paved, pinned_env: Path, slow, monkeypatch) -> None:
    from paved import guardrails

    real = guardrails.check

    def slow_check(*args, **kwargs):
        assert slow.wait(30)  # the line was drawn while the work went on
        return real(*args, **kwargs)

    monkeypatch.setattr(guardrails, "check", slow_check)
    (pinned_env / "svc").mkdir()
    (pinned_env / "svc" / ".copier-answers.road.yml").write_text("service_name: svc\n")
    done = paved("guardrails", "check", "svc")
    assert "checking svc against the guardrails" in done.stderr
    assert not any("checking" in line for line in _screen(done.stderr))
    monkeypatch.setenv("CI", "1")
    again = paved("guardrails", "check", "svc")
    assert "checking" not in again.stderr
    assert again.exit_code == done.exit_code


def test_doctor_says_it_is_working(paved, slow, monkeypatch) -> None:
    from paved import doctor

    real = doctor.diagnose

    def slow_diagnose(*args, **kwargs):
        assert slow.wait(30)  # the line was drawn while the work went on
        return real(*args, **kwargs)

    monkeypatch.setattr(doctor, "diagnose", slow_diagnose)
    done = paved("doctor")
    assert "checking this machine" in done.stderr
    screen = _screen(done.stderr)
    assert not any("checking this machine" in line for line in screen)
    assert screen[-1].startswith("doctor (no service here): ")
