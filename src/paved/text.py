"""The rule for free text: a description, a reason, a message is one line of visible text.

Free text reaches terminals, tab-separated output, commit messages, YAML and TOML files and
the catalog. A control character (C0, DEL, C1), a bidirectional override or isolate, or a
Unicode line or paragraph separator can forge a column, a line or a trailer there, or make
text read differently from how it is stored, so the command line and the platform server
refuse them in every free-text field. :func:`escaped` is the other wall: output shows
whatever an older record already holds as visible escapes, never raw.
"""

from __future__ import annotations

import re

from paved.errors import InputError

__all__ = ["check_text", "escaped", "text_problem"]

#: C0 controls (tab and newline among them), DEL, C1 controls, the bidirectional embeddings,
#: overrides and isolates, and the line and paragraph separators.
_REFUSED = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def text_problem(value: str) -> str | None:
    """Say what is wrong with free text ``value``, or ``None`` when it is one visible line."""
    found = _REFUSED.search(value)
    if found is not None:
        return f"contains the control character U+{ord(found.group()):04X}"
    if any(0xD800 <= ord(c) <= 0xDFFF for c in value):
        return "is not valid Unicode (it holds a lone surrogate)"
    return None


def check_text(value: str, *, what: str, limit: int) -> str:
    """Return ``value`` when it is one visible line of at most ``limit`` characters."""
    problem = text_problem(value)
    if problem is not None:
        raise InputError(
            f"{what} {problem}", hint="write one line of visible text, without control characters"
        )
    if len(value) > limit:
        raise InputError(f"{what} is longer than {limit} characters ({len(value)})")
    return value


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return {"\t": "\\t", "\n": "\\n", "\r": "\\r"}.get(char, f"\\u{ord(char):04x}")


def escaped(value: str, *, keep: str = "") -> str:
    """``value`` with every refused character (but those in ``keep``) and lone surrogate
    shown as an escape."""
    shown = _REFUSED.sub(lambda m: m.group() if m.group() in keep else _escape(m), value)
    if any(0xD800 <= ord(c) <= 0xDFFF for c in shown):
        shown = "".join(f"\\u{ord(c):04x}" if 0xD800 <= ord(c) <= 0xDFFF else c for c in shown)
    return shown
