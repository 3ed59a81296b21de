"""Guardrails benchmark: ``paved guardrails check`` on a freshly generated service.

Target: ``paved guardrails check SERVICE`` takes at most 1.15x the time of ``paved --version``
plus the ``kubectl kustomize`` builds the check needs, run one after the other: one build per
overlay of the service, ``KUBECONFIG=/dev/null kubectl kustomize k8s/overlays/<env>`` from the
service's folder. That baseline is the least any check costs: starting paved, and rendering
what each overlay deploys.

Two services are generated with ``paved new service NAME --owner team-a --no-push
--no-register``: one on the defaults, one with ``--set ci_provider=gitlab --set
resources=s3-read,sqs-send,dynamodb-rw,secret-read``. The check must pass on both (exit 0),
else the benchmark aborts with its output. For each service and round the baseline commands
and the check run interleaved (which goes first alternates by round), after warm-up rounds,
each as a fresh process of this interpreter (``python -m paved``). Everything lives in a
temporary folder: PAVED_HOME, the services, and the bytecode cache (PYTHONPYCACHEPREFIX, so
that nothing is written into the virtualenv and every module is compiled once, as in an
installed paved). Nothing uses the network.

For information it prints the CPU time (user + system, children included) of each variant,
where the check spends its time in-process (fresh processes timing with ``time.perf_counter``:
the command through paved's Typer app, around the engine's ``check``; the engine's phases and
rule families called one by one through paved.guardrails' public functions, once as ``check``
runs them and once with the overlays built beforehand), and the slowest imports that
``guardrails check`` adds to ``--version`` (``python -X importtime``).

    python benchmarks/guardrails.py [--runs N] [--warmup N] [--probes N]

The check runs with paved's parse cache as it is after the warm-up rounds (warm: no
Terraform parsed again); the "parsed" probe imports python-hcl2 and parses every file itself,
to show what a cold run pays. Profile one check (see benchmarks/README.md):

    python benchmarks/profile_paved.py --sort tottime -- guardrails check SERVICE

Prints PASS or FAIL on the last line and exits 0 either way: it reports, it does not gate.
A failing command aborts the benchmark (exit 1) with its output.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

TARGET = 1.15
OWNER = "team-a"
TIMEOUT = 300  # seconds for any one command; kubectl is given 120 by paved itself
SERVICES: dict[str, list[str]] = {
    "defaults": [],
    "gitlab + 4 resources": [
        "--set",
        "ci_provider=gitlab",
        "--set",
        "resources=s3-read,sqs-send,dynamodb-rw,secret-read",
    ],
}
_KUSTOMIZATION = ("kustomization.yaml", "kustomization.yml", "Kustomization")

#: Run in a fresh process: times paved.guardrails' phases (argv: mode, service, overlays...).
#: mode "cli" runs ``paved guardrails check`` through the Typer app and times the CLI around
#: the engine; "live" does what ``check`` does, step by step; "parsed" builds the overlays
#: first, untimed, then times the pure-Python work: imports, parsing (python-hcl2, YAML), rules.
PROBE = '''\
"""Times paved.guardrails' phases in-process (written by benchmarks/guardrails.py)."""

import datetime as dt
import functools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

T = time.perf_counter
mode, root, overlays = sys.argv[1], Path(sys.argv[2]), sys.argv[3:]
prebuilt = {}
if mode == "parsed":  # built as paved builds them, before the clock starts
    env = {**os.environ, "KUBECONFIG": os.devnull}
    for name in overlays:
        done = subprocess.run(
            ["kubectl", "kustomize", str(root / name)],
            capture_output=True, text=True, env=env, check=True, timeout=120,
        )
        prebuilt[str(root / name)] = done.stdout
phases = {}
builds = []
marks = {}
start = T()


def lap(label, since):
    now = T()
    phases[label] = phases.get(label, 0.0) + (now - since) * 1000
    return now


if mode == "cli":  # paved guardrails check SERVICE, in this process
    import contextlib
    import io

    from paved.cli.app import app

    since = lap("import the CLI (typer, paved.cli)", start)
    import paved.guardrails as g

    since = lap("import paved.guardrails", since)
    engine = {}
    check = g.check

    def timed_check(*args, **kwargs):
        engine["start"] = T()
        try:
            return check(*args, **kwargs)
        finally:
            engine["end"] = T()

    g.check = timed_check
    with contextlib.redirect_stdout(io.StringIO()):
        code = app(["guardrails", "check", str(root)], prog_name="paved", standalone_mode=False)
    end = T()
    if code:
        sys.exit(f"paved guardrails check exited {code}")
    phases["CLI before the engine (runtime, settings)"] = (engine["start"] - since) * 1000
    phases["the engine: check()"] = (engine["end"] - engine["start"]) * 1000
    phases["CLI after the engine (report, close)"] = (end - engine["end"]) * 1000
    phases["total"] = (end - start) * 1000
    print(json.dumps({"phases": phases}))
    sys.exit(0)

import paved.guardrails as g
from paved.kustomize import builder as kustomize_builder

kubectl_kustomize = kustomize_builder(os.environ)

since = lap("import paved.guardrails", start)


def builder(directory):
    if str(directory) in prebuilt:
        return prebuilt[str(directory)], None
    begin = T()
    result = kubectl_kustomize(directory)
    builds.append(((begin - start) * 1000, (T() - start) * 1000))
    return result


class Tree(g.ServiceTree):
    """Notes when the rules first want the built overlays, and when they have them."""

    @functools.cached_property
    def overlays(self):
        marks["wanted"] = (T() - start) * 1000
        value = g.ServiceTree.overlays.func(self)
        marks["ready"] = (T() - start) * 1000
        return value


options = {}
if mode == "live" and hasattr(g, "ParseCache"):  # as check() has it (an older paved has none)
    options["cache"] = g.ParseCache.from_env(os.environ)
tree = Tree(root, today=dt.date.today(), env=os.environ, kustomize=builder, **options)
since = lap("list the files (git ls-files)", since)
tree.waivers
tree.prefetch()
since = lap("read the waivers, start the builds", since)
rules = g.all_rules()
since = lap("load the rules (plug-ins included)", since)
terraform = tree.glob("**/*.tf")
if mode == "parsed":
    import hcl2

    since = lap("import hcl2 (lark, regex)", since)
    build_parser = getattr(getattr(hcl2, "parser", None), "parser", None)
    if callable(build_parser):
        build_parser()
        since = lap("load the HCL grammar (lark cache file)", since)
    for path in terraform:
        tree.hcl(path)
    since = lap("parse the .tf files (python-hcl2)", since)
    tree.overlays
    since = lap("parse the overlays' output (YAML)", since)
errors = []
for rule in rules:
    report = g.evaluate(tree, [rule])
    errors += [f"{f.rule} {f.location} {f.message}" for f in report.errors]
    since = lap("rules " + rule.id.rsplit("-", 1)[0].removeprefix("PAVED-"), since)
phases["total"] = (T() - start) * 1000
print(json.dumps({
    "phases": phases,
    "builds": builds,
    "marks": marks,
    "kustomize_dirs": list(tree.kustomize_dirs),
    "files": len(tree.files),
    "terraform": len(terraform),
    "rules": len(rules),
    "errors": errors,
}))
'''


# -- running commands ----------------------------------------------------------------------


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(
    cmd: Sequence[str], *, env: dict[str, str], cwd: Path, what: str = ""
) -> tuple[float, float, str]:
    """Run ``cmd``; (wall ms, CPU ms of it and its children, stdout). Aborts when it fails."""
    cpu = _children_cpu()
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            list(cmd), env=env, cwd=cwd, capture_output=True, text=True, check=False,
            timeout=TIMEOUT,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise SystemExit(f"{what or 'command'} took over {TIMEOUT} s: {' '.join(cmd)}") from None
    elapsed = (time.perf_counter() - start) * 1000
    cpu_ms = (_children_cpu() - cpu) * 1000
    if proc.returncode != 0:
        sys.stderr.write(
            f"{what or 'command'} failed (exit {proc.returncode}): {' '.join(map(str, cmd))}\n"
            f"--- stderr ---\n{proc.stderr}--- stdout ---\n{proc.stdout}"
        )
        raise SystemExit(1)
    return elapsed, cpu_ms, proc.stdout


def overlays_of(service: Path) -> list[str]:
    """``k8s/overlays/<env>`` for each overlay folder holding a kustomization, sorted."""
    folder = service / "k8s" / "overlays"
    found = [
        d.relative_to(service).as_posix()
        for d in sorted(folder.iterdir() if folder.is_dir() else [])
        if any((d / name).is_file() for name in _KUSTOMIZATION)
    ]
    if not found:
        raise SystemExit(f"{service} has no overlay under k8s/overlays/")
    return found


def import_times(
    cmd: Sequence[str], *, env: dict[str, str], cwd: Path, repeat: int
) -> dict[str, tuple[float, float]]:
    """module -> median (self, cumulative) microseconds of ``python -X importtime CMD``."""
    times: dict[str, list[tuple[int, int]]] = {}
    for _ in range(repeat):
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", *cmd],
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
            timeout=TIMEOUT,
        )
        for line in proc.stderr.splitlines():
            parts = line.removeprefix("import time:").split("|")
            if len(parts) == 3 and parts[0].strip().isdigit():
                times.setdefault(parts[2].strip(), []).append((int(parts[0]), int(parts[1])))
    return {
        module: (
            statistics.median(s[0] for s in samples),
            statistics.median(s[1] for s in samples),
        )
        for module, samples in times.items()
    }


# -- reporting -------------------------------------------------------------------------------


def _fmt(samples: list[float]) -> str:
    return f"median {statistics.median(samples):7.1f} ms   min {min(samples):7.1f} ms"


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def print_probes(
    probes: dict[tuple[str, str], list[dict]], labels: Sequence[str], mode: str, title: str
) -> None:
    print(f"  {title}")
    order: list[str] = []
    for label in labels:
        for probe in probes[(label, mode)]:
            order += [k for k in probe["phases"] if k not in order and k != "total"]
    order.append("total")
    print(f"    {'(median ms)':40}" + "".join(f"{label:>22}" for label in labels))
    for key in order:
        cells = []
        for label in labels:
            values = [p["phases"][key] for p in probes[(label, mode)] if key in p["phases"]]
            cells.append(f"{_median(values):22.1f}" if values else f"{'-':>22}")
        print(f"    {key:40}" + "".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="timed rounds per service")
    parser.add_argument("--warmup", type=int, default=2, help="untimed rounds first")
    parser.add_argument(
        "--probes", type=int, default=5, help="in-process breakdown runs per service and mode"
    )
    args = parser.parse_args()

    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise SystemExit("kubectl is not installed: the check and the baseline both need it")
    paved = [sys.executable, "-m", "paved"]

    with tempfile.TemporaryDirectory(prefix="paved-bench-guardrails-") as tmp:
        root = Path(tmp)
        home, work = root / "paved-home", root / "work"
        for folder in (home, work):
            folder.mkdir()
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("PYTHON", "PAVED_", "TYPER_", "_TYPER", "GIT_", "KUBE"))
        }
        env.update(
            {
                "PAVED_HOME": str(home),
                "PYTHONPYCACHEPREFIX": str(root / "pycache"),
                "COLUMNS": "100",
                "NO_COLOR": "1",
                # Local files only: git refuses every transport but local paths and file://.
                "GIT_ALLOW_PROTOCOL": "file",
                "GIT_TERMINAL_PROMPT": "0",
            }
        )
        kube_env = {**env, "KUBECONFIG": os.devnull}

        # Setup: generate the services; the check must pass on each as generated.
        services: dict[str, Path] = {}
        overlays: dict[str, list[str]] = {}
        summaries: dict[str, dict] = {}
        for index, (label, extra) in enumerate(SERVICES.items()):
            name = f"svc-bench-{index}"
            run_once(
                [*paved, "new", "service", name, "--owner", OWNER, "--no-push",
                 "--no-register", *extra],
                env=env, cwd=work, what="paved new service",
            )  # fmt: skip
            services[label] = work / name
            overlays[label] = overlays_of(work / name)
            check = [*paved, "guardrails", "check", name]
            proc = subprocess.run(
                [*check, "--json"], env=env, cwd=work, capture_output=True, text=True,
                check=False, timeout=TIMEOUT,
            )  # fmt: skip
            if proc.returncode != 0:
                sys.stderr.write(
                    f"'paved guardrails check' fails on the freshly generated service "
                    f"({label}, exit {proc.returncode}):\n"
                    f"--- stderr ---\n{proc.stderr}--- stdout ---\n{proc.stdout}"
                )
                raise SystemExit(1)
            summaries[label] = json.loads(proc.stdout)["summary"]

        def baseline(label: str) -> list[tuple[str, float, float]]:
            steps = [("paved --version", *run_once([*paved, "--version"], env=env, cwd=work)[:2])]
            for overlay in overlays[label]:
                wall, cpu, _ = run_once(
                    [kubectl, "kustomize", overlay],
                    env=kube_env,
                    cwd=services[label],
                    what="kubectl kustomize",
                )
                steps.append((f"kubectl kustomize {overlay}", wall, cpu))
            return steps

        def candidate(label: str) -> tuple[float, float]:
            cmd = [*paved, "guardrails", "check", services[label].name]
            wall, cpu, _ = run_once(cmd, env=env, cwd=work, what="paved guardrails check")
            return wall, cpu

        walls: dict[tuple[str, str], list[float]] = {}
        cpus: dict[tuple[str, str], list[float]] = {}

        def record(label: str, step: str, wall: float, cpu: float) -> None:
            walls.setdefault((label, step), []).append(wall)
            cpus.setdefault((label, step), []).append(cpu)

        for round_ in range(args.warmup + args.runs):
            for label in SERVICES:  # interleaved, which goes first alternating by round
                if round_ % 2:
                    wall, cpu = candidate(label)
                    steps = baseline(label)
                else:
                    steps = baseline(label)
                    wall, cpu = candidate(label)
                if round_ < args.warmup:
                    continue
                for step, step_wall, step_cpu in steps:
                    record(label, step, step_wall, step_cpu)
                record(label, "baseline", sum(s[1] for s in steps), sum(s[2] for s in steps))
                record(label, "guardrails check", wall, cpu)

        # For information: the check's phases in-process, and the imports it adds.
        probe_file = root / "probe.py"
        probe_file.write_text(PROBE, encoding="utf-8")
        probes: dict[tuple[str, str], list[dict]] = {}
        for round_ in range(1 + args.probes):
            for label in SERVICES:
                for mode in ("cli", "live", "parsed"):
                    _, _, out = run_once(
                        [sys.executable, str(probe_file), mode, str(services[label]),
                         *overlays[label]],
                        env=env, cwd=work, what="the in-process probe",
                    )  # fmt: skip
                    if round_ > 0:  # the first round is a warm-up
                        probes.setdefault((label, mode), []).append(json.loads(out))
        first = next(iter(SERVICES))
        imports_check = import_times(
            ["-m", "paved", "guardrails", "check", services[first].name],
            env=env,
            cwd=work,
            repeat=args.probes,
        )
        imports_version = import_times(
            ["-m", "paved", "--version"], env=env, cwd=work, repeat=args.probes
        )

    # -- the report --------------------------------------------------------------------------
    print(
        f"guardrails check: 'paved guardrails check SERVICE' vs 'paved --version' + the kubectl "
        f"kustomize builds, one after the other; {args.runs} rounds, interleaved, after "
        f"{args.warmup} warm-up round(s); {os.cpu_count()} CPUs; {sys.executable}"
    )
    ratios: dict[str, float] = {}
    for label in SERVICES:
        summary = summaries[label]
        print(
            f"\n{label} ({len(overlays[label])} overlays: "
            f"{', '.join(o.rsplit('/', 1)[1] for o in overlays[label])}; the check: "
            f"{summary['rules']} rules, {summary['errors']} errors, {summary['warnings']} "
            f"warnings, {summary['waived']} waived)"
        )
        steps = [step for (lab, step) in walls if lab == label]
        for step in steps:
            name = "baseline (sum of the above)" if step == "baseline" else step
            if step == "guardrails check":
                name = "paved guardrails check"
            cpu = statistics.median(cpus[(label, step)])
            print(f"  {name:42} {_fmt(walls[(label, step)])}   cpu {cpu:7.1f} ms")
        ratios[label] = statistics.median(walls[(label, "guardrails check")]) / statistics.median(
            walls[(label, "baseline")]
        )
        print(f"  {'ratio check / baseline':42} {ratios[label]:.3f}x   (target <= {TARGET}x)")

    labels = list(SERVICES)
    print(
        f"\nwhere the check spends its time in-process (for information; fresh processes "
        f"calling paved's public functions, median of {args.probes}; the interpreter's own "
        "start-up is not included):"
    )
    print_probes(probes, labels, "cli", "paved guardrails check, through the Typer app:")
    print(
        "  'rules X' below is each rule family; the first family to read a format pays for "
        "parsing it: IAM imports\n  python-hcl2 and parses every .tf file, the first to read "
        "the overlays waits for the builds and parses them."
    )
    print_probes(probes, labels, "live", "as check() runs it (the overlays build in parallel):")
    for label in labels:
        runs = probes[(label, "live")]
        starts = [min(b[0] for b in p["builds"]) for p in runs if p["builds"]]
        each = [b[1] - b[0] for p in runs for b in p["builds"]]
        done = [max(b[1] for b in p["builds"]) for p in runs if p["builds"]]
        wanted = [p["marks"].get("wanted", float("nan")) for p in runs]
        waited = [
            max(0.0, max(b[1] for b in p["builds"]) - p["marks"]["wanted"])
            for p in runs
            if p["builds"] and "wanted" in p["marks"]
        ]
        seq = sum(
            statistics.median(walls[(label, f"kubectl kustomize {o}")]) for o in overlays[label]
        )
        dirs = runs[0]["kustomize_dirs"]
        same = (
            "the same as the baseline's"
            if dirs == overlays[label]
            else f"NOT the baseline's: {dirs}"
        )
        print(
            f"    {label}: {len(dirs)} builds ({same}) started at {_median(starts):.0f} ms, "
            f"each took {_median(each):.0f} ms in parallel (one after the other: {seq:.0f} ms "
            f"in all), the last done at {_median(done):.0f} ms; the rules wanted them at "
            f"{_median(wanted):.0f} ms and waited {_median(waited):.0f} ms"
        )
    print_probes(
        probes, labels, "parsed", "pure Python work (the overlays built beforehand, untimed):"
    )
    for label in labels:
        p = probes[(label, "parsed")][0]
        print(
            f"    {label}: {p['files']} files, {p['terraform']} .tf files, {p['rules']} rules"
            + (f"; errors: {p['errors']}" if p["errors"] else "")
        )

    extra = {m: t for m, t in imports_check.items() if m not in imports_version}
    slowest = sorted(extra.items(), key=lambda item: item[1][1], reverse=True)[:12]
    print(
        f"\nimports 'guardrails check' adds to '--version' ({first}; python -X importtime, "
        f"median us of {args.probes}; importtime inflates them, and the builds run meanwhile): "
        f"{len(extra)} modules, {sum(t[0] for t in extra.values()) / 1000:.0f} ms of own time"
    )
    for module, (self_us, cumulative_us) in slowest:
        print(f"  {cumulative_us:8.0f} (self {self_us:6.0f}) {module}")

    passed = all(ratio <= TARGET for ratio in ratios.values())
    summary_line = ", ".join(f"{label} {ratio:.3f}x" for label, ratio in ratios.items())
    print(f"\nratio check/baseline: {summary_line} (target <= {TARGET}x)")
    print("PASS" if passed else "FAIL")


if __name__ == "__main__":
    main()
