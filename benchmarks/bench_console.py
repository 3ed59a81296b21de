"""Benchmark: the web console's catalog and metrics pages with 10,000 services and 100,000
deployments in a SQLite database.

Seeds the platform database through the server's own table layer (paved.server._tables):
10,000 services over 20 teams, each with an app and a road layer (four road versions), a
gate report for two services in three, and 100,000 deployments over the last year (70 % of
them to prod). Then it starts the real server (``python -m paved platform serve`` on
127.0.0.1 and a free port), signs in to the console with a member's token, and times, from
one client, interleaved after warm-up requests:

    catalog               GET /   (the first page of 50, the road-version and team filters)
    catalog, filtered     GET /?team=team-07&gate=failing&page=2
    catalog, search       GET /?q=svc-099
    metrics               GET /metrics   (8 weeks of prod deployments, the road's versions)
    team                  GET /teams/team-07
    healthz (baseline)    GET /healthz   (the server's cheapest answer: what HTTP costs)

Prints each one's median and p90 (ms, seen by the client), its ratio to the baseline, and
its first request: the metrics and team pages compute their figures on the first request
and keep them while the data (the newest audit row) and the minute stay the same, so the
first request is what a page costs after a change.
Target: the catalog and metrics medians under 200 ms. Prints PASS or FAIL on the last line
and exits 0 either way: it reports, it does not gate. A setup step that fails aborts it
(exit 1).

    python benchmarks/bench_console.py [--services N] [--deployments N] [--runs N]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
from _bench import clean_env, run

TARGET_MS = 200.0
TEAMS = 20
ROADS = ("1.0.0", "1.1.0", "1.2.0", "2.0.0")
START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seed(url: str, *, services: int, history: int, now: dt.datetime) -> None:
    """The services, their layers, gate reports and deployments, inserted in batches."""
    from paved.server import connect, metadata, migrate, writer

    tables = metadata.tables
    rng = random.Random(17)
    engine = connect(url)
    migrate(engine)
    names = [f"svc-{i:05d}" for i in range(services)]
    try:
        for start in range(0, services, 1000):
            chunk = names[start : start + 1000]
            with writer(engine).begin() as conn:
                conn.execute(
                    tables["services"].insert(),
                    [
                        {
                            "name": name,
                            "owner": f"team-{(start + i) % TEAMS:02d}",
                            "description": f"seeded service {name}",
                            "repository": f"https://git.example.com/repos/{name}.git",
                            "created_at": now - dt.timedelta(days=400),
                        }
                        for i, name in enumerate(chunk)
                    ],
                )
                conn.execute(
                    tables["service_layers"].insert(),
                    [
                        row
                        for name in chunk
                        for row in (
                            {"service": name, "layer": "app", "scaffold": "service-python",
                             "version": "1.0.0"},
                            {"service": name, "layer": "road", "scaffold": "paved-road",
                             "version": rng.choice(ROADS)},
                        )
                    ],
                )  # fmt: skip
                conn.execute(
                    tables["gate_reports"].insert(),
                    [
                        {
                            "service": name,
                            "commit": None,
                            "passed": rng.random() < 0.8,
                            "rule_ids": [],
                            "findings": rng.randrange(5),
                            "reported_at": now - dt.timedelta(days=rng.uniform(0, 30)),
                            "reported_by": "ci",
                        }
                        for name in chunk
                        if rng.random() < 2 / 3
                    ],
                )
        for start in range(0, history, 5000):
            rows = []
            for k in range(start, min(history, start + 5000)):
                finished = now - dt.timedelta(days=rng.uniform(0.01, 365))
                rows.append(
                    {
                        "service": rng.choice(names),
                        "environment": "prod" if rng.random() < 0.7 else "staging",
                        "target": "gitops",
                        "image": f"registry.example.com/{k}",
                        "source_commit": f"{k:040x}",
                        "source_time": finished - dt.timedelta(hours=rng.uniform(0.5, 48)),
                        "actor": "bench",
                        "started_at": finished - dt.timedelta(minutes=2),
                        "finished_at": finished,
                        "outcome": "failed" if rng.random() < 0.1 else "succeeded",
                        "findings": [],
                        "recorded_by": "seed",
                    }
                )
            with writer(engine).begin() as conn:
                conn.execute(tables["deployments"].insert(), rows)
    finally:
        engine.dispose()


@contextlib.contextmanager
def platform_server(url: str, *, env: dict[str, str], log: Path) -> Iterator[str]:
    """``paved platform serve`` on 127.0.0.1 and a free port; yields its base URL when ready."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "paved", "platform", "serve", "--host", "127.0.0.1",
             "--port", str(port), "--db", url],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + START_TIMEOUT
        with httpx.Client(base_url=base, timeout=2.0, trust_env=False) as probe:
            while True:
                if proc.poll() is not None:
                    sys.stderr.write(f"the server exited ({proc.returncode}):\n{log.read_text()}")
                    raise SystemExit(1)
                with contextlib.suppress(httpx.HTTPError):
                    if probe.get("/healthz").status_code == 200:
                        break
                if time.monotonic() > deadline:
                    sys.stderr.write(f"the server did not answer in {START_TIMEOUT:.0f} s:\n")
                    sys.stderr.write(log.read_text())
                    raise SystemExit(1)
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--deployments", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests per page first")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="paved-bench-console-") as tmp:
        root = Path(tmp)
        url = f"sqlite:///{root / 'platform.db'}"
        env = clean_env(PAVED_HOME=str(root / "home"))
        began = time.perf_counter()
        seed(url, services=args.services, history=args.deployments, now=dt.datetime.now(dt.UTC))
        seeded = time.perf_counter() - began
        token = run(
            [sys.executable, "-m", "paved", "platform", "token", "create", "--user", "bench",
             "--team", "team-07", "--expires", "1d", "--db", url],
            env=env,
        ).strip().splitlines()[-1]  # fmt: skip
        with (
            platform_server(url, env=env, log=root / "server.log") as base,
            httpx.Client(base_url=base, timeout=60, trust_env=False) as client,
        ):
            signed = client.post("/sign-in", data={"token": token}, headers={"Origin": base})
            if signed.status_code != 303 or client.get("/").status_code != 200:
                sys.stderr.write(f"sign-in failed ({signed.status_code})\n")
                raise SystemExit(1)

            def page(path: str) -> Callable[[], float]:
                def timed() -> float:
                    start = time.perf_counter()
                    got = client.get(path)
                    elapsed = (time.perf_counter() - start) * 1000
                    if got.status_code != 200:
                        sys.stderr.write(f"GET {path}: {got.status_code}\n{got.text[:500]}\n")
                        raise SystemExit(1)
                    return elapsed

                return timed

            variants = {
                "catalog": page("/"),
                "catalog, filtered": page("/?team=team-07&gate=failing&page=2"),
                "catalog, search": page("/?q=svc-099"),
                "metrics": page("/metrics"),
                "team": page("/teams/team-07"),
                "healthz (baseline)": page("/healthz"),
            }
            samples: dict[str, list[float]] = {name: [] for name in variants}
            first: dict[str, float] = {}
            for round_ in range(args.warmup + args.runs):
                for name, action in variants.items():  # interleaved
                    elapsed = action()
                    first.setdefault(name, elapsed)
                    if round_ >= args.warmup:
                        samples[name].append(elapsed)

    print(
        f"console: {args.services} services, {args.deployments} deployments in SQLite "
        f"(seeded in {seeded:.1f} s); {args.runs} requests per page, interleaved, after "
        f"{args.warmup} warm-up request(s); one client; {os.cpu_count()} CPUs"
    )
    baseline = statistics.median(samples["healthz (baseline)"])
    for name, values in samples.items():
        median = statistics.median(values)
        p90 = statistics.quantiles(values, n=10)[-1] if len(values) > 1 else values[0]
        print(
            f"  {name:20} median {median:8.1f} ms   p90 {p90:8.1f} ms   "
            f"ratio to baseline {median / baseline:6.1f}x   first {first[name]:8.1f} ms"
        )
    print(
        "  (first: the first request of the run; the metrics and team pages compute their "
        "figures then and keep them until the data or the minute changes)"
    )
    gated = ("catalog", "catalog, filtered", "catalog, search", "metrics")
    worst = max(statistics.median(samples[name]) for name in gated)
    print(f"slowest gated median {worst:.1f} ms (target < {TARGET_MS:.0f} ms)")
    print("PASS" if worst < TARGET_MS else "FAIL")


if __name__ == "__main__":
    main()
