"""The shape of the command line, given to every command in one place.

``PavedGroup`` is the root group's class (``typer.Typer(cls=PavedGroup)``). When Typer builds
the command tree, the root group is made last, with every command and group below it already
built; it then walks that tree once and gives each command the same shape, so that no command
module has to opt in:

- every leaf command takes the global options (``--yes``, ``--json``, ``--quiet``,
  ``--verbose``, ``--no-color``) after its name too (``platform serve``, a server with no
  result to print, takes no ``--json``), as real options (``expose_value=False``) whose
  callbacks set the same fields of the runtime as the root's; a command that declares one of
  them itself keeps its own, which sets the runtime too and has the same help text;
- metavars read as words (``NAME``, ``PORT``, ``TEAM``), never as types (``<str>``,
  ``<int range>``) or in braces (``{NAME}``);
- each command's summary, in its group's list, is the first sentence of its docstring, whole;
- each leaf command's help ends with its examples (``paved.cli.examples``), as written.

Typer's own classes are the base (``TyperGroup``, ``TyperCommand``, ``TyperArgument``); the
walk gives a built command or argument the subclass below, which only changes how it is shown.
"""

import copy
import inspect
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from paved.cli.common import GLOBAL_OPTIONS, apply_global_option, refuse_verbose_with_quiet
from paved.cli.examples import EXAMPLES, Example

if TYPE_CHECKING:
    from typer._click import Context, HelpFormatter, Parameter

__all__ = ["PavedGroup", "first_sentence", "leaf_commands"]

#: Where the flags given so far are kept, in the context's ``meta`` (shared by the whole chain
#: of contexts, root to leaf).
_GIVEN = "paved.global_options"

#: The global options a command does not take after its name: a server that runs until it is
#: stopped has no result document to print.
_NOT_TAKEN = {"platform serve": ("--json",)}

#: Words for the metavar of an option whose name alone would not read well.
_WORDS = {"expires": "DURATION"}


class PavedGroup(TyperGroup):
    """The root group: builds as Typer's own, then shapes every command below it."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        globals_ = {flag: self._param(flag) for flag in GLOBAL_OPTIONS}
        for path, command in walk(self):
            _summarise(command)
            if isinstance(command, TyperGroup):
                continue
            _shape_leaf(command, path, globals_)

    def _param(self, flag: str) -> TyperOption:
        for param in self.params:
            if isinstance(param, TyperOption) and flag in param.opts:
                return param
        raise TypeError(f"the root callback declares no {flag}")  # pragma: no cover


def walk(group: TyperGroup, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    """Every command below ``group``, groups included, with its path (``"new service"``)."""
    for name, command in group.commands.items():
        here = (*path, name)
        yield " ".join(here), command
        if isinstance(command, TyperGroup):
            yield from walk(command, here)


def leaf_commands(group: TyperGroup) -> dict[str, TyperCommand]:
    """The commands that run something (not groups), by path."""
    return {path: cmd for path, cmd in walk(group) if not isinstance(cmd, TyperGroup)}


def first_sentence(help_text: str | None) -> str:
    """The first sentence of a docstring's first paragraph, on one line."""
    text = inspect.cleandoc(help_text or "").partition("\f")[0]
    paragraph = " ".join(text.split("\n\n", 1)[0].split())
    end = paragraph.find(". ")
    return paragraph if end < 0 else paragraph[: end + 1]


# -- summaries ---------------------------------------------------------------------------------


def _summarise(command: Any) -> None:
    # The whole first sentence, never cut with "...": one that does not fit wraps in the list,
    # and tests/cli/test_help.py says which.
    if not command.short_help and command.help:
        command.short_help = first_sentence(command.help)


# -- leaf commands -----------------------------------------------------------------------------


def _shape_leaf(command: TyperCommand, path: str, globals_: dict[str, TyperOption]) -> None:
    if type(command) is not TyperCommand:  # pragma: no cover - a command class of its own
        raise TypeError(f"paved {path}: a command class other than TyperCommand")
    command.__class__ = PavedCommand
    assert isinstance(command, PavedCommand)
    command.examples = EXAMPLES.get(path, ())
    for param in command.params:
        if isinstance(param, TyperArgument):
            _word_argument(param)
        elif isinstance(param, TyperOption):
            _word_option(param)
    own = {opt: param for param in command.params for opt in (*param.opts, *param.secondary_opts)}
    for flag, root_param in globals_.items():
        if flag in _NOT_TAKEN.get(path, ()):
            continue
        adopted = own.get(flag)
        if isinstance(adopted, TyperOption):
            adopted.help = root_param.help
            adopted.callback = _global_callback(flag, adopted.callback)
            continue
        option = copy.copy(root_param)
        option.opts = [opt for opt in root_param.opts if opt not in own]
        option.secondary_opts = []
        option.expose_value = False
        option.callback = _global_callback(flag, None)
        command.params.append(option)


def _global_callback(
    flag: str, previous: Callable[..., Any] | None
) -> Callable[["Context", "Parameter", Any], Any]:
    def callback(ctx: "Context", param: "Parameter", value: Any) -> Any:
        if previous is not None:
            value = previous(ctx, param, value)
        if value and not ctx.resilient_parsing:
            given: set[str] = ctx.meta.setdefault(_GIVEN, set())
            given.add(flag)
            if {"--verbose", "--quiet"} <= given:
                refuse_verbose_with_quiet()
            runtime = ctx.find_root().obj
            if _is_runtime(runtime):
                apply_global_option(runtime, flag)
        return value

    return callback


def record_root_options(ctx: typer.Context, flags: list[str]) -> None:
    """The global options given before the command, for the check on those given after it."""
    ctx.meta.setdefault(_GIVEN, set()).update(flags)


def _is_runtime(obj: object) -> bool:
    from paved.cli.runtime import Runtime  # the root callback imported it already

    return isinstance(obj, Runtime)


# -- metavars ----------------------------------------------------------------------------------


def _word_argument(param: TyperArgument) -> None:
    param.__class__ = WordArgument
    # the usage line adds the brackets of an optional argument itself
    param.metavar = (param.metavar or param.name or "value").upper().strip("[]{}")


def _word_option(param: TyperOption) -> None:
    if param.metavar is not None or param.is_flag or param.count:
        return
    name = param.name or "value"
    desc = param.type_descriptor
    if desc.is_path and name not in _WORDS:
        word = desc.path_type.upper()
    else:
        word = _WORDS.get(name, name.upper())
    param.metavar = word


class WordArgument(TyperArgument):
    """An argument shown by its name alone: ``NAME`` when required, ``[NAME]`` when not."""

    def _word(self) -> str:
        return self.metavar or self.name or "value"

    def _usage_display_name(self) -> str:
        word = self._word() if self.required else f"[{self._word()}]"
        return word if self.nargs == 1 else f"{word}..."

    def _rich_display_name(self) -> str:
        return self._word() if self.nargs == 1 else f"{self._word()}..."

    def display_type_rich(self, ctx: "Context") -> str | None:
        return None


def _long_flag(flags: str) -> str:
    """``--yes`` of a help record's ``-y, --yes``."""
    return next(word for word in flags.replace(",", " ").split() if word.startswith("--"))


# -- help --------------------------------------------------------------------------------------


class PavedCommand(TyperCommand):
    """A leaf command: its options, the global ones apart, then its examples as written."""

    examples: tuple[Example, ...] = ()

    def format_options(self, ctx: "Context", formatter: "HelpFormatter") -> None:
        sections: dict[str, list[tuple[str, str]]] = {
            "Arguments": [],
            "Options": [],
            "Global options": [],
        }
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if param.param_type_name == "argument":
                sections["Arguments"].append(record)
            elif set(param.opts) & set(GLOBAL_OPTIONS):
                sections["Global options"].append(record)
            else:
                sections["Options"].append(record)
        order = list(GLOBAL_OPTIONS)
        sections["Global options"].sort(key=lambda row: order.index(_long_flag(row[0])))
        for title, rows in sections.items():
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)

    def format_epilog(self, ctx: "Context", formatter: "HelpFormatter") -> None:
        super().format_epilog(ctx, formatter)
        if not self.examples:
            return
        with formatter.section("Examples"):
            for number, example in enumerate(self.examples):
                if number:
                    formatter.write("\n")
                indent = " " * formatter.current_indent
                formatter.write(f"{indent}# {example.says}\n{indent}{example.command}\n")
