"""What ``paved login`` stores: the platform's URL, a token and the organisation's settings.

One file, ``platform.json`` in the config folder, readable by its user only. Its content is
input like any other file: a damaged one is an error that says how to repair it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from paved.errors import InputError

__all__ = ["credentials_file", "read_credentials", "write_credentials"]


def credentials_file(config_dir: Path) -> Path:
    return config_dir / "platform.json"


def read_credentials(config_dir: Path) -> dict[str, Any] | None:
    """The stored URL, token and platform settings, or ``None`` when not logged in."""
    path = credentials_file(config_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise InputError(
            f"platform credentials {path} cannot be read ({type(exc).__name__})",
            hint="log in again: paved login URL",
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("url"), str):
        raise InputError(f"platform credentials {path} are damaged", hint="paved login URL")
    return data


def write_credentials(config_dir: Path, url: str, token: str, settings: object) -> Path:
    """Store what ``paved login`` learnt, readable by this user only; return the file."""
    path = credentials_file(config_dir)
    text = json.dumps({"url": url, "token": token, "settings": settings}, indent=2)
    _write_private(path, text)
    return path


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by this user only, in a folder only they can list."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)  # it holds a token: no one else lists or opens it
    temp = path.with_suffix(".tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(temp, 0o600)
    os.replace(temp, path)
