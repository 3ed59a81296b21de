"""Deploy benchmark: ``paved deploy`` on the embedded default, against the same done by hand.

Target: ``paved deploy --image REF`` of a freshly generated service to ``dev`` on the embedded
default (guardrails gate, ``kubectl kustomize`` of the overlay with the image set, a commit
pushed to the environment repository, a bare repository under the data directory, and the
record in the local catalog) takes at most 0.8x the time of the same done by hand with a
guardrails check added to it, and a median under 2 s on this machine.

The by-hand sequence (the baseline), each step a fresh process, one after the other:

    paved guardrails check               the service's guardrails (its own kustomize builds)
    kubectl kustomize WRAPPER            the dev overlay with the image set: a one-file
                                         kustomization naming the overlay and ``images:``
                                         (what ``kustomize edit set image`` writes)
    git clone --no-tags --single-branch  the environment repository (a bare one of its own)
    git add, git commit, git push        the manifests and their kustomization

Setup: one service made with ``paved new service bench --owner team-a`` (registered, so the
gate is the full one). Each run deploys a new image digest, so every deploy is a real change:
one new commit in the environment repository (and one in the by-hand one). Deploys and the
by-hand sequence run interleaved, which goes first alternating by round. Runs are fresh
processes of this interpreter (``python -m paved``), after warm-up runs; everything lives in
a temporary folder (PAVED_HOME, the service, the bytecode cache) and only local files are used.

The split between the phases comes from the progress lines paved prints on stderr:

    start-up   from the start of the process to the ``gate:`` line (imports, settings,
               service, git identity and source commit, image)
    gate       ``gate:`` to ``render:`` (the guardrails over the service, the catalog lookup)
    render     ``render:`` to ``push:`` (the overlay with the image: the dev build the gate
               made, with kustomize's image transform applied)
    push       ``push:`` to the end (clone, commit, push, record, exit)

At the end it checks that every deploy landed: one commit per run in the environment
repository, and one ``succeeded`` record per run in ``paved deployments list --json``.

    python benchmarks/deploy.py [--runs N] [--warmup N]

Profile one deploy (in-process, every thread; see benchmarks/README.md):

    python benchmarks/profile_paved.py deploy --env dev --image REF   # from inside a service

Prints PASS or FAIL on the last line and exits 0 either way: it reports, it does not gate.
A failing command aborts the benchmark (exit 1) with its stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from _bench import bench_service, run

TARGET_MS = 2000.0
#: deploy / the by-hand sequence with a guardrails check added
TARGET_RATIO = 0.8
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


def by_hand(
    paved: Sequence[str], *, env: dict[str, str], service: Path, repo: Path, ref: str, tmp: Path
) -> float:
    """The by-hand sequence with a guardrails check: its total wall time in ms."""
    start = time.perf_counter()
    run([*paved, "guardrails", "check", "."], env=env, cwd=service)
    wrapper = tmp / "wrapper"
    wrapper.mkdir()
    name, digest = ref.split("@", 1)
    overlay = service / "k8s" / "overlays" / "dev"
    (wrapper / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        f"resources:\n  - {os.path.relpath(overlay, wrapper)}\nimages:\n"
        f"  - name: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/bench\n"
        f"    newName: {name}\n    digest: {digest}\n",
        encoding="utf-8",
    )
    manifests = run(["kubectl", "kustomize", str(wrapper)], env={**env, "KUBECONFIG": "/dev/null"})
    clone = tmp / "clone"
    run(["git", "clone", "--quiet", "--no-tags", "--single-branch", str(repo), str(clone)], env=env)
    folder = clone / "envs" / "dev" / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifests.yaml").write_text(manifests, encoding="utf-8")
    (folder / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        "resources:\n  - manifests.yaml\n",
        encoding="utf-8",
    )
    run(["git", "add", "--all", "--", "envs"], env=env, cwd=clone)
    run(["git", "commit", "--quiet", "--no-verify", "-m", f"bench {ref}"], env=env, cwd=clone)
    run(["git", "push", "--quiet", "origin", "HEAD:refs/heads/main"], env=env, cwd=clone)
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="timed deploys")
    parser.add_argument("--warmup", type=int, default=2, help="untimed deploys first")
    args = parser.parse_args()
    paved = [sys.executable, "-m", "paved"]

    with tempfile.TemporaryDirectory(prefix="paved-bench-deploy-") as tmp:
        env, home, service = bench_service(Path(tmp), paved)
        env = {
            **env,
            "GIT_AUTHOR_NAME": "bench",
            "GIT_AUTHOR_EMAIL": "bench@example.com",
            "GIT_COMMITTER_NAME": "bench",
            "GIT_COMMITTER_EMAIL": "bench@example.com",
        }
        work = service.parent
        hand_repo = Path(tmp) / "by-hand.git"
        run(["git", "init", "--quiet", "--bare", "-b", "main", str(hand_repo)], env=env)

        totals: list[float] = []
        hands: list[float] = []
        split: dict[str, list[float]] = {phase: [] for phase in PHASES}
        count = args.warmup + args.runs
        for number in range(count):
            ref = f"registry.example.com/team/bench@sha256:{number + 1:064x}"
            scratch = Path(tempfile.mkdtemp(dir=tmp))

            hand = {"env": env, "service": service, "repo": hand_repo, "ref": ref, "tmp": scratch}
            if number % 2:
                hand_ms = by_hand(paved, **hand)  # type: ignore[arg-type]
            total, phases = timed_deploy(
                [*paved, "deploy", "--env", "dev", "--image", ref], env=env, cwd=service
            )
            if not number % 2:
                hand_ms = by_hand(paved, **hand)  # type: ignore[arg-type]
            if number >= args.warmup:
                totals.append(total)
                hands.append(hand_ms)
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
    baseline = statistics.median(hands)
    ratio = median / baseline
    print(
        f"deploy: paved deploy --env dev on the embedded default (gitops); {args.runs} runs "
        f"after {args.warmup} warm-up run(s), each a new image digest and a new commit, "
        "interleaved with the by-hand sequence"
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
    print(
        f"  by hand (guardrails check, kubectl kustomize, clone, commit, push) "
        f"median {baseline:8.1f} ms   min {min(hands):8.1f} ms"
    )
    print(f"ratio deploy / by hand {ratio:.3f}x (target <= {TARGET_RATIO}x)")
    print("PASS" if median < TARGET_MS and ratio <= TARGET_RATIO else "FAIL")


if __name__ == "__main__":
    main()
