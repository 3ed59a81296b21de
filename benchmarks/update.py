"""End-to-end benchmark: ``paved update`` of the road layer against the same update by hand.

Target: ``paved update``, run in a clean service made at paved-road 0.1.0, takes at most 0.5x
the time of the same update done by hand (docs/scaffolds.md, "Rendering a layer with plain
copier"), from the service's folder:

    GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=url.$PAVED_HOME/data/templates/.insteadOf \\
      GIT_CONFIG_VALUE_0=https://scaffolds.paved.invalid/
    copier update --defaults --quiet -a .copier-answers.road.yml
    git add -A; git commit -m ...

The road releases are tests/update_helpers.py's: 0.1.0 is the bundled road, 0.2.0 its security
fix (a tightened NetworkPolicy, a bumped action SHA, a new LimitRange, SECURITY.md changed,
.yamllint.yml removed); only those two are in the template store, so the newest version is
the same for paved and copier. The service is ``paved new service payments --owner
team-checkout --no-push --no-register`` at 0.1.0, without local edits, so both sides merge
cleanly and commit. Each round both sides get a fresh copy of it (copied untimed, with its git
index refreshed as in a working checkout), by hand first, then paved, after warm-up rounds.

What each side includes (each is timed from the first process start to the last exit):

    by hand   three processes: copier's console script of this interpreter's environment
              (interpreter start-up, ``import copier``, the clone of both versions from the
              store, the renders, the three-way merge, copier's git calls), ``git add -A``
              and ``git commit``
    paved     one process of this interpreter running paved's Typer app as its console
              script does: start-up, imports, plan, the renders of 0.1.0 and 0.2.0, git's
              merge, the work tree, the commit, the catalog lookup (the service is not
              registered, so nothing is recorded)

paved runs through a launcher of a few lines the benchmark writes (``paved-at.py``): the CLI
has no option for the folder of bundled scaffolds, so the launcher builds the runtime with
``scaffolds_root`` set, as tests/update_helpers.runtime_at does, and hands it to the console
script's ``main``.
Neither side pushes. Everything lives in a temporary folder: PAVED_HOME, HOME with a pinned
git identity (no system config), copier's cache, the bytecode cache; only local files are used.

After every run it checks the update happened: one new commit on the service's head, a clean
work tree, ``_commit: 0.2.0`` and the other answers unchanged in .copier-answers.road.yml,
0.2.0's changes in the files; and that both sides of a round committed the same tree.

    python benchmarks/update.py [--runs N] [--warmup N]

Prints PASS or FAIL on the last line and exits 0 either way: it reports, it does not gate.
A failing command or check aborts the benchmark (exit 1) with its output.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import yaml
from _bench import clean_env, run

TARGET = 0.5
NAME, OWNER = "payments", "team-checkout"
OLD, NEW = "0.1.0", "0.2.0"
ANSWERS = ".copier-answers.road.yml"
REPO = Path(__file__).resolve().parents[1]


def run_with_phases(
    cmd: Sequence[str], *, env: dict[str, str], cwd: Path
) -> tuple[float, list[tuple[str, float]]]:
    """Run ``cmd`` and time it; also time the phases between the progress lines on stderr."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        list(cmd), env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    assert proc.stderr is not None
    lines: list[str] = []
    phases: list[tuple[str, float]] = []
    label, since = "start-up, imports, plan", start
    for line in proc.stderr:
        now = time.perf_counter()
        lines.append(line)
        phases.append((label, (now - since) * 1000))
        label = line.strip().split(":")[0][:48]
        since = now
    code = proc.wait()
    end = time.perf_counter()
    phases.append((f"{label} -> exit", (end - since) * 1000))
    if code != 0:
        sys.stderr.write(
            f"command failed (exit {code}): {' '.join(map(str, cmd))}\n--- stderr ---\n"
            + "".join(lines)
        )
        raise SystemExit(1)
    return (end - start) * 1000, phases


def copier_command() -> list[str]:
    script = Path(sys.executable).parent / "copier"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "copier"]


def answers(service: Path) -> dict[str, object]:
    loaded = yaml.safe_load((service / ANSWERS).read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="timed runs per variant")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs per variant first")
    args = parser.parse_args()

    sys.path.insert(0, str(REPO))  # the releases are the update tests' own
    from tests.update_helpers import (
        LIMITS,
        NEW_CHECKOUT,
        NEW_CIDR,
        SECURITY_NEW,
        build_releases,
        environ,
        store_releases,
        write_launcher,
    )

    expected = {  # 0.2.0's changes, as rendered into the service
        "k8s/base/networkpolicy.yaml": NEW_CIDR,
        ".github/workflows/ci.yml": NEW_CHECKOUT,
        "k8s/base/kustomization.yaml": "  - limitrange.yaml\n",
        "SECURITY.md": SECURITY_NEW,
    }
    copier = copier_command()

    with tempfile.TemporaryDirectory(prefix="paved-bench-update-") as tmp:
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

        # Setup: the releases, the store holding 0.1.0 and 0.2.0, one service at 0.1.0.
        roots = build_releases(root / "releases")
        with environ({key: env[key] for key in ("HOME", "PAVED_HOME", "GIT_CONFIG_NOSYSTEM")}):
            store_releases({version: roots[version] for version in (OLD, NEW)})
        tags = run(["git", "-C", str(store / "paved-road.git"), "tag", "--list"], env=env)
        if tags.split() != [OLD, NEW]:
            raise SystemExit(f"the store's paved-road tags are {tags.split()}, not {OLD}, {NEW}")
        launcher = write_launcher(root / "bin")
        paved = [sys.executable, str(launcher)]
        create = ["new", "service", NAME, "--owner", OWNER, "--no-push", "--no-register"]
        run([*paved, str(roots[OLD]), *create], env=env, cwd=root)
        service = root / NAME
        before = answers(service)
        if before.get("_commit") != OLD:
            raise SystemExit(f"the service records {before.get('_commit')}, not {OLD}")
        base = run(["git", "-C", str(service), "rev-parse", "HEAD"], env=env).strip()
        files = len(run(["git", "-C", str(service), "ls-files"], env=env).splitlines())

        def fresh(folder: str) -> Path:
            dest = work / folder
            shutil.copytree(service, dest, symlinks=True)
            run(["git", "-C", str(dest), "update-index", "-q", "--refresh"], env=env)
            return dest

        def by_hand(dest: Path) -> tuple[float, list[tuple[str, float]]]:
            start = time.perf_counter()
            steps = []
            for step, cmd in (
                ("copier update", [*copier, "update", "--defaults", "--quiet", "-a", ANSWERS]),
                ("git add -A", ["git", "add", "-A"]),
                ("git commit", ["git", "commit", "--quiet", "-m", f"Update the road to {NEW}"]),
            ):
                since = time.perf_counter()
                run(cmd, env=hand_env, cwd=dest)
                steps.append((step, (time.perf_counter() - since) * 1000))
            return (time.perf_counter() - start) * 1000, steps

        def with_paved(dest: Path) -> tuple[float, list[tuple[str, float]]]:
            return run_with_phases([*paved, str(roots[NEW]), "update"], env=env, cwd=dest)

        def check(dest: Path) -> str:
            """The tree of the update's commit, once the update is found complete."""
            problems = []
            parents = run(["git", "-C", str(dest), "log", "-1", "--format=%P"], env=env).split()
            if parents != [base]:
                problems.append(f"HEAD's parents are {parents}, not the service's commit {base}")
            status = run(
                ["git", "-C", str(dest), "status", "--porcelain", "--untracked-files=all"],
                env=env,
            )
            if status:
                problems.append(f"the work tree is not clean:\n{status}")
            after = answers(dest)
            if after != {**before, "_commit": NEW}:
                problems.append(f"{ANSWERS} holds {after}")
            for path, text in expected.items():
                if text not in (dest / path).read_text(encoding="utf-8"):
                    problems.append(f"{path} lacks {text!r}")
            if not (dest / LIMITS).is_file() or (dest / ".yamllint.yml").exists():
                problems.append(f"{LIMITS} missing or .yamllint.yml still there")
            if problems:
                raise SystemExit(
                    f"{dest.name}: the update is incomplete:\n  " + "\n  ".join(problems)
                )
            return run(["git", "-C", str(dest), "rev-parse", "HEAD^{tree}"], env=env).strip()

        variants = {"by hand (copier + git CLI)": by_hand, "paved update": with_paved}
        prefixes = {"by hand (copier + git CLI)": "hand", "paved update": "paved"}
        samples: dict[str, list[float]] = {name: [] for name in variants}
        phases: dict[str, dict[str, list[float]]] = {}
        checked = 0
        for round_ in range(args.warmup + args.runs):
            trees = {}
            for variant, action in variants.items():  # interleaved: A, B, A, B, ...
                dest = fresh(f"{prefixes[variant]}-{round_}")
                elapsed, steps = action(dest)
                trees[variant] = check(dest)
                checked += 1
                if round_ >= args.warmup:
                    samples[variant].append(elapsed)
                    for step, ms in steps:
                        phases.setdefault(variant, {}).setdefault(step, []).append(ms)
            if len(set(trees.values())) != 1:
                raise SystemExit(f"round {round_}: by hand and paved committed different trees")

    print(
        f"update: paved vs by hand; {args.runs} runs each, interleaved, after {args.warmup} "
        f"warm-up run(s); road paved-road {OLD} -> {NEW}; service {NAME}, {files} files"
    )
    for variant, values in samples.items():
        print(
            f"  {variant:28} median {statistics.median(values):8.1f} ms   min {min(values):8.1f} ms"
        )
    for variant, variant_steps in phases.items():
        print(f"  phases of '{variant}' (median ms, for information):")
        for step, values in variant_steps.items():
            if len(values) == args.runs:  # skip labels that did not occur in every run
                print(f"    {statistics.median(values):8.1f}  {step}")
    ratio = statistics.median(samples["paved update"]) / statistics.median(
        samples["by hand (copier + git CLI)"]
    )
    print(
        f"  checked: {checked} updates committed {NEW} and its changes with a clean work tree; "
        "both sides of every round the same tree"
    )
    print(f"ratio paved/by hand {ratio:.3f}x (target <= {TARGET}x)")
    print("PASS" if ratio <= TARGET else "FAIL")


if __name__ == "__main__":
    main()
