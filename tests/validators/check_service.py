"""Each sample service passes its own tests, starts, answers /healthz and logs JSON lines.

    python tests/validators/check_service.py SAMPLES_DIR

For every sample folder: make a virtualenv with the sample's Python version, install the
sample with its test extra, run its pytest; then start it as its container does
(``python -m MODULE``: uvicorn) on 127.0.0.1 and a free port, wait for /healthz, send one
request carrying a W3C traceparent, stop it with SIGTERM (it must exit 0 within 10 s), and
check that every stdout line is a JSON object with the platform's fields and that the access
log line carries the request id and the trace ids. Exit 1 on any failure.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

FIELDS = (
    "timestamp", "level", "message", "logger", "service", "version", "environment",
    "request_id", "trace_id", "span_id",
)  # fmt: skip
RFC3339_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")
TRACE_ID, SPAN_ID, REQUEST_ID = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", "check-1"
TRACEPARENT = f"00-{TRACE_ID}-{SPAN_ID}-01"
SAMPLE_PATH = "/v1/hello"
STARTUP_TIMEOUT, STOP_TIMEOUT = 20.0, 10.0


def answer(sample: Path, key: str) -> str:
    """A top-level scalar from the app layer's answers file (no YAML library needed)."""
    text = (sample / ".copier-answers.app.yml").read_text(encoding="utf-8")
    match = re.search(rf"^{key}:\s*['\"]?([^'\"\n]+)['\"]?\s*$", text, re.MULTILINE)
    if match is None:
        raise LookupError(f"{key} not in .copier-answers.app.yml")
    return match.group(1).strip()


def find_python(version: str) -> str:
    """An interpreter for ``version`` (e.g. "3.13"): this one, on PATH, or a pyenv install."""
    root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates = [sys.executable, shutil.which(f"python{version}")]
    candidates += sorted(glob.glob(f"{root}/versions/{version}.*/bin/python{version}"))
    probe = "import sys; print('%d.%d' % sys.version_info[:2])"
    for candidate in filter(None, candidates):
        done = subprocess.run([candidate, "-c", probe], capture_output=True, text=True, check=False)
        if done.returncode == 0 and done.stdout.strip() == version:
            return candidate
    raise LookupError(f"no Python {version} interpreter found (PATH, {root}/versions)")


def run(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> str | None:
    """None when ``cmd`` succeeds, else its output (the finding)."""
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    return (
        None
        if done.returncode == 0
        else f"{' '.join(cmd)} -> {done.returncode}\n" + (done.stdout + done.stderr).strip()[-3000:]
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str]]:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=2) as r:  # noqa: S310 - http://127.0.0.1 only
        return r.status, dict(r.headers.items())


def check_lines(stdout: str) -> list[str]:
    """Findings about the log lines: each one JSON with the fields; one traced access line."""
    findings, access = [], []
    for number, text in enumerate(stdout.splitlines(), 1):
        try:
            line = json.loads(text)
        except json.JSONDecodeError:
            findings.append(f"stdout line {number} is not JSON: {text[:200]}")
            continue
        if not isinstance(line, dict):
            findings.append(f"stdout line {number} is not a JSON object: {text[:200]}")
            continue
        if missing := [field for field in FIELDS if field not in line]:
            findings.append(f"stdout line {number} lacks {', '.join(missing)}: {text[:200]}")
        elif not RFC3339_UTC.fullmatch(str(line["timestamp"])):
            findings.append(f"stdout line {number}: timestamp not RFC 3339 UTC: {text[:200]}")
        if line.get("path") == SAMPLE_PATH and "status" in line and "duration_ms" in line:
            access.append(line)
    if not stdout.strip():
        findings.append("nothing logged on stdout")
    expected = (REQUEST_ID, TRACE_ID, SPAN_ID)
    if not any((a["request_id"], a["trace_id"], a["span_id"]) == expected for a in access):
        findings.append(f"no access log line for {SAMPLE_PATH} with request id and trace ids")
    return findings


def check_running(python: str, sample: Path, module: str) -> list[str]:
    """Start the service, probe it, stop it with SIGTERM; findings."""
    port = free_port()
    env = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1", "APP_ENV": "ci"}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [python, "-m", module], cwd=sample, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    findings: list[str] = []
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            try:
                if get(f"{base}/healthz")[0] == 200:
                    break
            except (urllib.error.URLError, OSError):
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                findings.append(f"/healthz did not answer 200 within {STARTUP_TIMEOUT:.0f} s")
                break
            time.sleep(0.2)
        if not findings:
            headers = {"traceparent": TRACEPARENT, "X-Request-ID": REQUEST_ID}
            status, answer_headers = get(f"{base}{SAMPLE_PATH}", headers)
            echoed = {k.lower(): v for k, v in answer_headers.items()}.get("x-request-id")
            if status != 200 or echoed != REQUEST_ID:
                findings.append(f"GET {SAMPLE_PATH}: status {status}, X-Request-ID {echoed!r}")
    except (urllib.error.URLError, OSError) as error:
        findings.append(f"GET {SAMPLE_PATH} failed: {error}")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            stdout, stderr = proc.communicate(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            stdout, stderr = proc.communicate()
            findings.append(f"still running {STOP_TIMEOUT:.0f} s after SIGTERM")
    if proc.returncode != 0:
        findings.append(f"exit code {proc.returncode} after SIGTERM (expected 0)")
    if stderr.strip():
        findings.append(f"wrote to stderr (logs belong on stdout as JSON): {stderr.strip()[:500]}")
    return findings + check_lines(stdout)


def check_sample(sample: Path, scratch: Path) -> list[str]:
    try:
        python = find_python(answer(sample, "python_version"))
        (module,) = [p.parent.name for p in (sample / "src").glob("*/__main__.py")]
    except (LookupError, OSError, ValueError) as error:
        return [str(error)]
    venv = scratch / sample.name
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    vpython = str(venv / "bin" / "python")
    for cmd in (
        [python, "-m", "venv", str(venv)],
        [vpython, "-m", "pip", "install", "-q", "-e", f"{sample}[test]"],
        [vpython, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
    ):
        if failure := run(cmd, cwd=sample, env=env):
            return [failure]
    return check_running(vpython, sample, module)


def main(samples_dir: str) -> int:
    samples = sorted(p.resolve() for p in Path(samples_dir).iterdir() if p.is_dir())
    if not samples:
        print(f"no samples in {samples_dir}")
        return 1
    failed = 0
    with tempfile.TemporaryDirectory(prefix="check-service-") as scratch:
        for sample in samples:
            findings = check_sample(sample, Path(scratch))
            print(f"{sample.name}: {'FAIL' if findings else 'ok'}")
            for finding in findings:
                print(f"  - {finding}")
            failed += bool(findings)
    print(f"{len(samples) - failed}/{len(samples)} samples passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
