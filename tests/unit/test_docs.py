"""The documented contracts match the code: the exit-code table and the JSON shapes."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest

from paved.errors import ExitCode
from tests.helpers import REPO_ROOT

DOCS = REPO_ROOT / "docs"


def test_the_exit_code_table_lists_exactly_the_codes_of_the_code() -> None:
    rows = re.findall(r"^\| (\d+) \| `([A-Z_]+)` \|", (DOCS / "exit-codes.md").read_text(), re.M)
    assert [(int(code), name) for code, name in rows] == [(c.value, c.name) for c in ExitCode]


@pytest.mark.parametrize("schema", sorted(p.name for p in (DOCS / "schemas").glob("*.json")))
def test_every_schema_is_a_valid_json_schema(schema: str) -> None:
    jsonschema.Draft202012Validator.check_schema(
        json.loads((DOCS / "schemas" / schema).read_text())
    )


def test_the_json_page_lists_every_schema_and_every_schema_it_lists_exists() -> None:
    text = (DOCS / "json.md").read_text(encoding="utf-8")
    table = text.split("| command | `schema` | JSON Schema |", 1)[1].split("\n\n", 1)[0]
    linked = set(re.findall(r"\(schemas/([a-z-]+\.schema\.json)\)", table))
    assert linked == {p.name for p in (DOCS / "schemas").glob("*.json")}
    for name in linked:  # each row names the schema ids its file defines
        ids = set(re.findall(r'"(paved/[a-z-]+/v\d+)"', (DOCS / "schemas" / name).read_text()))
        rows = [row for row in table.splitlines() if f"(schemas/{name})" in row]
        assert ids <= set(re.findall(r"`(paved/[a-z-]+/v\d+)`", "".join(rows))), name


def test_templates_list_json_follows_its_schema(paved) -> None:
    schema = json.loads((DOCS / "schemas" / "templates.schema.json").read_text())
    data = json.loads(paved("templates", "list", "--json").stdout)
    jsonschema.validate(data, schema)
    assert {t["name"] for t in data["templates"]} == {"service-python", "paved-road"}


def test_templates_store_json_follows_its_schema_and_lists_the_shipped_versions(paved) -> None:
    schema = json.loads((DOCS / "schemas" / "templates-store.schema.json").read_text())
    result = paved("templates", "store", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    jsonschema.validate(data, schema)
    versions = {entry["name"]: entry["versions"] for entry in data["scaffolds"]}
    assert "0.1.0" in versions["paved-road"]  # a shipped release, not only the bundled one
    plain = paved("templates", "store")
    assert plain.stdout.strip() == data["path"]
