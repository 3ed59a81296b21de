"""paved-road 0.4.0 with no data resources renders exactly what 0.3.1 renders.

0.4.0 adds the ``data_resources`` question (default ``[]``): a service that has none must get
byte for byte the files 0.3.1 gave it, the answers file aside (it records the new answer) and
the road version named in catalog-info.yaml, so ``paved update`` from 0.3.1 changes nothing
else. Both are rendered from the release bundle, with plain copier and the same answers.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest
import yaml

from paved.scaffold.registry import ScaffoldRegistry
from paved.scaffold.releases import bundle_path
from tests.helpers import SCAFFOLDS, git, tree_files

pytestmark = pytest.mark.slow

BASE = {"service_name": "payments-api", "owner": "team-a", "description": "Takes money."}
ALL_RESOURCES = ["s3-read", "sqs-send", "dynamodb-rw", "secret-read"]

#: The answers that choose which files and blocks the road writes: the defaults, every option
#: the other way, and the declared resources alone and together.
CASES: dict[str, dict[str, object]] = {
    "defaults": {},
    "gitlab-internal-all-resources": {
        "ci_provider": "gitlab",
        "exposure": "internal",
        "resources": ALL_RESOURCES,
        "environments": ["dev", "prod"],
        "system": "payments",
        "lifecycle": "production",
        "repository_url": "https://gitlab.com/org/group/payments-api",
    },
    "public-all-resources-api": {
        "resources": ALL_RESOURCES,
        "api_definition": "openapi.json",
        "aws_region": "us-east-2",
        "aws_account_id": "210987654321",
        "repository_url": "https://github.com/org/payments-api",
    },
    "one-resource-staging": {"resources": ["secret-read"], "environments": ["staging"]},
}


def _render(template: str, destination: Path, answers: Mapping[str, object], *extra: str) -> None:
    data = destination.parent / f"{destination.name}-answers.yml"
    data.write_text(yaml.safe_dump(dict(answers)), encoding="utf-8")
    subprocess.run(
        [sys.executable, "-m", "copier", "copy", "--quiet", "--defaults",
         "--data-file", str(data), *extra, template, str(destination)],
        check=True,
        capture_output=True,
        text=True,
    )  # fmt: skip


@pytest.fixture(scope="module")
def road_releases(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A git repository holding the released paved-road versions (tags 0.3.1 and 0.4.0)."""
    repo = tmp_path_factory.mktemp("road-releases") / "paved-road"
    git("clone", "--quiet", str(bundle_path(SCAFFOLDS, "paved-road")), str(repo))
    assert {"0.3.1", "0.4.0"} <= set(git("tag", "--list", cwd=repo).split())
    return str(repo)


@pytest.mark.parametrize("case", sorted(CASES))
def test_no_data_resources_renders_what_0_3_1_rendered(
    tmp_path: Path, road_releases: str, case: str
) -> None:
    answers = {**BASE, **CASES[case]}
    old, new = tmp_path / "old", tmp_path / "new"
    _render(road_releases, old, answers, "--vcs-ref", "0.3.1")
    _render(road_releases, new, {**answers, "data_resources": []}, "--vcs-ref", "0.4.0")

    answers_file = ScaffoldRegistry(SCAFFOLDS).get("paved-road").answers_file
    old_files, new_files = tree_files(old), tree_files(new)
    old_answers = yaml.safe_load(old_files.pop(answers_file))
    new_answers = yaml.safe_load(new_files.pop(answers_file))

    assert sorted(new_files) == sorted(old_files)
    # The catalog entry names the road version it was made with: that line is the version's.
    catalog = "catalog-info.yaml"
    version = b"paved.dev/road-template-version: "
    old_line = version + b'"0.3.1"'
    new_line = version + b'"0.4.0"'
    assert old_files[catalog].count(old_line) == 1
    assert new_files[catalog].count(new_line) == 1
    new_files[catalog] = new_files[catalog].replace(new_line, old_line)
    changed = sorted(path for path in old_files if old_files[path] != new_files[path])
    assert changed == []
    # The answers file differs only by the new answer (and where the template came from).
    assert old_answers["_commit"] == "0.3.1"
    assert new_answers.pop("data_resources") == []
    for key in ("_commit", "_src_path"):
        old_answers.pop(key, None)
        new_answers.pop(key, None)
    assert new_answers == old_answers
