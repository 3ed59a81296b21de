"""Load benchmark of the platform server, on SQLite and on PostgreSQL.

For each backend it starts the real server (``python -m paved platform serve`` on 127.0.0.1
and a free port, PAVED_HOME in a temporary folder), makes an admin token with ``paved
platform token create --admin``, then, from concurrent clients (threads, each with its own
httpx client; loopback only):

    register    200 services at once, unique names (POST /v1/services)
    deploy      1,000 deployment records at once (POST /v1/deployments)
    race        every client registers the same 20 names: one 201 per name, the rest 200
    verify      read back through the API: services, deployments and the audit trail, none
                lost, none duplicated (counts, and the sets of names, ids and markers)
    seed        up to --services services in all, each with two layers, and --history
                deployments to prod over the last 30 days, inserted in batches through the
                server's own table layer (paved.server._tables; much faster than 10,000
                POSTs; then the statistics refreshed, as a server does after changes made
                through it) or, with --seed api, registered through the API
    read        the first page of GET /v1/services (default page size), cursor walks of a few
                pages, GET /v1/services/NAME, and GET /v1/metrics (the whole organisation, and
                one team), from all clients at once and then from one client

PostgreSQL 15 runs from ``initdb`` and ``pg_ctl`` on PATH, in a temporary folder, listening
on 127.0.0.1 only; as root they run as ``nobody`` (initdb refuses root). The backend is
skipped, with the reason, when they are missing.

Figures per operation and backend: throughput (requests per second over the phase),
median and p99 latency in ms, seen by the client (the clients share this machine's CPUs
with the server). The concurrent readers are spread over --client-processes processes
(default 4), each with fresh connections warmed before the clock starts: twenty threads in
one process wait for its interpreter lock between requests, and that wait is not the
server's. ``--client-processes 1`` measures them as threads of this process. Aim: p99
under 100 ms for reads with 10,000 services.

    python benchmarks/platform_load.py [--services N] [--backends sqlite,postgresql] [--quick]
        [--workers N] [--client-processes N]

``--workers 1`` is the server as one process (the figures before issue 18's workers).

Every request has a timeout, every phase a time budget and the whole run a deadline
(--timeout); the server and PostgreSQL are stopped at the end. Prints PASS or FAIL on the
last line and exits 0 either way: it reports, it does not gate. A setup step that fails
(the server does not start, a token cannot be made) aborts the benchmark (exit 1).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import json
import math
import multiprocessing
import os
import pwd
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx

AIM_MS = 100.0
REQUEST_TIMEOUT = 30.0
START_TIMEOUT = 180.0  # workers import the app on a loaded machine
TEAMS = 50
PAGES_PER_WALK = 5
ENVIRONMENT = "prod"
LAYERS = (("app", "service-python", "1.0.0"), ("road", "paved-road", "1.0.0"))


# -- measurements -------------------------------------------------------------------------


@dataclasses.dataclass
class Sample:
    ms: float
    status: int  # 0: no answer (connection error or timeout)
    body: Any


@dataclasses.dataclass
class Figure:
    backend: str
    operation: str
    clients: int
    samples: list[Sample]
    wall_s: float
    read: bool

    @property
    def ok(self) -> int:
        return sum(1 for s in self.samples if 200 <= s.status < 300)

    @property
    def server_errors(self) -> int:
        return sum(1 for s in self.samples if s.status >= 500 or s.status == 0)

    @property
    def throughput(self) -> float:
        return len(self.samples) / self.wall_s if self.wall_s > 0 else 0.0

    def median(self) -> float:
        return statistics.median(s.ms for s in self.samples) if self.samples else math.nan

    def p99(self) -> float:
        return percentile([s.ms for s in self.samples], 99)

    def meets_aim(self) -> bool:
        return bool(self.samples) and self.ok == len(self.samples) and self.p99() < AIM_MS


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def call(client: httpx.Client, method: str, path: str, **kwargs: Any) -> Sample:
    start = time.perf_counter()
    try:
        response = client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        return Sample((time.perf_counter() - start) * 1000, 0, f"{type(exc).__name__}: {exc}")
    ms = (time.perf_counter() - start) * 1000
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text[:300]
    return Sample(ms, response.status_code, body)


Work = Callable[[httpx.Client, int, float], list[Sample]]


def run_phase(
    clients: Sequence[httpx.Client], work: Work, budget_s: float
) -> tuple[list[list[Sample]], float]:
    """Run ``work(client, index, deadline)`` on every client at once; samples and wall time."""
    results: list[list[Sample]] = [[] for _ in clients]
    barrier = threading.Barrier(len(clients) + 1, timeout=START_TIMEOUT)
    deadline_box: list[float] = []

    def worker(index: int) -> None:
        barrier.wait()
        results[index] = work(clients[index], index, deadline_box[0])

    threads = [
        threading.Thread(target=worker, args=(i,), daemon=True, name=f"client-{i}")
        for i in range(len(clients))
    ]
    for thread in threads:
        thread.start()
    deadline_box.append(time.monotonic() + budget_s)
    start = time.perf_counter()
    barrier.wait()
    for thread in threads:
        # The budget bounds the loops; a stuck request still ends at its own timeout.
        thread.join(timeout=max(1.0, deadline_box[0] - time.monotonic()) + REQUEST_TIMEOUT + 5)
    wall = time.perf_counter() - start
    stuck = [t.name for t in threads if t.is_alive()]
    if stuck:
        raise RuntimeError(f"clients did not finish: {', '.join(stuck)}")
    return results, wall


def run_phase_forked(
    clients: Sequence[httpx.Client], work: Work, budget_s: float, processes: int
) -> tuple[list[list[Sample]], float]:
    """``run_phase`` with the clients spread over ``processes`` forked processes.

    Every client thread of one process waits for that process's interpreter lock between
    its requests: with 20 threads in one process the wait is part of the latency measured,
    though the server is not where it is spent. Each process makes its own clients (same
    base URL and headers; the parent's connections are not used) and sends back its
    samples, the bodies of 2xx answers left out."""
    context = multiprocessing.get_context("fork")
    groups = [g for g in split(range(len(clients)), processes) if g]
    barrier = context.Barrier(len(groups) + 1, timeout=START_TIMEOUT)
    queue = context.Queue()

    def child(indices: list[int]) -> None:
        own = {
            i: httpx.Client(
                base_url=clients[i].base_url,
                headers=clients[i].headers,
                timeout=REQUEST_TIMEOUT,
                trust_env=False,
            )
            for i in indices
        }
        for client in own.values():  # new connections, opened before the clock starts
            for _ in range(2):
                client.get("/healthz")
        barrier.wait()
        results, _ = run_phase(
            [own[i] for i in indices],
            lambda client, k, deadline: work(client, indices[k], deadline),
            budget_s,
        )
        queue.put(
            [
                (i, [Sample(s.ms, s.status, None if 200 <= s.status < 300 else str(s.body)[:300])
                     for s in samples])
                for i, samples in zip(indices, results, strict=True)
            ]
        )  # fmt: skip
        queue.close()
        queue.join_thread()
        os._exit(0)

    procs = [context.Process(target=child, args=(g,), daemon=True) for g in groups]
    for proc in procs:
        proc.start()
    barrier.wait()
    start = time.perf_counter()
    results: list[list[Sample]] = [[] for _ in clients]
    for _ in procs:
        for i, samples in queue.get(timeout=budget_s + REQUEST_TIMEOUT + START_TIMEOUT):
            results[i] = samples
    wall = time.perf_counter() - start
    for proc in procs:
        proc.join(timeout=30)
    return results, wall


def repeat(count: int, request: Callable[[httpx.Client, int, int], Sample]) -> Work:
    """Work that sends ``count`` requests (``request(client, index, n)``) within the deadline."""

    def work(client: httpx.Client, index: int, deadline: float) -> list[Sample]:
        done = []
        for n in range(count):
            if time.monotonic() > deadline:
                break
            done.append(request(client, index, n))
        return done

    return work


def split(items: Sequence[Any], parts: int) -> list[list[Any]]:
    return [list(items[i::parts]) for i in range(parts)]


# -- processes ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(cmd: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    """Run ``cmd``; abort the benchmark with its output when it fails."""
    proc = subprocess.run(
        list(cmd), env=env, cwd=cwd, capture_output=True, text=True, check=False, timeout=120
    )
    if proc.returncode != 0:
        sys.stderr.write(
            f"command failed (exit {proc.returncode}): {' '.join(map(str, cmd))}\n"
            f"--- stderr ---\n{proc.stderr}--- stdout ---\n{proc.stdout}"
        )
        raise SystemExit(1)
    return proc.stdout


@contextlib.contextmanager
def postgresql() -> Iterator[str]:
    """A throw-away PostgreSQL on 127.0.0.1; yields its URL. Runs as nobody when root."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb is None or pg_ctl is None:
        raise LookupError("initdb and pg_ctl are not on PATH")
    as_user: list[str] = []
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        raise LookupError("running as root and runuser is missing (initdb refuses root)")
    root = Path(tempfile.mkdtemp(prefix="paved-bench-pg-"))
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        os.chown(root, nobody.pw_uid, nobody.pw_gid)
        as_user = ["runuser", "-u", "nobody", "--"]
    data, log = root / "data", root / "postgresql.log"
    port = free_port()
    started = False
    try:
        run([*as_user, initdb, "-D", str(data), "-U", "paved", "-A", "trust", "-E", "UTF8",
             "--locale=C", "--no-sync"], cwd=root)  # fmt: skip
        options = f"-h 127.0.0.1 -p {port} -k {root} -c max_connections=100"
        started = True
        run([*as_user, pg_ctl, "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60",
             "start"], cwd=root)  # fmt: skip
        import psycopg  # only the PostgreSQL backend needs it

        with psycopg.connect(
            f"postgresql://paved@127.0.0.1:{port}/postgres", autocommit=True, connect_timeout=10
        ) as conn:
            conn.execute("CREATE DATABASE paved")
        yield f"postgresql://paved@127.0.0.1:{port}/paved"
    finally:
        if started:
            subprocess.run(
                [*as_user, pg_ctl, "-D", str(data), "-m", "fast", "-w", "-t", "30", "stop"],
                cwd=root,
                capture_output=True,
                check=False,
                timeout=60,
            )
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def platform_server(
    url: str, *, env: dict[str, str], log: Path, workers: int | None
) -> Iterator[str]:
    """``paved platform serve`` on 127.0.0.1 and a free port (with ``workers`` processes, or
    its default); yields its base URL when ready."""
    port = free_port()
    workers_args = ["--workers", str(workers)] if workers else []
    base = f"http://127.0.0.1:{port}"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "paved", "platform", "serve", "--host", "127.0.0.1",
             "--port", str(port), "--db", url, *workers_args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
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


# -- the load -----------------------------------------------------------------------------


def stamp(value: dt.datetime) -> str:
    return value.isoformat()


def deployment_body(
    k: int, service: str, now: dt.datetime, rng: random.Random, *, days: float = 0.8
) -> dict[str, Any]:
    """A deployment finished in the last ``days`` (the API takes records up to 24 h old; the
    seeded history, written through the table layer, spreads over 29 days)."""
    finished = now - dt.timedelta(days=rng.uniform(0.01, days), seconds=k % 3600)
    return {
        "service": service,
        "environment": ENVIRONMENT,
        "target": "gitops",
        "image": f"registry.example.com/load/{service}@sha256:{k:064x}",
        "source_commit": f"{k:040x}",
        "source_time": stamp(finished - dt.timedelta(hours=rng.uniform(0.5, 48))),
        "actor": "load",
        "started_at": stamp(finished - dt.timedelta(minutes=2)),
        "finished_at": stamp(finished),
        "outcome": "failed" if rng.random() < 0.15 else "succeeded",
        "message": f"load #{k}",
    }


def service_body(name: str, owner: str) -> dict[str, Any]:
    return {
        "name": name,
        "owner": owner,
        "description": f"load test service {name}",
        "repository": f"https://git.example.com/load/{name}.git",
        "layers": [{"layer": a, "scaffold": b, "version": c} for a, b, c in LAYERS],
    }


def team(i: int) -> str:
    return f"team-{i % TEAMS:02d}"


def walk(client: httpx.Client, path: str, key: str, limit: int, max_pages: int) -> list[Any]:
    """Every item of a paged listing, following next_cursor (bounded)."""
    items: list[Any] = []
    cursor = None
    for _ in range(max_pages):
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        response = client.get(path, params=params)
        response.raise_for_status()
        page = response.json()
        items.extend(page[key])
        cursor = page.get("next_cursor")
        if not cursor:
            return items
    raise RuntimeError(f"{path}: more than {max_pages} pages")


def seed_table(url: str, *, services: int, history: int, now: dt.datetime) -> tuple[int, int]:
    """Insert services (with layers) up to ``services`` and ``history`` deployments, directly."""
    import sqlalchemy as sa  # the server's own table layer

    from paved.server import connect, metadata, refresh_statistics, writer

    deployments = metadata.tables["deployments"]
    service_layers = metadata.tables["service_layers"]
    services_table = metadata.tables["services"]

    rng = random.Random(7)
    engine = connect(url)
    try:
        with engine.connect() as conn:
            have = conn.execute(sa.select(sa.func.count()).select_from(services_table)).scalar_one()
        names = [f"svc-{i:05d}" for i in range(max(0, services - have))]
        for start in range(0, len(names), 1000):
            chunk = names[start : start + 1000]
            with writer(engine).begin() as conn:
                conn.execute(
                    services_table.insert(),
                    [
                        {
                            "name": name,
                            "owner": team(start + i),
                            "description": f"seeded service {name}",
                            "repository": f"https://git.example.com/load/{name}.git",
                            "created_at": now - dt.timedelta(days=60),
                        }
                        for i, name in enumerate(chunk)
                    ],
                )
                conn.execute(
                    service_layers.insert(),
                    [
                        {"service": name, "layer": a, "scaffold": b, "version": c}
                        for name in chunk
                        for a, b, c in LAYERS
                    ],
                )
        targets = names or [f"reg-{i:04d}" for i in range(200)]
        for start in range(0, history, 1000):
            rows = []
            for k in range(start, min(history, start + 1000)):
                body = deployment_body(10_000_000 + k, rng.choice(targets), now, rng, days=29)
                for field in ("source_time", "started_at", "finished_at"):
                    body[field] = dt.datetime.fromisoformat(body[field])
                rows.append({**body, "findings": [], "recorded_by": "seed"})
            with writer(engine).begin() as conn:
                conn.execute(deployments.insert(), rows)
        # What a server does once the data changed through it; rows inserted here did not
        # go through a server, so no server knows to.
        refresh_statistics(engine)
    finally:
        engine.dispose()
    return len(names), history


@dataclasses.dataclass
class Sizes:
    registrations: int
    deployments: int
    race_names: int
    services: int
    history: int
    reads: int
    single_reads: int
    op_seconds: float


def bench_backend(
    backend: str, url: str, *, sizes: Sizes, clients_n: int, seed: str, root: Path,
    env: dict[str, str], workers: int | None, processes: int,
) -> tuple[list[Figure], list[str], list[str]]:  # fmt: skip
    """Run the whole load against one backend; its figures, problems found, and notes."""
    figures: list[Figure] = []
    problems: list[str] = []
    notes: list[str] = []
    log = root / f"server-{backend}.log"
    with platform_server(url, env=env, log=log, workers=workers) as base:
        token = run(
            [sys.executable, "-m", "paved", "platform", "token", "create", "--user", "load",
             "--admin", "--expires", "1d", "--db", url],
            env=env,
        ).strip().splitlines()[-1]  # fmt: skip
        clients = [
            httpx.Client(
                base_url=base,
                headers={"Authorization": f"Bearer {token}"},
                timeout=REQUEST_TIMEOUT,
                trust_env=False,
            )
            for _ in range(clients_n)
        ]
        # Services are registered only to teams the platform knows.
        for name in [*(team(i) for i in range(TEAMS)), "team-race"]:
            clients[0].post("/v1/teams", json={"name": name}).raise_for_status()
        try:
            figures, problems, notes = load(
                backend, url, clients, sizes=sizes, seed=seed, processes=processes
            )
        finally:
            for client in clients:
                client.close()
    logged = log.read_text(errors="replace")
    five = re.findall(r'"[A-Z]+ (\S+) HTTP/[\d.]+" (5\d\d)', logged)
    if five:
        problems.append(f"{backend}: server log shows {len(five)} 5xx answers: {Counter(five)}")
    unexpected = [line for line in logged.splitlines() if "unexpected" in line][:5]
    if unexpected:
        problems.append(f"{backend}: server log: " + " | ".join(unexpected))
    return figures, problems, notes


def load(
    backend: str,
    url: str,
    clients: list[httpx.Client],
    *,
    sizes: Sizes,
    seed: str,
    processes: int,
) -> tuple[list[Figure], list[str], list[str]]:
    figures: list[Figure] = []
    problems: list[str] = []
    notes: list[str] = []
    n = len(clients)
    now = dt.datetime.now(dt.UTC)

    def measure(
        operation: str, work: Work, *, read: bool, on: Sequence[httpx.Client] = clients
    ) -> list[list[Sample]]:
        if read and processes > 1 and len(on) > 1:
            results, wall = run_phase_forked(on, work, sizes.op_seconds, processes)
        else:
            results, wall = run_phase(on, work, sizes.op_seconds)
        samples = [s for per in results for s in per]
        figure = Figure(backend, operation, len(on), samples, wall, read)
        figures.append(figure)
        bad = Counter(s.status for s in samples if not 200 <= s.status < 300)
        if bad:
            example = next(s for s in samples if not 200 <= s.status < 300)
            problems.append(
                f"{backend} {operation}: {sum(bad.values())} of {len(samples)} not 2xx "
                f"({dict(bad)}), e.g. {example.status} {str(example.body)[:200]}"
            )
        print(
            f"  {backend:10} {operation:48} {len(samples):6} req  {figure.throughput:8.1f} req/s"
            f"  median {figure.median():7.1f} ms  p99 {figure.p99():7.1f} ms",
            file=sys.stderr,
        )
        return results

    # 1. Concurrent registrations, unique names.
    names = [f"reg-{i:04d}" for i in range(sizes.registrations)]
    owner_of = {name: team(i) for i, name in enumerate(names)}
    mine = split(names, n)

    def register(client: httpx.Client, index: int, deadline: float) -> list[Sample]:
        return [
            call(client, "POST", "/v1/services", json=service_body(name, owner_of[name]))
            for name in mine[index]
            if time.monotonic() <= deadline
        ]

    results = measure("register (unique names)", register, read=False)
    created = Counter(
        s.body["name"] for per in results for s in per if s.status == 201 and "name" in s.body
    )
    if sorted(created) != names or set(created.values()) != {1}:
        problems.append(
            f"{backend} register: {len(created)} of {len(names)} names answered 201 once"
        )

    # 2. Concurrent deployment records, each with a unique marker (the image digest).
    rng = random.Random(11)
    bodies = [deployment_body(k, names[k % len(names)], now, rng) for k in range(sizes.deployments)]
    shares = split(bodies, n)

    def deploy(client: httpx.Client, index: int, deadline: float) -> list[Sample]:
        return [
            call(client, "POST", "/v1/deployments", json=body)
            for body in shares[index]
            if time.monotonic() <= deadline
        ]

    results = measure("record deployment", deploy, read=False)
    answered_ids = [s.body["id"] for per in results for s in per if s.status == 201]

    # 3. The same names from every client at once: exactly one 201 each, the rest 200.
    race = [f"race-{i:02d}" for i in range(sizes.race_names)]

    def race_all(client: httpx.Client, index: int, deadline: float) -> list[Sample]:
        order = race[index % len(race) :] + race[: index % len(race)]
        return [
            call(client, "POST", "/v1/services", json=service_body(name, "team-race"))
            for name in order
            if time.monotonic() <= deadline
        ]

    results = measure("register (same names, race)", race_all, read=False)
    race_status: dict[str, Counter[int]] = {name: Counter() for name in race}
    for per in results:
        for sample in per:
            if isinstance(sample.body, dict) and sample.body.get("name") in race_status:
                race_status[sample.body["name"]][sample.status] += 1
    off = {k: dict(v) for k, v in race_status.items() if v[201] != 1 or v[200] != n - 1}
    if off:
        problems.append(f"{backend} race: not one 201 and {n - 1} 200 per name: {off}")

    # 4. Read everything back through the API.
    reader = clients[0]
    listed = walk(reader, "/v1/services", "services", 1000, 1000)
    listed_names = [s["name"] for s in listed]
    expected = set(names) | set(race)
    dupes = [k for k, v in Counter(listed_names).items() if v > 1]
    if len(listed_names) != len(expected) or set(listed_names) != expected or dupes:
        problems.append(
            f"{backend} verify services: listed {len(listed_names)}, expected {len(expected)}; "
            f"missing {sorted(expected - set(listed_names))[:10]}, "
            f"extra {sorted(set(listed_names) - expected)[:10]}, duplicated {dupes[:10]}"
        )
    records = walk(reader, "/v1/deployments", "deployments", 1000, 1000)
    ids = [d["id"] for d in records]
    markers = [int(d["image"].rsplit(":", 1)[1], 16) for d in records]
    if (
        len(records) != sizes.deployments
        or len(set(ids)) != len(ids)
        or set(ids) != set(answered_ids)
        or sorted(markers) != list(range(sizes.deployments))
    ):
        problems.append(
            f"{backend} verify deployments: listed {len(records)} ({len(set(ids))} distinct ids, "
            f"{len(set(markers))} distinct markers), expected {sizes.deployments}; "
            f"{len(set(answered_ids))} ids answered 201"
        )
    events = walk(reader, "/v1/audit", "events", 1000, 1000)
    audit = Counter((e["action"], e["outcome"]) for e in events)
    want = {
        ("service.register", "created"): len(names) + len(race),
        ("service.register", "unchanged"): len(race) * (n - 1),
        ("deployment.record", "recorded"): sizes.deployments,
        ("token.create", "ok"): 1,
        ("team.create", "created"): TEAMS + 1,
    }
    if dict(audit) != want:
        problems.append(f"{backend} verify audit: {dict(audit)}, expected {want}")
    notes.append(
        f"{backend}: read back {len(listed_names)} services, {len(records)} deployments "
        f"({len(set(ids))} distinct ids), {len(events)} audit events"
    )

    # 5. Seed up to sizes.services services, and a deployment history.
    start = time.perf_counter()
    if seed == "api":
        more = [f"svc-{i:05d}" for i in range(max(0, sizes.services - len(expected)))]
        batches = split(more, n)

        def seed_api(client: httpx.Client, index: int, deadline: float) -> list[Sample]:
            return [
                call(client, "POST", "/v1/services", json=service_body(name, team(i)))
                for i, name in enumerate(batches[index])
                if time.monotonic() <= deadline
            ]

        budget, sizes.op_seconds = sizes.op_seconds, max(sizes.op_seconds, 600.0)
        try:
            measure("register (seeding, API)", seed_api, read=False)
        finally:
            sizes.op_seconds = budget
        _, history = seed_table(url, services=0, history=sizes.history, now=now)
        added = len(more)
    else:
        added, history = seed_table(url, services=sizes.services, history=sizes.history, now=now)
    total = len(walk(reader, "/v1/services", "services", 1000, 1000))
    notes.append(
        f"{backend}: seeded {added} services through the "
        f"{'API' if seed == 'api' else 'table layer'} and {history} deployments through the "
        f"table layer in {time.perf_counter() - start:.1f} s; {total} services listed"
    )

    # 6. Reads, from every client at once and then from one.
    walks = max(1, sizes.reads // PAGES_PER_WALK)
    all_names = [*names, *(f"svc-{i:05d}" for i in range(added))]

    def first_page(client: httpx.Client, index: int, k: int) -> Sample:
        return call(client, "GET", "/v1/services")

    def cursor_walk(client: httpx.Client, index: int, deadline: float) -> list[Sample]:
        done: list[Sample] = []
        for _ in range(walks):
            cursor = None
            for _page in range(PAGES_PER_WALK):
                if time.monotonic() > deadline:
                    return done
                sample = call(
                    client, "GET", "/v1/services", params={"cursor": cursor} if cursor else None
                )
                done.append(sample)
                cursor = sample.body.get("next_cursor") if isinstance(sample.body, dict) else None
                if not cursor:
                    break
        return done

    def show(client: httpx.Client, index: int, k: int) -> Sample:
        name = all_names[(index * 7919 + k * 104729) % len(all_names)]
        return call(client, "GET", f"/v1/services/{name}")

    def org_metrics(client: httpx.Client, index: int, k: int) -> Sample:
        return call(client, "GET", "/v1/metrics", params={"environment": ENVIRONMENT})

    def team_metrics(client: httpx.Client, index: int, k: int) -> Sample:
        return call(client, "GET", "/v1/metrics", params={"team": team(index + k)})

    reads: list[tuple[str, Callable[[int], Work]]] = [
        ("list services (first page)", lambda c: repeat(c, first_page)),
        (f"list services ({PAGES_PER_WALK}-page cursor walk)", lambda c: cursor_walk),
        ("show service", lambda c: repeat(c, show)),
        ("metrics (organisation, 30 d)", lambda c: repeat(c, org_metrics)),
        ("metrics (one team, 30 d)", lambda c: repeat(c, team_metrics)),
    ]
    for operation, make in reads:
        # Warm-up, untimed: a few requests per client.
        run_phase(clients, repeat(2, lambda c, i, k: call(c, "GET", "/healthz")), 10.0)
        per_client = max(1, sizes.reads // n)
        if operation.startswith("list services (") and "walk" in operation:
            walks = max(1, per_client // PAGES_PER_WALK)
        measure(f"{operation} [{n} clients]", make(per_client), read=True)
    for operation, make in reads:
        walks = max(1, sizes.single_reads // PAGES_PER_WALK)
        measure(f"{operation} [1 client]", make(sizes.single_reads), read=True, on=clients[:1])
    metrics = call(reader, "GET", "/v1/metrics", params={"environment": ENVIRONMENT})
    if metrics.status == 200:
        notes.append(
            f"{backend}: the organisation metrics cover {metrics.body['total']['deployments']} "
            f"deployments of {len(metrics.body['services'])} services "
            f"({len(json.dumps(metrics.body)) // 1024} KiB answer)"
        )
    return figures, problems, notes


# -- main ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=int, default=10_000, help="services in all, to read")
    parser.add_argument(
        "--history", type=int, default=None, help="deployments seeded [default: --services]"
    )
    parser.add_argument("--backends", default="sqlite,postgresql", help="comma-separated")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients")
    parser.add_argument("--reads", type=int, default=1000, help="requests per read operation")
    parser.add_argument(
        "--seed", choices=("table", "api"), default="table", help="how to seed the services"
    )
    parser.add_argument("--quick", action="store_true", help="small numbers, for a smoke run")
    parser.add_argument(
        "--op-seconds", type=float, default=60.0, help="time budget of each measured operation"
    )
    parser.add_argument("--timeout", type=float, default=1800.0, help="deadline of the run (s)")
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="the server's worker processes [default: its own, the CPUs it may use]",
    )
    parser.add_argument(
        "--client-processes",
        type=int,
        default=4,
        help="processes the concurrent readers are spread over (1: threads of this one)",
    )
    args = parser.parse_args()
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(backends) - {"sqlite", "postgresql"}
    if unknown:
        parser.error(f"unknown backends: {', '.join(sorted(unknown))}")
    if args.quick:
        sizes = Sizes(40, 100, 5, min(args.services, 500), 200, 100, 20, 20.0)
    else:
        history = args.services if args.history is None else args.history
        sizes = Sizes(200, 1000, 20, args.services, history, args.reads, 200, args.op_seconds)
    clients_n = max(2, args.clients)

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"the run took longer than --timeout {args.timeout:.0f} s")

    signal.signal(signal.SIGALRM, expire)
    signal.alarm(max(1, int(args.timeout)))

    figures: list[Figure] = []
    problems: list[str] = []
    notes: list[str] = []
    skipped: list[str] = []
    started = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="paved-bench-platform-") as tmp:
            root = Path(tmp)
            env = {
                key: value
                for key, value in os.environ.items()
                if not key.startswith(("PYTHON", "PAVED_"))
            }
            for backend in backends:
                home = root / f"home-{backend}"
                home.mkdir()
                env["PAVED_HOME"] = str(home)
                with contextlib.ExitStack() as stack:
                    if backend == "sqlite":
                        url = f"sqlite:///{root / 'platform.db'}"
                    else:
                        try:
                            url = stack.enter_context(postgresql())
                        except LookupError as exc:
                            skipped.append(f"postgresql: {exc}")
                            continue
                    print(f"{backend}: {url}", file=sys.stderr)
                    found = bench_backend(
                        backend, url, sizes=sizes, clients_n=clients_n, seed=args.seed,
                        root=root, env=env, workers=args.workers,
                        processes=args.client_processes,
                    )  # fmt: skip
                    figures += found[0]
                    problems += found[1]
                    notes += found[2]
    finally:
        signal.alarm(0)

    print(
        f"platform load: {clients_n} concurrent clients (one httpx client each; readers in "
        f"{max(1, args.client_processes)} processes) on "
        f"127.0.0.1; {sizes.registrations} registrations, {sizes.deployments} deployment "
        f"records, {sizes.race_names} names raced by every client; reads with "
        f"{sizes.services} services and {sizes.history} seeded deployments; "
        f"{time.perf_counter() - started:.0f} s"
    )
    header = (
        f"  {'backend':10} {'operation':48} {'req':>6} {'2xx':>6} {'5xx':>4} {'req/s':>8} "
        f"{'median ms':>10} {'p99 ms':>9}  aim"
    )
    print(header)
    for f in figures:
        aim = ("PASS" if f.meets_aim() else "FAIL") if f.read else "-"
        print(
            f"  {f.backend:10} {f.operation:48} {len(f.samples):6} {f.ok:6} "
            f"{f.server_errors:4} {f.throughput:8.1f} {f.median():10.1f} {f.p99():9.1f}  {aim}"
        )
    for note in notes:
        print(f"  {note}")
    for skip in skipped:
        print(f"  skipped {skip}")
    for problem in problems:
        print(f"  PROBLEM {problem}")
    reads = [f for f in figures if f.read]
    failing = [f"{f.backend} {f.operation}" for f in reads if not f.meets_aim()]
    print(
        f"aim: p99 < {AIM_MS:.0f} ms for reads with {sizes.services} services: "
        + (f"missed by {len(failing)} of {len(reads)}: " + "; ".join(failing) if failing else "met")
    )
    print("PASS" if reads and not failing and not problems and not skipped else "FAIL")


if __name__ == "__main__":
    main()
