"""Shell completion: the root's ``--show-completion SHELL`` and ``--install-completion SHELL``,
and the callbacks that complete values. Callbacks are cheap, and silent on any error."""

from __future__ import annotations

import enum
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.completion import get_completion_inspect_parameters

if TYPE_CHECKING:
    from paved.cli.runtime import Runtime
    from paved.scaffold.registry import Scaffold

__all__ = [
    "InstallCompletionOption",
    "Shell",
    "ShowCompletionOption",
    "complete_docs_pages",
    "complete_environments",
    "complete_rule_ids",
    "complete_set_keys",
]


# The root builds its own completion options (add_completion=False), so the shells' completion
# classes are registered here, by what Typer calls when it builds its own (typer.main has
# imported typer.completion already, so this costs nothing).
get_completion_inspect_parameters()


class Shell(enum.StrEnum):
    """The shells paved writes a completion script for."""

    bash = "bash"
    zsh = "zsh"
    fish = "fish"
    powershell = "powershell"
    pwsh = "pwsh"


def _show(ctx: typer.Context, param: Any, value: Shell | None) -> None:
    """Print the completion script of the shell named (never the one paved runs under)."""
    if value is None or ctx.resilient_parsing:
        return
    from typer.completion import show_callback

    show_callback(ctx, param, str(value))


def _install(ctx: typer.Context, param: Any, value: Shell | None) -> None:
    """Install the completion script of the shell named in that shell's start-up file."""
    if value is None or ctx.resilient_parsing:
        return
    from typer.completion import install_callback

    install_callback(ctx, param, str(value))


ShowCompletionOption = Annotated[
    Shell | None,
    typer.Option(
        "--show-completion",
        metavar="SHELL",
        callback=_show,
        expose_value=False,
        is_eager=True,
        case_sensitive=False,
        help="Print the completion script for SHELL (bash, zsh, fish or powershell).",
    ),
]
InstallCompletionOption = Annotated[
    Shell | None,
    typer.Option(
        "--install-completion",
        metavar="SHELL",
        callback=_install,
        expose_value=False,
        is_eager=True,
        case_sensitive=False,
        help="Install completion for SHELL (bash, zsh, fish or powershell); open a new shell.",
    ),
]


def _runtime() -> Runtime:
    from paved.cli.runtime import Runtime

    return Runtime(env=dict(os.environ), cwd=Path.cwd(), home=Path.home())


def _template_names(app_only: bool) -> list[str]:
    """The scaffolds' names, without fetching an organisation's (whose layer is then unknown)."""
    from paved.scaffold.registry import Layer

    registry = _runtime().registry
    bundled = [
        s.name
        for s in registry.bundled()
        if s.name not in registry.urls and (not app_only or s.layer is Layer.APP)
    ]
    return sorted([*bundled, *registry.urls])


def complete_app_templates(incomplete: str) -> list[str]:
    try:
        return [name for name in _template_names(True) if name.startswith(incomplete)]
    except Exception:  # noqa: BLE001 - completion must never break the shell
        return []


def complete_templates(incomplete: str) -> list[str]:
    try:
        return [name for name in _template_names(False) if name.startswith(incomplete)]
    except Exception:  # noqa: BLE001
        return []


def complete_services(incomplete: str) -> list[str]:
    try:
        runtime = _runtime()
        if not runtime.paths.catalog_db.exists() and not runtime.settings.catalog_url:
            return []
        return [s.name for s in runtime.catalog().list() if s.name.startswith(incomplete)]
    except Exception:  # noqa: BLE001
        return []


def complete_environments(incomplete: str) -> list[str]:
    """dev, staging and prod, then the environments the settings define."""
    try:
        names = _runtime().settings.environment_names
        return [name for name in names if name.startswith(incomplete)]
    except Exception:  # noqa: BLE001
        return []


def complete_set_keys(ctx: typer.Context, incomplete: str) -> list[str]:
    """``KEY=`` for each question of the scaffolds (the chosen ``--template``'s and the road's
    when one is given); after ``KEY=``, the question's choices."""
    try:
        from paved.scaffold.registry import RESERVED_ANSWERS, Layer

        runtime = _runtime()
        registry = runtime.registry
        template = (ctx.params or {}).get("template")
        if template:
            chosen = _local_scaffold(runtime, template)
            if chosen is None or chosen.layer is not Layer.APP:
                return []
            scaffolds = [chosen, *(s for s in registry.bundled() if s.layer is Layer.ROAD)]
        else:
            scaffolds = registry.bundled()
        questions = {
            q.name: q for s in scaffolds for q in s.questions if q.name not in RESERVED_ANSWERS
        }
        key, sep, _value = incomplete.partition("=")
        if sep:
            question = questions.get(key)
            choices = question.choices if question is not None and question.choices else ()
            offered = [f"{key}={choice}" for choice in choices]
            if question is not None and question.type == "bool":
                offered = [f"{key}=true", f"{key}=false"]
            return [item for item in offered if item.startswith(incomplete)]
        return [f"{name}=" for name in sorted(questions) if name.startswith(incomplete)]
    except Exception:  # noqa: BLE001
        return []


def _local_scaffold(runtime: Runtime, name: str) -> Scaffold | None:
    """The scaffold ``name`` as this machine has it, never fetched: a bundled one, or the
    newest version of an organisation's scaffold already checked out in the template store."""
    from paved.scaffold.registry import load_scaffold
    from paved.versions import Version

    registry = runtime.registry
    url = registry.urls.get(name)
    if url is None:
        return next((s for s in registry.bundled() if s.name == name), None)
    trees = runtime.store.mirror(url).with_suffix(".trees")
    found = [
        load_scaffold(folder)
        for folder in (sorted(trees.iterdir()) if trees.is_dir() else ())
        if (folder / "scaffold.yml").is_file()
    ]
    versioned = [(v, s) for s in found if s.name == name and (v := Version.parse(s.version))]
    return max(versioned, key=lambda pair: pair[0], default=(None, None))[1]


def complete_rule_ids(incomplete: str) -> list[str]:
    """Every guardrail id and the deploy gate's own, without loading plug-ins."""
    try:
        from paved.deploy import GATE_RULES
        from paved.guardrails import BUILTIN_RULES

        ids = [rule.id for rule in BUILTIN_RULES] + [rule.id for rule in GATE_RULES]
        wanted = incomplete.upper()
        return [rule_id for rule_id in ids if rule_id.startswith(wanted)]
    except Exception:  # noqa: BLE001
        return []


def complete_docs_pages(incomplete: str) -> list[str]:
    """The pages; after ``PAGE#``, that page's sections."""
    try:
        from paved.docs import page, pages

        name, sep, anchor = incomplete.partition("#")
        if sep:
            return [
                f"{name}#{s.anchor}" for s in page(name).sections() if s.anchor.startswith(anchor)
            ]
        return [p.name for p in pages() if p.name.startswith(incomplete)]
    except Exception:  # noqa: BLE001
        return []
