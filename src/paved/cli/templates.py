"""``paved templates``: the scaffolds paved offers."""

from typing import Any

import typer

from paved.cli.common import JsonOption, handle_errors, runtime_of
from paved.cli.output import Column

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
