"""What paved's packages and modules export is exactly what their ``__all__`` names.

A name in ``__all__`` must exist; a public class or function a module defines must be in its
``__all__`` (or start with ``_``). Tests and other packages then import the public surface,
never a private module, and a newcomer reads a package's contract in one place. The command
modules under ``paved.cli`` and the routers under ``paved.server.routes`` are left out: their
interface is the command line and HTTP (``tests/cli``, ``tests/server``); what the commands
share (``common``, ``runtime``, ``output``) is a module interface.
"""

from __future__ import annotations

import importlib
import pkgutil
import types

import pytest

import paved

_CLI_SHARED = {"paved.cli.common", "paved.cli.output", "paved.cli.runtime"}


def _modules() -> list[str]:
    found = []
    for info in pkgutil.walk_packages(paved.__path__, "paved."):
        name = info.name
        private = any(part.startswith("_") for part in name.split(".")[1:])
        command = name.startswith("paved.cli") and name not in _CLI_SHARED
        command = command or name.startswith("paved.server.routes.")
        if private or command or ".migrations" in name or name == "paved.__main__":
            continue
        found.append(name)
    return sorted(found)


MODULES = _modules()


def test_the_public_modules_are_found() -> None:
    assert {"paved.cli.common", "paved.deploy", "paved.gitcmd", "paved.server"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_exported_members(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{name} has no __all__"
    missing = [member for member in exported if not hasattr(module, member)]
    assert missing == [], f"{name}.__all__ names what it does not have"
    public = {
        member
        for member, value in vars(module).items()
        if not member.startswith("_")
        and isinstance(value, type | types.FunctionType)
        and value.__module__ == name
    }
    assert sorted(public - set(exported)) == [], f"{name} defines public names not in __all__"
