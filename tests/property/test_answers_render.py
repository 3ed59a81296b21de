"""Generated answers, valid and hostile, through ``paved new service`` (both layers, real copier).

An answer set paved accepts renders a service whose every file parses with its format's own
parser and which passes ``paved guardrails check``; a set it refuses is refused with exit 2 in
one line, and the destination never appears. Which sets should be accepted is decided here,
independently, from the rules in docs/scaffolds.md.

Each accepted example renders a whole service and runs the guardrails (kubectl kustomize
included): a few seconds. The examples are few, generated without a database and from a fixed
seed, so that every run checks the same ones.
"""

from __future__ import annotations

import ast
import io
import itertools
import json
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml
from hypothesis import HealthCheck, Phase, event, given, note, settings
from hypothesis import strategies as st

from paved.errors import ExitCode
from paved.names import name_problem
from paved.text import text_problem

pytestmark = pytest.mark.slow

REGION = re.compile(r"[a-z]{2}(-gov)?-[a-z]+-[0-9]")
ACCOUNT = re.compile(r"[0-9]{12}")
CHOICES = {
    "exposure": ("public", "internal"),
    "ci_provider": ("github", "gitlab"),
    "python_version": ("3.11", "3.12", "3.13"),
}
RESOURCES = ("s3-read", "sqs-send", "dynamodb-rw", "secret-read")
ENVIRONMENTS = ("dev", "staging", "prod")

#: Pieces that have broken a format somewhere: quotes, escapes, template starts, YAML
#: indicators, an emoji (a surrogate pair in UTF-16), a BOM, a non-character.
FRAGMENTS = [
    "😀", "👩‍💻", '"', "'", "\\", "\\n", "\\u0041", "{{", "}}", "{%", "${", "$${", "%{", "%%{",
    "#", ": ", "- ", "&a", "*a", "!tag", "|", ">", "@", "`", "é", "\uff46", "\ufeff", "\uffff", " ",
    "null", "yes", "---", "...", "<script>", "]]", "=",
]  # fmt: skip
#: What the free-text rule refuses: C0 (newline and tab among them), DEL, C1, bidi, U+2028/9.
CONTROLS = ["\n", "\t", "\r", "\x00", "\x1b", "\x7f", "\x85", "\x9b", "\u202e", "\u2066", "\u2028"]

BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
visible_text = st.text(
    st.characters(
        codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp"), exclude_characters=BIDI
    ),
    max_size=40,
)
descriptions = st.one_of(
    visible_text,
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), visible_text), max_size=8).map("".join),
)
hostile_descriptions = st.one_of(
    st.text(st.characters(codec="utf-8"), min_size=1, max_size=40),
    st.tuples(descriptions, st.sampled_from(CONTROLS), descriptions).map("".join),
    st.integers(201, 210).map(lambda n: ("a😀" * n)[:n]),
)
names = st.one_of(
    st.sampled_from(["payments", "null", "yes", "on", "true", "e1", "a" * 40]),
    # NAME_PATTERN with the length kept within 2-40 by construction
    st.from_regex(r"[a-z][a-z0-9]{1,8}(-[a-z0-9]{1,8}){0,3}", fullmatch=True),
)
REGIONS = ["eu-west-1", "us-east-1", "ap-southeast-2", "us-gov-west-1", "il-central-1",
           "ca-west-1", "cn-northwest-1"]  # fmt: skip
HOSTILE_REGIONS = [
    "eu-west-1\n", "eu-west-1\t", 'eu-"west-1', "{{ aws_account_id }}", "${var.x}", "%{ if }",
    "EU-WEST-1", "eu-west", "", "eu west 1", "eu-west-1 ", "éu-west-1", "eu-west-1\u2028",
]  # fmt: skip
FULL_WIDTH_ACCOUNT = "".join(chr(0xFF10 + int(d)) for d in "123456789012")
HOSTILE_ACCOUNTS = [FULL_WIDTH_ACCOUNT, "12345678901²", "١٢٣٤٥٦٧٨٩٠١٢", "12345678901",
                    "1234567890123", "12345678901\n", "", "12345678901a"]  # fmt: skip


def _joined(values: st.SearchStrategy[list[str]]) -> st.SearchStrategy[str]:
    return values.map(",".join)


#: Per answer: (valid values, hostile values). The hostile ones are mostly, not always, refused:
#: whether a set should be accepted is decided by ``expected_accepted`` from the values.
ANSWERS: dict[str, tuple[st.SearchStrategy[str], st.SearchStrategy[str]]] = {
    "aws_region": (
        st.one_of(st.sampled_from(REGIONS), st.from_regex(REGION, fullmatch=True)),
        st.one_of(st.sampled_from(HOSTILE_REGIONS), st.text(max_size=15)),
    ),
    "aws_account_id": (
        st.from_regex(ACCOUNT, fullmatch=True),
        st.one_of(
            st.sampled_from(HOSTILE_ACCOUNTS),
            st.text(st.characters(categories=("Nd", "No")), min_size=12, max_size=12),
        ),
    ),
    "port": (
        st.integers(1024, 65535).map(str),
        st.one_of(
            st.integers(-5, 1023).map(str),
            st.integers(65536, 99999).map(str),
            st.sampled_from(["eighty", "", "8080.0", "0x1f90"]),
        ),
    ),
    "exposure": (st.sampled_from(CHOICES["exposure"]), st.sampled_from(["everyone", "Public"])),
    "ci_provider": (st.sampled_from(CHOICES["ci_provider"]), st.sampled_from(["jenkins", ""])),
    "python_version": (st.sampled_from(CHOICES["python_version"]), st.sampled_from(["2.7", "3"])),
    "resources": (
        _joined(st.lists(st.sampled_from(RESOURCES), unique=True)),
        _joined(st.lists(st.sampled_from([*RESOURCES, "s3-write", "S3-READ", "*"]), min_size=1)),
    ),
    "environments": (
        _joined(st.lists(st.sampled_from(ENVIRONMENTS), min_size=1, unique=True)),
        _joined(st.lists(st.sampled_from([*ENVIRONMENTS, "qa", "Prod", "dev\n"]), max_size=3)),
    ),
}


@st.composite
def answer_sets(draw: Callable[..., Any]) -> dict[str, str]:
    """A name, an owner, a description and some ``--set`` answers; none, one or a few hostile."""
    keys = st.sampled_from(["description", *ANSWERS])
    size = draw(st.sampled_from([0, 0, 1, 2]))  # about half the sets are all valid
    hostile = draw(st.sets(keys, min_size=size, max_size=size))
    answers = {
        "name": draw(names),
        "owner": draw(names),
        "description": draw(hostile_descriptions if "description" in hostile else descriptions),
    }
    for key in sorted(draw(st.sets(st.sampled_from(list(ANSWERS)))) | (hostile - {"description"})):
        valid, bad = ANSWERS[key]
        answers[key] = draw(bad if key in hostile else valid)
    return answers


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _items(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def expected_accepted(answers: dict[str, str]) -> bool:
    """The rules of docs/scaffolds.md, written out once more."""
    description = answers["description"]
    checks = [
        name_problem(answers["name"]) is None,
        name_problem(answers["owner"]) is None,
        text_problem(description) is None and len(description) <= 200,
    ]
    if "aws_region" in answers:
        region = answers["aws_region"]
        checks.append(text_problem(region) is None and REGION.fullmatch(region) is not None)
    if "aws_account_id" in answers:
        checks.append(ACCOUNT.fullmatch(answers["aws_account_id"]) is not None)
    if "port" in answers:
        port = _int(answers["port"])
        checks.append(port is not None and 1024 <= port <= 65535)
    for key, allowed in CHOICES.items():
        if key in answers:
            checks.append(answers[key] in allowed)
    if "resources" in answers:
        checks.append(set(_items(answers["resources"])) <= set(RESOURCES))
    if "environments" in answers:
        chosen = set(_items(answers["environments"]))
        checks.append(bool(chosen) and chosen <= set(ENVIRONMENTS))
    return all(checks)


def _parse_hcl(text: str) -> object:
    return hcl2.load(io.StringIO(text))


PARSERS: dict[str, Callable[[str], object]] = {
    ".yaml": lambda text: list(yaml.safe_load_all(text)),
    ".yml": lambda text: list(yaml.safe_load_all(text)),
    ".json": json.loads,
    ".toml": tomllib.loads,
    ".tf": _parse_hcl,
    ".py": ast.parse,
}


def assert_every_file_parses(root: Path) -> int:
    parsed = 0
    for path in sorted(root.rglob("*")):
        if not path.is_file() or ".git" in path.relative_to(root).parts:
            continue
        parser = PARSERS.get(path.suffix)
        if parser is None:
            continue
        try:
            parser(path.read_text(encoding="utf-8"))
        except Exception as exc:  # noqa: BLE001 - any parser's error is the failure
            pytest.fail(f"{path.relative_to(root)} does not parse: {exc}")
        parsed += 1
    return parsed


_counter = itertools.count()


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    derandomize=True,
    # Shrinking re-renders a service per step (minutes); the failing example is shown as found.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(answers=answer_sets())
def test_accepted_answers_render_files_that_parse_and_pass_the_guardrails(
    paved, pinned_env: Path, answers: dict[str, str]
) -> None:
    note(f"answers: {answers!r}")
    destination = pinned_env / f"service-{next(_counter)}"
    sets = [
        arg
        for key, value in answers.items()
        if key not in {"name", "owner", "description"}
        for arg in ("--set", f"{key}={value}")
    ]
    result = paved(
        "new", "service", "--owner", answers["owner"], f"--description={answers['description']}",
        "--dir", str(destination), "--no-push", "--no-register", *sets, "--", answers["name"],
    )  # fmt: skip
    accepted = expected_accepted(answers)
    event("accepted" if accepted else "refused")
    if not accepted:
        assert result.exit_code == ExitCode.USAGE, (result.exit_code, result.stderr)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("error: "), result.stderr
        assert not destination.exists()
        return
    assert result.exit_code == 0, result.stderr
    assert assert_every_file_parses(destination) >= 10
    checked = paved("guardrails", "check", str(destination), "--json")
    assert checked.exit_code == 0, checked.stdout
    assert json.loads(checked.stdout)["summary"]["errors"] == 0
