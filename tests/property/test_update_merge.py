"""The update's three-way merge, on generated histories: local lines are never lost.

A service repository is built with git (the base committed, then a local edit committed on
top, as a real service's history goes) and the two renders are plain folders of files: the
old version's (the base) and the new one's (the template's edit). ``merge`` and
``apply_merge`` run as ``paved update`` runs them. Then:

1. every line the local edit brought in (an ``insert`` or ``replace`` of difflib's opcodes,
   base to local) is in the result, in clean text or in a conflict's *yours* section, as many
   times as the local edit brought it in (and the template's lines, in clean text or *theirs*);
   a locally edited file the template deleted stays, whole, as a modify/delete conflict;
2. the result never reports success over a conflict: a file reported clean has no markers, a
   conflicted one is unmerged in the index with stages 1/2/3 of the right texts and its markers
   name yours / the old version / the new version; where the three texts repeat no line, the
   file, clean or conflicted, is what ``git merge-file --diff3`` makes of them (an oracle that
   shares no code with paved) and conflicts exactly when it does; HEAD never moves;
3. nothing but the layer's files changed: a file of the user's own is byte for byte as it was.

Half the files draw their lines from small pools, so that lines repeat and both sides often
touch the same ones: each side inserts lines of its own, sometimes one the other side also
inserts, sometimes one of the base's. A line that is also in the base can be matched to a
base line by either diff (difflib and git's may pick different ones), so property 1 counts
the lines new to the file. The other half repeat no line within a text: there every diff has
one answer whatever the algorithm, which is what makes ``git merge-file`` an oracle. (With
repeats it is not one: ``ort`` diffs with histogram whatever ``diff.algorithm`` says, and
git 2.39's ``merge-file`` with Myers, so the two may place a change differently, both
correctly, and disagree on whether changes overlap.)
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import itertools
import subprocess
import tempfile
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from types import EllipsisType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from paved.gitcmd import Git
from paved.guardrails import conflict_markers
from paved.update._merge import Merge, MergeInput, apply_merge, merge

pytestmark = pytest.mark.slow

LABELS = ("yours", "paved-road 0.1.0", "paved-road 0.2.0")
#: The layer's files the examples draw from, and a file of the user's own beside them.
LAYER_FILES = ("README.md", "k8s/base/deployment.yaml", "config/settings.toml")
USER_FILE = "notes/mine.txt"
USER_TEXT = b"my own notes\nnot the road's\n"

#: Base lines: few, so that they repeat, or many, so that a file's lines can all differ.
BASE_POOL = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta")
WIDE_POOL = tuple(f"line-{n:02}" for n in range(1, 21))
#: New lines: each side's own, and some that both sides may bring in.
MINE, ROAD = "mine", "road"
SHARED_POOL = ("both-1", "both-2")


@st.composite
def new_lines(
    draw: Callable[..., Any], side: str, base: list[str], edited: list[str], distinct: bool
) -> list[str]:
    """One to three lines for ``side`` to bring in: mostly its own, sometimes one both sides
    use or one of the base's. With ``distinct``, no line repeats one of the file's: a line of
    the base or one already there becomes a new line of the side's."""
    lines: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["own", "own", "shared", "base"]))
        if kind == "own" and not distinct:
            line = f"{side}-{draw(st.integers(1, 3))}"
        elif kind == "shared":
            line = draw(st.sampled_from(SHARED_POOL))
        elif kind == "base" and not distinct:
            line = draw(st.sampled_from(BASE_POOL))
        else:
            line = ""
        taken = {*base, *edited, *lines}
        if not line or (distinct and line in taken):
            line = next(
                f"{side}-{n:02}" for n in itertools.count(1) if f"{side}-{n:02}" not in taken
            )
        lines.append(line)
    return lines


@st.composite
def edits(draw: Callable[..., Any], base: list[str], side: str, distinct: bool) -> list[str]:
    """``base`` after up to four inserts, deletes and replaces of up to three lines."""
    edited = list(base)
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["insert", "delete", "replace"]))
        start = draw(st.integers(0, len(edited)))
        end = start if kind == "insert" else draw(st.integers(start, min(len(edited), start + 3)))
        brought = [] if kind == "delete" else draw(new_lines(side, base, edited, distinct))
        edited[start:end] = brought
    return edited


def _text(lines: list[str], final_newline: bool) -> bytes:
    text = "\n".join(lines)
    return (text + "\n" if lines and final_newline else text).encode()


#: Most files end with a newline; now and then a version does not (an incomplete last line).
final_newlines = st.sampled_from([True, True, True, True, False])


@dataclasses.dataclass(frozen=True)
class FileCase:
    """One layer file: the base, the local edit and the template's edit (None: deleted).

    ``distinct``: no line repeats within any of the three, and ``git merge-file`` is the
    oracle for the file (see the module's docstring).
    """

    base: bytes
    local: bytes | None
    template: bytes | None
    distinct: bool = True


@st.composite
def file_cases(draw: Callable[..., Any]) -> FileCase:
    distinct = draw(st.booleans())
    lines = draw(st.lists(st.sampled_from(WIDE_POOL if distinct else BASE_POOL),
                          max_size=15, unique=distinct))  # fmt: skip
    base = _text(lines, draw(final_newlines))
    local = template = None
    if draw(st.integers(0, 9)) > 0:  # a tenth of the files the user deleted
        local = _text(draw(edits(lines, MINE, distinct)), draw(final_newlines))
    if draw(st.integers(0, 7)) > 0:  # an eighth the template no longer ships
        template = _text(draw(edits(lines, ROAD, distinct)), draw(final_newlines))
    return FileCase(base, local, template, distinct)


services = st.dictionaries(st.sampled_from(LAYER_FILES), file_cases(), min_size=1, max_size=3)


def _git(repo: Path, *args: str, stdin: bytes | None = None) -> bytes:
    return subprocess.run(
        ["git", *args], cwd=repo, input=stdin, capture_output=True, check=True
    ).stdout


def _write(root: Path, files: Mapping[str, bytes | None]) -> None:
    for path, data in files.items():
        target = root / path
        if data is None:
            target.unlink(missing_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def _blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


@dataclasses.dataclass(frozen=True)
class Service:
    root: Path
    git: Git
    head: str
    old: Path
    new: Path


def _service(tmp: Path, cases: Mapping[str, FileCase]) -> Service:
    """A repository whose history is the base, then the local edit; the two renders beside it."""
    root = tmp / "service"
    root.mkdir()
    _git(root, "init", "--quiet", "--initial-branch=main")
    _write(root, {USER_FILE: USER_TEXT, **{path: case.base for path, case in cases.items()}})
    _git(root, "add", "--", ".")
    _git(root, "commit", "--quiet", "--no-verify", "-m", "the service, at paved-road 0.1.0")
    _write(root, {path: case.local for path, case in cases.items()})
    _git(root, "add", "--", ".")
    _git(root, "commit", "--quiet", "--no-verify", "--allow-empty", "-m", "local edits")
    old, new = tmp / "render-old", tmp / "render-new"
    old.mkdir()
    new.mkdir()
    _write(old, {path: case.base for path, case in cases.items()})
    _write(new, {path: case.template for path, case in cases.items()})
    git = Git(root)
    head = git.head()
    assert head is not None
    return Service(root, git, head, old, new)


def _merge(tmp: Path, service: Service) -> Merge:
    scratch = tmp / "scratch"
    scratch.mkdir()
    spec = MergeInput(renders=[(service.old, service.new)], moves={}, labels=LABELS)
    merged = merge(service.git, service.head, spec, scratch)
    apply_merge(service.git, merged)
    return merged


def _merge_file(tmp: Path, local: bytes, base: bytes, template: bytes) -> tuple[bytes, bool]:
    """What ``git merge-file --diff3`` makes of the three texts, and whether it conflicts."""
    for name, data in (("local", local), ("base", base), ("template", template)):
        (tmp / f"oracle-{name}").write_bytes(data)
    labels = [arg for label in LABELS for arg in ("-L", label)]
    done = subprocess.run(
        ["git", "merge-file", "-p", "--diff3", *labels,
         "oracle-local", "oracle-base", "oracle-template"],
        cwd=tmp, capture_output=True, check=False,
    )  # fmt: skip
    assert 0 <= done.returncode < 127, done.stderr
    return done.stdout, done.returncode > 0


@dataclasses.dataclass(frozen=True)
class Expected:
    """What the merge of one file should give: its text (None: deleted), whether it is a
    conflict, and the index stages a conflict leaves (stage -> text). ``text`` and
    ``conflict`` are ``...`` where git's diff algorithm decides (repeated lines)."""

    text: bytes | EllipsisType | None
    conflict: bool | EllipsisType
    stages: Mapping[int, bytes]


def _expected(tmp: Path, case: FileCase) -> Expected:
    base, local, template = case.base, case.local, case.template
    if local is None and template is None:
        return Expected(None, False, {})
    if local is None:
        assert template is not None
        if template == base:
            return Expected(None, False, {})
        return Expected(template, True, {1: base, 3: template})  # deleted here, changed there
    if template is None:
        if local == base:
            return Expected(None, False, {})
        return Expected(local, True, {1: base, 2: local})  # changed here, deleted there
    stages = {1: base, 2: local, 3: template}
    if not case.distinct:
        return Expected(..., ..., stages)
    text, conflict = _merge_file(tmp, local, base, template)
    return Expected(text, conflict, stages if conflict else {})


def sides(text: str) -> tuple[list[str], list[str]]:
    """The lines of ``text`` as each side sees it: outside conflict blocks and in their
    *yours* sections; outside them and in their *theirs* sections."""
    yours: list[str] = []
    theirs: list[str] = []
    section = "clean"
    for line in text.splitlines():
        if line.startswith("<<<<<<< "):
            section = "yours"
        elif line.startswith("||||||| "):
            section = "base"
        elif line == "=======" and section != "clean":
            section = "theirs"
        elif line.startswith(">>>>>>> "):
            section = "clean"
        else:
            if section in ("clean", "yours"):
                yours.append(line)
            if section in ("clean", "theirs"):
                theirs.append(line)
    return yours, theirs


def new_lines_of(base: bytes, edited: bytes) -> Counter[str]:
    """The lines an edit inserted or replaced in (difflib's opcodes), those new to the file,
    counted with their multiplicity."""
    before, after = base.decode().splitlines(), edited.decode().splitlines()
    opcodes = difflib.SequenceMatcher(None, before, after, autojunk=False).get_opcodes()
    brought = [
        after[j]
        for tag, _i1, _i2, j1, j2 in opcodes
        if tag in ("insert", "replace")
        for j in range(j1, j2)
    ]
    return Counter(line for line in brought if line not in before)


def _unmerged(service: Service) -> dict[str, dict[int, str]]:
    """``{path: {stage: blob}}`` of the index's unmerged entries."""
    found: dict[str, dict[int, str]] = {}
    for entry in _git(service.root, "ls-files", "-u", "-z").decode().split("\0"):
        if entry:
            meta, _, path = entry.partition("\t")
            _mode, blob, stage = meta.split(" ")
            found.setdefault(path, {})[int(stage)] = blob
    return found


def _changed(service: Service) -> set[str]:
    out = _git(service.root, "status", "--porcelain", "-z", "--untracked-files=all")
    return {entry[3:] for entry in out.decode().split("\0") if entry}


MARKERS = {"<<<<<<< ": LABELS[0], "||||||| ": LABELS[1], ">>>>>>> ": LABELS[2]}


def _labelled(text: str) -> bool:
    """Does every conflict marker in ``text`` name its side in words?"""
    return all(
        line == f"{marker}{label}"
        for line in text.splitlines()
        for marker, label in MARKERS.items()
        if line.startswith(marker)
    )


def check_merge(tmp: Path, cases: Mapping[str, FileCase]) -> Merge:
    """Build the service, merge, and check the three properties; the merge, for more checks."""
    service = _service(tmp, cases)
    merged = _merge(tmp, service)
    expected = {path: _expected(tmp, case) for path, case in cases.items()}

    # 1. every line the local history brought in is in the result, or in a conflict's yours;
    # the template's too (the result or a conflict's theirs), unless the user deleted the file
    for path, case in cases.items():
        target = service.root / path
        if case.local is not None and case.local != case.base:
            assert target.is_file(), f"{path}: edited here, gone after the merge"
            if case.template is None:
                assert target.read_bytes() == case.local, f"{path}: edited here, deleted there"
        if not target.is_file() or case.local is None or case.template is None:
            continue
        yours, theirs = map(Counter, sides(target.read_bytes().decode()))
        missing = new_lines_of(case.base, case.local) - yours
        assert not missing, f"{path}: local lines lost: {sorted(missing.elements())}"
        missing = new_lines_of(case.base, case.template) - theirs
        assert not missing, f"{path}: the template's lines lost: {sorted(missing.elements())}"

    # 2. the conflicts reported are the conflicts there are; the rest is git's clean merge
    unmerged = _unmerged(service)
    assert set(unmerged) == set(merged.conflicts), "the index disagrees with the merge"
    for path, want in expected.items():
        target = service.root / path
        conflict = path in merged.conflicts
        if want.conflict is not ...:
            assert conflict == want.conflict, (
                f"{path}: conflict {conflict}, git says {want.conflict}"
            )
        if want.text is None:
            assert not target.exists(), f"{path}: should be deleted"
            continue
        result = target.read_bytes()
        if want.text is not ...:
            assert result == want.text, f"{path}: not what git merge-file gives"
        markers = conflict_markers(result.decode())
        if not conflict:
            assert markers == [], f"{path}: markers in a merge reported clean"
            continue
        assert _labelled(result.decode()), f"{path}: markers not labelled"
        if len(want.stages) == 3:  # both changed it: the markers are in the file
            assert markers, f"{path}: a conflict without markers"
        stages = {stage: _blob_id(text) for stage, text in want.stages.items()}
        assert unmerged[path] == stages, f"{path}: wrong index stages"
    assert _git(service.root, "rev-parse", "HEAD").decode().strip() == service.head
    if not merged.conflicts:
        assert _git(service.root, "write-tree").decode().strip() == merged.result_tree
        _git(service.root, "diff", "--quiet")  # the work tree is the index

    # 3. nothing outside the layer's files changed
    assert (service.root / USER_FILE).read_bytes() == USER_TEXT
    assert _changed(service) <= set(cases)
    return merged


@settings(
    max_examples=50,
    deadline=None,  # each example runs some thirty git processes
    database=None,
    derandomize=True,  # every run checks the same examples
    suppress_health_check=[HealthCheck.too_slow],
)
@given(cases=services)
def test_local_lines_survive_the_merge_and_conflicts_are_reported(
    cases: dict[str, FileCase],
) -> None:
    for path, case in cases.items():
        note(f"{path}: {case!r}")
    with tempfile.TemporaryDirectory(prefix="paved-merge-") as tmp:
        check_merge(Path(tmp), cases)


def _lines(*lines: str) -> bytes:
    return "".join(f"{line}\n" for line in lines).encode()


def test_an_edit_of_the_line_the_template_changed_conflicts() -> None:
    base = _lines("alpha", "beta", "gamma")
    case = FileCase(
        base, _lines("alpha", "mine-1", "gamma"), template=_lines("alpha", "road-1", "gamma")
    )
    with tempfile.TemporaryDirectory(prefix="paved-merge-") as tmp:
        merged = check_merge(Path(tmp), {"README.md": case})
        assert set(merged.conflicts) == {"README.md"}
        assert (Path(tmp) / "service/README.md").read_bytes() == _lines(
            "alpha",
            "<<<<<<< yours",
            "mine-1",
            "||||||| paved-road 0.1.0",
            "beta",
            "=======",
            "road-1",
            ">>>>>>> paved-road 0.2.0",
            "gamma",
        )


def test_an_edit_far_from_the_templates_merges_cleanly() -> None:
    base = _lines(*BASE_POOL)
    local = _lines("mine-1", *BASE_POOL[1:])
    template = _lines(*BASE_POOL[:-1], "road-1")
    with tempfile.TemporaryDirectory(prefix="paved-merge-") as tmp:
        merged = check_merge(Path(tmp), {"README.md": FileCase(base, local, template)})
        assert merged.conflicts == {}
        assert (Path(tmp) / "service/README.md").read_bytes() == _lines(
            "mine-1", *BASE_POOL[1:-1], "road-1"
        )
