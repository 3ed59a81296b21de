"""End-to-end benchmark: ``paved fleet update`` of 50 services against the same done by hand.

Target: ``paved fleet update --to 0.3.0`` over a fleet of 50 clean services takes at most 0.3x
the time of the same roll-out done by hand, one service after the other, the way
docs/scaffolds.md ("Updating a service with plain copier") describes it:

    GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=url.$PAVED_HOME/data/templates/.insteadOf \\
      GIT_CONFIG_VALUE_0=https://scaffolds.paved.invalid/
    for each service:
      git clone URL; cd NAME; git checkout -b paved/update-road-0.3.0
      copier update --defaults --quiet -a .copier-answers.road.yml
      git add -A; git commit -m ...; git push origin paved/update-road-0.3.0

The fleet is tests/fleet_helpers.py's: real services (``paved new service`` renders, renamed),
each in a bare repository of its own, registered in a real SQLite catalog under file:// URLs;
the road releases are tests/update_helpers.py's (0.3.0 moves a file), all three in the
template store. The services are at road 0.1.0 and 0.2.0 in turn (``--from 0.2.0``: all at
0.2.0), without local edits, so every update merges cleanly and passes the guardrails. Each
round both sides get a fresh copy of the 50 bare repositories (copied untimed; the catalog's
URLs rewritten to the copy, paved's fleet folder with its journal and clones removed, or paved
would carry on the roll-out before), by hand first, then paved.

What each side includes (each is timed from the first process start to the last exit):

    by hand   six processes per service, one service after the other: ``git clone`` of the
              catalog's URL, ``git checkout -b``, copier's console script of this
              interpreter's environment (start-up, ``import copier``, the clone of both
              versions from the store, the renders, the three-way merge), ``git add -A``,
              ``git commit``, ``git push``; no guardrails
    paved     one process of this interpreter running paved's Typer app as its console
              script does, ``--parallel N`` workers: start-up, imports, the catalog, and per
              service the clone, the remote's branches, the update on the branch (the renders
              of both versions, git's merge, the commit), the guardrails, the push; the
              journal

paved runs through a launcher of a few lines the benchmark writes (``paved-at.py``), as
benchmarks/update.py does: the CLI has no option for the folder of bundled scaffolds, so the
launcher builds the runtime with ``scaffolds_root`` set to 0.3.0's and hands it to the
console script's ``main``. Everything lives in a temporary folder: PAVED_HOME, HOME with a
pinned git identity (no system config), copier's cache, the bytecode cache (primed untimed);
only local files are used.

After every run it checks the roll-out happened, in every bare repository: the branch
paved/update-road-0.3.0 is exactly one commit on top of an untouched main, and its
.copier-answers.road.yml says ``_commit: 0.3.0``; paved also reports every service ``ready``.
Both sides of a round must push the same tree for each service.

    python benchmarks/fleet.py [--runs N] [--warmup N] [--services N] [--parallel N]
                               [--from mixed|0.2.0]

Prints PASS or FAIL on the last line and exits 0 either way: it reports, it does not gate.
A failing command or check aborts the benchmark (exit 1) with its output.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import yaml
from _bench import clean_env, run

TARGET = 0.3
NEW = "0.3.0"
BRANCH = f"paved/update-road-{NEW}"
ANSWERS = ".copier-answers.road.yml"
HAND_STEPS = (
    "git clone", "git checkout -b", "copier update", "git add -A", "git commit", "git push",
)  # fmt: skip
REPO = Path(__file__).resolve().parents[1]


def run_fleet(
    cmd: Sequence[str], *, env: dict[str, str], cwd: Path
) -> tuple[float, dict[str, float], str]:
    """Run ``paved fleet update`` and time it; also the phases its progress lines mark.

    The phases: start-up to the first service done, the first to the last service done, the
    last one to the exit. Returns the time, the phases and stdout (the JSON).
    """
    start = time.perf_counter()
    proc = subprocess.Popen(
        list(cmd), env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    stdout = proc.stdout
    # stdout (the JSON) comes at the end; read it in a thread so that neither pipe fills up.
    out: list[str] = []
    reader = threading.Thread(target=lambda: out.append(stdout.read()))
    reader.start()
    lines: list[str] = []
    marks: list[float] = []
    for line in proc.stderr:
        lines.append(line)
        if line.lstrip().startswith("["):  # "  [i/N] NAME STATUS"
            marks.append(time.perf_counter())
    code = proc.wait()
    end = time.perf_counter()
    reader.join()
    if code != 0 or not marks:
        sys.stderr.write(
            f"command failed (exit {code}): {' '.join(map(str, cmd))}\n--- stderr ---\n"
            + "".join(lines)
            + f"--- stdout ---\n{''.join(out)}"
        )
        raise SystemExit(1)
    phases = {
        "start-up to the first service done": (marks[0] - start) * 1000,
        "first to last service done": (marks[-1] - marks[0]) * 1000,
        "last service done -> exit": (end - marks[-1]) * 1000,
    }
    return (end - start) * 1000, phases, "".join(out)


def copier_command() -> list[str]:
    script = Path(sys.executable).parent / "copier"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "copier"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs per variant")
    parser.add_argument("--warmup", type=int, default=0, help="untimed runs per variant first")
    parser.add_argument("--services", type=int, default=50, help="services in the fleet")
    parser.add_argument(
        "--parallel",
        type=int,
        default=max(1, os.cpu_count() or 1),
        help="paved's --parallel (default: the CPU count)",
    )
    parser.add_argument(
        "--from",
        dest="start",
        choices=("mixed", "0.2.0"),
        default="mixed",
        help="the services' road: 0.1.0 and 0.2.0 in turn (default), or all 0.2.0",
    )
    args = parser.parse_args()
    if args.runs < 1 or args.services < 1 or args.parallel < 1:
        parser.error("--runs, --services and --parallel must be at least 1")

    sys.path.insert(0, str(REPO))  # the releases and the fleet are the tests' own
    from tests.fleet_helpers import build_fleet
    from tests.update_helpers import build_releases, environ, store_releases, write_launcher

    copier = copier_command()
    versions = [
        "0.1.0" if args.start == "mixed" and i % 2 else "0.2.0" for i in range(args.services)
    ]

    with tempfile.TemporaryDirectory(prefix="paved-bench-fleet-") as tmp:
        root = Path(tmp)
        home, paved_home, work = root / "home", root / "paved-home", root / "work"
        for folder in (home, paved_home, work):
            folder.mkdir()
        (home / ".gitconfig").write_text(
            "[user]\n\tname = Bench Engineer\n\temail = bench@example.com\n"
            "[init]\n\tdefaultBranch = main\n",
            encoding="utf-8",
        )
        env = clean_env(
            HOME=str(home),
            PAVED_HOME=str(paved_home),
            GIT_CONFIG_NOSYSTEM="1",
            PYTHONPYCACHEPREFIX=str(root / "pycache"),
            # Local files only: git refuses every transport but local paths and file://.
            GIT_ALLOW_PROTOCOL="file",
        )
        store = paved_home / "data" / "templates"
        hand_env = {
            **env,
            # copier's cache for the hand-made runs (paved uses its own under PAVED_HOME).
            "COPIER_CACHE_DIR": str(root / "copier-cache"),
            # the stable URL the answers record, mapped to the store (decision 0002)
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": f"url.{store.as_posix()}/.insteadOf",
            "GIT_CONFIG_VALUE_0": "https://scaffolds.paved.invalid/",
        }
        catalog_db = paved_home / "data" / "catalog.db"
        fleet_dir = paved_home / "data" / "fleet"

        # Setup: the releases, all three in the store, the fleet in pristine bare repositories.
        print(f"setup: road releases and {args.services} services ...", file=sys.stderr)
        roots = build_releases(root / "releases")
        pristine = root / "githost"
        pristine.mkdir()
        with environ({key: env[key] for key in ("HOME", "PAVED_HOME", "GIT_CONFIG_NOSYSTEM")}):
            store_releases(roots)
            names = build_fleet(roots, root / "made", pristine, catalog_db, versions)
        tags = run(["git", "-C", str(store / "paved-road.git"), "tag", "--list"], env=env)
        if tags.split() != ["0.1.0", "0.2.0", NEW]:
            raise SystemExit(f"the store's paved-road tags are {tags.split()}, not 0.1.0-{NEW}")
        mains = {
            name: run(
                ["git", "--git-dir", str(pristine / f"{name}.git"), "rev-parse", "main"], env=env
            ).strip()
            for name in names
        }
        launcher = write_launcher(root / "bin")
        paved = [sys.executable, str(launcher)]
        # Prime the bytecode cache, so that neither side's first run compiles the other's.
        run([*paved, str(roots[NEW]), "--help"], env=env, cwd=root)
        run([*copier, "--version"], env=hand_env, cwd=root)
        imports = "import copier, paved.fleet, paved.update, paved.guardrails"
        run([sys.executable, "-c", imports], env=env, cwd=root)

        prefix = [pristine.as_uri() + "/"]  # what the catalog's URLs start with now

        def fresh(folder: str) -> Path:
            """A copy of the pristine bare repositories in ``work/folder/githost``."""
            githost = work / folder / "githost"
            shutil.copytree(pristine, githost, symlinks=True)
            return githost

        def by_hand(githost: Path, clones: Path) -> tuple[float, dict[str, float]]:
            clones.mkdir(parents=True)
            steps = dict.fromkeys(HAND_STEPS, 0.0)
            start = time.perf_counter()
            for name in names:
                dest = clones / name
                for step, cmd, cwd in (
                    ("git clone", ["git", "clone", "--quiet", (githost / f"{name}.git").as_uri(),
                                   str(dest)], clones),
                    ("git checkout -b", ["git", "checkout", "--quiet", "-b", BRANCH], dest),
                    ("copier update", [*copier, "update", "--defaults", "--quiet", "-a", ANSWERS],
                     dest),
                    ("git add -A", ["git", "add", "-A"], dest),
                    ("git commit", ["git", "commit", "--quiet", "-m",
                                    f"Update the road to {NEW}"], dest),
                    ("git push", ["git", "push", "--quiet", "origin", BRANCH], dest),
                ):  # fmt: skip
                    since = time.perf_counter()
                    run(cmd, env=hand_env, cwd=cwd)
                    steps[step] += (time.perf_counter() - since) * 1000
            return (time.perf_counter() - start) * 1000, steps

        def with_paved(githost: Path, _clones: Path) -> tuple[float, dict[str, float]]:
            shutil.rmtree(fleet_dir, ignore_errors=True)  # the journal, or it would resume
            new = githost.as_uri() + "/"
            with contextlib.closing(sqlite3.connect(catalog_db)) as conn, conn:
                conn.execute(
                    "UPDATE services SET repository = replace(repository, ?, ?)", (prefix[0], new)
                )
                pointed = conn.execute(
                    "SELECT count(*) FROM services WHERE repository LIKE ?", (new + "%",)
                ).fetchone()[0]
            prefix[0] = new
            if pointed != len(names):
                raise SystemExit(f"{pointed} of {len(names)} catalog URLs point at {githost}")
            cmd = [*paved, str(roots[NEW]), "fleet", "update", "--to", NEW,
                   "--parallel", str(args.parallel), "--json"]  # fmt: skip
            elapsed, phases, out = run_fleet(cmd, env=env, cwd=root)
            totals = json.loads(out)["totals"]
            if totals != {"ready": len(names)}:
                raise SystemExit(f"paved fleet update reported {totals}, not {len(names)} ready")
            return elapsed, phases

        def check(githost: Path) -> dict[str, str]:
            """Each service's pushed tree, once every repository is found updated."""
            problems = []
            trees = {}
            for name in names:
                bare = ["git", "--git-dir", str(githost / f"{name}.git")]
                heads = run([*bare, "for-each-ref", "--format=%(refname)"], env=env).split()
                if f"refs/heads/{BRANCH}" not in heads:
                    problems.append(f"{name}: no branch {BRANCH} (heads: {heads})")
                    continue
                main_now = run([*bare, "rev-parse", "main"], env=env).strip()
                if main_now != mains[name]:
                    problems.append(f"{name}: main moved to {main_now}")
                parents = run([*bare, "log", "-1", "--format=%P", BRANCH], env=env).split()
                if parents != [mains[name]]:
                    problems.append(f"{name}: the branch's parents are {parents}, not main")
                count = run([*bare, "rev-list", "--count", f"main..{BRANCH}"], env=env).strip()
                if count != "1":
                    problems.append(f"{name}: {count} commits on top of main, not 1")
                recorded = yaml.safe_load(run([*bare, "show", f"{BRANCH}:{ANSWERS}"], env=env))
                if not isinstance(recorded, dict) or recorded.get("_commit") != NEW:
                    problems.append(f"{name}: {ANSWERS} on the branch holds {recorded}")
                trees[name] = run([*bare, "rev-parse", f"{BRANCH}^{{tree}}"], env=env).strip()
            if problems:
                raise SystemExit(
                    f"{githost}: the roll-out is incomplete:\n  " + "\n  ".join(problems[:20])
                )
            return trees

        variants = {"by hand (git + copier CLI)": by_hand, "paved fleet update": with_paved}
        prefixes = {"by hand (git + copier CLI)": "hand", "paved fleet update": "paved"}
        samples: dict[str, list[float]] = {name: [] for name in variants}
        phases: dict[str, dict[str, list[float]]] = {}
        checked = 0
        for round_ in range(args.warmup + args.runs):
            trees = {}
            for variant, action in variants.items():  # interleaved: A, B, A, B, ...
                folder = f"{prefixes[variant]}-{round_}"
                githost = fresh(folder)
                elapsed, steps = action(githost, work / folder / "clones")
                trees[variant] = check(githost)
                checked += 1
                print(f"round {round_}: {variant} {elapsed / 1000:.1f} s", file=sys.stderr)
                if round_ >= args.warmup:
                    samples[variant].append(elapsed)
                    for step, ms in steps.items():
                        phases.setdefault(variant, {}).setdefault(step, []).append(ms)
                shutil.rmtree(work / folder)  # checked: the disk need not hold every round
            hand, ours = trees.values()
            differ = sorted(name for name in names if hand[name] != ours[name])
            if differ:
                raise SystemExit(
                    f"round {round_}: by hand and paved pushed different trees for {differ}"
                )

    print(
        f"fleet: paved fleet update vs by hand; {args.runs} runs each, interleaved, after "
        f"{args.warmup} warm-up run(s); {len(names)} services at road "
        f"{'0.1.0 and 0.2.0' if args.start == 'mixed' else '0.2.0'} -> {NEW}; "
        f"paved --parallel {args.parallel} (CPUs: {os.cpu_count()}), by hand one at a time"
    )
    for variant, values in samples.items():
        print(
            f"  {variant:28} median {statistics.median(values) / 1000:8.1f} s    "
            f"min {min(values) / 1000:8.1f} s"
        )
    for variant, variant_steps in phases.items():
        print(f"  phases of '{variant}' (median s, for information):")
        for step, values in variant_steps.items():
            print(f"    {statistics.median(values) / 1000:8.1f}  {step}")
    ratio = statistics.median(samples["paved fleet update"]) / statistics.median(
        samples["by hand (git + copier CLI)"]
    )
    print(
        f"  checked: {checked} roll-outs, each service's {BRANCH} one commit on an untouched "
        f"main with _commit: {NEW}; both sides of every round the same trees"
    )
    print(f"ratio paved/by hand {ratio:.3f}x (target <= {TARGET}x)")
    print("PASS" if ratio <= TARGET else "FAIL")


if __name__ == "__main__":
    main()
