"""The organisation's metrics endpoints against ``GET /healthz``, on SQLite and PostgreSQL.

For each backend it seeds --services services and --history deployments to prod over the
last 30 days through the server's own table layer (``platform_load.seed_table``), starts the
real server (``python -m paved platform serve``), makes an admin token, then from one client
interleaves, round after round:

    healthz             GET /healthz (the baseline: the server's cost of any answer)
    metrics org         GET /v1/metrics?environment=prod (the summary and the first page)
    metrics team        GET /v1/metrics?team=team-07
    delivery org        GET /v1/metrics/delivery?environment=prod (total, first page, weeks)

then, round after round, records a deployment (POST /v1/deployments, not timed) and times

    metrics org, cold   GET /v1/metrics?environment=prod: nothing kept serves it

and prints per request the median and p99 in ms, the answer's size, and the ratio of its
median to the baseline's. Aim: the organisation's summary under 100 ms.

    python benchmarks/bench_metrics.py [--services N] [--history N] [--rounds N]
                                       [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import inspect
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import platform_load as pl

AIM_MS = 100.0
COLD = "metrics org, cold"
REQUESTS = (
    ("healthz", "/healthz", {}),
    ("metrics org", "/v1/metrics", {"environment": "prod"}),
    ("metrics team", "/v1/metrics", {"team": "team-07"}),
    ("delivery org", "/v1/metrics/delivery", {"environment": "prod"}),
)


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.99 * len(ordered)) - 1))]


def bench(backend: str, url: str, args: argparse.Namespace, root: Path) -> None:
    now = dt.datetime.now(dt.UTC)
    env = {**os.environ, "PAVED_HOME": str(root / "home"), "NO_COLOR": "1"}
    from paved.server import connect, migrate

    engine = connect(url)
    try:
        migrate(engine)
    finally:
        engine.dispose()
    started = time.perf_counter()
    pl.seed_table(url, services=args.services, history=args.history, now=now)
    print(f"{backend}: seeded {args.services} services and {args.history} deployments "
          f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
    serve: dict[str, Any] = {"env": env, "log": root / f"server-{backend}.log"}
    if "workers" in inspect.signature(pl.platform_server).parameters:
        serve["workers"] = args.workers
    with pl.platform_server(url, **serve) as base:
        token = pl.run(
            [sys.executable, "-m", "paved", "platform", "token", "create", "--user", "bench",
             "--admin", "--expires", "1d", "--db", url],
            env=env,
        ).strip().splitlines()[-1]  # fmt: skip
        headers = {"Authorization": f"Bearer {token}"}
        times: dict[str, list[float]] = {name: [] for name, _, _ in REQUESTS}
        sizes: dict[str, int] = {}
        with httpx.Client(base_url=base, headers=headers, timeout=60, trust_env=False) as c:
            for _name, path, params in REQUESTS:  # warm up
                c.get(path, params=params).raise_for_status()
            for _ in range(args.rounds):  # no change meanwhile: what was judged is kept
                for name, path, params in REQUESTS:
                    began = time.perf_counter()
                    answer = c.get(path, params=params)
                    times[name].append((time.perf_counter() - began) * 1000)
                    answer.raise_for_status()
                    sizes[name] = len(answer.content)
            times[COLD] = []
            rng = random.Random(5)
            for k in range(args.rounds):  # a change before each read: judged afresh
                body = pl.deployment_body(k, "svc-00001", dt.datetime.now(dt.UTC), rng)
                body["finished_at"] = body["started_at"] = pl.stamp(dt.datetime.now(dt.UTC))
                c.post("/v1/deployments", json=body).raise_for_status()
                began = time.perf_counter()
                answer = c.get("/v1/metrics", params={"environment": "prod"})
                times[COLD].append((time.perf_counter() - began) * 1000)
                answer.raise_for_status()
                sizes[COLD] = len(answer.content)
    base_ms = statistics.median(times["healthz"])
    print(f"{backend}: {args.rounds} interleaved rounds, one client, {args.workers} workers; "
          f"load {_load()}")  # fmt: skip
    print(f"  {'request':<18} {'median ms':>10} {'p99 ms':>8} {'size':>10} {'x healthz':>10}")
    for name in times:
        median = statistics.median(times[name])
        size = f"{sizes[name] / 1024:.1f} KiB"
        mark = "" if name == "healthz" or median < AIM_MS else "  (over the aim)"
        print(f"  {name:<18} {median:>10.1f} {p99(times[name]):>8.1f} {size:>10} "
              f"{median / base_ms:>10.1f}{mark}")  # fmt: skip


def _load() -> str:
    with contextlib.suppress(OSError):
        return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()
    return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--history", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    for backend in args.backends.split(","):
        with tempfile.TemporaryDirectory(prefix="paved-bench-metrics-") as tmp:
            root = Path(tmp)
            if backend == "sqlite":
                bench(backend, f"sqlite:///{root / 'platform.db'}", args, root)
            elif backend == "postgresql":
                try:
                    with pl.postgresql() as url:
                        bench(backend, url, args, root)
                except LookupError as skipped:
                    print(f"postgresql: skipped ({skipped})")
            else:
                parser.error(f"unknown backend {backend}")


if __name__ == "__main__":
    main()
