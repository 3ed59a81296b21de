"""Where a command's output goes: the result on stdout, everything for people on stderr.

stdout carries the result only: a table on a terminal, plain tab-separated lines in a pipe,
JSON with ``--json``. Progress, hints and warnings go to stderr. No colour when not on a
terminal, when ``CI`` or ``NO_COLOR`` is set, or with ``--no-color``.

A table on a terminal fits the terminal's width, one line per row: the widest cells that may be
shortened lose their middle (``https://git.exa…/payments.git``, ``sha256:3f2a…9c1d``), a prose
column wraps at its spaces under its own header, and when even that is not enough the columns
that may be left out are, with a note on stderr. Pipes and ``--json`` always carry full values.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

__all__ = ["ROWS_INLINE", "Column", "Output", "json_chunks"]

#: A JSON list longer than this is written one compact item per line.
ROWS_INLINE = 100

_GAP = 2  # spaces between two columns
_FLOOR = 20  # a shortened or wrapped cell keeps at least this many columns while it can
_LAST_FLOOR = 5  # ... and this many when nothing else makes the table fit
_ELLIPSIS = "\u2026"
_HEX_RUN = re.compile(r"[0-9a-f]{16,}")  # a digest or a commit: shortened first, to 3f2a…9c1d


def json_chunks(data: Any, level: int = 0) -> Iterator[str]:
    """The JSON text of ``data`` in pieces: ``json.dumps(data, indent=2)`` (with its
    characters as they are, not escaped to ASCII), except that a list of more than
    :data:`ROWS_INLINE` items holds one compact item per line.

    The same data either way, and still one JSON document; but a long answer is encoded by
    the json module's C encoder one item at a time, not by its pure-Python indenting encoder
    (about ten times slower), and streamed rather than built as one string.
    """
    pad = "  " * level
    if isinstance(data, list) and len(data) > ROWS_INLINE:
        inner = pad + "  "
        encode = _compact.encode
        last = len(data) - 1
        yield "[\n"
        for at, item in enumerate(data):
            yield inner + encode(item) + (",\n" if at < last else "\n")
        yield pad + "]"
    elif isinstance(data, dict) and data and _holds_long_list(data):
        inner = pad + "  "
        last = len(data) - 1
        yield "{\n"
        for at, (key, value) in enumerate(data.items()):
            yield inner + _compact.encode(str(key)) + ": "
            yield from json_chunks(value, level + 1)
            yield ",\n" if at < last else "\n"
        yield pad + "}"
    elif isinstance(data, list) and data and _holds_long_list(data):
        inner = pad + "  "
        last = len(data) - 1
        yield "[\n"
        for at, item in enumerate(data):
            yield inner
            yield from json_chunks(item, level + 1)
            yield ",\n" if at < last else "\n"
        yield pad + "]"
    else:
        text = json.dumps(data, indent=2, ensure_ascii=False)
        yield text.replace("\n", "\n" + pad) if level else text


_compact = json.JSONEncoder(ensure_ascii=False)


def _holds_long_list(data: Any) -> bool:
    """Does ``data`` hold, at any depth, a list of more than :data:`ROWS_INLINE` items?"""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, list):
            if len(value) > ROWS_INLINE:
                return True
            stack.extend(v for v in value if isinstance(v, dict | list))
        elif isinstance(value, dict):
            stack.extend(v for v in value.values() if isinstance(v, dict | list))
    return False


def _said(message: str) -> str:
    """A message for people, with any terminal sequence or forged line start it carries from
    a repository or a record shown as escapes (its own line breaks kept)."""
    from paved.text import escaped

    return escaped(message, keep="\n")


def _cell(value: Any) -> str:
    """A value as one cell: control characters shown as escapes, so a value from the catalog
    can never add a column, a line or a terminal sequence to the output."""
    from paved.text import escaped  # small, but only needed for tables

    return "" if value is None else escaped(str(value))


@dataclass(frozen=True)
class Column:
    """A table column: its header and what may happen to its cells on a narrow terminal.

    ``shorten``: a cell may lose its middle (an image, a URL, a digest, a path: these columns
    set it); names, ids and states, the default, are never shortened (a plain-string header
    is such a column). ``wrap``: prose (a message, a fix) that wraps
    at its spaces under its own header instead. ``hide``: the column may be left out when the
    table cannot fit otherwise; the lowest number goes first (0: never left out).
    """

    header: str
    shorten: bool = False
    wrap: bool = False
    hide: int = 0


def _atoms(raw: str) -> list[str]:
    """``raw`` as the pieces a cell is cut between: one visible character, or the escape that
    shows one control character. A cut never falls inside an escape."""
    from paved.text import escaped

    return [escaped(char) for char in raw]


def _width(atoms: Sequence[str]) -> int:
    from rich.cells import cell_len

    return sum(cell_len(atom) for atom in atoms)


def _cell_width(raw: str) -> int:
    """The columns ``raw`` takes as a cell (the same as ``_width(_atoms(raw))``, in one pass)."""
    from rich.cells import cell_len

    return cell_len(_cell(raw))


#: ``scheme://host`` (the host with any user and port), then the path.
_URL = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)([^/?#]*)(.*)", re.S)
#: ``user@host:path``, as git writes an SSH remote.
_SCP = re.compile(r"([^@/:\s]+@)([^@/:\s]+)(:(?!//).*)", re.S)


def _capped(raw: str, width: int) -> str:
    """``raw`` with its middle already replaced by an ellipsis when it is far longer than
    ``width``: what is cut later never needs more than its two ends, and a long value costs
    no more than a short one."""
    keep = 2 * width + 32
    if len(raw) <= 2 * keep + 1:
        return raw
    return raw[:keep] + _ELLIPSIS + raw[len(raw) - keep :]


def _shortened(raw: str, width: int) -> str:
    """``raw`` shown in at most ``width`` terminal columns: whole when it fits; otherwise a
    URL keeps its scheme and host whole and loses the middle of its path (a host too long
    to show keeps its end, the registrable domain, never its start alone); a digest or commit
    in a value first keeps its ends (``3f2a…9c1d``), then the text keeps its start and its
    end (its last ``/`` or ``@`` part whole, when that takes at most two thirds) around an
    ellipsis."""
    if width < 1:
        return ""
    text = _capped(raw, width)
    total = _cell_width(text)
    if total <= width:
        return _cell(text)
    url = _URL.fullmatch(text) or _SCP.fullmatch(text)
    if url is not None and (text is raw or len(url.group(1) + url.group(2)) < 2 * width + 32):
        return _shortened_url(url.group(1), url.group(2), url.group(3), width)
    if text is not raw:  # its middle goes either way
        return _cut_middle(_atoms(text), width)
    return _shortened_text(text, total, width)


def _shortened_text(text: str, total: int, width: int) -> str:
    """``text`` (``total`` columns wide) in ``width`` columns: its hex runs first, then its
    middle."""
    excess = total - width
    keeps: dict[int, int] = {}  # where a hex run starts: how many characters it keeps
    runs = sorted(_HEX_RUN.finditer(text), key=lambda m: len(m.group()), reverse=True)
    for run in runs:  # the longest first
        if excess <= 0:
            break
        length = len(run.group())
        keep = max(9, length - excess)  # at least 3f2a…9c1d
        if keep < length:
            keeps[run.start()] = keep
            excess -= length - keep

    def short(run: re.Match[str]) -> str:
        keep = keeps.get(run.start())
        if keep is None:
            return run.group()
        head = keep // 2
        whole = run.group()
        return whole[:head] + _ELLIPSIS + whole[len(whole) - (keep - 1 - head) :]

    if keeps:
        text = _HEX_RUN.sub(short, text)
    atoms = _atoms(text)
    if excess <= 0:
        return "".join(atoms)
    return _cut_middle(atoms, width)


def _shortened_url(scheme: str, host: str, path: str, width: int) -> str:
    """A URL in ``width`` columns: the scheme and host whole and the path cut in its middle;
    when the host itself does not fit, its last labels (``…example.com``) or at least its
    last characters, so that two hosts never look the same."""
    scheme_w, host_w, path_w = _cell_width(scheme), _cell_width(host), _cell_width(path)
    path_least = min(path_w, 2)  # at least "/…" says a path was there
    if scheme_w + host_w + path_least <= width:
        room = width - scheme_w - host_w
        return _cell(scheme) + _cell(host) + _path_end(path, room)
    labels = host.split(".")
    for kept_scheme in (scheme, ""):  # the host's end matters more than the scheme
        room = width - _cell_width(kept_scheme) - path_least
        for first in range(1, len(labels) - 1):  # as many whole labels as fit, at least two
            end = _ELLIPSIS + ".".join(labels[first:])
            if _cell_width(end) <= room:
                rest = width - _cell_width(kept_scheme) - _cell_width(end)
                return _cell(kept_scheme) + _cell(end) + _path_end(path, rest)
    room = width - path_least
    if room < 2:
        return _ELLIPSIS + _tail(_atoms(host), width - 1)
    end = _ELLIPSIS + _tail(_atoms(host), room - 1)
    return end + _path_end(path, width - _cell_width(end))


def _path_end(path: str, width: int) -> str:
    """A URL's path in ``width`` columns: its start and end when there is room for both,
    else its first character and its end (``/…ments.git``)."""
    if width >= 12 or _cell_width(path) <= width:
        return _shortened(path, width)
    if width < 2:
        return _ELLIPSIS[:width]
    lead = path[0]  # the "/" or ":" that says where the host ends
    return lead + _ELLIPSIS + _tail(_atoms(_capped(path[1:], width)), width - 2)


def _tail(atoms: list[str], width: int) -> str:
    """The last atoms that fit in ``width`` columns."""
    from rich.cells import cell_len

    tail: list[str] = []
    used = 0
    for atom in reversed(atoms):
        if used + cell_len(atom) > width:
            break
        tail.append(atom)
        used += cell_len(atom)
    return "".join(reversed(tail))


def _cut_middle(atoms: list[str], width: int) -> str:
    from rich.cells import cell_len

    budget = width - 1  # the ellipsis takes one
    if budget <= 0:
        return _ELLIPSIS[:width]
    tail_budget = budget // 2
    for sep in ("/", "@"):
        if sep in atoms:
            at = len(atoms) - 1 - atoms[::-1].index(sep)
            last = _width(atoms[at:])
            if 0 < last <= budget * 2 // 3:  # the start keeps at least a third
                tail_budget = last
                break
    head: list[str] = []
    used = 0
    for atom in atoms:
        if used + cell_len(atom) > budget - tail_budget:
            break
        head.append(atom)
        used += cell_len(atom)
    tail: list[str] = []
    for atom in reversed(atoms[len(head) :]):
        if used + cell_len(atom) > budget:
            break
        tail.append(atom)
        used += cell_len(atom)
    return "".join(head) + _ELLIPSIS + "".join(reversed(tail))


def _wrapped(raw: str, width: int) -> list[str]:
    """Prose in lines of at most ``width`` columns, broken at its spaces; its indent is kept
    on every line, and a word wider than a line is shortened in its middle, never cut."""
    from rich.cells import cell_len

    body = raw.lstrip(" ")
    indent = " " * min(len(raw) - len(body), max(0, width - 1))
    room = max(1, width - len(indent))
    lines: list[str] = []
    line = ""
    for word in body.split(" "):
        if not word:
            continue
        shown = _shortened(word, room)
        if line and cell_len(line) + 1 + cell_len(shown) <= room:
            line = f"{line} {shown}"
        else:
            if line:
                lines.append(indent + line)
            line = shown
    lines.append(indent + line)
    return lines


def _fit(natural: list[int], floors: list[int], width: int) -> list[int] | None:
    """Column widths no wider in all than ``width``: the widest columns above their floors
    give up columns first, down to a common level (the later of two equal columns first).
    ``None`` when even the floors are too wide."""
    target = width - _GAP * (len(natural) - 1)

    def at(level: int) -> list[int]:
        return [min(n, max(level, f)) for n, f in zip(natural, floors, strict=True)]

    if sum(natural) <= target:
        return list(natural)
    if sum(floors) > target:
        return None
    low, high = 0, max(natural)  # sum(at(low)) <= target < sum(at(high))
    while high - low > 1:
        middle = (low + high) // 2
        if sum(at(middle)) <= target:
            low = middle
        else:
            high = middle
    widths = at(high)
    excess = sum(widths) - target
    for i in reversed(range(len(widths))):  # at ``high``, one column less each, the last first
        if excess <= 0:
            break
        if widths[i] == high and floors[i] < high:
            widths[i] -= 1
            excess -= 1
    return widths


@dataclass(frozen=True)
class _Layout:
    shown: list[int]  # the indexes of the columns shown
    widths: list[int]  # their widths


def _layout(columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int) -> _Layout:
    from rich.cells import cell_len

    natural = [
        max([cell_len(_cell(c.header))] + [_cell_width(row[i]) for row in rows])
        for i, c in enumerate(columns)
    ]
    shown = list(range(len(columns)))
    hideable = sorted((c.hide, i) for i, c in enumerate(columns) if c.hide > 0)

    def floor(i: int, stage: int) -> int:
        """Stage 0: as narrow as is still readable; 1: the shortened and wrapped columns
        narrower still; 2: names too (a terminal too narrow for even the names)."""
        c = columns[i]
        if stage == 0:
            least = max(cell_len(c.header), _FLOOR) if c.shorten or c.wrap else natural[i]
        else:
            least = _LAST_FLOOR if c.shorten or c.wrap or stage == 2 else natural[i]
        return min(natural[i], least)

    while True:
        fitted = _fit([natural[i] for i in shown], [floor(i, 0) for i in shown], width)
        if fitted is not None:
            return _Layout(shown, fitted)
        if not hideable:
            break
        shown.remove(hideable.pop(0)[1])
    for stage in (1, 2):
        fitted = _fit([natural[i] for i in shown], [floor(i, stage) for i in shown], width)
        if fitted is not None:
            return _Layout(shown, fitted)
    return _Layout(shown, [floor(i, 2) for i in shown])


def _columns_of(env: Mapping[str, str], stream: TextIO) -> int:
    """The width of the terminal ``stream`` writes to: ``COLUMNS`` when set, as rich and
    click read it, else the terminal's own size, else 80."""
    given = env.get("COLUMNS", "")
    if given.isascii() and given.isdigit() and int(given) > 0:
        return int(given)
    try:
        return os.get_terminal_size(stream.fileno()).columns or 80
    except (AttributeError, OSError, ValueError):
        return 80


class _Indicator:
    """One line on a terminal's stderr saying what paved is doing, redrawn by a thread."""

    FRAMES = "\u280b\u2819\u2839\u2838\u283c\u2834\u2826\u2827\u2807\u280f"
    PLAIN_FRAMES = "-\\|/"
    TICK = 0.1

    def __init__(
        self, stream: TextIO, message: str, *, delay: float, env: Mapping[str, str]
    ) -> None:
        self.stream = stream
        self.message = message
        self.delay = delay
        self.env = env
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
        self.frames = self.FRAMES if encoding == "utf8" else self.PLAIN_FRAMES
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.shown = False
        self.started = time.monotonic()
        self.thread = threading.Thread(target=self._run, name="paved-working", daemon=True)

    def _run(self) -> None:
        if self.done.wait(self.delay):
            return  # fast work shows nothing
        tick = 0
        while not self.done.is_set():
            self.draw(tick)
            tick += 1
            self.done.wait(self.TICK)

    def draw(self, tick: int) -> None:
        seconds = int(time.monotonic() - self.started)
        frame = self.frames[tick % len(self.frames)]
        text = f"{frame} {self.message}" + (f" ({seconds} s)" if seconds >= 1 else "")
        with self.lock:
            if self.done.is_set():
                return
            width = max(1, _columns_of(self.env, self.stream) - 1)  # as it is now; never the
            self._write("\r" + _shortened(text, width) + "\x1b[K")  # last column (it wraps)
            self.shown = True

    def erase(self) -> None:
        """Take the line away (the caller holds the lock)."""
        if self.shown:
            self._write("\r\x1b[K")
            self.shown = False

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # a closed or broken stderr: say nothing more
            self.done.set()

    def stop(self) -> None:
        self.done.set()
        if self.thread.is_alive() and self.thread is not threading.current_thread():
            self.thread.join()
        with self.lock:
            self.erase()


class Output:
    """Writes results and messages for one command run."""

    #: Seconds of work before :meth:`working` shows its line.
    WORKING_DELAY = 0.5

    def __init__(
        self,
        *,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
        json_mode: bool = False,
        color: bool = True,
        verbosity: int = 0,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.json_mode = json_mode
        self.verbosity = verbosity
        env = env or {}
        self.env = env
        self.color = color and self.stdout_is_terminal and "NO_COLOR" not in env and "CI" not in env
        self._indicator: _Indicator | None = None

    @property
    def stdout_is_terminal(self) -> bool:
        return bool(getattr(self.stdout, "isatty", lambda: False)())

    @property
    def columns(self) -> int:
        """The width of the terminal stdout shows on (``COLUMNS`` first; 80 in a pipe)."""
        return _columns_of(self.env, self.stdout)

    @property
    def stderr_is_terminal(self) -> bool:
        return bool(getattr(self.stderr, "isatty", lambda: False)())

    # -- for people (stderr) -----------------------------------------------------------

    def info(self, message: str) -> None:
        if self.verbosity >= 0:
            self._tell(_said(message))

    def progress(self, message: str) -> None:
        if self.verbosity >= 0:
            self._tell(f"  {_said(message)}")

    def debug(self, message: str) -> None:
        if self.verbosity > 0:
            self._tell(f"debug: {message}")

    def _tell(self, text: str) -> None:
        indicator = self._indicator
        if indicator is None:
            print(text, file=self.stderr, flush=True)
            return
        with indicator.lock:  # the working line goes, the message stays, the line comes back
            indicator.erase()
            print(text, file=self.stderr, flush=True)

    @contextlib.contextmanager
    def working(self, message: str, *, delay: float | None = None) -> Iterator[None]:
        """Say on stderr what paved is doing while the block runs: after ``delay`` seconds
        (:attr:`WORKING_DELAY` by default, so that fast work shows nothing), one
        line with a spinner, ``message`` and the seconds so far, erased when the block ends
        (also on an error or Ctrl-C). Messages said meanwhile print above it.

        Only for a person watching: nothing at all when stderr is not a terminal, when ``CI``
        is set, with ``--quiet``, or on a ``TERM=dumb`` terminal. ``--json`` keeps it, as
        stdout carries the document either way. Inside another ``working`` block it adds
        nothing.
        """
        shown = (
            self._indicator is None
            and self.verbosity >= 0
            and self.stderr_is_terminal
            and "CI" not in self.env
            and self.env.get("TERM") != "dumb"
        )
        if not shown:
            yield
            return
        indicator = _Indicator(
            self.stderr,
            _cell(message),
            delay=self.WORKING_DELAY if delay is None else delay,
            env=self.env,
        )
        self._indicator = indicator
        indicator.thread.start()
        try:
            yield
        finally:
            self._indicator = None
            indicator.stop()

    # -- the result (stdout) -----------------------------------------------------------

    def json(self, data: Any) -> None:
        """``data`` as JSON, indented two spaces; a list of more than :data:`ROWS_INLINE`
        items (a long list of services or records) is written one compact item per line, and
        the text is written as it is made, not built whole first (see :func:`json_chunks`)."""
        write = self.stdout.write
        batch: list[str] = []
        for chunk in json_chunks(data):
            batch.append(chunk)
            if len(batch) >= 512:
                write("".join(batch))
                batch.clear()
        batch.append("\n")
        write("".join(batch))

    def line(self, text: str = "") -> None:
        print(text, file=self.stdout)

    def table(
        self, columns: Sequence[str | Column], rows: Sequence[Sequence[Any]], *, empty: str
    ) -> None:
        """A table on a terminal, fitted to its width (see the module docstring); in a pipe,
        tab-separated lines without a header, with every value whole."""
        if not rows:
            self.info(empty)
            return
        if not self.stdout_is_terminal:
            for row in rows:
                print("\t".join(_cell(cell) for cell in row), file=self.stdout)
            return
        from rich.cells import cell_len  # only on a terminal

        specs = [c if isinstance(c, Column) else Column(c) for c in columns]
        raw = [["" if cell is None else str(cell) for cell in row] for row in rows]
        width = _columns_of(self.env, self.stdout)
        layout = _layout(specs, raw, width)
        left_out = [specs[i].header for i in range(len(specs)) if i not in layout.shown]

        def line(cells: list[str]) -> str:
            padded = [
                cell + " " * (w - cell_len(cell))
                for cell, w in zip(cells, layout.widths, strict=True)
            ]
            return (" " * _GAP).join(padded).rstrip(" ")

        shown = list(zip(layout.shown, layout.widths, strict=True))
        header = line([_shortened(specs[i].header, w) for i, w in shown])
        if self.color:
            header = f"\x1b[1m{header}\x1b[0m"
        print(header, file=self.stdout)
        for row in raw:
            cells = [
                _wrapped(row[i], w) if specs[i].wrap else [_shortened(row[i], w)] for i, w in shown
            ]
            for n in range(max(len(c) for c in cells)):
                print(line([c[n] if n < len(c) else "" for c in cells]), file=self.stdout)
        if left_out:
            self.info(
                f"({', '.join(left_out)} left out to fit {width} columns: a wider terminal, "
                "a pipe or --json shows every column)"
            )

    def fields(self, pairs: Sequence[tuple[str, Any]]) -> None:
        """One ``key: value`` line per field (``key<TAB>value`` in a pipe).

        On a terminal a long value wraps at its spaces under itself; a word is never cut (a
        URL or a path stays whole, to be copied)."""
        import textwrap

        width = max(len(key) for key, _ in pairs)
        sep = None if self.stdout_is_terminal else "\t"
        room = max(20, self.columns - width - 2) if not sep else 0
        for key, value in pairs:
            shown = _cell(value)
            if sep:
                print(f"{key}{sep}{shown}", file=self.stdout)
                continue
            lines = textwrap.wrap(shown, room, break_long_words=False, break_on_hyphens=False) or [
                ""
            ]
            print(f"{key + ':':<{width + 1}} {lines[0]}", file=self.stdout)
            for line in lines[1:]:
                print(f"{'':<{width + 1}} {line}", file=self.stdout)
