"""Rendering scaffolds with copier. The only module that imports copier.

copier is imported inside the functions (it costs most of a second), and its errors are
turned into paved's own here, so that no copier name reaches the command line.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import pickle
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import CodeType
from typing import Any

from paved.errors import InputError, PavedError
from paved.locks import file_lock
from paved.scaffold.store import TemplateSource

__all__ = ["RenderError", "preload", "render", "render_all", "render_layers"]


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


def preload() -> None:
    """Start importing copier in the background, so that it is ready when rendering starts.

    The checks before rendering spend most of their time waiting for git processes; the
    import (most of a second) overlaps them. Python's import lock makes ``render`` wait for
    it to finish if it has not.
    """
    import importlib
    import threading

    threading.Thread(
        target=importlib.import_module, args=("copier",), name="paved-preload", daemon=True
    ).start()


#: Code Jinja compiled from a template's text, by the text and what shapes the compiling:
#: the same file of the same scaffold version compiles to the same code for every service.
_COMPILED: dict[tuple[Any, ...], Any] = {}

#: Names the code cache on disk by, besides each key: code is only reused by the Python and
#: the Jinja that wrote it.
_CODE_FORMAT = "paved-jinja-code-1"


def _qualified(value: object) -> object:
    """``value`` as it goes into a key: a class or function by its qualified name (their
    ``repr`` holds an address, which differs from one process to the next)."""
    if isinstance(value, type) or callable(value):
        module = getattr(value, "__module__", "?")
        return f"{module}.{getattr(value, '__qualname__', type(value).__qualname__)}"
    return value


def _code_key(env: Any, source: str, name: str | None, defer_init: bool) -> tuple[Any, ...]:
    """What the code Jinja compiles from ``source`` depends on: the text, the template's
    name (the code records it) and every setting of ``env`` that changes the code.

    Not the file name: it only names the code's file in tracebacks (:func:`_refiled`), and
    copier reads each template from a checkout of its own, whose folder differs every time.
    """
    return (
        _qualified(type(env)), source, name, defer_init, env.optimized, env.is_async,
        env.block_start_string, env.block_end_string, env.variable_start_string,
        env.variable_end_string, env.comment_start_string, env.comment_end_string,
        env.line_statement_prefix, env.line_comment_prefix, env.trim_blocks,
        env.lstrip_blocks, env.newline_sequence, env.keep_trailing_newline,
        tuple(sorted(env.extensions)), tuple(sorted(env.filters)),
        tuple(sorted(env.tests)), repr(_qualified(env.autoescape)), _qualified(env.finalize),
        _qualified(env.code_generator_class),
    )  # fmt: skip


def _refiled(code: CodeType, filename: str) -> CodeType:
    """``code`` (and the code it holds) as if compiled from the file ``filename``."""
    if code.co_filename == filename:
        return code
    consts = tuple(
        _refiled(const, filename) if isinstance(const, CodeType) else const
        for const in code.co_consts
    )
    return code.replace(co_filename=filename, co_consts=consts)


class _CodeCache:
    """The code compiled from template texts, kept in a folder across processes.

    One file per key, named by a digest of the key, the Python bytecode version and the
    Jinja version, holding the ``marshal``-ed code (as Jinja's own bytecode cache keeps
    it). Each file is written whole or not at all; one that cannot be read is compiled
    again. Keys whose settings do not print the same in every process are kept in memory
    only.
    """

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self._prefix = ""
        if folder is not None:
            import importlib.util

            import jinja2

            self._prefix = (
                f"{_CODE_FORMAT}\0{importlib.util.MAGIC_NUMBER.hex()}\0{jinja2.__version__}\0"
            )

    def _path(self, key: tuple[Any, ...]) -> Path | None:
        if self.folder is None:
            return None
        text = repr(key)
        if " at 0x" in text:  # an object without a stable name: this process only
            return None
        digest = hashlib.sha256((self._prefix + text).encode("utf-8")).hexdigest()
        return self.folder / digest[:2] / digest[2:]

    def get(self, key: tuple[Any, ...]) -> CodeType | None:
        code = _COMPILED.get(key)
        if code is not None:
            return code  # type: ignore[no-any-return]
        path = self._path(key)
        if path is None:
            return None
        try:
            # our own cache, in the data folder of the person running paved (as __pycache__)
            loaded = marshal.loads(path.read_bytes())  # noqa: S302
        except (OSError, EOFError, ValueError, TypeError):
            return None
        if not isinstance(loaded, CodeType):
            return None
        _COMPILED[key] = loaded
        return loaded

    def put(self, key: tuple[Any, ...], code: CodeType) -> None:
        _COMPILED[key] = code
        path = self._path(key)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(marshal.dumps(code))
                os.replace(tmp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError:  # a cache that cannot be written only costs the next compile
            return


@contextlib.contextmanager
def _compiled_once(folder: Path | None = None) -> Iterator[None]:
    """Keep the code Jinja compiles from each template text, for the renders that follow:
    in this process, and in ``folder`` (when given) for the processes that follow.

    Compiling is about half of a render's work in Python, and copier compiles every file's
    text (and path) from a string or from its checkout, which Jinja's own bytecode cache
    never sees. Jinja's code objects do not hold their environment (it is given when the
    template is made from the code, as Jinja's bytecode cache does), so code compiled once
    serves every environment that compiles the same text the same way: the key holds the
    text, the template's name and every setting that changes the code
    (:func:`_code_key`). The rendered output is the same bytes: only the compiling is
    skipped.
    """
    from jinja2 import Environment

    original = Environment.compile
    cache = _CodeCache(folder)

    def compile_once(  # type: ignore[no-untyped-def]
        self, source, name=None, filename=None, raw=False, defer_init=False
    ):
        if raw or not isinstance(source, str):
            return original(self, source, name, filename, raw, defer_init)
        key = _code_key(self, source, name, defer_init)
        code = cache.get(key)
        if code is None:
            code = original(self, source, name, filename, raw, defer_init)
            cache.put(key, code)
        return _refiled(code, "<template>" if filename is None else filename)

    Environment.compile = compile_once  # type: ignore[method-assign]
    try:
        yield
    finally:
        Environment.compile = original  # type: ignore[method-assign]


def render(
    source: TemplateSource,
    destination: Path,
    answers: Mapping[str, Any],
    *,
    cache_dir: Path,
    code_cache: Path | None = None,
) -> None:
    """Render ``source`` into ``destination`` with ``answers``, never prompting.

    ``code_cache`` is a folder that keeps the code Jinja compiles from the templates for
    the processes that follow (without it, only this process keeps it).
    """
    import copier  # about 0.8 s; only the commands that render pay it
    from copier.errors import CopierError
    from jinja2 import TemplateError, TemplateSyntaxError
    from plumbum import local
    from plumbum.commands.processes import ProcessExecutionError

    env = {"COPIER_CACHE_DIR": str(cache_dir), **source.git_env}
    try:
        # one copier at a time in a cache: two break each other's git worktrees in it
        with (
            file_lock(cache_dir / ".paved.lock"),
            _environ(env),
            local.env(**env),
            _compiled_once(code_cache),
        ):
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


def render_layers(
    jobs: Sequence[tuple[TemplateSource, Mapping[str, Any]]],
    destination: Path,
    *,
    cache_dir: Path,
) -> None:
    """Render several layers into one folder, in parallel where the system allows.

    The layers share no file (a test checks it), so they can be written at once.
    """
    render_all([(source, answers, destination) for source, answers in jobs], cache_dir=cache_dir)


def render_all(
    jobs: Sequence[tuple[TemplateSource, Mapping[str, Any], Path]],
    *,
    cache_dir: Path,
    fork: bool = True,
) -> None:
    """Render each job (a source, its answers, a destination), in parallel where the system
    allows. No two jobs may write the same file.

    Most of copier's time goes to git processes and Jinja, so a forked child on a second core
    saves about the time of one render. ``fork=False`` renders them one after the other, in
    this process (a fleet's workers are parallel already, and keep what Jinja compiled).
    A child is forked after copier is imported, renders one
    job, reports its error (if any) through a pipe and exits: it never outlives its work.

    The code Jinja compiles from the templates is kept under ``cache_dir/jinja-code`` for
    the commands that follow (see decision 0011): a render then compiles nothing it
    compiled before.
    """
    import copier  # noqa: F401 - imported once, before the fork

    code_cache = cache_dir / "jinja-code"

    # Each job has a copier cache of its own: two copier processes working in one cached clone
    # of the same template (its git worktrees) fail at random.
    caches = [cache_dir / f"job-{index}" for index in range(len(jobs))]
    if (
        not fork
        or len(jobs) < 2
        or not sys.platform.startswith("linux")
        or (os.cpu_count() or 1) < 2
    ):
        for (source, answers, destination), cache in zip(jobs, caches, strict=True):
            render(source, destination, answers, cache_dir=cache, code_cache=code_cache)
        return
    children = [
        _fork_render(source, answers, destination, cache, code_cache)
        for (source, answers, destination), cache in zip(jobs[1:], caches[1:], strict=True)
    ]
    source, answers, destination = jobs[0]
    try:
        render(source, destination, answers, cache_dir=caches[0], code_cache=code_cache)
    finally:
        errors = [_wait(child) for child in children]
    for error in errors:
        if error is not None:
            raise error


def _fork_render(
    source: TemplateSource,
    answers: Mapping[str, Any],
    destination: Path,
    cache_dir: Path,
    code_cache: Path | None,
) -> tuple[int, int]:
    read_end, write_end = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # the child: render, report, exit without running the parent's cleanup
        os.close(read_end)
        _die_with(parent)
        report = b""
        try:
            render(source, destination, answers, cache_dir=cache_dir, code_cache=code_cache)
        except BaseException as exc:  # noqa: BLE001 - everything goes back to the parent
            error = exc if isinstance(exc, PavedError) else RenderError(f"{source.scaffold}: {exc}")
            try:
                report = pickle.dumps(error)
            except Exception:  # noqa: BLE001
                report = pickle.dumps(RenderError(str(error)))
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(report)
        os._exit(0)
    os.close(write_end)
    return pid, read_end


def _die_with(parent: int) -> None:
    """Have the kernel kill this process when ``parent`` ends (Linux), so that a killed
    ``paved`` never leaves a child writing into a folder that the next run cleans up."""
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)


def _wait(child: tuple[int, int]) -> PavedError | None:
    pid, read_end = child
    with os.fdopen(read_end, "rb") as pipe:
        report = pipe.read()
    _, status = os.waitpid(pid, 0)
    if report:
        error = pickle.loads(report)  # noqa: S301 - our own child, through our own pipe
        return error if isinstance(error, PavedError) else RenderError(str(error))
    if os.waitstatus_to_exitcode(status) != 0:
        return RenderError("a rendering process ended unexpectedly")
    return None
