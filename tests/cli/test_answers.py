"""The answers ``paved new service`` accepts render files that parse and pass the guardrails;
the ones it refuses are refused in one line, with exit 2, before anything is written."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
import yaml
from jinja2.sandbox import SandboxedEnvironment

from paved.errors import ExitCode, InputError
from paved.names import name_problem
from paved.scaffold.registry import ScaffoldRegistry
from paved.text import text_problem
from tests.cli.test_new_bad_input import assert_nothing_written, one_line_error
from tests.helpers import SCAFFOLDS

REGISTRY = ScaffoldRegistry(SCAFFOLDS)
HOSTILE = "Pays 😀 \"fast\" \\ {{ x }} ${y} %{z} 'q' #: é \uff46 \ufeff"


@pytest.fixture
def before(pinned_env: Path) -> set[str]:
    return {p.relative_to(pinned_env).as_posix() for p in pinned_env.rglob("*")}


@pytest.mark.slow
def test_an_emoji_and_quotes_in_the_description_render_as_utf8(paved, pinned_env: Path) -> None:
    result = paved(
        "new", "service", "payments", "--owner", "team-a", f"--description={HOSTILE}",
        "--no-push", "--no-register",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    service = pinned_env / "payments"
    pyproject = (service / "pyproject.toml").read_text(encoding="utf-8")
    assert "\\ud83d" not in pyproject
    assert tomllib.loads(pyproject)["project"]["description"] == HOSTILE
    component, *_ = yaml.safe_load_all((service / "catalog-info.yaml").read_text(encoding="utf-8"))
    assert component["metadata"]["description"] == HOSTILE
    mkdocs = yaml.safe_load((service / "mkdocs.yml").read_text(encoding="utf-8"))
    assert mkdocs["site_description"] == HOSTILE
    answers = yaml.safe_load((service / ".copier-answers.road.yml").read_text(encoding="utf-8"))
    assert answers["description"] == HOSTILE
    checked = paved("guardrails", "check", str(service), "--json")
    assert checked.exit_code == 0, checked.stdout
    findings = json.loads(checked.stdout)["findings"]
    assert [f for f in findings if f["rule"] == "PAVED-REPO-002"] == []


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("aws_region=eu-west-1\n", "contains the control character U+000A"),
        ("aws_region=eu-west-1\t", "contains the control character U+0009"),
        ("aws_region=eu\u2028west-1", "contains the control character U+2028"),
        ('aws_region=eu-west-"1', "must be an AWS region name"),
        ("aws_region={{ aws_account_id }}", "must be an AWS region name"),
        ("aws_region=${var.x}", "must be an AWS region name"),
        ("aws_region=%{ if x }", "must be an AWS region name"),
        ("aws_region=EU-WEST-1", "must be an AWS region name"),
        ("aws_region=eu-west", "must be an AWS region name"),
        ("aws_region=eu-west-1 ", "must be an AWS region name"),
        ("aws_region=", "must be an AWS region name"),
        (
            "aws_account_id="
            + "".join(chr(0xFF10 + d) for d in (1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2)),
            "must be 12 digits",
        ),
        ("aws_account_id=12345678901²", "must be 12 digits"),
        ("aws_account_id=١٢٣٤٥٦٧٨٩٠١٢", "must be 12 digits"),
        ("aws_account_id=12345678901", "must be 12 digits"),
        ("aws_account_id=12345678901\n", "contains the control character U+000A"),
        ("environments=dev,Prod", "is not one of the choices"),
        ("environments=", "choose at least one environment"),
    ],
    ids=repr,
)
def test_hostile_answers_are_refused_before_anything_is_written(
    paved, pinned_env: Path, before: set[str], answer: str, message: str
) -> None:
    result = paved("new", "service", "payments", "--owner", "team-a", "--set", answer)
    assert result.exit_code == ExitCode.USAGE, result.stderr
    assert message in one_line_error(result.stderr)
    assert result.stdout == ""
    assert_nothing_written(pinned_env, before)


@pytest.mark.parametrize(
    "description", ["tab\there", "nul\x00", "del\x7f", "c1\x85", "bidi\u202e", "para\u2029"]
)
def test_control_characters_in_the_description_are_refused(
    paved, pinned_env: Path, before: set[str], description: str
) -> None:
    result = paved("new", "service", "payments", "--owner", "team-a", "--description", description)
    assert result.exit_code == ExitCode.USAGE
    assert "--description contains the control character" in one_line_error(result.stderr)
    assert_nothing_written(pinned_env, before)


@pytest.mark.parametrize(
    "region",
    ["us-east-1", "eu-west-1", "ap-southeast-2", "us-gov-west-1", "il-central-1", "ca-west-1",
     "cn-northwest-1", "me-central-1", "ap-northeast-3", "sa-east-1"],
)  # fmt: skip
def test_real_region_names_are_accepted(region: str) -> None:
    question = REGISTRY.get("paved-road").question("aws_region")
    assert question is not None
    assert question.coerce(region) == region


# -- copier.yml says the same as paved ------------------------------------------------------

NAMES = [
    "payments", "payments-api", "a1", "ab", "a" * 40, "null", "yes", "Payments", "pay ments",
    "1payments", "-payments", "payments-", "pay--ments", "a" * 41, "p", "", "pay_ments",
    "p\u0430yments", "payments\n", "\uff50\uff41\uff59", "pay/ments", "{{ x }}",
]  # fmt: skip


@pytest.mark.parametrize("scaffold", ["service-python", "paved-road"])
@pytest.mark.parametrize("key", ["service_name", "owner"])
@pytest.mark.parametrize("name", NAMES, ids=repr)
def test_the_name_validators_are_the_naming_rule(scaffold: str, key: str, name: str) -> None:
    question = REGISTRY.get(scaffold).question(key)
    assert question is not None
    assert question.validator
    if name_problem(name) is None:
        question.check(name, shown=key)
    else:
        with pytest.raises(InputError):
            question.check(name, shown=key)


def test_every_environment_choice_follows_the_naming_rule() -> None:
    question = REGISTRY.get("paved-road").question("environments")
    assert question is not None
    assert question.choices
    assert [c for c in question.choices if name_problem(c) is not None] == []
    assert question.check(list(question.choices), shown="environments")


REFUSED = [chr(c) for c in (*range(0x20), *range(0x7F, 0xA0))] + [
    "\u202a", "\u202e", "\u2066", "\u2069", "\u2028", "\u2029",
]  # fmt: skip


@pytest.mark.parametrize("scaffold", ["service-python", "paved-road"])
def test_the_description_validator_is_the_free_text_rule(scaffold: str) -> None:
    question = REGISTRY.get(scaffold).question("description")
    assert question is not None
    assert question.validator
    assert question.free_text
    # the environment copier renders validators in
    env = SandboxedEnvironment(extensions=["jinja2_ansible_filters.AnsibleCoreFiltersExtension"])
    template = env.from_string(question.validator)
    for char in REFUSED:
        text = f"a{char}b"
        assert text_problem(text) is not None
        assert template.render(description=text).strip(), repr(char)
    for text in (HOSTILE, "", "The payments service.", "\u200d\U0001f9d1\u200d\U0001f4bb"):
        assert text_problem(text) is None
        assert template.render(description=text).strip() == "", repr(text)


def test_every_free_text_question_refuses_control_characters() -> None:
    free = [q for s in REGISTRY.all() for q in s.questions if q.free_text]
    assert {q.name for q in free} >= {"service_name", "owner", "description", "aws_region"}
    for question in free:
        with pytest.raises(InputError, match="control character U\\+0009"):
            question.check("x\ty", shown=question.name)


def test_both_scaffolds_ship_the_same_string_macros() -> None:
    copies = {p.read_bytes() for p in SCAFFOLDS.glob("*/includes/strings.jinja")}
    assert len(copies) == 1


@pytest.mark.slow
def test_plain_copier_refuses_a_hostile_region(tmp_path: Path) -> None:
    import copier

    with pytest.raises(ValueError, match="must be an AWS region name"):
        copier.run_copy(
            str(SCAFFOLDS / "paved-road"),
            tmp_path / "out",
            data={"service_name": "payments", "owner": "team-a", "aws_region": "eu-west-1\n"},
            defaults=True,
            quiet=True,
        )
    assert not (tmp_path / "out" / "catalog-info.yaml").exists()
