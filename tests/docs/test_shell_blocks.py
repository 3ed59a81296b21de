"""Every shell block of the README and of the getting-started guide works as pasted.

Each page's ``sh``/``bash``/``shell`` blocks run in order in one ``bash -euo pipefail``, on a
fresh machine of their own (a new HOME, a fresh copy of the repository, no paved, XDG or git
variables): what a new hire pastes on day one. A block the line before marks
``<!-- docs-test: skip (REASON) -->`` is not run; each is reported as a skipped test with its
reason. ``console`` blocks are shown output and are not run.

pip's downloads are kept in one cache for the whole test run (``PIP_CACHE_DIR`` when it is set,
else a folder beside the run's temporary folders), so the two pages do not fetch the same
packages twice.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.docs.markdown import MarkerError, shell_blocks
from tests.docs.session import copy_repository, fresh_environment, run_blocks
from tests.helpers import REPO_ROOT

PAGES = ("README.md", "docs/getting-started.md")


def _skipped() -> list[tuple[str, str]]:
    try:
        return [
            (block.where, block.skip_reason)
            for page in PAGES
            for block in shell_blocks(REPO_ROOT / page)
            if block.skip_reason is not None
        ]
    except MarkerError:
        return []  # test_the_markers_are_known says which


@pytest.fixture(scope="session")
def pip_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get("PIP_CACHE_DIR"):
        return Path(os.environ["PIP_CACHE_DIR"])
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # shared by every worker of the run
    cache = base / "docs-pip-cache"
    cache.mkdir(exist_ok=True)
    return cache


@pytest.mark.parametrize("page", PAGES)
def test_the_markers_are_known(page: str) -> None:
    blocks = shell_blocks(REPO_ROOT / page)  # raises MarkerError on an unknown marker
    assert any(block.skip_reason is None for block in blocks), f"{page} runs no shell block"


@pytest.mark.parametrize(("where", "reason"), _skipped())
def test_a_skipped_block_says_why(where: str, reason: str) -> None:
    assert reason.strip(), f"{where}: a skip marker without a reason"
    pytest.skip(f"{where} not run: {reason}")


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_every_shell_block_runs_as_pasted(page: str, tmp_path: Path, pip_cache: Path) -> None:
    repository = copy_repository(REPO_ROOT, tmp_path / "repository")
    home = tmp_path / "new-hire"  # not the suite's pinned HOME, with its git identity
    home.mkdir()
    blocks = [block for block in shell_blocks(repository / page) if block.skip_reason is None]
    failure = run_blocks(
        blocks,
        cwd=repository,
        env=fresh_environment(home, tmp_path / "tools", pip_cache),
        work=tmp_path,
    )
    assert failure is None, failure.report()
