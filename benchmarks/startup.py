"""Start-up benchmark: ``paved --version`` and ``paved --help`` against a bare Typer app.

Target: each call takes at most 1.15x the same call on a bare Typer app with the same command
tree. The bare app is generated at run time from paved's own tree (found by walking Typer's
registered groups and commands): default Typer settings, the same group and command names,
the same options (names, kinds, help texts) and one trivial function per command.

Both are timed as fresh processes of this interpreter (``python -m paved ...`` against
``python baseline.py ...``), interleaved, after warm-up runs. For information it also times the
bare app with rich help turned off (as paved has it) and paved's console script (no
``runpy``), and lists the heavy modules that
``import paved.cli.app`` loads.

    python benchmarks/startup.py [--runs N] [--warmup N]

Prints PASS or FAIL on the last line and exits 0 either way: it reports, it does not gate.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TARGET = 1.15
HEAVY = ("copier", "git", "httpx", "jinja2", "fastapi", "rich", "yaml", "plumbum", "pydantic")
CALLS = ("--version", "--help")
PLAIN = "bare typer, rich help off (info)"
SCRIPT = "paved console script (info)"


# -- discovering paved's command tree ----------------------------------------------------


def _value(value: Any) -> Any:
    """Unwrap Typer's ``DefaultPlaceholder``."""
    from typer.models import DefaultPlaceholder

    return value.value if isinstance(value, DefaultPlaceholder) else value


def _params(callback: Callable[..., Any] | None) -> list[dict[str, Any]]:
    """The command-line parameters of a command function, as plain data."""
    if callback is None:
        return []
    import typer
    from typer.models import ArgumentInfo, OptionInfo
    from typer.utils import get_params_from_function

    found = []
    for name, meta in get_params_from_function(callback).items():
        annotation = meta.annotation
        if isinstance(annotation, type) and issubclass(annotation, typer.Context):
            continue
        info = meta.default
        text = str(annotation)
        kind = (
            "bool"
            if annotation is bool
            else "list"
            if "list" in text
            else "int"
            if annotation is int
            else "str"
        )
        if isinstance(info, ArgumentInfo):
            found.append(
                {
                    "name": name,
                    "param": "argument",
                    "kind": kind,
                    "required": info.default is ...,
                    "default": None if info.default is ... else info.default,
                    "help": info.help or "",
                }
            )
        elif isinstance(info, OptionInfo):
            found.append(
                {
                    "name": name,
                    "param": "option",
                    "kind": kind,
                    "decls": list(info.param_decls or ()),
                    "default": info.default,
                    "help": info.help or "",
                    "eager_callback": bool(info.is_eager and info.callback),
                }
            )
        else:  # a plain parameter: an argument without a default, else an option
            found.append(
                {
                    "name": name,
                    "param": "argument" if info is meta.empty else "option",
                    "kind": kind,
                    "required": info is meta.empty,
                    "decls": [],
                    "default": None if info is meta.empty else info,
                    "help": "",
                    "eager_callback": False,
                }
            )
    return found


def _command(info: Any) -> dict[str, Any]:
    from typer.main import get_command_name

    callback = info.callback
    return {
        "name": info.name or get_command_name(callback.__name__),
        "help": _value(info.help) or inspect.getdoc(callback) or "",
        "params": _params(callback),
    }


def _group(typer_app: Any, name: str | None, help_text: str | None) -> dict[str, Any]:
    callback_info = typer_app.registered_callback
    callback = callback_info.callback if callback_info else None
    return {
        "name": name,
        "help": help_text or _value(typer_app.info.help) or "",
        "params": _params(callback),
        "callback_help": (inspect.getdoc(callback) or "") if callback else "",
        "commands": [_command(c) for c in typer_app.registered_commands],
        "groups": [
            _group(
                g.typer_instance,
                _value(g.name) or _value(g.typer_instance.info.name),
                _value(g.help),
            )
            for g in typer_app.registered_groups
        ],
    }


def discover_tree() -> dict[str, Any]:
    """paved's command tree (groups, commands, parameters), read from its Typer app."""
    from paved.cli.app import app

    return _group(app, None, None)


def _count(tree: dict[str, Any]) -> tuple[int, int]:
    groups, commands = 0, len(tree["commands"])
    for sub in tree["groups"]:
        sub_groups, sub_commands = _count(sub)
        groups += 1 + sub_groups
        commands += sub_commands
    return groups, commands


def describe_tree(tree: dict[str, Any], prefix: str = "paved") -> list[str]:
    lines = []
    for command in tree["commands"]:
        lines.append(f"{prefix} {command['name']} ({len(command['params'])} params)")
    for sub in tree["groups"]:
        lines.extend(describe_tree(sub, f"{prefix} {sub['name']}"))
    return lines


# -- generating the bare app -------------------------------------------------------------


def _param_source(param: dict[str, Any]) -> str:
    name, kind, help_text = param["name"], param["kind"], param["help"]
    if param["param"] == "argument":
        annotation = {"bool": "bool", "int": "int", "list": "list[str]"}.get(kind, "str")
        source = f"{name}: Annotated[{annotation}, typer.Argument(help={help_text!r})]"
        return source if param["required"] else f"{source} = {param['default']!r}"
    decls = "".join(f"{d!r}, " for d in param["decls"])
    extra = ", is_eager=True, callback=_version" if param["eager_callback"] else ""
    option = f"typer.Option({decls}help={help_text!r}{extra})"
    default = param["default"]
    if kind == "bool":
        return f"{name}: Annotated[bool, {option}] = {bool(default)!r}"
    if kind == "list":
        return f"{name}: Annotated[list[str] | None, {option}] = None"
    if kind == "int" and isinstance(default, int):
        return f"{name}: Annotated[int, {option}] = {default!r}"
    if isinstance(default, str):
        return f"{name}: Annotated[str, {option}] = {default!r}"
    return f"{name}: Annotated[str | None, {option}] = None"


def _function_source(decorator: str, name: str, params: list[dict[str, Any]], doc: str) -> str:
    args = "".join(f"    {_param_source(p)},\n" for p in params)
    signature = f"(\n{args})" if args else "()"
    return f"@{decorator}\ndef {name}{signature} -> None:\n    {doc!r}\n\n"


def baseline_source(tree: dict[str, Any], *, rich_help: bool = True) -> str:
    """A bare Typer app with ``tree``'s groups, commands and options; default settings."""
    settings = "" if rich_help else ", rich_markup_mode=None"
    lines = [
        '"""A bare Typer app with paved\'s command tree (generated by benchmarks/startup.py)."""',
        "",
        "from typing import Annotated",
        "",
        "import typer",
        "",
        f"app = typer.Typer(help={tree['help']!r}{settings})",
        "",
        "",
        "def _version(value: bool) -> None:",
        "    if value:",
        '        typer.echo("baseline 0.0.0")',
        "        raise typer.Exit(0)",
        "",
        "",
    ]
    counter = iter(range(1_000_000))

    def emit(group: dict[str, Any], var: str) -> None:
        if group["params"] or group["callback_help"]:
            lines.append(
                _function_source(
                    f"{var}.callback()",
                    f"callback_{next(counter)}",
                    group["params"],
                    group["callback_help"] or "The group.",
                )
            )
        for command in group["commands"]:
            lines.append(
                _function_source(
                    f"{var}.command({command['name']!r})",
                    f"command_{next(counter)}",
                    command["params"],
                    command["help"] or "A command.",
                )
            )
        for sub in group["groups"]:
            sub_var = f"group_{next(counter)}"
            lines.append(f"{sub_var} = typer.Typer(help={sub['help']!r}{settings})")
            lines.append(f"{var}.add_typer({sub_var}, name={sub['name']!r})\n\n")
            emit(sub, sub_var)

    emit(tree, "app")
    lines.append('if __name__ == "__main__":\n    app()\n')
    return "\n".join(lines)


# -- measuring -----------------------------------------------------------------------------


def run_once(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = (time.perf_counter() - start) * 1000
    if proc.returncode != 0:
        sys.stderr.write(
            f"command failed (exit {proc.returncode}): {' '.join(cmd)}\n{proc.stderr}{proc.stdout}"
        )
        raise SystemExit(1)
    return elapsed, proc.stdout


def heavy_modules(env: dict[str, str], cwd: Path) -> tuple[list[str], int]:
    code = (
        "import json, sys\n"
        "import paved.cli.app\n"
        f"heavy = {HEAVY!r}\n"
        "print(json.dumps([[m for m in heavy if m in sys.modules], len(sys.modules)]))\n"
    )
    _, out = run_once([sys.executable, "-c", code], env, cwd)
    loaded, count = json.loads(out)
    return loaded, count


def slowest_imports(
    env: dict[str, str], cwd: Path, *, repeat: int = 7, top: int = 8
) -> list[tuple[float, float, str]]:
    """The slowest imports of ``python -X importtime -m paved --version``, plus paved's own.

    Medians over ``repeat`` runs of (self, cumulative) microseconds, slowest last: the ``top``
    largest cumulative times, and every ``paved`` module above 0.3 ms.
    """
    times: dict[str, list[tuple[int, int]]] = {}
    for _ in range(repeat):
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "paved", "--version"],
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
        )
        for line in proc.stderr.splitlines():
            parts = line.removeprefix("import time:").split("|")
            if len(parts) == 3 and parts[0].strip().isdigit():
                times.setdefault(parts[2].rstrip(), []).append((int(parts[0]), int(parts[1])))
    rows = [
        (
            statistics.median(t[0] for t in samples),
            statistics.median(t[1] for t in samples),
            module,
        )
        for module, samples in times.items()
    ]
    rows.sort(key=lambda r: r[1])
    chosen = rows[-top:] + [
        r for r in rows[:-top] if r[2].strip().startswith("paved") and r[1] >= 300
    ]
    return sorted(chosen, key=lambda r: r[1])


def _fmt(samples: list[float]) -> str:
    return f"median {statistics.median(samples):7.1f} ms   min {min(samples):7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=40, help="timed runs per variant and call")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs per variant first")
    args = parser.parse_args()

    tree = discover_tree()
    groups, commands = _count(tree)

    with tempfile.TemporaryDirectory(prefix="paved-bench-startup-") as tmp:
        root = Path(tmp)
        home = root / "paved-home"
        home.mkdir()
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("PYTHON", "PAVED_", "TYPER_", "_TYPER"))
        }
        env.update({"PAVED_HOME": str(home), "COLUMNS": "100", "NO_COLOR": "1"})
        baseline = root / "baseline.py"
        baseline.write_text(baseline_source(tree), encoding="utf-8")
        plain = root / "baseline_plain_help.py"
        plain.write_text(baseline_source(tree, rich_help=False), encoding="utf-8")

        variants = {
            "paved": [sys.executable, "-m", "paved"],
            "bare typer": [sys.executable, str(baseline)],
            PLAIN: [sys.executable, str(plain)],
        }
        script = Path(sys.executable).parent / "paved"
        if script.is_file():
            variants[SCRIPT] = [sys.executable, str(script)]
        # Sanity: every variant answers every call.
        for name, cmd in variants.items():
            for call in CALLS:
                _, out = run_once([*cmd, call], env, root)
                if not out.strip():
                    raise SystemExit(f"{name} {call} printed nothing")

        samples: dict[tuple[str, str], list[float]] = {
            (call, name): [] for call in CALLS for name in variants
        }
        for round_ in range(args.warmup + args.runs):
            for call in CALLS:
                for name, cmd in variants.items():  # interleaved: A, B, C, A, B, C, ...
                    elapsed, _ = run_once([*cmd, call], env, root)
                    if round_ >= args.warmup:
                        samples[(call, name)].append(elapsed)

        loaded, module_count = heavy_modules(env, root)
        imports = slowest_imports(env, root)

    print(
        f"startup: paved vs a bare Typer app with the same tree ({groups} groups, "
        f"{commands} commands); {args.runs} runs each, interleaved, after {args.warmup} "
        f"warm-up runs; {sys.executable}"
    )
    for line in describe_tree(tree):
        print(f"  {line}")
    ratios = {}
    for call in CALLS:
        print(f"\n{call}")
        for name in variants:
            print(f"  {name:34} {_fmt(samples[(call, name)])}")
        paved = statistics.median(samples[(call, "paved")])
        bare = statistics.median(samples[(call, "bare typer")])
        plain_bare = statistics.median(samples[(call, PLAIN)])
        ratios[call] = paved / bare
        print(f"  ratio paved / bare typer           {ratios[call]:.3f}x   (target <= {TARGET}x)")
        print(f"  ratio paved / bare, rich help off  {paved / plain_bare:.3f}x   (information)")
        if SCRIPT in variants:
            script_median = statistics.median(samples[(call, SCRIPT)])
            print(
                f"  ratio console script / bare typer  {script_median / bare:.3f}x   (information)"
            )

    print(f"\nafter 'import paved.cli.app' ({module_count} modules loaded):")
    print(f"  heavy modules loaded: {', '.join(loaded) if loaded else 'none'}")
    print(f"  not loaded: {', '.join(m for m in HEAVY if m not in loaded)}")
    print(
        "slowest imports of 'python -X importtime -m paved --version', and paved's own "
        "(median us of 7 runs; importtime inflates them):"
    )
    for self_us, cumulative_us, module in reversed(imports):
        print(f"  {cumulative_us:8.0f} (self {self_us:6.0f}) {module}")

    passed = all(ratio <= TARGET for ratio in ratios.values())
    summary = ", ".join(f"{call} {ratio:.3f}x" for call, ratio in ratios.items())
    print(f"\n{summary} (target <= {TARGET}x)")
    print("PASS" if passed else "FAIL")


if __name__ == "__main__":
    main()
