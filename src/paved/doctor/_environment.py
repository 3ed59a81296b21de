"""Environment checks: is this machine ready to make, check and ship services?"""

from __future__ import annotations

import os
import re
from pathlib import Path

from paved.doctor._inputs import Inputs
from paved.doctor._model import Outcome
from paved.errors import InputError, PavedError

__all__ = [
    "check_catalog",
    "check_config",
    "check_data_dir",
    "check_git",
    "check_git_identity",
    "check_githost",
    "check_kubectl",
    "check_python",
    "check_template_store",
    "fix_data_dir",
    "fix_template_store",
]

MIN_PYTHON = (3, 11)
#: ``git init --initial-branch`` needs 2.28.
MIN_GIT = (2, 28)
_IDENTITY_FIX = (
    "git config --global user.name 'Your Name' && git config --global user.email you@example.com"
)


def check_python(version: tuple[int, int, int]) -> Outcome:
    shown = ".".join(map(str, version))
    if version[:2] >= MIN_PYTHON:
        return Outcome("ok", f"Python {shown}")
    wanted = ".".join(map(str, MIN_PYTHON))
    return Outcome(
        "fail", f"Python {shown} is older than {wanted}", fix=f"install Python {wanted} or newer"
    )


def check_git(inputs: Inputs) -> Outcome:
    if inputs.git_path is None:
        return Outcome(
            "fail",
            "git is not installed or not on PATH",
            fix="install git (https://git-scm.com/downloads, 'apt install git', "
            "'brew install git'), then run paved doctor again",
        )
    out = inputs.git()("--version")
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", out)
    if match is None:
        return Outcome("warn", f"git at {inputs.git_path} gave an unknown version ({out})")
    version = (int(match[1]), int(match[2]))
    if version < MIN_GIT:
        wanted = ".".join(map(str, MIN_GIT))
        return Outcome(
            "fail",
            f"git {match[0]} at {inputs.git_path} is older than {wanted}",
            fix=f"install git {wanted} or newer",
        )
    return Outcome("ok", f"git {match[0]} ({inputs.git_path})")


def check_git_identity(inputs: Inputs) -> Outcome:
    from paved.gitcmd import GitIdentityMissing

    inputs.need_git()
    try:
        ident = inputs.git(inputs.service).identity()
    except GitIdentityMissing:
        return Outcome(
            "fail",
            "git has no identity to commit with (user.name and user.email are not set)",
            fix=_IDENTITY_FIX,
        )
    return Outcome("ok", f"git commits as {ident}")


def check_config(inputs: Inputs) -> Outcome:
    try:
        settings = inputs.settings()
    except InputError as exc:
        return Outcome("fail", exc.message, fix=exc.hint or f"fix {inputs.paths.config_file}")
    origins = sorted(set(settings.sources.values()))
    shown = ", ".join(origins) if origins else "built-in defaults"
    return Outcome("ok", f"paved configuration valid (from {shown})")


def check_data_dir(inputs: Inputs) -> Outcome:
    data = inputs.paths.data_dir
    if not data.exists():
        return Outcome(
            "warn",
            f"data directory {data} does not exist yet",
            fix="paved doctor --fix creates it (so does the first paved new service)",
        )
    if not data.is_dir():
        return Outcome("fail", f"data directory {data} is not a folder", fix=f"move {data} aside")
    if not os.access(data, os.W_OK | os.X_OK):
        return Outcome(
            "fail",
            f"data directory {data} is not writable",
            fix=f"make it writable: chmod u+rwx {data}",
        )
    return Outcome("ok", f"data directory {data} is writable")


def fix_data_dir(inputs: Inputs) -> list[str]:
    data = inputs.paths.data_dir
    if data.exists():
        return []
    data.mkdir(parents=True)
    return [f"created data directory {data}"]


def check_catalog(inputs: Inputs) -> Outcome:
    """The catalog answers: the platform's (reachable and accepting the token) or the local one."""
    inputs.need_settings()
    catalog = inputs.catalog()
    db = inputs.paths.catalog_db
    remote = catalog.location != str(db)
    if not remote and not db.exists():
        return Outcome("ok", f"no catalog yet at {db}; created on first registration")
    try:
        count = len(catalog.list())
    except PavedError as exc:
        if remote:
            return Outcome(
                "fail",
                exc.message,
                fix="check the platform URL and run 'paved login URL' again for a fresh token",
            )
        return Outcome(
            "fail",
            exc.message,
            fix=f"move {db} aside (paved makes a new one; then run 'paved doctor --fix' in "
            "each service to register it again)",
        )
    kind = "platform catalog" if remote else "local catalog"
    return Outcome("ok", f"{kind} {catalog.location} ({count} service{'s' if count != 1 else ''})")


def _ssh_keys(home: Path) -> list[str]:
    folder = home / ".ssh"
    try:
        names = sorted(p.name for p in folder.iterdir() if p.is_file())
    except OSError:
        return []
    return [n for n in names if n.startswith("id_") and not n.endswith(".pub")]


def _scheme(url: str) -> str:
    if "://" in url:
        return url.split("://", 1)[0].lower()
    if re.match(r"^[\w.-]+@[\w.-]+:", url) or re.match(r"^[\w.-]+:(?!//)", url):
        return "ssh"  # scp-like: git@host:team/name.git
    return "file"


def check_githost(inputs: Inputs) -> Outcome:
    settings = inputs.need_settings()
    remote = settings.githost_remote
    if not remote:
        return Outcome("ok", f"embedded git host: bare repositories in {inputs.paths.repos_dir}")
    scheme = _scheme(remote)
    if scheme in {"ssh", "git+ssh", "ssh+git"}:
        if inputs.env.get("SSH_AUTH_SOCK"):
            return Outcome("ok", f"git host {remote}: ssh agent available (not contacted)")
        keys = _ssh_keys(inputs.home)
        if keys:
            return Outcome(
                "ok", f"git host {remote}: ssh key ~/.ssh/{keys[0]} present (not contacted)"
            )
        return Outcome(
            "warn",
            f"git host {remote}: no ssh agent (SSH_AUTH_SOCK) and no key in ~/.ssh",
            fix="create a key (ssh-keygen -t ed25519) and add it to the git host, "
            "or start ssh-agent",
        )
    if scheme in {"http", "https"}:
        inputs.need_git()
        helper = inputs.git(inputs.service or inputs.home)(
            "config", "--get", "credential.helper", check=False
        )
        if helper:
            return Outcome(
                "ok", f"git host {remote}: credential helper '{helper}' set (not contacted)"
            )
        return Outcome(
            "warn",
            f"git host {remote}: no git credential helper is configured",
            fix="configure one: git config --global credential.helper store "
            "(or your system's helper: osxkeychain, manager, libsecret)",
        )
    return Outcome("ok", f"git host {remote} ({scheme}: no credentials needed)")


def check_kubectl(inputs: Inputs) -> Outcome:
    """kubectl renders every deploy and the guardrails' overlays; a kubernetes target applies."""
    from paved.deploy._environments import resolve_environments

    found = inputs.which("kubectl")
    targets = sorted(
        name
        for name, environment in resolve_environments(
            inputs.settings(), inputs.paths.data_dir
        ).items()
        if environment.target == "kubernetes"
    )
    if found and targets:
        return Outcome("ok", f"kubectl is at {found} (target of {', '.join(targets)})")
    if found:
        return Outcome("ok", f"kubectl is at {found} (for 'kubectl kustomize')")
    fix = "install kubectl (it renders the Kubernetes overlays)"
    if targets:
        return Outcome(
            "fail",
            f"kubectl is not on PATH, and {', '.join(targets)} deploy with it",
            fix=fix,
        )
    return Outcome(
        "warn",
        "kubectl is not on PATH: paved deploy and the guardrails cannot render the overlays",
        fix=fix,
    )


def _store_state(inputs: Inputs) -> tuple[list[str], list[str], list[str]]:
    """(ok, missing, broken) descriptions of each bundled scaffold in the template store."""
    from paved.gitcmd import GitError

    store = inputs.store()
    ok, missing, broken = [], [], []
    for scaffold in inputs.registry().bundled():
        repo = store.repository(scaffold.name)
        label = f"{scaffold.name} {scaffold.version}"
        if not repo.exists():
            missing.append(f"{label}: no repository {repo}")
            continue
        git = inputs.git(repo, {"GIT_DIR": str(repo)})
        try:
            git("rev-parse", "--git-dir")
        except GitError as exc:
            broken.append(f"{label}: {repo} is not a valid git repository ({exc.message})")
            continue
        tag = git(
            "rev-parse", "--verify", "--quiet", f"refs/tags/{scaffold.version}^{{commit}}",
            check=False,
        )  # fmt: skip
        if tag:
            ok.append(label)
        else:
            missing.append(f"{label}: no tag {scaffold.version} in {repo}")
    return ok, missing, broken


def check_template_store(inputs: Inputs) -> Outcome:
    inputs.need_git()
    inputs.need_settings()  # the registry reads them (an organisation's scaffolds)
    root = inputs.store().root
    ok, missing, broken = _store_state(inputs)
    if broken:
        return Outcome(
            "fail",
            f"template store {root} is damaged",
            fix=f"remove {root}, then run 'paved doctor --fix' to rebuild it",
            details=tuple(broken + missing),
        )
    if missing:
        return Outcome(
            "warn",
            f"template store {root} lacks {len(missing)} scaffold version(s); built on first use",
            fix="paved doctor --fix builds it now",
            details=tuple(missing),
        )
    if not ok:
        return Outcome("warn", "no bundled scaffolds found", fix="reinstall paved")
    return Outcome("ok", f"template store {root} holds " + ", ".join(ok))


def fix_template_store(inputs: Inputs) -> list[str]:
    inputs.need_git()
    inputs.need_settings()
    store = inputs.store()
    changes = []
    _, missing, broken = _store_state(inputs)
    if broken or not missing:
        return []
    names = {line.split(" ", 1)[0] for line in missing}
    for scaffold in inputs.registry().bundled():
        if scaffold.name in names:
            tag = store.ensure(scaffold)
            changes.append(f"stored {scaffold.name} {tag} in {store.repository(scaffold.name)}")
    return changes
