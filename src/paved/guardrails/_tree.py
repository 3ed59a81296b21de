"""A service's working tree, read once: every rule reads this object, never the disk.

Files are listed once (``git ls-files --cached --others --exclude-standard`` in a git
repository: the files git tracks or would commit, untracked ones such as copier's ``.rej``
files included; otherwise every file but VCS, virtual-environment and cache folders). Symbolic
links are listed too, and never followed out of the service: a file that resolves outside the
root reads as unreadable (:attr:`ServiceTree.links_outside` names them for PAVED-REPO-006).
Each file is parsed at most once, on first use, by the parser its format calls for (YAML with
lines, JSON, HCL, Python AST); Terraform parsed in an earlier run is read from the parse cache
when the tree has one (:mod:`paved.guardrails._cache`, by content). Each kustomize overlay is
built at most once, all of them in parallel, with the limits of :mod:`paved.kustomize`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import Any

from paved.gitcmd import list_files
from paved.guardrails._cache import ParseCache, same_value
from paved.guardrails._model import Violation, Waiver, glob_match
from paved.guardrails._yaml import LineDict, YamlError, load_all
from paved.kustomize import Builder, builder
from paved.service.layout import APP_ANSWERS, ROAD_ANSWERS, SKIP_DIRS

__all__ = ["WAIVERS_FILE", "K8sObject", "Overlay", "ServiceTree"]

WAIVERS_FILE = ".paved/waivers.yaml"
_KUSTOMIZATION = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_MAX_TEXT = 1_000_000


@dataclasses.dataclass(frozen=True)
class K8sObject:
    """A Kubernetes object as deployed: from a rendered overlay, mapped back to its source."""

    doc: Mapping[str, Any]
    #: The overlay directory it was rendered from, or "" for a plain manifest.
    overlay: str
    #: The source file and document when they could be found, else the overlay directory.
    file: str
    source: Mapping[str, Any] | None

    @property
    def kind(self) -> str:
        return str(self.doc.get("kind", ""))

    @property
    def name(self) -> str:
        meta = self.doc.get("metadata")
        return str(meta.get("name", "")) if isinstance(meta, Mapping) else ""


@dataclasses.dataclass(frozen=True)
class Overlay:
    path: str
    objects: tuple[Mapping[str, Any], ...]
    error: str | None


class ServiceTree:
    """One service's files, each read and parsed once, for the rules to consume."""

    def __init__(
        self,
        root: Path,
        *,
        today: dt.date,
        env: Mapping[str, str],
        files: Sequence[str] | None = None,
        kustomize: Builder | None = None,
        cache: ParseCache | None = None,
    ) -> None:
        self.root = root
        #: Where parsed Terraform is kept between runs, by content (None: parse each run).
        self._cache = cache
        self.today = today
        listed = files if files is not None else _list(root, env)
        self.files: tuple[str, ...] = tuple(sorted(listed))
        self._kustomize = kustomize or builder(env)
        self._lock = threading.Lock()
        self._builds: list[Future[tuple[str, str | None]]] | None = None
        self._text: dict[str, str | None] = {}
        self._yaml: dict[str, list[Any]] = {}
        self._hcl: dict[str, dict[str, Any]] = {}
        self._parsed: dict[str, tuple[dict[str, Any], str | None]] = {}
        self._python: dict[str, Any] = {}
        #: file -> why it could not be parsed.
        self.parse_errors: dict[str, str] = {}
        #: The ids of the rules no waiver can waive in this run (the engine sets them).
        self.unwaivable: frozenset[str] = frozenset()

    # -- files -------------------------------------------------------------------------

    def exists(self, path: str) -> bool:
        return path in self._file_set

    @functools.cached_property
    def _file_set(self) -> frozenset[str]:
        return frozenset(self.files)

    def glob(self, pattern: str) -> list[str]:
        """The listed files matching a glob (``**`` crosses folders)."""
        return [f for f in self.files if glob_match(f, pattern)]

    def under(self, folder: str) -> list[str]:
        prefix = folder.rstrip("/") + "/"
        return [f for f in self.files if f.startswith(prefix)]

    def text(self, path: str) -> str | None:
        """The file's text; None for a binary, unreadable or very large file, or one outside.

        A path that resolves outside the root (a symbolic link out of the service, or a path
        with ``..``) is never opened.
        """
        if path not in self._text:
            self._text[path] = _read_text(self.root / path) if self.inside(path) else None
        return self._text[path]

    @functools.cached_property
    def _real_root(self) -> str:
        return os.path.realpath(self.root)

    def inside(self, path: str) -> bool:
        """Does ``path`` (relative to the root) resolve, links followed, inside the root?"""
        real = os.path.realpath(self.root / path)
        return real == self._real_root or real.startswith(self._real_root.rstrip(os.sep) + os.sep)

    @functools.cached_property
    def links_outside(self) -> dict[str, str]:
        """Listed files that resolve outside the root: path -> where the link points."""
        found = {}
        for path in self.files:
            if not self.inside(path):
                full = self.root / path
                try:
                    found[path] = os.readlink(full) if full.is_symlink() else os.path.realpath(full)
                except OSError:
                    found[path] = os.path.realpath(full)
        return found

    # -- parsed formats ----------------------------------------------------------------

    def yaml(self, path: str) -> list[Any]:
        """The documents of a YAML (or JSON) file, with lines; [] when it does not parse."""
        if path not in self._yaml:
            text = self.text(path)
            docs: list[Any] = []
            if text is not None:
                try:
                    docs = load_all(text)
                except YamlError as exc:
                    self.parse_errors[path] = _one_line(str(exc))
            self._yaml[path] = docs
        return self._yaml[path]

    def json(self, path: str) -> Any:
        """A JSON document (read by the YAML reader, for its lines; ``json`` as the fallback)."""
        docs = self.yaml(path)
        if docs:
            return docs[0]
        if path in self.parse_errors and (text := self.text(path)) is not None:
            try:
                value = json.loads(text)
            except ValueError as exc:
                self.parse_errors[path] = _one_line(str(exc))
                return None
            del self.parse_errors[path]
            self._yaml[path] = [value]
            return value
        return None

    def hcl(self, path: str) -> dict[str, Any]:
        """A Terraform file as python-hcl2 reads it (quotes stripped, blocks as lists)."""
        if path not in self._hcl:
            text = self.text(path)
            value: dict[str, Any] = {}
            if text is not None:
                value, error = self.parse_hcl(text)
                if error is not None:
                    self.parse_errors[path] = error
            self._hcl[path] = value
        return self._hcl[path]

    def parse_hcl(self, text: str) -> tuple[dict[str, Any], str | None]:
        """``text`` parsed by python-hcl2: (the value, None) or ({}, why it does not parse).

        Kept in the parse cache by content, when the tree has one: a text parsed once is
        never parsed again, in this run or the next (:mod:`paved.guardrails._cache`).
        """
        if text in self._parsed:
            return self._parsed[text]
        self._parsed[text] = found = self._parse_hcl_text(text)
        return found

    def _parse_hcl_text(self, text: str) -> tuple[dict[str, Any], str | None]:
        cache = self._cache
        name = cache.name("hcl2", _HCL_LIBRARIES, _HCL_OPTIONS, text) if cache else None
        if cache is not None and name is not None:
            found = cache.get(name)
            if found is not None:
                kept = _hcl_payload(found)
                if kept is not None:
                    return kept
        value, error = _parse_hcl(text)
        if cache is not None and name is not None:
            payload: dict[str, Any] = {"value": value} if error is None else {"error": error}
            if _reads_back(payload):
                cache.put(name, payload)
        return value, error

    def python(self, path: str) -> Any:
        """A Python module's AST, or None when it does not parse."""
        if path not in self._python:
            import ast

            text = self.text(path)
            tree = None
            if text is not None:
                try:
                    tree = ast.parse(text, filename=path)
                except SyntaxError as exc:
                    self.parse_errors[path] = f"line {exc.lineno}: {exc.msg}"
            self._python[path] = tree
        return self._python[path]

    # -- answers and waivers -----------------------------------------------------------

    @functools.cached_property
    def answers(self) -> Mapping[str, Any]:
        """The copier answers, the road layer's over the app layer's."""
        merged: dict[str, Any] = {}
        for path in (APP_ANSWERS, ROAD_ANSWERS):
            if self.exists(path) or (self.root / path).is_file():
                docs = self.yaml(path)
                if docs and isinstance(docs[0], Mapping):
                    merged.update(docs[0])
        return merged

    def answer_list(self, key: str) -> list[str]:
        value = self.answers.get(key)
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        if isinstance(value, list):
            return [str(v) for v in value]
        return []

    @property
    def exposure(self) -> str:
        return str(self.answers.get("exposure", "public"))

    @functools.cached_property
    def _waivers(self) -> tuple[tuple[Waiver, ...], tuple[Violation, ...]]:
        from paved.guardrails._waivers import read_waivers

        if not (self.exists(WAIVERS_FILE) or os.path.lexists(self.root / WAIVERS_FILE)):
            return (), ()
        if self.text(WAIVERS_FILE) is None:
            if not self.inside(WAIVERS_FILE):
                return (), ()  # never read (PAVED-REPO-006 names the link when it is listed)
            problem = "the waivers file cannot be read (not a file, binary, or over 1 MB)"
            return (), (Violation(problem, WAIVERS_FILE),)
        docs = self.yaml(WAIVERS_FILE)
        if WAIVERS_FILE in self.parse_errors:
            return (), ()  # PAVED-REPO-002 reports the syntax error
        return read_waivers(docs, WAIVERS_FILE)

    @property
    def waivers(self) -> tuple[Waiver, ...]:
        """The valid waivers of ``.paved/waivers.yaml``, active and expired."""
        return self._waivers[0]

    @property
    def waiver_problems(self) -> tuple[Violation, ...]:
        """Each entry of ``.paved/waivers.yaml`` that is not a valid waiver (it waives nothing)."""
        return self._waivers[1]

    # -- Kubernetes --------------------------------------------------------------------

    @functools.cached_property
    def kustomize_dirs(self) -> tuple[str, ...]:
        """The overlays under k8s/overlays/; without any, the other kustomize folders.

        A kustomization file that links outside the service is not built (PAVED-REPO-006).
        """
        dirs = sorted(
            str(PurePosixPath(f).parent)
            for f in self.under("k8s")
            if PurePosixPath(f).name in _KUSTOMIZATION and f not in self.links_outside
        )
        overlays = [d for d in dirs if d.startswith("k8s/overlays/")]
        return tuple(overlays or dirs)

    def prefetch(self) -> None:
        """Start the overlay builds now, so they run while the rules parse other files."""
        with self._lock:
            if self._builds is None and self.kustomize_dirs:
                pool = ThreadPoolExecutor(max_workers=max(1, min(8, len(self.kustomize_dirs))))
                self._builds = [
                    pool.submit(self._kustomize, self.root / d) for d in self.kustomize_dirs
                ]
                pool.shutdown(wait=False)

    @functools.cached_property
    def overlays(self) -> tuple[Overlay, ...]:
        """Every overlay built once, in parallel."""
        dirs = self.kustomize_dirs
        self.prefetch()
        built = [future.result() for future in self._builds or []]
        result = []
        for directory, (output, error) in zip(dirs, built, strict=True):
            objects: list[Mapping[str, Any]] = []
            if error is None:
                try:
                    objects = [d for d in load_all(output) if isinstance(d, Mapping)]
                except YamlError as exc:
                    error = f"its output does not parse: {_one_line(str(exc))}"
            result.append(Overlay(directory, tuple(objects), error))
        return tuple(result)

    @functools.cached_property
    def _k8s_sources(self) -> list[tuple[str, LineDict]]:
        sources: list[tuple[str, LineDict]] = []
        for path in self.under("k8s"):
            if path.endswith((".yaml", ".yml")) and PurePosixPath(path).name not in _KUSTOMIZATION:
                sources.extend((path, d) for d in self.yaml(path) if isinstance(d, LineDict))
        return sources

    def _source_of(self, doc: Mapping[str, Any]) -> tuple[str, LineDict] | None:
        kind, name = doc.get("kind"), _name(doc)
        same_kind = [(f, d) for f, d in self._k8s_sources if d.get("kind") == kind]
        for candidates in (
            [(f, d) for f, d in same_kind if _name(d) == name],
            [(f, d) for f, d in same_kind if _name(d) and _name(d) in name],
            same_kind if len(same_kind) == 1 else [],
        ):
            if candidates:
                return candidates[0]
        return None

    @functools.cached_property
    def k8s_objects(self) -> tuple[K8sObject, ...]:
        """What would be deployed: each overlay's objects, or the plain manifests."""
        if not self.kustomize_dirs:
            return tuple(K8sObject(d, "", f, d) for f, d in self._k8s_sources)
        objects = []
        for overlay in self.overlays:
            for doc in overlay.objects:
                found = self._source_of(doc)
                file, source = found if found else (overlay.path, None)
                objects.append(K8sObject(doc, overlay.path, file, source))
        return tuple(objects)


#: What a parse of Terraform depends on besides the text (part of its cache entry's name).
_HCL_LIBRARIES = ("python-hcl2", "lark")
_HCL_OPTIONS = "strip_string_quotes=True explicit_blocks=False with_comments=False"


def _parse_hcl(text: str) -> tuple[dict[str, Any], str | None]:
    import hcl2  # only when a service has Terraform that is not in the cache

    options = hcl2.SerializationOptions(
        strip_string_quotes=True, explicit_blocks=False, with_comments=False
    )
    try:
        return hcl2.loads(text, serialization_options=options), None
    except Exception as exc:  # noqa: BLE001 - lark raises many kinds
        return {}, _one_line(str(exc))


def _reads_back(payload: dict[str, Any]) -> bool:
    """Does ``payload`` read back from JSON exactly as it is (types and key order included)?"""
    try:
        return same_value(json.loads(json.dumps(payload)), payload)
    except (TypeError, ValueError, RecursionError):
        return False


def _hcl_payload(found: Mapping[str, Any]) -> tuple[dict[str, Any], str | None] | None:
    """A cache entry's (value, error), or None when it is not one paved writes."""
    if set(found) == {"value"} and isinstance(found["value"], dict):
        return found["value"], None
    if set(found) == {"error"} and isinstance(found["error"], str):
        return {}, found["error"]
    return None


def _name(doc: Mapping[str, Any]) -> str:
    meta = doc.get("metadata")
    return str(meta.get("name", "")) if isinstance(meta, Mapping) else ""


def _one_line(message: str) -> str:
    return " ".join(message.split())


def _read_text(path: Path) -> str | None:
    try:
        with path.open("rb") as handle:
            data = handle.read(_MAX_TEXT + 1)
    except OSError:
        return None
    if len(data) > _MAX_TEXT or b"\0" in data[:8192]:
        return None
    return data.decode("utf-8", errors="replace")


def _list(root: Path, env: Mapping[str, str]) -> list[str]:
    names = list_files(root, env) if (root / ".git").exists() else None
    if names is not None:
        return [name for name in names if _listed(root / name)]
    return list(_walk(root, root))


def _listed(path: Path) -> bool:
    """A file, or a symbolic link (to anything: the rules decide whether it may be read)."""
    return path.is_symlink() or path.is_file()


def _walk(root: Path, folder: Path) -> Iterator[str]:
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if entry.is_dir(follow_symlinks=False):
            if entry.name not in SKIP_DIRS:
                yield from _walk(root, Path(entry.path))
        elif entry.is_file(follow_symlinks=False) or entry.is_symlink():
            yield Path(entry.path).relative_to(root).as_posix()
