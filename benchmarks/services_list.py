"""Catalog-read benchmark: ``paved services list --json`` with 10,000 services against 10.

Target: with 10,000 services in the local catalog, ``paved services list --json`` takes at most
1.5x the time it takes with 10: reading and printing the rows costs little next to starting
paved. For information it also times ``sqlite3 -json`` printing the same rows (when the
sqlite3 command is installed) and the table (``paved services list``, in a pipe: plain lines).

Setup: two homes (PAVED_HOME), each with a local catalog. One service is registered through
paved's own catalog (``paved.catalog.sqlite.SqliteCatalog.register``), so the schema and the
row shapes are paved's; the others are copies of it inserted with ``sqlite3`` under other
names (``svc-00001``...), each with its two layers and its catalog entry, in one transaction.
The output of each variant is checked: valid JSON with every service, in name order.

Runs are fresh processes of this interpreter (``python -m paved``), interleaved (10, 10,000,
...) after warm-up runs; everything lives in a temporary folder.

    python benchmarks/services_list.py [--runs N] [--warmup N] [--services N]

Profile the big one (in-process, see benchmarks/README.md):

    PAVED_HOME=... python benchmarks/profile_paved.py -- services list --json

Prints PASS or FAIL on the last line and exits 0 either way: it reports, it does not gate.
A failing command aborts the benchmark (exit 1) with its stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from _bench import clean_env

TARGET = 1.5


def make_catalog(home: Path, count: int) -> None:
    """A catalog of ``count`` services under ``home``: one registered by paved, the rest copies."""
    from paved.catalog.sqlite import SqliteCatalog
    from paved.models import CatalogEntry, LayerRef, Service

    path = home / "data" / "catalog.db"
    catalog = SqliteCatalog(path)
    catalog.register(
        Service(
            name="svc-00000",
            owner="team-a",
            description="A service of the benchmark, registered by paved.",
            repository="ssh://git@git.example.com/team-a/svc-00000.git",
            layers=(
                LayerRef("app", "service-python", "0.3.0"),
                LayerRef("road", "paved-road", "0.5.0"),
            ),
            created_at=dt.datetime(2026, 11, 1, 9, 30, tzinfo=dt.UTC),
            catalog=CatalogEntry(resources=("s3-read", "sqs-send")),
        )
    )
    catalog.close()
    db = sqlite3.connect(path)
    with db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(services)")]
        first = dict(zip(columns, db.execute("SELECT * FROM services").fetchone(), strict=True))
        layer_columns = [row[1] for row in db.execute("PRAGMA table_info(service_layers)")]
        layers = [
            dict(zip(layer_columns, row, strict=True))
            for row in db.execute("SELECT * FROM service_layers")
        ]
        rows = []
        layer_rows = []
        for number in range(1, count):
            name = f"svc-{number:05d}"
            rows.append(
                {
                    **first,
                    "name": name,
                    "owner": f"team-{'abc'[number % 3]}",
                    "repository": f"ssh://git@git.example.com/team/{name}.git",
                }
            )
            layer_rows += [{**layer, "service": name} for layer in layers]
        marks = ", ".join("?" * len(columns))
        db.executemany(
            f"INSERT INTO services ({', '.join(columns)}) VALUES ({marks})",  # noqa: S608
            [tuple(r[c] for c in columns) for r in rows],
        )
        marks = ", ".join("?" * len(layer_columns))
        db.executemany(
            f"INSERT INTO service_layers ({', '.join(layer_columns)}) VALUES ({marks})",  # noqa: S608
            [tuple(r[c] for c in layer_columns) for r in layer_rows],
        )
    db.close()


def timed(cmd: Sequence[str], *, env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(list(cmd), env=env, capture_output=True, text=True, check=False)
    elapsed = (time.perf_counter() - start) * 1000
    if proc.returncode != 0:
        sys.stderr.write(
            f"command failed (exit {proc.returncode}): {' '.join(map(str, cmd))}\n"
            f"--- stderr ---\n{proc.stderr}--- stdout ---\n{proc.stdout}"
        )
        raise SystemExit(1)
    return elapsed, proc.stdout


def check_json(out: str, count: int) -> None:
    data = json.loads(out)
    names = [s["name"] for s in data["services"]]
    if data["schema"] != "paved/services/v1" or names != [f"svc-{n:05d}" for n in range(count)]:
        raise SystemExit(f"paved services list --json did not list the {count} services")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs per variant")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs per variant first")
    parser.add_argument("--services", type=int, default=10_000, help="services in the big one")
    args = parser.parse_args()
    paved = [sys.executable, "-m", "paved"]
    sqlite_cli = shutil.which("sqlite3")

    with tempfile.TemporaryDirectory(prefix="paved-bench-services-") as tmp:
        root = Path(tmp)
        envs: dict[int, dict[str, str]] = {}
        for count in (10, args.services):
            home = root / f"home-{count}"
            make_catalog(home, count)
            envs[count] = clean_env(
                PAVED_HOME=str(home), PYTHONPYCACHEPREFIX=str(root / "pycache"), NO_COLOR="1"
            )
            check_json(timed([*paved, "services", "list", "--json"], env=envs[count])[1], count)

        variants: dict[str, tuple[list[str], dict[str, str]]] = {
            "paved services list --json, 10 services": (
                [*paved, "services", "list", "--json"],
                envs[10],
            ),
            f"paved services list --json, {args.services:,} services": (
                [*paved, "services", "list", "--json"],
                envs[args.services],
            ),
            f"paved services list (lines), {args.services:,} services (info)": (
                [*paved, "services", "list"],
                envs[args.services],
            ),
        }
        if sqlite_cli is not None:
            db = Path(envs[args.services]["PAVED_HOME"]) / "data" / "catalog.db"
            variants[f"sqlite3 -json, {args.services:,} services (info)"] = (
                [sqlite_cli, "-json", str(db), "SELECT * FROM services ORDER BY name"],
                envs[args.services],
            )
        samples: dict[str, list[float]] = {name: [] for name in variants}
        for round_ in range(args.warmup + args.runs):
            for name, (cmd, env) in variants.items():
                elapsed, _ = timed(cmd, env=env)
                if round_ >= args.warmup:
                    samples[name].append(elapsed)

    print(
        f"services list: the local catalog with 10 and {args.services:,} services; {args.runs} "
        f"runs each, interleaved, after {args.warmup} warm-up run(s)"
    )
    for name, values in samples.items():
        print(f"  {name:58} median {statistics.median(values):8.1f} ms   min {min(values):8.1f} ms")
    small, big = (statistics.median(v) for v in list(samples.values())[:2])
    ratio = big / small
    print(f"ratio {args.services:,} / 10 services: {ratio:.3f}x (target <= {TARGET}x)")
    print("PASS" if ratio <= TARGET else "FAIL")


if __name__ == "__main__":
    main()
