"""Stoplight Prism on loopback, serving GitHub's published REST API description.

The npm packages are pinned in ``tools/npm/package.json`` and ``package-lock.json`` and
installed by ``.ci/run`` (``npm ci --prefix tools/npm``). Prism is started on the operations
paved calls, cut out of ``@octokit/openapi``'s ``api.github.com.json`` with every component
they reference, unchanged: the whole 13 MB description takes Prism about a minute to load,
the cut one a few seconds, and validates the same requests the same way.

Prism runs as ``prism mock`` without ``--errors``: it answers a request that breaks the
description with 422 (a path it does not describe with 404) and names the broken rule in an
``sl-violations`` header. With ``--errors`` it also answers 500 to every *valid* request,
because GitHub's own example responses break GitHub's response schemas.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import REPO_ROOT, free_port

TOOLS = REPO_ROOT / "tools" / "npm"
PRISM = TOOLS / "node_modules" / ".bin" / "prism"
GITHUB_DESCRIPTION = (
    TOOLS / "node_modules" / "@octokit" / "openapi" / "generated" / "api.github.com.json"
)
INSTALL = "npm ci --prefix tools/npm"

#: Read when the tests are collected, before the pinned environment drops ``CI``.
IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false")


def require_tools() -> None:
    """Fail in CI, or skip elsewhere on a machine without npm, when the tools are missing.

    In CI (``CI`` set) a missing tool is a failure: .ci/run installs them, so their absence
    is a broken CI. On a developer's machine without node and npm the contract tests skip,
    saying why; with npm but without the install they fail, naming the command to run.
    """
    if PRISM.exists() and GITHUB_DESCRIPTION.exists():
        return
    missing = f"{PRISM.relative_to(REPO_ROOT)} or {GITHUB_DESCRIPTION.relative_to(REPO_ROOT)}"
    if IN_CI:
        pytest.fail(f"the contract tools are not installed ({missing}): .ci/run runs {INSTALL}")
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip(f"node and npm are not on this machine: the contract tests need {INSTALL}")
    pytest.fail(f"the contract tools are not installed ({missing}): run {INSTALL}")


def _references(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            found.add(node["$ref"])
        for value in node.values():
            _references(value, found)
    elif isinstance(node, list):
        for value in node:
            _references(value, found)


def _pointer(reference: str) -> list[str]:
    if not reference.startswith("#/components/"):
        raise ValueError(f"reference {reference} is not to a component of the same file")
    parts = reference.removeprefix("#/").split("/")
    return [part.replace("~1", "/").replace("~0", "~") for part in parts]


def cut_description(description: Mapping[str, Any], paths: list[str]) -> dict[str, Any]:
    """The description of ``paths`` only, with every component they reference, unchanged."""
    cut: dict[str, Any] = {
        key: description[key] for key in ("openapi", "info", "servers") if key in description
    }
    cut["paths"] = {path: description["paths"][path] for path in paths}
    cut["components"] = {}
    pending: set[str] = set()
    _references(cut["paths"], pending)
    seen: set[str] = set()
    while pending:
        reference = pending.pop()
        if reference in seen:
            continue
        seen.add(reference)
        _, kind, name = _pointer(reference)
        component = description["components"][kind][name]
        cut["components"].setdefault(kind, {})[name] = component
        _references(component, pending)
    return cut


def github_description() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(GITHUB_DESCRIPTION.read_text(encoding="utf-8"))
    return loaded


@contextlib.contextmanager
def prism(description: Mapping[str, Any], folder: Path, *, timeout: float = 120) -> Iterator[str]:
    """Run ``prism mock`` on ``description`` on a loopback port; yield its base URL."""
    spec = folder / "description.json"
    spec.write_text(json.dumps(description), encoding="utf-8")
    log = folder / "prism.log"
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(PRISM), "mock", "-h", "127.0.0.1", "-p", str(port), str(spec)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: ended whole, by its id
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
                pytest.fail(f"prism exited with {process.returncode} before listening:\n{tail}")
            try:
                httpx.get(f"{url}/", timeout=2.0)  # any answer: it is listening
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    pytest.fail(f"prism did not listen on {url} within {timeout:.0f} s")
                time.sleep(0.25)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
