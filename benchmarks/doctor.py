"""Benchmark: ``paved doctor`` inside a generated service, against ``paved --version``.

Targets: the median of ``paved doctor`` run inside a service made by ``paved new service``
(the embedded defaults: local catalog, bare-repository git host, template store) is under
0.5 s with a warm cache (a doctor run before in the same tree), and under 1 s cold: with the
guardrails' parse cache emptied before each run (``cache/guardrails``: every Terraform file
parsed by python-hcl2 again). ``paved --version`` (start-up alone) is the baseline the ratio
is printed against. Every check runs each time: 9 environment checks and 8 service checks,
including every guardrail (three ``kubectl kustomize`` builds) and content drift.

Runs are interleaved (doctor, --version, doctor cold, ...) after warm-up runs, as fresh
processes of this interpreter; everything lives in a temporary folder. Content drift keeps the
digests of its re-render in paved's cache folder, so a repeated doctor skips copier; for
information the benchmark also times doctor with every cache emptied before each run (the
first run on a service: copier renders the road layer again).

Profile one warm run (in-process, every thread; see benchmarks/README.md):

    python benchmarks/profile_paved.py --sort tottime -- doctor   # inside a service
    python -X importtime -m paved doctor 2>&1 >/dev/null | sort -t'|' -k2 -n -r | head -30

    python benchmarks/doctor.py [--runs N] [--warmup N]

Prints PASS or FAIL on the last line and exits 0 either way: it reports, it does not gate.
A failing command aborts the benchmark (exit 1) with its stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from _bench import clean_env

TARGET_S = 0.5
TARGET_COLD_S = 1.0


def run(
    cmd: Sequence[str], *, env: dict[str, str], cwd: Path, ok: tuple[int, ...] = (0,)
) -> tuple[float, str]:
    """Run ``cmd`` and time it; abort the benchmark with its output on an unexpected exit."""
    start = time.perf_counter()
    proc = subprocess.run(list(cmd), env=env, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode not in ok:
        sys.stderr.write(
            f"command failed (exit {proc.returncode}): {' '.join(map(str, cmd))}\n"
            f"--- stderr ---\n{proc.stderr}--- stdout ---\n{proc.stdout}"
        )
        raise SystemExit(1)
    return elapsed, proc.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs per variant")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs per variant first")
    args = parser.parse_args()
    paved = [sys.executable, "-m", "paved"]

    with tempfile.TemporaryDirectory(prefix="paved-bench-doctor-") as tmp:
        root = Path(tmp)
        home, work = root / "paved-home", root / "work"
        work.mkdir()
        env = clean_env(PAVED_HOME=str(home), NO_COLOR="1")
        run([*paved, "new", "service", "bench", "--owner", "team-a"], env=env, cwd=work)
        service = work / "bench"
        renders = home / "cache" / "doctor" / "renders"
        parsed = home / "cache" / "guardrails"

        # The service must be healthy: doctor exits 0 and every check is ok or skipped.
        _, out = run([*paved, "doctor", "--json"], env=env, cwd=service)
        report = json.loads(out)
        shown = {c["id"]: c["status"] for c in report["checks"]}

        def doctor() -> float:
            return run([*paved, "doctor"], env=env, cwd=service)[0]

        def doctor_cold() -> float:
            shutil.rmtree(parsed, ignore_errors=True)
            return doctor()

        def doctor_first() -> float:
            shutil.rmtree(parsed, ignore_errors=True)
            shutil.rmtree(renders, ignore_errors=True)
            return doctor()

        def version() -> float:
            return run([*paved, "--version"], env=env, cwd=service)[0]

        variants: dict[str, Callable[[], float]] = {
            "paved doctor": doctor,
            "paved --version (baseline)": version,
            "paved doctor, parse cache emptied (cold)": doctor_cold,
            "paved doctor, every cache emptied (info)": doctor_first,
        }
        samples: dict[str, list[float]] = {name: [] for name in variants}
        for round_ in range(args.warmup + args.runs):
            for name, action in variants.items():  # interleaved
                elapsed = action()
                if round_ >= args.warmup:
                    samples[name].append(elapsed)

    print(
        f"doctor: {len(shown)} checks in a generated service ({report['status']}: "
        + ", ".join(f"{n} {s}" for s, n in report["counts"].items())
        + f"); {args.runs} runs each, interleaved, after {args.warmup} warm-up run(s); "
        f"{os.cpu_count()} CPUs"
    )
    for name, values in samples.items():
        print(
            f"  {name:44} median {statistics.median(values) * 1000:8.1f} ms   "
            f"min {min(values) * 1000:8.1f} ms"
        )
    median = statistics.median(samples["paved doctor"])
    cold = statistics.median(samples["paved doctor, parse cache emptied (cold)"])
    ratio = median / statistics.median(samples["paved --version (baseline)"])
    print(f"doctor median {median * 1000:.1f} ms warm (target < {TARGET_S * 1000:.0f} ms)")
    print(f"doctor median {cold * 1000:.1f} ms cold (target < {TARGET_COLD_S * 1000:.0f} ms)")
    print(f"ratio doctor/--version {ratio:.2f}x")
    healthy = report["status"] == "ok"
    if not healthy:
        print(f"  the generated service is not healthy: {shown}")
    print("PASS" if median < TARGET_S and cold < TARGET_COLD_S and healthy else "FAIL")


if __name__ == "__main__":
    main()
