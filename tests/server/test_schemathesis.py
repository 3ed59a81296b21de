"""schemathesis over every operation of the OpenAPI document, in-process, on both databases.

Each operation gets a bounded number of generated requests, valid and invalid ones, once
with a platform admin's token and once with none. Every response must be free of server
errors and as documented: status code, content type and body schema.
"""

from __future__ import annotations

import json
import os
import warnings
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is in the 'test' extra")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402

from tests.helpers import REPO_ROOT  # noqa: E402
from tests.server.conftest import Platform  # noqa: E402

#: Examples per operation, mode and token: the whole run stays well under a minute.
#: PAVED_FUZZ_EXAMPLES=500 explores further (and at random) by hand.
EXAMPLES = int(os.environ.get("PAVED_FUZZ_EXAMPLES", "10"))
DERANDOMIZE = "PAVED_FUZZ_EXAMPLES" not in os.environ

_DOCUMENT = json.loads((REPO_ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))
OPERATIONS = [
    (method.upper(), path, mode)
    for path, methods in sorted(_DOCUMENT["paths"].items())
    for method, spec in sorted(methods.items())
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    # Invalid requests need something to be invalid: parameters or a body.
    if mode == GenerationMode.POSITIVE or spec.get("parameters") or spec.get("requestBody")
]


#: Answers that are a YAML stream (many documents), which schemathesis reads as one document:
#: their body is checked by the tests of its own (tests/server/test_teams.py parses each).
_STREAMS = {("GET", "/v1/backstage/catalog.yaml")}


def _checks(method: str = "", path: str = "") -> list[Any]:
    checks = [
        schemathesis.checks.not_a_server_error,
        schemathesis.checks.status_code_conformance,
        schemathesis.checks.content_type_conformance,
    ]
    if (method, path) not in _STREAMS:
        checks.append(schemathesis.checks.response_schema_conformance)
    return checks


@pytest.mark.parametrize("who", ["admin", "none"])
@pytest.mark.parametrize(
    ("method", "path", "mode"), OPERATIONS, ids=[f"{m} {p} {g.value}" for m, p, g in OPERATIONS]
)
def test_no_server_errors_and_every_response_as_documented(
    platform: Platform, method: str, path: str, who: str, mode: GenerationMode
) -> None:
    # The document is read once, from the file the app is checked against (tests/server/
    # test_api.py), and bound to this test's app in memory: no schema request to time out on
    # a loaded machine. A schema's operations keep the app they were made with, so each test
    # binds its own.
    schema = schemathesis.openapi.from_dict(_DOCUMENT)
    schema.app = platform.client.app
    operation = schema[path][method]
    assert operation.app is platform.client.app
    headers = platform.auth(who)
    checks = _checks(method, path)

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=DERANDOMIZE,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            case.call_and_validate(headers={**(case.headers or {}), **headers}, checks=checks)

    run()
