"""``kubectl kustomize``: the one place paved runs it, always with limits.

A kustomization is the service's own input, and kustomize expands whatever it is given: a YAML
alias bomb ("billion laughs") in one resource grows kubectl by gigabytes in seconds. So every
build runs without cluster configuration (``KUBECONFIG=/dev/null``), in a session of its own,
under limits the kernel enforces in the child:

- memory: ``RLIMIT_DATA``, which on Linux (4.7 and newer) counts the private anonymous mappings
  the Go runtime allocates its heap in. ``RLIMIT_AS`` cannot be used: Go reserves address space
  at start-up and kubectl does not start under about 1 GiB of it. ``GOMEMLIMIT`` is set below
  the cap too, so the garbage collector works harder before the cap is reached; it is only a
  target, the cap is the limit;
- time: the whole session (kubectl and anything it starts) is killed after ``timeout`` seconds;
- output: stdout and stderr go to temporary files capped with ``RLIMIT_FSIZE``.

A build over any limit raises :class:`KustomizeFailed` with a one-line reason, never hangs.
"""

from __future__ import annotations

import dataclasses
import os
import re
import resource
import select
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO

from paved.errors import PavedError
from paved.text import escaped

__all__ = [
    "DEFAULT_LIMITS",
    "Builder",
    "KustomizeFailed",
    "Limits",
    "builder",
    "find_kubectl",
    "kustomize",
]

#: Builds one kustomize directory: returns (stdout, error message or None).
Builder = Callable[[Path], tuple[str, str | None]]

MIB = 1 << 20

#: What the Go runtime prints when an allocation fails (the memory limit was reached).
_OUT_OF_MEMORY = re.compile(
    r"fatal error: (?:runtime: )?(?:out of memory|cannot allocate memory)"
    r"|runtime: out of memory|runtime: cannot map pages|failed to create new OS thread"
)
_FILE_TOO_LARGE = "file too large"


@dataclasses.dataclass(frozen=True)
class Limits:
    """What one ``kubectl kustomize`` may use.

    The sample services build in about 80 MiB (peak RSS) and 0.2 s each, so the defaults leave
    a real overlay more than ten times that; an alias bomb reaches the memory cap in seconds.
    """

    #: bytes of heap (``RLIMIT_DATA``)
    memory: int = 1024 * MIB
    #: seconds, wall clock
    timeout: float = 60.0
    #: bytes of stdout (and of stderr)
    output: int = 64 * MIB


DEFAULT_LIMITS = Limits()


class KustomizeFailed(PavedError):
    """``kubectl kustomize`` did not build the folder; ``reason`` says why, in one line."""

    def __init__(self, directory: Path, reason: str) -> None:
        super().__init__(f"kubectl kustomize {directory} failed ({reason})")
        self.directory = directory
        self.reason = reason


def kustomize(
    directory: Path,
    *,
    kubectl: str,
    env: Mapping[str, str],
    limits: Limits = DEFAULT_LIMITS,
) -> str:
    """What ``kubectl kustomize DIRECTORY`` prints; :class:`KustomizeFailed` when it fails."""
    child_env = {
        **env,
        "KUBECONFIG": os.devnull,
        "GOMEMLIMIT": f"{max(1, limits.memory * 3 // 4 // MIB)}MiB",
    }

    memory, output = (limits.memory, limits.memory), (limits.output, limits.output)

    def set_limits() -> None:
        # Runs in the forked child before exec, while other threads of paved may hold locks:
        # two system calls on values made before the fork, nothing that could wait for a lock.
        resource.setrlimit(resource.RLIMIT_DATA, memory)
        resource.setrlimit(resource.RLIMIT_FSIZE, output)

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            process = subprocess.Popen(
                [kubectl, "kustomize", str(directory)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=child_env,
                preexec_fn=set_limits, start_new_session=True,
            )  # fmt: skip
        except OSError as exc:
            raise KustomizeFailed(directory, f"{kubectl} cannot run: {exc.strerror}") from None
        try:
            code = _wait(process, limits.timeout)
        except subprocess.TimeoutExpired:
            _kill(process)
            raise KustomizeFailed(directory, f"took longer than {limits.timeout:g} s") from None
        except BaseException:
            _kill(process)
            raise
        stdout = _read(out, limits.output)
        stderr = _read(err, limits.output).decode("utf-8", errors="replace")
    if code == 0 and len(stdout) < limits.output:
        return stdout.decode("utf-8", errors="replace")
    raise KustomizeFailed(directory, _reason(code, stdout, stderr, limits))


def _wait(process: subprocess.Popen[bytes], timeout: float) -> int:
    """``process.wait(timeout)``, woken the moment the child exits.

    ``Popen.wait`` with a timeout polls, sleeping up to 50 ms between looks, which adds about
    25 ms to every build on average; a pidfd (Linux 5.3 and newer) becomes readable when the
    process ends. Elsewhere, or when it cannot be had, ``Popen.wait`` itself.
    """
    pidfd_open = getattr(os, "pidfd_open", None)
    if pidfd_open is not None:
        try:
            fd = pidfd_open(process.pid)
        except OSError:
            fd = -1
        if fd >= 0:
            try:
                poller = select.poll()
                poller.register(fd, select.POLLIN)
                if not poller.poll(max(0, int(timeout * 1000))):
                    raise subprocess.TimeoutExpired(process.args, timeout)
            finally:
                os.close(fd)
            return process.wait()
    return process.wait(timeout=timeout)


def _read(handle: IO[bytes], limit: int) -> bytes:
    handle.seek(0)
    return handle.read(limit)


def _kill(process: subprocess.Popen[bytes]) -> None:
    """Kill kubectl's whole session (it leads it: its pid is the group id), then reap it."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()
    process.wait()


def _reason(code: int, stdout: bytes, stderr: str, limits: Limits) -> str:
    if _OUT_OF_MEMORY.search(stderr[:65536]):
        return f"exceeded the memory limit of {limits.memory // MIB} MiB"
    if len(stdout) >= limits.output or code == -signal.SIGXFSZ or _FILE_TOO_LARGE in stderr:
        return f"printed more than the output limit of {limits.output // MIB} MiB"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    return escaped(lines[-1]) if lines else f"exit status {code}"


def find_kubectl(env: Mapping[str, str]) -> str | None:
    """The ``kubectl`` on the ``PATH`` of ``env``, or ``None``."""
    return shutil.which("kubectl", path=env.get("PATH", os.defpath))


def builder(env: Mapping[str, str], *, limits: Limits = DEFAULT_LIMITS) -> Builder:
    """A :data:`Builder` with the ``kubectl`` of ``env``: a failed build is a reason, not an
    exception (the guardrails report it as a finding)."""
    kubectl = find_kubectl(env)

    def build(directory: Path) -> tuple[str, str | None]:
        if kubectl is None:
            return "", "kubectl is not installed (needed for 'kubectl kustomize')"
        try:
            return kustomize(directory, kubectl=kubectl, env=env, limits=limits), None
        except KustomizeFailed as exc:
            return "", exc.reason

    return build
