"""Rendering scaffolds with copier. The only module that imports copier.

copier is imported inside the functions (it costs most of a second), and its errors are
turned into paved's own here, so that no copier name reaches the command line.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from paved.errors import InputError, PavedError
from paved.scaffold.store import TemplateSource

__all__ = ["RenderError", "render"]


class RenderError(PavedError):
    """copier could not render a scaffold."""


@contextlib.contextmanager
def _environ(values: Mapping[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def render(
    source: TemplateSource,
    destination: Path,
    answers: Mapping[str, Any],
    *,
    cache_dir: Path,
) -> None:
    """Render ``source`` into ``destination`` with ``answers``, never prompting."""
    import copier  # noqa: PLC0415 - about 0.8 s; only the commands that render pay it
    from copier.errors import CopierError  # noqa: PLC0415
    from jinja2 import TemplateError, TemplateSyntaxError  # noqa: PLC0415
    from plumbum import local  # noqa: PLC0415
    from plumbum.commands.processes import ProcessExecutionError  # noqa: PLC0415

    env = {"COPIER_CACHE_DIR": str(cache_dir), **source.git_env}
    try:
        with _environ(env), local.env(**env):
            copier.run_copy(
                source.url,
                destination,
                data=dict(answers),
                vcs_ref=source.ref,
                defaults=True,
                overwrite=False,
                quiet=True,
                unsafe=False,
            )
    except ValueError as exc:  # a validator in copier.yml refused an answer
        raise InputError(f"scaffold {source.scaffold} refused an answer: {exc}") from exc
    except ProcessExecutionError as exc:
        detail = (exc.stderr or "").strip().splitlines()
        raise RenderError(
            f"scaffold {source.scaffold} could not be fetched from {source.url}"
            f" ({detail[-1] if detail else 'git failed'})",
            hint="if the template store is damaged, remove the 'templates' folder in the "
            "paved data directory and run the command again: it is rebuilt",
        ) from exc
    except TemplateSyntaxError as exc:
        where = f"{Path(exc.filename).name}:{exc.lineno}" if exc.filename else f"line {exc.lineno}"
        raise RenderError(
            f"scaffold {source.scaffold} has a template error in {where} ({exc.message})",
            hint="report it to the scaffold's owners",
        ) from exc
    except TemplateError as exc:
        raise RenderError(f"scaffold {source.scaffold} could not be rendered ({exc})") from exc
    except OSError as exc:
        raise RenderError(
            f"scaffold {source.scaffold} could not be written to {destination} ({exc.strerror})"
        ) from exc
    except CopierError as exc:
        raise RenderError(f"scaffold {source.scaffold} could not be rendered: {exc}") from exc
