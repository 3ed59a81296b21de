"""``paved templates``: the scaffolds paved offers."""

from typing import Annotated, Any

import typer

from paved.cli.common import JsonOption, handle_errors, runtime_of
from paved.cli.completion import complete_templates
from paved.cli.output import Column, Output
from paved.errors import InputError

app = typer.Typer(help="The scaffolds services are made from.", no_args_is_help=True)


@app.command("list")
@handle_errors
def list_templates(
    ctx: typer.Context,
    json_output: JsonOption = False,
) -> None:
    """List each scaffold: its layer, version and questions (for --set)."""
    runtime = runtime_of(ctx, json_output=json_output)
    scaffolds = runtime.registry.all()
    out = runtime.out
    if out.json_mode:
        out.json(
            {
                "schema": "paved/templates/v1",
                "templates": [
                    {
                        "name": s.name,
                        "layer": s.layer.value,
                        "version": s.version,
                        "description": s.description,
                        "questions": [_question(q) for q in s.questions],
                    }
                    for s in scaffolds
                ],
            }
        )
        return
    rows = []
    for s in scaffolds:
        asked = ", ".join(
            q.name for q in s.questions if q.name not in {"service_name", "owner", "description"}
        )
        rows.append((s.name, s.layer.value, s.version, asked))
    out.table(
        [
            *(Column(name, shorten=False) for name in ("NAME", "LAYER", "VERSION")),
            Column("QUESTIONS (--set)", wrap=True),
        ],
        rows,
        empty="No scaffolds found.",
    )


def _question(q: Any) -> dict[str, Any]:
    return {
        "name": q.name,
        "type": q.type,
        "help": q.help,
        "default": q.default,
        "choices": list(q.choices) if q.choices is not None else None,
        "multiselect": q.multiselect,
    }


@app.command("store")
@handle_errors
def store(
    ctx: typer.Context,
    json_output: JsonOption = False,
) -> None:
    """Fill the template store with every shipped scaffold version.

    Prints the store's folder: what plain copier reads through git's URL rewriting (paved
    docs scaffolds), as in store=$(paved templates store).
    """
    runtime = runtime_of(ctx, json_output=json_output)
    found = []
    for scaffold in runtime.registry.bundled():  # an organisation's: copier reads its URL
        runtime.store.ensure(scaffold)
        found.append({"name": scaffold.name, "versions": runtime.store.versions(scaffold.name)})
    path = str(runtime.paths.templates_dir)
    out = runtime.out
    if out.json_mode:
        out.json({"schema": "paved/templates-store/v1", "path": path, "scaffolds": found})
        return
    out.line(path)
    for entry in found:
        out.info(f"{entry['name']}: {', '.join(entry['versions'])}")


@app.command("show")
@handle_errors
def show_template(
    ctx: typer.Context,
    name: Annotated[
        str,
        typer.Argument(
            metavar="NAME",
            help="The scaffold, as paved templates list names it.",
            autocompletion=complete_templates,
            show_default=False,
        ),
    ],
    json_output: JsonOption = False,
) -> None:
    """Show one scaffold and the questions --set answers.

    Its layer and version, and each question with its type, default, choices and help (the
    KEYs of --set).
    """
    from paved.scaffold.registry import RESERVED_ANSWERS

    runtime = runtime_of(ctx, json_output=json_output)
    scaffolds = {s.name: s for s in runtime.registry.all()}
    scaffold = scaffolds.get(name)
    if scaffold is None:
        raise InputError(
            f"no scaffold '{name}'", hint=f"the scaffolds are: {', '.join(sorted(scaffolds))}"
        )
    questions = [_question(q) for q in scaffold.questions]
    out = runtime.out
    if out.json_mode:
        out.json(
            {
                "schema": "paved/templates-show/v1",
                "name": scaffold.name,
                "layer": scaffold.layer.value,
                "version": scaffold.version,
                "description": scaffold.description,
                "questions": questions,
            }
        )
        return
    out.fields(
        [
            ("name", scaffold.name),
            ("layer", scaffold.layer.value),
            ("version", scaffold.version),
            ("description", scaffold.description),
        ]
    )
    out.line()
    rows = []
    for q in questions:
        if q["name"] in RESERVED_ANSWERS:  # answered by NAME, --owner and --description
            continue
        key = q["name"]
        kind = f"list of {q['type']}" if q["multiselect"] else q["type"]
        choices = ", ".join(str(c) for c in q["choices"]) if q["choices"] is not None else ""
        rows.append((key, kind, _shown(q["default"]), choices, q["help"]))
    if out.stdout_is_terminal:
        _show_questions(out, rows)
        return
    out.table(
        [
            Column("QUESTION (--set KEY)"),
            Column("TYPE"),
            Column("DEFAULT", shorten=True),
            Column("CHOICES", wrap=True),
            Column("HELP", wrap=True),
        ],
        rows,
        empty="No questions.",
    )


def _show_questions(out: Output, rows: list[tuple[str, str, str, str, str]]) -> None:
    """Each question as a short block on a terminal: a table of five columns cannot show a
    question's help and choices whole in 80 columns; a block can, at any width."""
    import textwrap

    from paved.text import escaped

    room = max(20, out.columns - 4)
    out.line("Questions (--set KEY=VALUE):")
    for key, kind, default, choices, help_text in rows:
        out.line()
        said = f"{kind}; default {default}" if default else kind
        out.line(escaped(f"{key} ({said})"))
        for text in (help_text, f"choices: {choices}" if choices else ""):
            for line in textwrap.wrap(escaped(text), room, break_long_words=False):
                out.line(f"    {line}")


def _shown(default: Any) -> str:
    """A default as one would type it after --set KEY=."""
    if default is None:
        return ""
    if isinstance(default, bool):
        return "true" if default else "false"
    if isinstance(default, list):
        return ",".join(str(item) for item in default)
    return str(default)
