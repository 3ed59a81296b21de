"""Kill benchmark: ``paved deploy`` killed at random moments; do records and history agree?

Target: after every one of N deploys killed with SIGKILL or interrupted with SIGINT (as
Ctrl-C does: the whole process group) at a random moment, the deployment records and the
environment repository's history agree, every time:

- no record is left ``started`` once ``paved deployments list`` has read them;
- every commit on ``main`` that carries ``Paved-Deployment: ID`` has a ``succeeded`` record
  ``ID`` whose ``revision`` is that commit;
- every ``succeeded`` record's ``revision`` is a commit on ``main`` carrying its id;
- what ``main`` holds is the image of the newest succeeded record.

At the end ``paved rollback`` must restore the manifests of the commit before the last.

Setup: one service made with ``paved new service bench --owner team-a`` on the embedded
default, in a temporary folder. Two deploys run to the end first and their median time is
the window: each killed deploy gets its signal after a delay drawn uniformly from it, every
other one from its push phase only (from the ``push:`` progress line to the end), where the
record and the push race; seeded, so a run can be repeated with ``--seed``; signals
alternate SIGKILL and SIGINT.

    python benchmarks/deploy_kill.py [--runs N] [--seed S]

Prints the counts (landed, settled as interrupted, left no record), the disagreements, and
PASS or FAIL on the last line; exits 0 either way. A failing setup command exits 1.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _bench import bench_service, run

PATH = "envs/dev/bench/manifests.yaml"


def _ref(number: int) -> str:
    return f"registry.example.com/team/bench@sha256:{number:064x}"


def _commits(repo: Path, env: dict[str, str]) -> list[tuple[str, str]]:
    """(commit, Paved-Deployment) of every commit on main, newest first."""
    out = run(
        [
            "git", "--git-dir", str(repo), "log", "--format=%H %(trailers:key=Paved-Deployment,"
            "valueonly,separator=%x2C)", "main",
        ],
        env=env,
    )  # fmt: skip
    return [tuple(line.split(" ", 1)) for line in out.splitlines()]  # type: ignore[misc]


def _disagreements(records: list[dict[str, Any]], repo: Path, env: dict[str, str]) -> list[str]:
    problems = []
    commits = _commits(repo, env)
    by_id = {r["id"]: r for r in records}
    on_main = {commit for commit, _id in commits}
    for record in records:
        if record["outcome"] == "started":
            problems.append(f"record {record['id']} is still started")
        if record["outcome"] == "succeeded" and record["revision"] not in on_main:
            problems.append(f"record {record['id']} succeeded but its commit is not on main")
    for commit, number in commits:
        record = by_id.get(int(number)) if number.isdigit() else None
        if record is None or record["outcome"] != "succeeded" or record["revision"] != commit:
            problems.append(f"commit {commit[:12]} (deployment {number}) has no succeeded record")
    if commits:
        head = run(["git", "--git-dir", str(repo), "show", f"main:{PATH}"], env=env)
        newest = max((r for r in records if r["outcome"] == "succeeded"), key=lambda r: r["id"])
        if newest["image"] not in head:
            problems.append(f"main does not hold the image of record {newest['id']}")
    return problems


def _timed(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Run a deploy to the end; (seconds to its ``push:`` line, seconds in all)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.stderr is not None
    push = 0.0
    for line in proc.stderr:
        if line.lstrip().startswith("push:") and not push:
            push = time.perf_counter() - start
    if proc.wait() != 0:
        raise SystemExit(f"command failed: {' '.join(cmd)}")
    return push, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="killed deploys")
    parser.add_argument("--seed", type=int, default=20261201, help="for the delays")
    args = parser.parse_args()
    chance = random.Random(args.seed)
    paved = [sys.executable, "-m", "paved"]

    with tempfile.TemporaryDirectory(prefix="paved-bench-kill-") as tmp:
        env, home, service = bench_service(Path(tmp), paved)
        work = service.parent
        repo = home / "data" / "environments.git"
        deploy = [*paved, "deploy", "--env", "dev", "--image"]
        timings = [_timed([*deploy, _ref(n)], env, service) for n in (1, 2)]
        push_at = statistics.median(t[0] for t in timings)
        window = statistics.median(t[1] for t in timings)

        landed = interrupted = unrecorded = 0
        problems: list[str] = []
        for number in range(3, 3 + args.runs):
            sig = signal.SIGKILL if number % 2 else signal.SIGINT
            before = len(_commits(repo, env))
            proc = subprocess.Popen(
                [*deploy, _ref(number)],
                env=env,
                cwd=service,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # its own process group, signalled whole like Ctrl-C
            )
            # Every other delay falls in the push phase, where the record and the push race.
            early = 0.0 if number % 4 < 2 else push_at * 0.9
            time.sleep(chance.uniform(early, window * 1.05))
            # It may have finished already: a deploy that ran to the end must agree too.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            proc.wait()
            listed = json.loads(run([*paved, "deployments", "list", "--json"], env=env, cwd=work))
            records = listed["deployments"]
            mine = [r for r in records if r["image"] == _ref(number)]
            if not mine:
                unrecorded += 1
            elif mine[0]["outcome"] == "succeeded":
                landed += 1
            else:
                interrupted += 1
            if mine and mine[0]["outcome"] == "succeeded" and len(_commits(repo, env)) == before:
                problems.append(f"deploy {number}: succeeded without a commit")
            problems += [f"after deploy {number} ({sig.name}): {p}" for p in
                         _disagreements(records, repo, env)]  # fmt: skip

        commits = _commits(repo, env)
        previous = run(["git", "--git-dir", str(repo), "show", f"{commits[1][0]}:{PATH}"], env=env)
        run([*paved, "rollback", "--env", "dev"], env=env, cwd=service)
        restored = run(["git", "--git-dir", str(repo), "show", f"main:{PATH}"], env=env)
        if restored != previous:
            problems.append("rollback did not restore the commit before the last")

    print(
        f"deploy-kill: {args.runs} deploys signalled at a random moment within {window:.2f} s "
        f"(the push from {push_at:.2f} s) "
        f"(SIGKILL and SIGINT alternately, seed {args.seed})"
    )
    print(f"  landed and recorded succeeded   {landed:3d}")
    print(f"  settled as failed (interrupted) {interrupted:3d}")
    print(f"  cancelled before any record     {unrecorded:3d}")
    print(f"  disagreements                   {len(problems):3d}")
    for problem in problems[:20]:
        print(f"    {problem}")
    print("PASS" if not problems else "FAIL")


if __name__ == "__main__":
    main()
