"""Service checks: is this service repository healthy, registered and still on the road?"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paved.docs import reference
from paved.doctor._inputs import APP_ANSWERS, ROAD_ANSWERS, Inputs
from paved.doctor._model import Outcome, Skip
from paved.errors import InputError, PavedError
from paved.models import LayerRef, Service
from paved.service.declines import DECLINES_FILE, Decline, read_declines
from paved.service.layout import CATALOG_INFO, SKIP_DIRS, read_documents
from paved.versions import Version

if TYPE_CHECKING:
    from paved.scaffold.store import TemplateSource

__all__ = [
    "check_catalog_info",
    "check_conflicts",
    "check_content_drift",
    "check_guardrails",
    "check_registered",
    "check_uncommitted",
    "check_unpushed",
    "check_version_drift",
    "fix_registered",
]

#: Backstage's rule for metadata.name: 1-63 characters of [a-zA-Z0-9-_.], alphanumeric ends.
_BACKSTAGE_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$")
_MAX_DETAILS = 50


def _limit(lines: list[str]) -> tuple[str, ...]:
    if len(lines) <= _MAX_DETAILS:
        return tuple(lines)
    return (*lines[:_MAX_DETAILS], f"... and {len(lines) - _MAX_DETAILS} more")


def _name_and_owner(inputs: Inputs) -> tuple[str, str]:
    answers = inputs.answers(ROAD_ANSWERS)
    return str(answers.get("service_name", "")), str(answers.get("owner", ""))


# -- catalog-info.yaml -------------------------------------------------------------------


def _catalog_info_problems(doc: Any, name: str) -> list[str]:
    if not isinstance(doc, dict):
        return ["the file does not hold a YAML mapping"]
    problems = []
    if doc.get("apiVersion") != "backstage.io/v1alpha1":
        problems.append(f"apiVersion is {doc.get('apiVersion')!r}, not 'backstage.io/v1alpha1'")
    if doc.get("kind") != "Component":
        problems.append(f"kind is {doc.get('kind')!r}, not 'Component'")
    metadata: dict[str, Any] = doc["metadata"] if isinstance(doc.get("metadata"), dict) else {}
    entity = metadata.get("name")
    if not isinstance(entity, str) or not _BACKSTAGE_NAME.match(entity):
        problems.append(f"metadata.name {entity!r} is not a valid Backstage entity name")
    elif entity != name:
        problems.append(f"metadata.name is '{entity}', not the service name '{name}'")
    spec: dict[str, Any] = doc["spec"] if isinstance(doc.get("spec"), dict) else {}
    for key in ("owner", "type", "lifecycle"):
        value = spec.get(key)
        if not isinstance(value, str) or not value.strip():
            problems.append(f"spec.{key} is missing")
    return problems


def check_catalog_info(inputs: Inputs) -> Outcome:
    root = inputs.need_service()
    name, _ = _name_and_owner(inputs)
    fix = "restore the road layer's catalog-info.yaml (git log -p -- catalog-info.yaml)"
    if not (root / CATALOG_INFO).exists() and not (root / CATALOG_INFO).is_symlink():
        return Outcome("fail", f"catalog-info.yaml is missing in {root}", fix=fix)
    try:
        docs = read_documents(root, CATALOG_INFO)
    except InputError as exc:
        return Outcome("fail", exc.message, fix=fix)
    component = next(
        (d for d in docs if isinstance(d, dict) and d.get("kind") == "Component"),
        docs[0] if docs else None,
    )
    problems = _catalog_info_problems(component, name)
    if problems:
        return Outcome(
            "fail",
            f"catalog-info.yaml is not a valid catalog entry for '{name}'",
            fix=f"correct the fields listed ({reference('doctor', 'servicecatalog-info')})",
            details=tuple(problems),
        )
    assert isinstance(component, dict)
    owner = component["spec"]["owner"]
    return Outcome("ok", f"catalog-info.yaml describes Component '{name}' owned by {owner}")


# -- the catalog -------------------------------------------------------------------------


def check_registered(inputs: Inputs) -> Outcome:
    inputs.need_service()
    inputs.need_settings()
    name, owner = _name_and_owner(inputs)
    catalog = inputs.catalog()  # the platform's when logged in or configured, else the local one
    try:
        service = catalog.get(name)
    except PavedError as exc:
        raise Skip("the catalog does not answer (see env.catalog)") from exc
    if service is None:
        return Outcome(
            "fail",
            f"service '{name}' is not registered in the catalog {catalog.location}",
            fix="paved doctor --fix registers it",
        )
    if service.owner != owner:
        return Outcome(
            "fail",
            f"service '{name}' is registered with owner '{service.owner}', but its answers "
            f"say '{owner}'",
            fix="agree on one owner: correct the catalog entry or the 'owner' answer "
            f"in {ROAD_ANSWERS}",
        )
    return Outcome("ok", f"service '{name}' is registered (owner {owner}, {service.repository})")


def _scaffold_of(answers: dict[str, Any], urls: Mapping[str, str] | None = None) -> str:
    """The scaffold a layer's answers name: by the URL the settings give an organisation's
    scaffold, else by the last part of the stable URL."""
    src = str(answers.get("_src_path", ""))
    named = [name for name, url in (urls or {}).items() if url == src]
    return named[0] if named else src.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")


def _layers(inputs: Inputs) -> list[tuple[str, str, str, str]]:
    """(layer, answers file, scaffold, recorded version) of each layer the service has."""
    root = inputs.need_service()
    urls = inputs.need_settings().scaffold_urls
    found = []
    for layer, filename in (("app", APP_ANSWERS), ("road", ROAD_ANSWERS)):
        if (root / filename).is_file():
            answers = inputs.answers(filename)
            name = _scaffold_of(answers, urls)
            found.append((layer, filename, name, str(answers.get("_commit", ""))))
    return found


def fix_registered(inputs: Inputs) -> list[str]:
    root = inputs.need_service()
    inputs.need_settings()
    name, owner = _name_and_owner(inputs)
    catalog = inputs.catalog()
    if catalog.get(name) is not None:
        return []
    origin = ""
    if inputs.git_path is not None and (root / ".git").exists():
        origin = inputs.git(root)("remote", "get-url", "origin", check=False)
    repository = origin or root.as_uri()
    description = str(inputs.answers(ROAD_ANSWERS).get("description", ""))
    layers = tuple(
        LayerRef(layer, scaffold, version) for layer, _, scaffold, version in _layers(inputs)
    )
    service = Service(
        name=name,
        owner=owner,
        description=description,
        repository=repository,
        layers=layers,
        created_at=inputs.clock().astimezone(dt.UTC).replace(microsecond=0),
    )
    catalog.register(service)
    return [
        f"registered service '{name}' (owner {owner}, repository {repository}) "
        f"in the catalog {catalog.location}"
    ]


# -- version drift -----------------------------------------------------------------------


def _declined(decline: Decline) -> str:
    return f"{decline.scaffold} {decline.version} declined until {decline.until}: {decline.reason}"


def _expired(declines: list[Decline], scaffold: str, have: Version) -> Decline | None:
    """The expired decline of the newest version of ``scaffold`` above ``have``, if any."""
    newer = []
    for decline in declines:
        version = Version.parse(decline.version)
        if decline.scaffold == scaffold and version is not None and have < version:
            newer.append((version, decline.until, decline))
    return max(newer, key=lambda found: found[:2])[2] if newer else None


def check_version_drift(inputs: Inputs) -> Outcome:
    """Each layer against the bundled scaffold version, with the service's declines.

    A layer behind only by versions an active decline covers is ``ok``; a
    ``.paved/declines.yaml`` that breaks its rules fails the check with its one-line error.
    """
    root = inputs.need_service()
    layers = _layers(inputs)
    registry = inputs.registry()
    today = inputs.clock().date()
    try:
        declines = read_declines(root)
    except InputError as exc:
        return Outcome(
            "fail",
            exc.message,
            fix=exc.hint
            or f"fix or remove {DECLINES_FILE} ({reference('update', 'declining-a-version')})",
        )
    active = [d for d in declines if d.active(today)]
    expired = [d for d in declines if not d.active(today)]
    current, declined, behind, ahead, unknown = [], [], [], [], []
    for layer, _, scaffold_name, recorded in layers:
        try:
            bundled = registry.get(scaffold_name).version
        except InputError:
            unknown.append(f"{layer} layer {scaffold_name} {recorded}: not bundled with this paved")
            continue
        label = f"{layer} layer {scaffold_name} {recorded}"
        if not recorded:
            unknown.append(f"{layer} layer {scaffold_name}: no _commit recorded")
        elif (have := Version.parse(recorded)) is None or (
            newest := Version.parse(bundled)
        ) is None:
            unknown.append(f"{label}: not a version paved can compare")
        elif have < newest:
            cover = next((d for d in active if d.covers(scaffold_name, bundled)), None)
            if cover is not None:
                declined.append(f"{label}: {bundled} declined until {cover.until}")
            elif (gone := _expired(expired, scaffold_name, have)) is not None:
                behind.append(
                    f"{label}: {bundled} is the newest (the decline of {gone.version} "
                    f"ran until {gone.until} and has expired)"
                )
            else:
                behind.append(f"{label}: {bundled} is the newest")
        elif have > newest:
            ahead.append(f"{label}: newer than this paved's {bundled}")
        else:
            current.append(label)
    notes = [_declined(d) for d in active]
    if behind:
        return Outcome(
            "warn",
            f"{len(behind)} layer(s) behind the newest scaffold version",
            fix="run paved update (paved update --dry-run shows what it changes first), or "
            "decline the version for now with paved update --decline VERSION --reason TEXT "
            f"--until DATE ({reference('update', 'declining-a-version')})",
            details=tuple(behind + ahead + unknown + notes),
        )
    if ahead:
        return Outcome(
            "warn",
            f"{len(ahead)} layer(s) made by a newer paved",
            fix="upgrade paved to work on this service",
            details=tuple(ahead + unknown + notes),
        )
    if not current and not declined:
        raise Skip("no layer of this service comes from a bundled scaffold")
    parts = ["; ".join(current) + ": the newest"] if current else []
    return Outcome("ok", "; ".join(parts + declined), details=tuple(notes + unknown))


# -- content drift -----------------------------------------------------------------------


def _files(root: Path) -> Iterator[str]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            yield Path(dirpath, name).relative_to(root).as_posix()


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _render_digests(
    inputs: Inputs, source: TemplateSource, commit: str, answers: dict[str, Any]
) -> dict[str, str]:
    """``{path: sha256}`` of every file the road layer renders with ``answers``.

    The render of one scaffold commit with the same answers is always the same, so its
    digests are kept in the cache folder: a second ``paved doctor`` skips copier entirely.
    """
    from paved import __version__

    key = _digest(
        json.dumps(
            [__version__, source.scaffold, commit, answers], sort_keys=True, default=str
        ).encode()
    )
    cached = inputs.paths.cache_dir / "doctor" / "renders" / f"{key}.json"
    try:
        found = json.loads(cached.read_text(encoding="utf-8"))
        if isinstance(found, dict):
            return {str(k): str(v) for k, v in found.items()}
    except (OSError, ValueError):
        pass
    tmp = Path(tempfile.mkdtemp(prefix="paved-doctor-"))
    try:
        rendered = tmp / "road"
        inputs.render(source, rendered, answers)
        digests = {
            rel: _digest((rendered / rel).read_bytes())
            for rel in _files(rendered)
            if rel != ROAD_ANSWERS
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(digests, sort_keys=True), encoding="utf-8")
        partial.replace(cached)
    except OSError:
        pass  # a cache that cannot be written only costs time
    return digests


def check_content_drift(inputs: Inputs) -> Outcome:
    from paved.scaffold.store import STABLE_URL_PREFIX, TemplateSource

    root = inputs.need_service()
    inputs.need_git()
    answers = inputs.answers(ROAD_ANSWERS)
    src, version = str(answers.get("_src_path", "")), str(answers.get("_commit", ""))
    name = _scaffold_of(answers)
    if not src.startswith(STABLE_URL_PREFIX) or not version:
        raise Skip(f"the road layer comes from {src or 'an unknown source'}, not the store")
    store = inputs.store()
    repo = store.repository(name)
    commit = repo.is_dir() and inputs.git(repo, {"GIT_DIR": str(repo)})(
        "rev-parse", "--verify", "--quiet", f"refs/tags/{version}^{{commit}}", check=False
    )
    if not commit:
        raise Skip(
            f"the template store has no {name} {version} to compare with "
            "(paved doctor --fix builds the bundled versions)"
        )
    source = TemplateSource(name, src, version, store.rewrite_env(store.env))
    data = {key: value for key, value in answers.items() if not key.startswith("_")}
    drifted = []
    digests = _render_digests(inputs, source, commit, data)
    for rel, digest in sorted(digests.items()):
        mine = root / rel
        if not mine.is_file():
            drifted.append(f"deleted: {rel}")
        elif _digest(mine.read_bytes()) != digest:
            drifted.append(f"edited: {rel}")
    if drifted:
        return Outcome(
            "warn",
            f"{len(drifted)} road-layer file(s) differ from {name} {version}",
            fix="road-layer files belong to the platform team: undo the edits (git diff shows "
            "them) or propose them for the scaffold; a template update will conflict on them",
            details=_limit(drifted),
        )
    return Outcome("ok", f"all {len(digests)} road-layer files match {name} {version}")


# -- conflicts ---------------------------------------------------------------------------


def check_conflicts(inputs: Inputs) -> Outcome:
    """The guardrail PAVED-REPO-004 over the service: one detail per conflicted file.

    The rule lives in the guardrails (the deploy gate refuses on it too); doctor reports it here
    only, and leaves it out of ``service.guardrails``.
    """
    from paved.guardrails import ServiceTree, unresolved_conflict
    from paved.update import STATE_FILE

    root = inputs.need_service()
    tree = ServiceTree(root, today=inputs.clock().date(), env=inputs.env)
    problems = []
    for violation in unresolved_conflict(tree):
        if violation.file.endswith(".rej"):
            problems.append(f"{violation.file}: rejected changes")
        else:
            problems.append(f"{violation.file}:{violation.line}: conflict markers")
    waiting = (root / ".git" / STATE_FILE).is_file()  # paved update stopped at conflicts
    if waiting:
        problems.insert(0, "a paved update is waiting for its conflicts to be resolved")
    if problems:
        return Outcome(
            "fail",
            f"{len(problems) - waiting} file(s) with unresolved conflicts in {root}",
            fix="resolve each conflict, git add it, then paved update --continue (or paved "
            "update --abort)"
            if waiting
            else "resolve each conflict and delete the .rej files, then commit",
            details=_limit(problems),
        )
    return Outcome("ok", "no conflict markers and no .rej files")


# -- git state ---------------------------------------------------------------------------


def _repository(inputs: Inputs) -> Path:
    root = inputs.need_service()
    inputs.need_git()
    if not (root / ".git").exists():
        raise Skip(f"{root} is not a git repository")
    return root


def check_uncommitted(inputs: Inputs) -> Outcome:
    root = _repository(inputs)
    lines = [line for line in inputs.git(root)("status", "--porcelain").splitlines() if line]
    if lines:
        return Outcome(
            "warn",
            f"{len(lines)} uncommitted change(s) in {root}",
            fix="commit them (git add -A && git commit) or stash them (git stash)",
            details=_limit(lines),
        )
    return Outcome("ok", "nothing uncommitted")


def check_unpushed(inputs: Inputs) -> Outcome:
    root = _repository(inputs)
    git = inputs.git(root)
    if git.head() is None:
        return Outcome("warn", f"{root} has no commits yet", fix="git add -A && git commit")
    branch = git("rev-parse", "--abbrev-ref", "HEAD")
    if branch == "HEAD":
        return Outcome("warn", "HEAD is detached: no branch to push", fix="git switch BRANCH")
    upstream = git("rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}", check=False)
    if not upstream:
        has_origin = bool(git("remote", "get-url", "origin", check=False))
        return Outcome(
            "warn",
            f"branch {branch} has no upstream: its commits are nowhere else",
            fix=f"git push --set-upstream origin {branch}"
            if has_origin
            else f"git remote add origin URL && git push --set-upstream origin {branch}",
        )
    ahead = int(git("rev-list", "--count", "@{upstream}..HEAD") or "0")
    if ahead:
        return Outcome(
            "warn", f"{ahead} commit(s) on {branch} not pushed to {upstream}", fix="git push"
        )
    return Outcome("ok", f"{branch} is pushed to {upstream}")


# -- guardrails --------------------------------------------------------------------------


def check_guardrails(inputs: Inputs) -> Outcome:
    """Every guardrail but PAVED-REPO-004, whose conflicts ``service.conflicts`` reports."""
    from paved.guardrails import CONFLICT_RULE

    root = inputs.need_service()
    report = inputs.guardrails(root, inputs.clock().date())
    findings = [f for f in report.findings if f.rule != CONFLICT_RULE]
    errors = [f for f in findings if f.status == "open" and f.severity == "error"]
    warnings = [f for f in findings if f.status == "open" and f.severity == "warning"]
    waived = [f for f in findings if f.status == "waived"]
    details = []
    for finding in findings:
        line = f"{finding.rule} {finding.location} {finding.message}"
        if finding.status == "waived" and finding.waiver is not None:
            waiver = finding.waiver
            line += f" (waived until {waiver.expires} by {waiver.owner}: {waiver.reason})"
        elif finding.severity == "warning":
            line += " (warning)"
        details.append(line)
    summary = (
        f"{len(report.rules)} guardrails: {len(errors)} error(s), "
        f"{len(warnings)} warning(s), {len(waived)} waived"
    )
    if len(findings) < len(report.findings):
        summary += f" ({CONFLICT_RULE}: see service.conflicts)"
    fix = (
        "fix each finding (paved guardrails explain RULE-ID says how) or waive it in "
        ".paved/waivers.yaml"
    )
    if errors:
        return Outcome("fail", summary, fix=fix, details=tuple(details))
    if warnings:
        return Outcome("warn", summary, fix=fix, details=tuple(details))
    return Outcome("ok", summary, details=tuple(details))
