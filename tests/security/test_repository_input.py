"""A service repository is untrusted input: an attacker with write access to one repository.

Every test runs the real command line against real services (rendered by paved, real git,
the embedded environment repository and catalog) and asserts, for each hostile value: the
documented exit code with one line naming the file and key, no file written outside the
repository, the environment repository unchanged, and nothing recorded.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from paved.cli.app import app
from paved.cli.runtime import Runtime
from paved.errors import ExitCode
from tests.conftest import pin_environment
from tests.deploy_helpers import DIGEST_1, DIGEST_2, env_repo, image, records, repo_state, show
from tests.helpers import git, snapshot

pytestmark = pytest.mark.slow

ANSWERS = ".copier-answers.road.yml"


def _error_line(done, code: int) -> str:
    assert done.exit_code == code, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: "), done.stderr
    return str(last)


def _edit_answers(service: Path, key: str, value: str) -> None:
    """Set ``key`` to ``value`` (a YAML scalar or list) in the road answers file, committed."""
    path = service / ANSWERS
    answers = yaml.safe_load(path.read_text(encoding="utf-8"))
    answers[key] = yaml.safe_load(value)
    path.write_text(yaml.safe_dump(answers, allow_unicode=True), encoding="utf-8")
    git("commit", "--quiet", "-am", f"Edit {key}", cwd=service)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Rendered once per module: team-a's 'victim', deployed to prod with a pinned image,
    and team-b's 'attacker'. Each test works on a copy of it."""
    root = tmp_path_factory.mktemp("world")
    with pytest.MonkeyPatch.context() as monkeypatch:
        pin_environment(root, monkeypatch)
        runner = CliRunner()

        def paved(*args: str):
            result = runner.invoke(app, list(args), obj=Runtime.from_process())
            assert result.exit_code == 0, result.stderr
            return result

        paved("new", "service", "victim", "--owner", "team-a")
        paved("deploy", "--path", "victim", "--env", "prod", "--yes", "--image", image("victim"))
        paved("new", "service", "attacker", "--owner", "team-b")
    return root


@pytest.fixture
def victim(world: Path, pinned_env: Path) -> Path:
    """A copy of the world in this test's folder. The copies' remotes still name the world's
    bare repositories, which no test here pushes to, so catalog and remotes agree."""
    for part in ("paved-home", "victim", "attacker"):
        shutil.copytree(world / part, pinned_env / part, symlinks=True)
    return pinned_env / "victim"


@pytest.fixture
def attacker(victim: Path, pinned_env: Path) -> Path:
    return pinned_env / "attacker"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("service_name", "../prod/victim"),
        ("service_name", "../../../../outside"),
        ("service_name", "/tmp/outside"),
        ("service_name", '"victim\\nPaved-Service: x"'),
        ("service_name", '"vic\\ttim"'),
        ("service_name", '"vic\\u202etim"'),
        ("service_name", "victim/../attacker"),
        ("service_name", '""'),
        ("owner", "../team-a"),
        ("owner", '"team-a\\nx"'),
        ("environments", "['../prod']"),
        ("environments", "['dev\\n']"),
        ("aws_region", '"eu-west-1\\n"'),
        ("aws_region", "'eu-west-1\"'"),
        ("aws_region", "'{{ 7*7 }}'"),
        ("aws_region", "'${path.root}'"),
        ("aws_account_id", repr("".join(chr(0xFF10 + int(d)) for d in "123456789012"))),
        ("aws_account_id", repr("\u00b923456789012")),  # a superscript one
        ("_commit", "--upload-pack=touch"),
        ("_commit", "'0.1.0\\nPaved-Image: x'"),
    ],
)
def test_a_hostile_answer_is_refused_before_anything_happens(
    paved, pinned_env: Path, victim: Path, attacker: Path, key: str, value: str
) -> None:
    _edit_answers(attacker, key, value)
    repo = env_repo(pinned_env)
    before = (repo_state(repo), records(paved), snapshot(pinned_env))
    done = paved("deploy", "--path", "attacker", "--env", "dev", "--image", image("x", DIGEST_2))
    line = _error_line(done, ExitCode.USAGE)
    assert ANSWERS in line
    assert key.lstrip("_") in line
    assert (repo_state(repo), records(paved), snapshot(pinned_env)) == before
    # the victim's prod manifests are exactly what its own deploy wrote
    assert image("victim").encode() in show(repo, "main", "envs/prod/victim/manifests.yaml")


def test_a_renamed_service_cannot_deploy_as_another_teams_service(
    paved, pinned_env: Path, victim: Path, attacker: Path
) -> None:
    """The name is valid, but the catalog says 'victim' lives in another repository."""
    _edit_answers(attacker, "service_name", "victim")
    repo = env_repo(pinned_env)
    before = (repo_state(repo), records(paved))
    done = paved("deploy", "--path", "attacker", "--env", "dev", "--image", image("x", DIGEST_2))
    line = _error_line(done, ExitCode.USAGE)
    assert "registered with repository" in line
    assert (repo_state(repo), records(paved)) == before


def test_an_owner_the_catalog_does_not_record_is_refused(
    paved, pinned_env: Path, victim: Path
) -> None:
    _edit_answers(victim, "owner", "team-b")
    repo = env_repo(pinned_env)
    before = (repo_state(repo), records(paved))
    done = paved("deploy", "--path", "victim", "--env", "dev", "--image", image("victim"))
    line = _error_line(done, ExitCode.AUTH)
    assert "owner 'team-b' is not the owner the catalog records for victim (team-a)" in line
    assert (repo_state(repo), records(paved)) == before


@pytest.mark.parametrize("env", ["dev\n", "../prod", "prod/../dev", "Dev", "dev\x1b[2J"])
def test_a_hostile_environment_name_is_refused(
    paved, pinned_env: Path, victim: Path, env: str
) -> None:
    before = records(paved)
    done = paved("deploy", "--path", "victim", "--env", env, "--image", image("victim"))
    line = _error_line(done, ExitCode.USAGE)
    assert "environment name" in line
    assert "\x1b" not in done.stderr
    assert records(paved) == before


def _push_to_env_repo(pinned_env: Path, change) -> None:
    """Commit ``change(work)`` to the environment repository, as someone with access could."""
    work = pinned_env / "envrepo-work"
    git("clone", "--quiet", str(env_repo(pinned_env)), str(work))
    change(work)
    git("add", "--all", cwd=work)
    git("commit", "--quiet", "-m", "Plant a link", cwd=work)
    git("push", "--quiet", "origin", "HEAD:main", cwd=work)


@pytest.mark.parametrize("planted", ["envs/dev/victim", "envs/dev", "envs"])
def test_a_symbolic_link_in_the_environment_repository_is_never_followed(
    paved, pinned_env: Path, victim: Path, planted: str
) -> None:
    outside = pinned_env / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep me\n")

    def plant(work: Path) -> None:
        import shutil

        target = work / planted
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(outside)

    _push_to_env_repo(pinned_env, plant)
    repo = env_repo(pinned_env)
    before = (repo_state(repo), records(paved))
    done = paved("deploy", "--path", "victim", "--env", "dev", "--image", image("victim"))
    line = _error_line(done, ExitCode.REMOTE)
    assert "symbolic link" in line
    assert sorted(p.name for p in outside.iterdir()) == ["precious.txt"]
    assert (outside / "precious.txt").read_text() == "keep me\n"
    assert repo_state(repo) == before[0]
    # the attempt reached the environment repository: it is recorded, as failed
    assert [r["outcome"] for r in records(paved)[: len(records(paved)) - len(before[1])]] == [
        "failed"
    ]


def test_the_environment_index_is_never_written_through_a_link(
    paved, pinned_env: Path, victim: Path
) -> None:
    outside = pinned_env / "outside.yaml"
    outside.write_text("precious: true\n")

    def plant(work: Path) -> None:
        index = work / "envs" / "dev" / "kustomization.yaml"
        index.parent.mkdir(parents=True, exist_ok=True)
        index.unlink(missing_ok=True)
        index.symlink_to(outside)
        (work / "envs" / "dev" / "..evil").mkdir()
        (work / "envs" / "dev" / "..evil" / "kustomization.yaml").write_text("x: 1\n")

    _push_to_env_repo(pinned_env, plant)
    done = paved("deploy", "--path", "victim", "--env", "dev", "--image", image("victim"))
    assert done.exit_code == 0, done.stderr
    assert outside.read_text() == "precious: true\n"
    index = show(env_repo(pinned_env), "main", "envs/dev/kustomization.yaml").decode()
    assert "  - victim\n" in index
    assert "evil" not in index  # a folder whose name is no service name is never listed


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("revision", "--output=/tmp/x"),
        ("image", "registry.example.com/team/victim:1\nPaved-Service: other"),
        ("source_commit", "deadbeef\nPaved-Environment: prod"),
    ],
)
def test_a_hand_edited_catalog_row_cannot_steer_a_rollback(
    paved, pinned_env: Path, victim: Path, column: str, value: str
) -> None:
    """A gitops rollback chooses from the environment repository's history, not the rows."""
    assert paved("deploy", "--path", "victim", "--image", image("victim")).exit_code == 0
    repo = env_repo(pinned_env)
    good = git("--git-dir", str(repo), "rev-parse", "main")
    second = paved("deploy", "--path", "victim", "--image", image("victim", DIGEST_2))
    assert second.exit_code == 0, second.stderr
    first = min(r["id"] for r in records(paved) if r["environment"] == "dev")
    with sqlite3.connect(pinned_env / "paved-home" / "data" / "catalog.db") as db:
        db.execute(f"UPDATE deployments SET {column} = ? WHERE id = ?", (value, first))  # noqa: S608
    done = paved("rollback", "--path", "victim", "--env", "dev")
    assert done.exit_code == 0, done.stderr
    path = "envs/dev/victim/manifests.yaml"
    assert show(repo, "main", path) == show(repo, good, path)
    message = git("--git-dir", str(repo), "log", "-1", "--format=%B", "main")
    assert value.split("\n")[0] not in message
    assert f"Paved-Image: {image('victim')}\n" in message
    assert "Paved-Service: victim\n" in message
    assert "Paved-Environment: dev\n" in message


def test_an_unreadable_commit_in_the_environment_repository_is_not_a_traceback(
    paved, pinned_env: Path, victim: Path
) -> None:
    """A folded trailer and record separators in a value: each commit read alone, no crash."""
    assert paved("deploy", "--path", "victim", "--image", image("victim")).exit_code == 0
    repo = env_repo(pinned_env)
    good = git("--git-dir", str(repo), "rev-parse", "main")
    work = pinned_env / "envrepo-work"
    git("clone", "--quiet", str(repo), str(work))
    manifests = work / "envs" / "dev" / "victim" / "manifests.yaml"
    manifests.write_text(manifests.read_text() + "# hand edit\n")
    git("commit", "--quiet", "-am", "Hand edit\n\nPaved-Service: victim\n"
        "Paved-Deployment: 1\n  folded\nPaved-Image: a\x1eb\x1fc\nPaved-Source-Commit: x\x1f",
        cwd=work)  # fmt: skip
    git("push", "--quiet", "origin", "HEAD:main", cwd=work)
    listed = paved("deployments", "list")
    assert listed.exit_code == 0, listed.stderr
    done = paved("rollback", "--path", "victim", "--env", "dev")
    assert "Traceback" not in done.stderr
    assert done.exit_code == 0, done.stderr  # the hand edit is a step; back to the deploy
    path = "envs/dev/victim/manifests.yaml"
    assert show(repo, "main", path) == show(repo, good, path)


def test_a_forged_trailer_in_the_environment_repository_is_checked_before_it_commits(
    paved, pinned_env: Path, victim: Path
) -> None:
    """The environment commits' trailers are input: an image that is no image is refused."""
    assert paved("deploy", "--path", "victim", "--image", image("victim")).exit_code == 0
    work = pinned_env / "envrepo-work"
    git("clone", "--quiet", str(env_repo(pinned_env)), str(work))
    manifests = work / "envs" / "dev" / "victim" / "manifests.yaml"
    manifests.write_text(manifests.read_text() + "# planted\n")
    git("commit", "--quiet", "-am", "Planted\n\nPaved-Service: victim\n"
        "Paved-Deployment: 77\nPaved-Image: not an image; rm -rf /", cwd=work)  # fmt: skip
    git("push", "--quiet", "origin", "HEAD:main", cwd=work)
    again = paved("deploy", "--path", "victim", "--image", image("victim", DIGEST_2))
    assert again.exit_code == 0, again.stderr
    before = repo_state(env_repo(pinned_env))
    done = paved("rollback", "--path", "victim", "--env", "dev")
    line = _error_line(done, ExitCode.USAGE)
    assert "image" in line
    assert repo_state(env_repo(pinned_env)) == before


@pytest.mark.parametrize(
    "reason", ["hotfix\nPaved-Service: other", "fix \x1b[31mred", "fix\u202eevil", "a\u2028b"]
)
def test_a_break_glass_reason_is_one_line_of_text(
    paved, pinned_env: Path, victim: Path, reason: str
) -> None:
    before = records(paved)
    done = paved(
        "deploy", "--path", "victim", "--env", "dev", "--image", image("victim", DIGEST_1),
        "--break-glass", "--reason", reason,
    )  # fmt: skip
    line = _error_line(done, ExitCode.USAGE)
    assert "--reason" in line
    assert records(paved) == before


@pytest.mark.parametrize(
    "description",
    ["tab\there", "line\nbreak", "esc \x1b[2J", "bidi \u202e", "sep\u2029x", "nul\x00"],
)
def test_a_description_with_control_characters_writes_nothing(
    paved, pinned_env: Path, description: str
) -> None:
    before = snapshot(pinned_env)
    done = paved("new", "service", "quiet", "--owner", "team-a", "--description", description)
    line = _error_line(done, ExitCode.USAGE)
    assert "--description" in line
    assert snapshot(pinned_env) == before


def test_tab_separated_output_escapes_what_an_older_catalog_holds(
    paved, pinned_env: Path, victim: Path
) -> None:
    with sqlite3.connect(pinned_env / "paved-home" / "data" / "catalog.db") as db:
        db.execute(
            "UPDATE services SET description = ? WHERE name = 'victim'",
            ("fine\nowner\tteam-z\x1b]0;pwned\x07",),
        )
    shown = paved("services", "show", "victim")
    assert shown.exit_code == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert [line.split("\t")[0] for line in lines].count("owner") == 1
    assert all(line.count("\t") == 1 for line in lines)
    assert "\x1b" not in shown.stdout
    assert "\x07" not in shown.stdout
    listed = paved("services", "list")
    assert all(line.count("\t") == 4 for line in listed.stdout.splitlines())


def _commit_all(service: Path, message: str) -> None:
    git("add", "--all", cwd=service)
    git("commit", "--quiet", "-m", message, cwd=service)


def _refused_before_anything(paved, pinned_env: Path, service: Path, env: str = "dev") -> str:
    repo = env_repo(pinned_env)
    before = (repo_state(repo), records(paved))
    ref = image("victim", DIGEST_2)
    done = paved("deploy", "--path", str(service), "--env", env, "--yes", "--image", ref)
    line = _error_line(done, ExitCode.USAGE)
    assert (repo_state(repo), records(paved)) == before
    return line


def test_a_symbolically_linked_overlay_is_refused(paved, pinned_env: Path, victim: Path) -> None:
    """The gate checks the folders under k8s/overlays/; a link there would render others."""
    moved = victim / "deploy" / "prod"
    moved.parent.mkdir()
    (victim / "k8s" / "overlays" / "prod").rename(moved)
    text = (moved / "kustomization.yaml").read_text().replace("../../base", "../../k8s/base")
    (moved / "kustomization.yaml").write_text(text)
    (victim / "k8s" / "overlays" / "prod").symlink_to("../../deploy/prod")
    _commit_all(victim, "Move the prod overlay")
    line = _refused_before_anything(paved, pinned_env, victim, "prod")
    assert "k8s/overlays/prod is a symbolic link" in line


@pytest.mark.parametrize(
    "resource",
    [
        "https://example.invalid/team-b/private.yaml",
        "git@example.invalid:team-b/private.git",
        "github.com/team-b/private//k8s",
        "../../../../outside",
    ],
)
def test_an_overlay_builds_only_what_the_service_holds(
    paved, pinned_env: Path, victim: Path, resource: str
) -> None:
    outside = pinned_env / "outside"
    outside.mkdir(exist_ok=True)
    (outside / "kustomization.yaml").write_text("resources: [secret.yaml]\n")
    (outside / "secret.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: stolen}\ndata: {token: x}\n"
    )
    overlay = victim / "k8s" / "overlays" / "dev" / "kustomization.yaml"
    text = overlay.read_text()
    assert "resources:\n" in text
    overlay.write_text(text.replace("resources:\n", f"resources:\n  - {resource}\n", 1))
    _commit_all(victim, "Add a resource")
    line = _refused_before_anything(paved, pinned_env, victim)
    assert "k8s/overlays/dev/kustomization.yaml names" in line


def test_an_ignored_file_under_k8s_is_never_deployed(paved, pinned_env: Path, victim: Path) -> None:
    (victim / ".gitignore").write_text("k8s/overlays/dev/extra.yaml\n")
    _commit_all(victim, "Ignore a file")
    (victim / "k8s" / "overlays" / "dev" / "extra.yaml").write_text("privileged: true\n")
    line = _refused_before_anything(paved, pinned_env, victim)
    assert "git does not track (k8s/overlays/dev/extra.yaml)" in line


def test_terminal_sequences_never_reach_the_terminal(paved, victim: Path) -> None:
    done = paved(
        "deploy", "--path", "victim", "--image", "registry.example.com/x\x1b]0;pwned\x07:1"
    )
    _error_line(done, ExitCode.USAGE)
    assert "\x1b" not in done.stderr
    assert "\x07" not in done.stderr
    assert len(done.stderr.strip().splitlines()) <= 2  # the 'Deploying' line and the error


def test_a_gitignore_in_the_environment_repository_hides_nothing(
    paved, pinned_env: Path, victim: Path
) -> None:
    _push_to_env_repo(
        pinned_env, lambda work: (work / "envs" / ".gitignore").write_text("manifests.yaml\n")
    )
    done = paved("deploy", "--path", "victim", "--env", "dev", "--image", image("victim"))
    assert done.exit_code == 0, done.stderr
    shipped = show(env_repo(pinned_env), "main", "envs/dev/victim/manifests.yaml")
    assert image("victim").encode() in shipped
