"""Inter-process locks on files, so that two paved processes never race on one object."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

__all__ = ["file_lock"]


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if needed) for the ``with`` block.

    The lock is the kernel's: it is released when the process ends, however it ends, so a
    killed run never leaves a stale lock behind. It is a POSIX record lock (``lockf``), which
    a forked child does not inherit: a helper process never keeps it after its parent died.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.lockf(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.lockf(handle.fileno(), fcntl.LOCK_UN)
