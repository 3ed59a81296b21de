"""The git adapter: every git command paved runs goes through :class:`Git`.

Each command is the real ``git`` binary, run with :mod:`subprocess`; git's own messages become
paved errors here (:class:`GitError` with the reason read from git's words, a missing git as
:class:`GitNotFound`), so ``paved doctor`` can report a missing git instead of crashing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from paved.errors import AuthError, InputError, PavedError, RemoteError

__all__ = [
    "Git",
    "GitError",
    "GitIdentityMissing",
    "GitNotFound",
    "PushRejected",
    "create_bare_repository",
    "list_files",
]


class GitError(PavedError):
    """A git command failed."""

    def __init__(self, message: str, *, stderr: str = "", hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.stderr = stderr


class GitNotFound(PavedError):
    """git is not installed, or not on PATH."""


class GitIdentityMissing(InputError):
    """git has no user.name or user.email."""


def _reason(stderr: str) -> str:
    """The part of git's stderr a person needs: the remote's words, else the first error."""
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    remote = [line.removeprefix("remote:").strip() for line in lines if line.startswith("remote:")]
    remote = [line for line in remote if line]
    if remote:
        return "; ".join(remote[:3])
    for at, line in enumerate(lines):
        if line.startswith(("fatal:", "error:")):
            reason = line.split(":", 1)[1].strip()
            if reason.endswith(":") and at + 1 < len(lines):  # "unable to connect to HOST:"
                reason = f"{reason} {lines[at + 1]}"
            return reason
    return lines[-1] if lines else ""


_AUTH_FAILURES = (
    "authentication failed",
    "permission denied",
    "could not read username",
    "could not read password",
    "terminal prompts disabled",
    "access denied",
    "the requested url returned error: 401",
    "the requested url returned error: 403",
)


class PushRejected(RemoteError):
    """The remote refused a push that is not a fast-forward: someone else pushed first."""


_BEHIND = ("non-fast-forward", "fetch first", "[rejected]")
#: A push that lost a race with another push to the same repository, as the remote says it.
_LOST_RACE = ("cannot lock ref", "failed to update ref", "incorrect old value")


def _behind(stderr: str) -> bool:
    """Did the remote refuse the push only because its branch moved on?"""
    lowered = stderr.lower()
    if "[remote rejected]" in lowered:  # a hook or a policy, unless it lost a race
        return any(marker in lowered for marker in _LOST_RACE)
    return any(marker in lowered for marker in _BEHIND)


def _auth_refused(stderr: str) -> bool:
    lowered = stderr.lower()
    return any(marker in lowered for marker in _AUTH_FAILURES)


#: Remote commands never wait for a password: paved runs in scripts too.
_NO_PROMPT = {"GIT_TERMINAL_PROMPT": "0"}


class Git:
    """Runs git in one folder, with an optional extra environment."""

    def __init__(self, cwd: Path | None = None, env: Mapping[str, str] | None = None) -> None:
        self.cwd = cwd
        self.env = dict(env or {})

    def _run(
        self, args: tuple[str, ...], stdin: bytes | None
    ) -> subprocess.CompletedProcess[bytes]:
        # git's messages in English (the reasons below are read from them); the caller's
        # environment otherwise, with this command's additions on top
        env = {**os.environ, "LANGUAGE": "C", "LC_ALL": "C", **self.env}
        try:
            return subprocess.run(
                ["git", *args], cwd=self.cwd, input=stdin, capture_output=True, check=False,
                env=env,
            )  # fmt: skip
        except FileNotFoundError as exc:
            if exc.filename not in (None, "git"):
                raise  # the folder is missing, not git
            raise GitNotFound(
                "git is not installed or not on PATH",
                hint="install git, then run the command again",
            ) from exc

    def __call__(self, *args: str, check: bool = True, stdin: str | None = None) -> str:
        """Run ``git ARGS`` and return its stdout with the trailing newline removed."""
        done = self._run(args, stdin.encode("utf-8") if stdin is not None else None)
        if done.returncode != 0:
            if not check:
                return ""
            stderr = done.stderr.decode("utf-8", errors="replace").strip()
            raise GitError(
                f"git {args[0]} failed: {_reason(stderr) or 'exit ' + str(done.returncode)}",
                stderr=stderr,
            )
        out = done.stdout.decode("utf-8", errors="surrogateescape")
        return out[:-1] if out.endswith("\n") else out

    def status(self, *args: str, stdin: bytes | None = None) -> tuple[int, bytes]:
        """Run ``git ARGS`` and return its exit status and its stdout, byte for byte: for the
        commands whose status is an answer (``merge-tree`` exits 1 when the merge has
        conflicts) and for file contents (``cat-file blob``).

        Only a failure to run git at all is an error here.
        """
        done = self._run(args, stdin)
        return done.returncode, done.stdout

    # -- questions ---------------------------------------------------------------------

    def identity(self) -> str:
        """The committer identity git would use, or :class:`GitIdentityMissing`."""
        try:
            ident = self("-c", "user.useConfigOnly=true", "var", "GIT_COMMITTER_IDENT")
            self("-c", "user.useConfigOnly=true", "var", "GIT_AUTHOR_IDENT")
        except GitError as exc:
            raise GitIdentityMissing(
                "git has no identity to commit with (user.name and user.email are not set)",
                hint=(
                    "run: git config --global user.name 'Your Name' && "
                    "git config --global user.email you@example.com"
                ),
            ) from exc
        return ident.rsplit(">", 1)[0] + ">"

    def head(self) -> str | None:
        """The commit HEAD points at, or ``None`` in a repository without commits."""
        out = self("rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False)
        return out or None

    def _remote(self, url: str, *args: str, failed: str) -> str:
        """Run a command that talks to ``url``; map its failure to AuthError or RemoteError."""
        try:
            return Git(self.cwd, {**_NO_PROMPT, **self.env})(*args)
        except GitError as exc:
            reason = _reason(exc.stderr) or exc.message
            if _auth_refused(exc.stderr):
                raise AuthError(
                    f"git repository {url} refused access ({reason})",
                    hint="check your git credentials for this host (ssh key or credential "
                    "helper), then run the same command again",
                ) from exc
            if args and args[0] == "push" and _behind(exc.stderr):
                raise PushRejected(
                    f"git repository {url} rejected the push: its branch moved on ({reason})",
                    hint="fetch, apply your change on top and push again",
                ) from exc
            raise RemoteError(
                f"git repository {url} {failed} ({reason})",
                hint="check the URL and the git host, then run the same command again",
            ) from exc

    def push(self, url: str, *args: str) -> None:
        """``git push ARGS``; raises AuthError or RemoteError naming ``url``."""
        self._remote(url, "push", "--quiet", *args, failed="rejected the push")

    def clone(self, url: str, destination: Path, *args: str) -> None:
        """``git clone ARGS URL DESTINATION``; raises AuthError or RemoteError naming ``url``."""
        self._remote(url, "clone", "--quiet", *args, "--", url, str(destination),
                     failed="cannot be reached")  # fmt: skip

    def fetch(self, url: str, *args: str) -> None:
        """``git fetch ARGS``; raises AuthError or RemoteError naming ``url``."""
        self._remote(url, "fetch", "--quiet", *args, failed="cannot be reached")

    def remote_refs(self, url: str) -> dict[str, str]:
        """The refs of the repository at ``url`` (``{ref: sha}``)."""
        out = self._remote(url, "ls-remote", "--", url, failed="cannot be reached")
        refs = {}
        for line in out.splitlines():
            sha, _, ref = line.partition("\t")
            refs[ref] = sha
        return refs

    def is_ancestor(self, older: str, newer: str) -> bool:
        try:
            self("merge-base", "--is-ancestor", older, newer)
        except GitError:
            return False
        return True


def create_bare_repository(path: Path, *, branch: str = "main") -> bool:
    """Create an empty bare repository at ``path``, whole or not at all.

    It is made beside ``path`` and renamed into place, so a reader sees no repository or a whole
    one. Returns False when ``path`` exists already (made earlier, or by a process that won the
    race). The folder's own errors (``OSError``) are the caller's to name.
    """
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}-", dir=path.parent))
    try:
        Git()("init", "--quiet", "--bare", f"--initial-branch={branch}", str(staging))
        try:
            staging.rename(path)
        except OSError:
            if not path.exists():
                raise
            return False  # another process made it first: use theirs
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return True


def list_files(root: Path, env: Mapping[str, str]) -> list[str] | None:
    """The files git tracks or would commit in the work tree at ``root`` (untracked ones that
    are not ignored included), as git spells them; ``None`` when git cannot tell (no git, or
    not a repository).

    Runs git with the given environment only (not paved's): the guardrails list a tree on
    every check, in the environment the command was given.
    """
    git = shutil.which("git", path=env.get("PATH", os.defpath))
    if git is None:
        return None
    done = subprocess.run(
        [git, "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True, check=False, env=dict(env),
    )  # fmt: skip
    if done.returncode != 0:
        return None
    names = done.stdout.decode("utf-8", errors="replace").split("\0")
    return [name for name in dict.fromkeys(names) if name]
