"""``.paved/declines.yaml``: scaffold versions a service has declined for now, each with a
reason and an expiry (``paved update --decline VERSION --reason TEXT --until DATE``).

The file comes from the repository, so every field is checked before a decline counts: the
scaffold a name (:mod:`paved.names`), the version a version (:mod:`paved.versions`), the reason
one line of visible text (:mod:`paved.text`), the expiry a date. A decline stops counting the
day after its ``until`` date: from then on doctor reports the layer as behind again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from paved.errors import InputError
from paved.names import name_problem
from paved.text import escaped, text_problem
from paved.versions import VERSION_TEXT, Version

__all__ = ["DECLINES_FILE", "MAX_REASON", "Decline", "read_declines", "with_decline"]

DECLINES_FILE = ".paved/declines.yaml"
MAX_REASON = 500
_HINT = (
    "each decline needs scaffold, version, reason and until (YYYY-MM-DD); "
    "see paved docs update#declining-a-version"
)
_HEADER = (
    "# Scaffold versions this service declines for now, written by\n"
    "# paved update --decline VERSION --reason TEXT --until DATE (paved docs update).\n"
)


@dataclasses.dataclass(frozen=True)
class Decline:
    """One declined scaffold version."""

    scaffold: str
    version: str
    reason: str
    until: dt.date

    def active(self, today: dt.date) -> bool:
        """Whether the decline still counts on ``today`` (its ``until`` day included)."""
        return today <= self.until

    def covers(self, scaffold: str, version: str) -> bool:
        """Whether this declines ``version`` of ``scaffold``: that version, or an older one."""
        mine, other = Version.parse(self.version), Version.parse(version)
        return (
            scaffold == self.scaffold
            and mine is not None
            and other is not None
            and not mine < other
        )

    def to_json(self) -> dict[str, str]:
        return {
            "scaffold": self.scaffold,
            "version": self.version,
            "reason": self.reason,
            "until": self.until.isoformat(),
        }


def _problem(entry: Any) -> str | Decline:
    if not isinstance(entry, dict):
        return "an entry is not a mapping"
    missing = [key for key in ("scaffold", "version", "reason", "until") if key not in entry]
    if missing:
        return "an entry has no " + ", ".join(missing)
    extra = sorted(
        str(key) for key in entry if key not in {"scaffold", "version", "reason", "until"}
    )
    if extra:
        return "an entry has unknown fields: " + ", ".join(escaped(key) for key in extra)
    scaffold, version, reason, until = (
        entry["scaffold"], entry["version"], entry["reason"], entry["until"]
    )  # fmt: skip
    if not isinstance(scaffold, str) or (problem := name_problem(scaffold)) is not None:
        return f"scaffold {escaped(str(scaffold))!r} is not a scaffold name"
    if (
        not isinstance(version, str)
        or VERSION_TEXT.fullmatch(version) is None
        or Version.parse(version) is None
    ):
        return f"version {escaped(str(version))!r} is not a version"
    if not isinstance(reason, str) or not reason.strip():
        return "the reason is empty"
    if (problem := text_problem(reason)) is not None:
        return f"the reason {problem}"
    if len(reason) > MAX_REASON:
        return f"the reason is longer than {MAX_REASON} characters"
    if isinstance(until, str):
        try:
            until = dt.date.fromisoformat(until)
        except ValueError:
            return f"until {escaped(until)!r} is not a date (YYYY-MM-DD)"
    if not isinstance(until, dt.date) or isinstance(until, dt.datetime):
        return f"until {escaped(str(until))!r} is not a date (YYYY-MM-DD)"
    return Decline(scaffold, version, reason, until)


def read_declines(root: Path) -> list[Decline]:
    """The declines of the service at ``root`` (none when the file is absent).

    Raises :class:`InputError` naming the file when it is a symbolic link, unreadable, not
    YAML, or holds an entry that breaks a rule: a bad decline must not silence an update.
    """
    path = root / DECLINES_FILE
    if path.is_symlink():
        raise InputError(f"{path} is a symbolic link, not the service's own file")
    if path.parent.is_symlink():  # paved writes the file too: never outside the service
        raise InputError(f"{path.parent} is a symbolic link, not the service's own folder")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} cannot be read ({type(exc).__name__})") from None
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError:
        raise InputError(f"{path} is not valid YAML", hint=_HINT) from None
    entries = loaded.get("declines", []) if isinstance(loaded, dict) else loaded
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise InputError(f"{path} must hold a list of declines", hint=_HINT)
    found = []
    for number, entry in enumerate(entries, start=1):
        decline = _problem(entry)
        if isinstance(decline, str):
            raise InputError(f"{path}: decline {number}: {decline}", hint=_HINT)
        found.append(decline)
    return found


def with_decline(existing: Sequence[Decline], decline: Decline) -> str:
    """The text of the file with ``decline`` added (replacing one of the same scaffold and
    version). The new decline is checked by the same rules as the file's entries."""
    checked = _problem(decline.to_json())
    if isinstance(checked, str):
        raise InputError(f"the decline is refused: {checked}", hint=_HINT)
    kept = [d for d in existing if (d.scaffold, d.version) != (decline.scaffold, decline.version)]
    entries = [d.to_json() for d in [*kept, checked]]
    body = yaml.safe_dump({"declines": entries}, sort_keys=False, allow_unicode=True)
    return _HEADER + body
