"""``paved docs``: the documentation that ships with paved, read where paved runs."""

from typing import TYPE_CHECKING, Annotated

import typer

from paved.cli.common import JsonOption, handle_errors, runtime_of
from paved.cli.completion import complete_docs_pages
from paved.cli.output import Column
from paved.docs import reference

if TYPE_CHECKING:
    from paved.cli.runtime import Runtime

__all__ = ["docs", "reference"]


@handle_errors
def docs(
    ctx: typer.Context,
    page: Annotated[
        str | None,
        typer.Argument(
            metavar="PAGE",
            help="A page, or a section of one: guardrails, exit-codes, guardrails#waivers.",
            autocompletion=complete_docs_pages,
            show_default=False,
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Read paved's documentation, page by page.

    Without PAGE, list the pages; with PAGE, print it. On a terminal the page goes through
    $PAGER (less by default); in a pipe it is printed as it is. Hints name pages this way, so
    they work wherever paved is installed.
    """
    from paved.docs import page as find_page
    from paved.docs import pages

    runtime = runtime_of(ctx, json_output=json_output)
    out = runtime.out
    if page is None:
        found = pages()
        if out.json_mode:
            out.json(
                {
                    "schema": "paved/docs/v1",
                    "pages": [{"name": p.name, "title": p.title} for p in found],
                }
            )
            return
        out.table(
            [Column("PAGE"), Column("TITLE", wrap=True)],
            [(p.name, p.title) for p in found],
            empty="No pages.",
        )
        out.info(f"read one with '{reference('PAGE')}' or '{reference('PAGE', 'SECTION')}'")
        return
    name, _, anchor = page.partition("#")
    chosen = find_page(name)
    text = chosen.section(anchor) if anchor else chosen.text()
    if out.json_mode:
        out.json(
            {
                "schema": "paved/docs-page/v1",
                "page": chosen.name,
                "section": anchor or None,
                "title": chosen.title,
                "text": text,
            }
        )
        return
    _show(runtime, text)


def _show(runtime: "Runtime", text: str) -> None:
    """Through the pager on a terminal (when there is one to run); as it is anywhere else."""
    import shlex
    import shutil
    import subprocess

    from paved.text import escaped

    out = runtime.out
    pager = runtime.env.get("PAGER", "less -FRX")
    try:
        command = shlex.split(pager)
    except ValueError as exc:  # an unclosed quote: the page is printed as it is instead
        out.info(f"$PAGER cannot be read ({exc}); printing the page without it")
        command = []
    if out.stdout_is_terminal and command and shutil.which(command[0]):
        env = {**runtime.env, "LESSCHARSET": runtime.env.get("LESSCHARSET", "utf-8")}
        try:
            subprocess.run(command, input=text, text=True, env=env, check=False)
        except OSError:
            pass  # a pager that cannot start: the page is printed below instead
        else:
            return
    text = escaped(text, keep="\n\t")  # a page's own line breaks and tabs, nothing else raw
    out.stdout.write(text if text.endswith("\n") else text + "\n")
