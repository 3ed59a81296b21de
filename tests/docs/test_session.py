"""The runner of the docs tests reports where a page's blocks failed, and on a fresh machine."""

from __future__ import annotations

from pathlib import Path

from tests.docs.markdown import Block
from tests.docs.session import fresh_environment, run_blocks


def _blocks(*texts: str) -> list[Block]:
    return [Block(Path("page.md"), 10 * n, "sh", text) for n, text in enumerate(texts, 1)]


def _env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "fresh"
    home.mkdir()
    return fresh_environment(home, tmp_path / "tools", tmp_path / "pip-cache")


def test_blocks_share_one_shell_in_order(tmp_path: Path) -> None:
    blocks = _blocks('cd "$HOME"\nWORD=kept\n', 'test "$PWD" = "$HOME" && test "$WORD" = kept\n')
    assert run_blocks(blocks, cwd=tmp_path, env=_env(tmp_path), work=tmp_path) is None


def test_a_failure_names_the_block_the_line_and_its_output(tmp_path: Path) -> None:
    failing = "echo second\nls /no/such/folder\necho never\n"
    blocks = _blocks("echo first\n", failing, "echo third\n")
    failure = run_blocks(blocks, cwd=tmp_path, env=_env(tmp_path), work=tmp_path)
    assert failure is not None
    assert failure.block == blocks[1]
    assert failure.line == "ls /no/such/folder"
    assert failure.exit_code == 2
    assert "second" in failure.output
    assert "first" not in failure.output
    assert "never" not in failure.output
    assert "No such file" in failure.output
    report = failure.report()
    assert "page.md:20, line 'ls /no/such/folder'" in report
    assert "echo never" in report


def test_an_unset_variable_stops_the_run(tmp_path: Path) -> None:
    failure = run_blocks(
        _blocks('echo "$UNSET_SOMETHING"\n'), cwd=tmp_path, env=_env(tmp_path), work=tmp_path
    )
    assert failure is not None
    assert failure.exit_code != 0
    assert "UNSET_SOMETHING: unbound variable" in failure.output


def test_a_background_process_ends_with_the_run(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    blocks = _blocks(f"sleep 600 &\necho $! > '{pid_file}'\n")
    assert run_blocks(blocks, cwd=tmp_path, env=_env(tmp_path), work=tmp_path) is None
    pid = int(pid_file.read_text())
    status = Path(f"/proc/{pid}/status")
    assert not status.exists() or "zombie" in status.read_text()


def test_the_machine_is_fresh(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PAVED_CATALOG_URL", "http://example.invalid")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    env = _env(tmp_path)
    assert env["HOME"] == str(tmp_path / "fresh")
    assert not [key for key in env if key.startswith(("PAVED_", "XDG_", "GIT_"))]
    assert "VIRTUAL_ENV" not in env
