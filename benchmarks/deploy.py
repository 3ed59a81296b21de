"""Deploy benchmark: ``paved deploy`` on the embedded default, and where its time goes.

Target: ``paved deploy --image REF`` of a freshly generated service to ``dev`` on the embedded
default (guardrails gate, ``kubectl kustomize`` of the overlay with the image set, a commit
pushed to the environment repository, a bare repository under the data directory, and the
record in the local catalog) takes a median under 2 s on this machine.

Setup: one service made with ``paved new service bench --owner team-a`` (registered, so the
gate is the full one). Each run deploys a new image digest, so every deploy is a real change:
one new commit in the environment repository. Runs are fresh processes of this interpreter
(``python -m paved``), after warm-up runs; everything lives in a temporary folder (PAVED_HOME,
the service, the bytecode cache) and only local files are used.

The split between the phases comes from the progress lines paved prints on stderr:

    start-up   from the start of the process to the ``gate:`` line (imports, settings,
               service, git identity and source commit, image)
    gate       ``gate:`` to ``render:`` (the guardrails over the service, the catalog lookup)
    render     ``render:`` to ``push:`` (``kubectl kustomize`` of the overlay with the image)
    push       ``push:`` to the end (clone, commit, push, record, exit)

At the end it checks that every deploy landed: one commit per run in the environment
repository, and one ``succeeded`` record per run in ``paved deployments list --json``.

    python benchmarks/deploy.py [--runs N] [--warmup N]

Prints PASS or FAIL on the last line and exits 0 either way: it reports, it does not gate.
A failing command aborts the benchmark (exit 1) with its stderr.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from _bench import bench_service, run

TARGET_MS = 2000.0
PHASES = ("start-up", "gate", "render", "push")
MARKERS = {"gate:": "gate", "render:": "render", "push:": "push"}


def timed_deploy(
    cmd: Sequence[str], *, env: dict[str, str], cwd: Path
) -> tuple[float, dict[str, float]]:
    """Run one deploy; its total time and the time between its progress lines."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        list(cmd), env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    assert proc.stderr is not None
    lines: list[str] = []
    phases: dict[str, float] = dict.fromkeys(PHASES, 0.0)
    phase, since = "start-up", start
    for line in proc.stderr:
        now = time.perf_counter()
        lines.append(line)
        words = line.split()
        marker = words[0] if words else ""
        if marker in MARKERS and MARKERS[marker] != phase:
            phases[phase] += (now - since) * 1000
            phase, since = MARKERS[marker], now
    code = proc.wait()
    end = time.perf_counter()
    phases[phase] += (end - since) * 1000
    if code != 0:
        sys.stderr.write(
            f"command failed (exit {code}): {' '.join(map(str, cmd))}\n--- stderr ---\n"
            + "".join(lines)
        )
        raise SystemExit(1)
    return (end - start) * 1000, phases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="timed deploys")
    parser.add_argument("--warmup", type=int, default=2, help="untimed deploys first")
    args = parser.parse_args()
    paved = [sys.executable, "-m", "paved"]

    with tempfile.TemporaryDirectory(prefix="paved-bench-deploy-") as tmp:
        env, home, service = bench_service(Path(tmp), paved)
        work = service.parent

        totals: list[float] = []
        split: dict[str, list[float]] = {phase: [] for phase in PHASES}
        count = args.warmup + args.runs
        for number in range(count):
            ref = f"registry.example.com/team/bench@sha256:{number + 1:064x}"
            total, phases = timed_deploy(
                [*paved, "deploy", "--env", "dev", "--image", ref], env=env, cwd=service
            )
            if number >= args.warmup:
                totals.append(total)
                for phase, ms in phases.items():
                    split[phase].append(ms)

        repo = home / "data" / "environments.git"
        commits = run(["git", "--git-dir", str(repo), "rev-list", "--count", "main"], env=env)
        if int(commits) != count:
            raise SystemExit(f"{count} deploys made {commits.strip()} commits")
        listed = json.loads(run([*paved, "deployments", "list", "--json"], env=env, cwd=work))
        outcomes = [d["outcome"] for d in listed["deployments"]]
        if outcomes != ["succeeded"] * count:
            raise SystemExit(f"unexpected records: {outcomes}")

    median = statistics.median(totals)
    print(
        f"deploy: paved deploy --env dev on the embedded default (gitops); {args.runs} runs "
        f"after {args.warmup} warm-up run(s), each a new image digest and a new commit"
    )
    print(
        f"  total     median {median:8.1f} ms   min {min(totals):8.1f} ms   "
        f"target < {TARGET_MS:.0f} ms"
    )
    for phase in PHASES:
        values = split[phase]
        share = statistics.median(values) / median * 100
        print(
            f"  {phase:9} median {statistics.median(values):8.1f} ms   "
            f"min {min(values):8.1f} ms   ({share:4.1f}% of the median total)"
        )
    print("PASS" if median < TARGET_MS else "FAIL")


if __name__ == "__main__":
    main()
