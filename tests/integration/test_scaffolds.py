"""The scaffolds are standard copier templates: plain copier renders them, and the result works."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from paved.scaffold.paths import planned_files
from paved.scaffold.registry import ScaffoldRegistry
from tests.helpers import SCAFFOLDS, tree_files

pytestmark = pytest.mark.slow

ANSWERS = {"service_name": "payments-api", "owner": "team-a", "description": "Takes money."}


def copier_copy(scaffold: str, destination: Path, *extra: str) -> None:
    data = [arg for key, value in ANSWERS.items() for arg in ("-d", f"{key}={value}")]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "copier",
            "copy",
            "--quiet",
            "--defaults",
            *data,
            *extra,
            str(SCAFFOLDS / scaffold),
            str(destination),
        ],
        check=True,
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize("scaffold", ["service-python", "paved-road"])
def test_each_layer_renders_with_plain_copier(tmp_path: Path, scaffold: str) -> None:
    destination = tmp_path / "out"
    copier_copy(scaffold, destination)
    layer = ScaffoldRegistry(SCAFFOLDS).get(scaffold)
    answers = yaml.safe_load((destination / layer.answers_file).read_text())
    assert answers["service_name"] == "payments-api"
    assert answers["owner"] == "team-a"
    # paved's dry-run file list follows copier's own rules exactly
    assert planned_files(layer, ANSWERS) == sorted(tree_files(destination))


def test_the_layers_share_no_file(tmp_path: Path) -> None:
    registry = ScaffoldRegistry(SCAFFOLDS)
    app = set(planned_files(registry.get("service-python"), ANSWERS))
    for ci in ("github", "gitlab"):
        road = set(planned_files(registry.get("paved-road"), {**ANSWERS, "ci_provider": ci}))
        assert app & road == set()


# The generated service's own tests, its start-up, /healthz and JSON log lines are checked
# with its pinned dependencies in a virtualenv of its own: `nox -s validate-service`.
