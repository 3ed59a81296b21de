"""Parsed files kept between runs, by content: a cache that is read as input, never trusted.

Parsing Terraform with python-hcl2 (a lark grammar) is most of the pure-Python work of a
guardrails check; the same files are parsed again by every ``paved guardrails check``,
``paved doctor`` and deploy gate. So each parse is kept in paved's cache folder, under a name
that is the sha256 of everything the result depends on: this cache's format version, the
parser's name and the versions of the libraries that parse (python-hcl2 and lark), the
options, and the text itself. A file whose text changes has another name; an entry is never
updated, only written whole or not at all.

The cache folder is input like a service's files. A cache restored from elsewhere (a CI cache
written by another branch's job, a copied home folder) or a file that is truncated, damaged or
made by hand must never crash a check or change what it finds. So:

- each entry carries an HMAC-SHA256 of its name and contents under a key kept in paved's
  *data* folder, not in the cache folder: an entry written without that key is a miss;
- an entry is read only when it is a regular file (never through a symbolic link, never a
  FIFO that would block), at most :data:`MAX_ENTRY_BYTES` long, whose first line names the
  format and the entry, whose MAC matches, and whose contents have the shape paved writes;
  anything else is a miss, and the next parse writes the entry again;
- an entry is written to a temporary file in the same folder and moved into place with
  ``os.replace``, so a reader sees a whole entry or none; a write that fails only costs time;
- the folder is bounded: beyond :data:`MAX_ENTRIES` entries or :data:`MAX_BYTES` bytes the
  least recently used go first (a hit refreshes an entry's time at most once an hour).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import json
import os
import re
import stat
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "FORMAT",
    "MAX_BYTES",
    "MAX_ENTRIES",
    "MAX_ENTRY_BYTES",
    "ParseCache",
    "same_value",
]

#: Changes whenever what an entry holds or how it is named changes.
FORMAT = 1
MAX_ENTRIES = 2000
MAX_BYTES = 64 << 20
#: An entry longer than this is neither written nor read (a service file is at most 1 MB).
MAX_ENTRY_BYTES = 8 << 20
_KEY_BYTES = 32
_HEADER = re.compile(rb"paved-parse-cache (\d+) ([0-9a-f]{64}) ([0-9a-f]{64})\n")
_SUFFIX = ".entry"
#: A hit refreshes the entry's time (for pruning) when it is older than this, in seconds.
_TOUCH_AFTER = 3600
#: A temporary file older than this was left by a writer that died; it is removed.
_STALE_TMP = 3600


def same_value(a: Any, b: Any) -> bool:
    """Are ``a`` and ``b`` the same JSON-shaped value, types and key order included?

    ``1 == 1.0 == True`` in Python, but a rule may tell them apart: a parse is kept only when
    reading it back gives exactly what the parser gave.
    """
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and a != a:  # NaN
        return bool(b != b)
    return bool(a == b)


@functools.cache
def _library_versions(*names: str) -> str | None:
    """``name version`` of each distribution, or ``None`` when one is not installed."""
    from importlib import metadata

    try:
        return "; ".join(f"{name} {metadata.version(name)}" for name in names)
    except metadata.PackageNotFoundError:
        return None


class ParseCache:
    """Parse results by content, in ``folder``, signed with the key in ``key_file``."""

    def __init__(
        self,
        folder: Path,
        key_file: Path,
        *,
        max_entries: int = MAX_ENTRIES,
        max_bytes: int = MAX_BYTES,
        read_only: bool = False,
    ) -> None:
        self.folder = folder
        #: Read entries, never write one (nor the key): a dry run leaves no trace.
        self.read_only = read_only
        self.key_file = key_file
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._secret: bytes | None = None
        self._broken = False
        #: What this process found: hits, misses (absent or refused entries) and writes.
        self.stats = {"hits": 0, "misses": 0, "refused": 0, "written": 0}

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, read_only: bool = False) -> ParseCache | None:
        """The cache in paved's folders as ``env`` names them; ``None`` when it names no home.

        The folders are resolved as :meth:`paved.config.Paths.from_env` resolves them
        (``PAVED_HOME``, else the XDG folders, else ``~/.cache`` and ``~/.local/share``), which
        the guardrails may not import: a test holds the two to the same answers.
        """
        found = _folders(env)
        if found is None:
            return None
        cache_dir, data_dir = found
        return cls(cache_dir / "guardrails" / "parsed", data_dir / "cache.key", read_only=read_only)

    # -- names ---------------------------------------------------------------------------

    def name(self, parser: str, libraries: tuple[str, ...], options: str, text: str) -> str | None:
        """The entry name of ``text`` parsed by ``parser`` (with ``libraries`` installed)."""
        versions = _library_versions(*libraries)
        if versions is None:
            return None
        digest = hashlib.sha256()
        for part in (f"format {FORMAT}", parser, versions, options, sys.version.split()[0]):
            digest.update(part.encode("utf-8") + b"\0")
        digest.update(text.encode("utf-8", errors="surrogatepass"))
        return digest.hexdigest()

    # -- reading -------------------------------------------------------------------------

    def get(self, name: str) -> Mapping[str, Any] | None:
        """The payload stored under ``name``, or ``None`` (absent, damaged, or not signed)."""
        secret = self._key()
        if secret is None:
            return None
        path = self.folder / f"{name}{_SUFFIX}"
        data = _read_regular(path, MAX_ENTRY_BYTES)
        if data is None:
            self.stats["misses"] += 1
            return None
        payload = self._verified(secret, name, data)
        if payload is None:
            self.stats["refused"] += 1
            return None
        self.stats["hits"] += 1
        if not self.read_only:
            self._touch(path)
        return payload

    def _verified(self, secret: bytes, name: str, data: bytes) -> Mapping[str, Any] | None:
        end = data.find(b"\n") + 1
        header = _HEADER.fullmatch(data[:end]) if end else None
        if header is None or int(header[1]) != FORMAT or header[2].decode() != name:
            return None
        body = data[end:]
        if not hmac.compare_digest(header[3].decode(), _mac(secret, name, body)):
            return None
        try:
            payload = json.loads(body.decode("utf-8"))
        except (ValueError, RecursionError):
            return None
        return payload if isinstance(payload, dict) else None

    def _touch(self, path: Path) -> None:
        with contextlib.suppress(OSError):
            if time.time() - path.stat().st_mtime > _TOUCH_AFTER:
                os.utime(path)

    # -- writing -------------------------------------------------------------------------

    def put(self, name: str, payload: Mapping[str, Any]) -> bool:
        """Store ``payload`` (JSON-shaped) under ``name``; False when it was not kept."""
        if self.read_only:
            return False
        secret = self._key()
        if secret is None:
            return False
        try:
            body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        except (TypeError, ValueError, RecursionError):
            return False
        header = f"paved-parse-cache {FORMAT} {name} {_mac(secret, name, body)}\n".encode()
        if len(header) + len(body) > MAX_ENTRY_BYTES:
            return False
        if not _write_atomic(self.folder, f"{name}{_SUFFIX}", header + body):
            return False
        self.stats["written"] += 1
        self._prune()
        return True

    def _prune(self) -> None:
        """Keep the folder within its bounds: the least recently used entries go first."""
        entries: list[tuple[float, int, str]] = []
        now = time.time()
        try:
            with os.scandir(self.folder) as listing:
                for entry in listing:
                    with contextlib.suppress(OSError):
                        info = entry.stat(follow_symlinks=False)
                        if entry.name.endswith(_SUFFIX):
                            entries.append((info.st_mtime, info.st_size, entry.name))
                        elif entry.name.startswith(".tmp-") and now - info.st_mtime > _STALE_TMP:
                            os.unlink(entry.path)
        except OSError:
            return
        total = sum(size for _, size, _ in entries)
        if len(entries) <= self.max_entries and total <= self.max_bytes:
            return
        entries.sort()
        keep_entries, keep_bytes = self.max_entries * 3 // 4, self.max_bytes * 3 // 4
        count = len(entries)
        for _, size, file in entries:
            if count <= keep_entries and total <= keep_bytes:
                break
            with contextlib.suppress(OSError):
                os.unlink(self.folder / file)
            count, total = count - 1, total - size

    # -- the key -------------------------------------------------------------------------

    def _key(self) -> bytes | None:
        """The signing key, made on first use; ``None`` when it cannot be read or made."""
        if self._secret is None and not self._broken:
            self._secret = _read_regular(self.key_file, _KEY_BYTES + 1)
            if self.read_only and self._secret is not None and len(self._secret) != _KEY_BYTES:
                self._secret = None
            elif not self.read_only and (self._secret is None or len(self._secret) != _KEY_BYTES):
                made = os.urandom(_KEY_BYTES)
                # First writer wins: another paved may make it at the same time.
                if _write_atomic(self.key_file.parent, self.key_file.name, made, replace=False):
                    self._secret = made
                else:
                    self._secret = _read_regular(self.key_file, _KEY_BYTES + 1)
                    if self._secret is not None and len(self._secret) != _KEY_BYTES:
                        # a damaged key: replace it (the entries it signed become misses)
                        replaced = _write_atomic(self.key_file.parent, self.key_file.name, made)
                        self._secret = made if replaced else None
            self._broken = self._secret is None
        return self._secret


def _folders(env: Mapping[str, str]) -> tuple[Path, Path] | None:
    """(paved's cache folder, its data folder) as ``env`` names them, or None."""
    if paved_home := env.get("PAVED_HOME"):
        root = Path(paved_home).expanduser()
        return root / "cache", root / "data"
    home = env.get("HOME", "")
    if not os.path.isabs(home):
        return None

    def xdg(var: str, fallback: str) -> Path:
        value = env.get(var, "")
        base = Path(value) if value and Path(value).is_absolute() else Path(home) / fallback
        return base / "paved"

    return xdg("XDG_CACHE_HOME", ".cache"), xdg("XDG_DATA_HOME", ".local/share")


def _mac(secret: bytes, name: str, body: bytes) -> str:
    return hmac.new(secret, name.encode() + b"\n" + body, hashlib.sha256).hexdigest()


def _read_regular(path: Path, limit: int) -> bytes | None:
    """The bytes of ``path`` when it is a regular file of at most ``limit`` bytes, else None.

    Never follows a symbolic link and never waits on a FIFO or a device.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        data = b"".join(chunks)
        return data if len(data) <= limit else None
    except OSError:
        return None
    finally:
        os.close(fd)


def _write_atomic(folder: Path, name: str, data: bytes, *, replace: bool = True) -> bool:
    """Write ``folder/name`` whole or not at all; with ``replace=False``, only if absent."""
    tmp = folder / f".tmp-{os.getpid()}-{os.urandom(4).hex()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        if replace:
            os.replace(tmp, folder / name)
        else:
            os.link(tmp, folder / name)  # fails when it exists
        return True
    except OSError:
        return False
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)  # gone already once it was moved into place
