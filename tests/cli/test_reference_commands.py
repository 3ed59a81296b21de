"""The commands a newcomer looks things up with: ``paved guardrails explain``, ``paved templates
show``, ``paved docs``, and shell completion (per shell, and of values)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import jsonschema
import pytest

from paved.cli import completion
from paved.cli.output import Output
from paved.cli.runtime import Runtime
from paved.deploy import GATE_RULES
from paved.docs import pages, reference
from paved.guardrails import BUILTIN_RULES, all_rules
from tests.helpers import REPO_ROOT

SCHEMAS = REPO_ROOT / "docs" / "schemas"


def schema(name: str) -> dict[str, object]:
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


# -- every rule explains itself -------------------------------------------------------------


@pytest.mark.parametrize("rule", [*all_rules(), *GATE_RULES], ids=lambda r: r.id)
def test_every_rule_says_why_shows_a_refused_and_a_passing_example_and_a_fix(rule) -> None:
    explained = rule.explain()
    for field in ("title", "reason", "refuses", "passes", "fix"):
        assert explained[field].strip(), f"{rule.id} has no {field}"
    assert explained["refuses"] != explained["passes"]
    jsonschema.validate(
        {"schema": "paved/guardrails-explain/v1", "rule": explained},
        schema("guardrails-explain.schema.json"),
    )


def test_the_gate_rules_are_the_ids_the_gate_reports() -> None:
    source = (REPO_ROOT / "src/paved/deploy/_gate.py").read_text(encoding="utf-8")
    assert [r.id for r in GATE_RULES] == [
        "PAVED-DEPLOY-001",
        "PAVED-DEPLOY-002",
        "PAVED-DEPLOY-003",
    ]
    assert source.count('"PAVED-DEPLOY-') == 3  # each id written once, in its GateRule


def test_explain_prints_the_reason_examples_and_fix(paved) -> None:
    rule = next(r for r in BUILTIN_RULES if r.id == "PAVED-K8S-007")
    done = paved("guardrails", "explain", "paved-k8s-007")
    assert done.exit_code == 0, done.stderr
    assert done.stdout == "\n".join(
        [
            "PAVED-K8S-007: container image by mutable tag instead of digest",
            "error · paved",
            "",
            "Why:",
            *textwrap.wrap(rule.reason, 80, initial_indent="    ", subsequent_indent="    "),
            "",
            "Refused:",
            f"    {rule.refuses}",
            "",
            "Passes:",
            f"    {rule.passes}",
            "",
            *textwrap.wrap(f"Fix: {rule.fix}", 80, subsequent_indent="     "),
            "More: paved docs guardrails#paved-k8s-007",
            "",
        ]
    )


def test_explain_a_gate_rule_says_where_it_refuses_and_that_it_is_never_waived(paved) -> None:
    done = paved("guardrails", "explain", "PAVED-DEPLOY-003")
    assert done.exit_code == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "PAVED-DEPLOY-003: image not pinned by digest"
    assert lines[1] == (
        "error in a protected environment, warning elsewhere · never waived · paved deploy gate"
    )
    assert lines[-1] == "More: paved docs deploy#the-gate"


def test_explain_json_follows_its_schema(paved) -> None:
    done = paved("guardrails", "explain", "PAVED-REPO-005", "--json")
    assert done.exit_code == 0, done.stderr
    data = json.loads(done.stdout)
    jsonschema.validate(data, schema("guardrails-explain.schema.json"))
    assert data["rule"]["id"] == "PAVED-REPO-005"
    assert data["rule"]["waivable"] is False


def test_explain_an_unknown_id_names_the_closest_in_one_line_and_exits_2(paved) -> None:
    done = paved("guardrails", "explain", "PAVED-K8S-07")
    assert (done.exit_code, done.stdout) == (2, "")
    assert done.stderr == (
        "error: no guardrail 'PAVED-K8S-07'; closest: PAVED-K8S-007, PAVED-K8S-009, PAVED-K8S-008\n"
    )
    far = paved("guardrails", "explain", "nothing-like-it")
    assert far.exit_code == 2
    assert far.stderr == "error: no guardrail 'nothing-like-it'; see paved guardrails list\n"


# -- templates show ---------------------------------------------------------------------------


def test_templates_show_json_follows_its_schema_and_lists_every_question(paved) -> None:
    done = paved("templates", "show", "service-python", "--json")
    assert done.exit_code == 0, done.stderr
    data = json.loads(done.stdout)
    jsonschema.validate(data, schema("templates-show.schema.json"))
    listed = json.loads(paved("templates", "list", "--json").stdout)
    same = next(t for t in listed["templates"] if t["name"] == "service-python")
    assert data == {"schema": "paved/templates-show/v1", **same}
    port = next(q for q in data["questions"] if q["name"] == "port")
    assert (port["type"], port["default"]) == ("int", 8080)


def test_templates_show_prints_type_default_choices_and_help(paved) -> None:
    done = paved("templates", "show", "service-python")
    assert done.exit_code == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:3] == ["name\tservice-python", "layer\tapp", "version\t0.3.0"]
    assert (
        "python_version\tstr\t3.12\t3.11, 3.12, 3.13\tThe Python version the service runs on."
        in lines
    )
    assert not any(
        line.startswith(("owner", "service_name", "description\t")) for line in lines[4:]
    )


def test_templates_show_an_unknown_name_names_the_known_ones_and_exits_2(paved) -> None:
    done = paved("templates", "show", "service-rust")
    assert (done.exit_code, done.stdout) == (2, "")
    assert done.stderr == (
        "error: no scaffold 'service-rust'; the scaffolds are: paved-road, service-python\n"
    )


# -- paved docs -------------------------------------------------------------------------------


def test_docs_lists_every_page_with_its_first_heading(paved) -> None:
    done = paved("docs")
    assert done.exit_code == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "guardrails\tGuardrails" in lines
    assert "exit-codes\tExit codes" in lines
    assert len(lines) == len(list((REPO_ROOT / "docs").glob("*.md"))) + len(
        list((REPO_ROOT / "docs" / "decisions").glob("*.md"))
    )
    data = json.loads(paved("docs", "--json").stdout)
    jsonschema.validate(data, schema("docs.schema.json"))
    assert [p["name"] for p in data["pages"]] == [line.split("\t")[0] for line in lines]


def test_docs_page_prints_the_page_as_it_is_in_a_pipe(paved) -> None:
    done = paved("docs", "exit-codes")
    assert done.exit_code == 0, done.stderr
    assert done.stdout == (REPO_ROOT / "docs" / "exit-codes.md").read_text(encoding="utf-8")


def test_docs_section_prints_down_to_the_next_heading_of_its_level(paved) -> None:
    done = paved("docs", "guardrails#waivers")
    assert done.exit_code == 0, done.stderr
    text = (REPO_ROOT / "docs" / "guardrails.md").read_text(encoding="utf-8")
    start = text.index("## Waivers\n")
    end = text.index("\n## ", start + 1)
    assert done.stdout == text[start:end].rstrip() + "\n"
    assert "### Rules that cannot be waived" in done.stdout  # a sub-section stays in
    data = json.loads(paved("docs", "guardrails#waivers", "--json").stdout)
    jsonschema.validate(data, schema("docs.schema.json"))
    assert (data["page"], data["section"], data["text"]) == ("guardrails", "waivers", done.stdout)


def test_docs_unknown_page_or_section_is_one_line_and_exit_2(paved) -> None:
    done = paved("docs", "guardrail")
    assert (done.exit_code, done.stdout) == (2, "")
    assert done.stderr.startswith("error: no documentation page 'guardrail'; pages: ")
    assert done.stderr.count("\n") == 1
    assert "guardrails" in done.stderr
    section = paved("docs", "guardrails#wavers")
    assert section.exit_code == 2
    assert section.stderr.startswith(
        "error: page 'guardrails' has no section 'wavers'; closest: waivers"
    )


def test_references_name_a_page_and_a_section_that_exist() -> None:
    assert reference("guardrails", "waivers") == "paved docs guardrails#waivers"
    assert reference("exit-codes") == "paved docs exit-codes"
    by_name = {p.name: p for p in pages()}
    for rule in [*BUILTIN_RULES]:
        path, _, anchor = rule.docs.partition("#")
        page = by_name[path.removeprefix("docs/").removesuffix(".md")]
        assert anchor in {s.anchor for s in page.sections()}, rule.id
    assert "waivers" in {s.anchor for s in by_name["guardrails"].sections()}
    assert "the-gate" in {s.anchor for s in by_name["deploy"].sections()}


def test_the_wheel_carries_the_docs_next_to_the_scaffolds() -> None:
    text = (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"scaffolds" = "paved/_scaffolds"\n"docs" = "paved/_docs"\n' in text


# -- completion -------------------------------------------------------------------------------

SCRIPTS = {
    "bash": "complete -o default -F _paved_completion paved",
    "zsh": "#compdef paved",
    "fish": "complete --command paved",
    "powershell": "Register-ArgumentCompleter -Native -CommandName paved",
    "pwsh": "Register-ArgumentCompleter -Native -CommandName paved",
}


@pytest.mark.parametrize("shell", sorted(SCRIPTS))
def test_show_completion_prints_the_named_shells_script(paved, shell: str) -> None:
    done = paved("--show-completion", shell)
    assert done.exit_code == 0, done.stderr
    assert SCRIPTS[shell] in done.stdout
    others = {s for s in SCRIPTS if SCRIPTS[s] != SCRIPTS[shell]}
    assert not any(SCRIPTS[other] in done.stdout for other in others)


def test_install_completion_writes_the_named_shells_script(paved, pinned_env: Path) -> None:
    done = paved("--install-completion", "fish")
    assert done.exit_code == 0, done.stderr
    script = Path.home() / ".config" / "fish" / "completions" / "paved.fish"
    assert SCRIPTS["fish"] in script.read_text(encoding="utf-8")
    assert not (Path.home() / ".bashrc").exists()


def test_an_unknown_shell_is_refused(paved) -> None:
    done = paved("--show-completion", "tcsh")
    assert done.exit_code == 2
    assert "tcsh" in done.stderr


def test_environments_complete_from_the_defaults_and_the_settings(pinned_env: Path) -> None:
    config = pinned_env / "paved-home" / "config" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('[environments.qa]\nprotected = "false"\n', encoding="utf-8")
    assert completion.complete_environments("") == ["dev", "staging", "prod", "qa"]
    assert completion.complete_environments("s") == ["staging"]


class _Ctx:
    def __init__(self, **params: object) -> None:
        self.params = params


def test_set_keys_complete_the_chosen_templates_questions_and_then_their_choices() -> None:
    keys = completion.complete_set_keys(_Ctx(template="service-python"), "")  # type: ignore[arg-type]
    assert "port=" in keys
    assert "python_version=" in keys
    assert "exposure=" in keys
    assert "owner=" not in keys
    assert "service_name=" not in keys
    assert completion.complete_set_keys(_Ctx(), "python_v") == ["python_version="]  # type: ignore[arg-type]
    assert completion.complete_set_keys(_Ctx(), "exposure=") == [  # type: ignore[arg-type]
        "exposure=public",
        "exposure=internal",
    ]


def test_completion_is_silent_on_any_error() -> None:
    assert completion.complete_set_keys(_Ctx(template="no-such"), "") == []  # type: ignore[arg-type]
    assert completion.complete_docs_pages("no-such#x") == []


def test_rule_ids_and_docs_pages_complete() -> None:
    assert completion.complete_rule_ids("paved-deploy") == [r.id for r in GATE_RULES]
    assert "PAVED-K8S-007" in completion.complete_rule_ids("PAVED-K8S")
    assert completion.complete_docs_pages("exit") == ["exit-codes"]
    assert completion.complete_docs_pages("guardrails#waiv") == ["guardrails#waivers"]


def test_set_keys_of_an_organisation_template_never_fetch_it(
    pinned_env: Path, tmp_path: Path
) -> None:
    config = pinned_env / "paved-home" / "config" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        '[scaffolds.org-service]\nurl = "https://git.invalid/org/scaffold.git"\n', encoding="utf-8"
    )
    before = sorted(p for p in pinned_env.rglob("*"))
    ctx = _Ctx(template="org-service")
    assert completion.complete_set_keys(ctx, "") == []  # type: ignore[arg-type]
    assert completion.complete_set_keys(ctx, "port=") == []  # type: ignore[arg-type]
    assert sorted(p for p in pinned_env.rglob("*")) == before  # no mirror, no clone, no lock


def test_platform_serve_takes_no_json(paved) -> None:
    done = paved("platform", "serve", "--json")
    assert done.exit_code == 2
    assert "--json" in done.stderr
    assert "--json" not in paved("platform", "serve", "--help").stdout


def test_a_malformed_pager_prints_the_page_escaped_instead(
    paved, pinned_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAVED_HOME", str(pinned_env / "paved-home"))
    page = tmp_docs = pinned_env / "docs"
    tmp_docs.mkdir()
    (page / "odd.md").write_text("# Odd\n\n\tindented\x1b[2J\n", encoding="utf-8")
    monkeypatch.setattr("paved.docs.docs_root", lambda: tmp_docs)
    monkeypatch.setenv("PAGER", "less '-R")
    runtime = Runtime.from_process()
    runtime.__dict__["out"] = _terminal_out(runtime)
    done = paved("docs", "odd", runtime=runtime)
    assert done.exit_code == 0, done.stderr
    assert done.stdout == "# Odd\n\n\tindented\\u001b[2J\n"
    assert "PAGER cannot be read" in done.stderr
    assert "Traceback" not in done.stderr


def _terminal_out(runtime: Runtime) -> Output:
    """The runtime's output with a stdout that says it is a terminal."""
    import sys

    class _Stdout:
        def write(self, text: str) -> int:
            return int(sys.stdout.write(text))

        def flush(self) -> None:
            sys.stdout.flush()

        def isatty(self) -> bool:
            return True

    class _Stderr(_Stdout):
        def write(self, text: str) -> int:
            return int(sys.stderr.write(text))

        def isatty(self) -> bool:
            return False

    return Output(stdout=_Stdout(), stderr=_Stderr(), env=runtime.env)  # type: ignore[arg-type]


def test_an_unknown_section_suggests_that_pages_closest_sections_only(tmp_path: Path) -> None:
    from paved.docs import page
    from paved.errors import InputError

    (tmp_path / "guide.md").write_text(
        "# Guide\n\n## Waivers and expiry\n\n## Exit codes\n\n## Other things\n", encoding="utf-8"
    )
    with pytest.raises(InputError) as raised:
        page("guide", tmp_path).section("waiver")
    assert raised.value.hint == "closest: waivers-and-expiry"
    with pytest.raises(InputError) as nothing:
        page("guide", tmp_path).section("zzz")
    assert nothing.value.hint == "no section reads like it; read the whole page: paved docs guide"


def test_docs_outside_paveds_checkout_are_never_a_hosts_own(tmp_path: Path) -> None:
    from paved.docs import _is_paved_checkout

    assert _is_paved_checkout(REPO_ROOT)
    host = tmp_path / "host"
    (host / "src" / "paved").mkdir(parents=True)
    (host / "docs").mkdir()
    assert not _is_paved_checkout(host)  # no pyproject
    (host / "pyproject.toml").write_text('[project]\nname = "orders"\n', encoding="utf-8")
    assert not _is_paved_checkout(host)
    (host / "pyproject.toml").write_text('[project]\nname = "paved"\n', encoding="utf-8")
    assert _is_paved_checkout(host)
