import dataclasses
from pathlib import Path

import pytest

from paved.errors import InputError
from paved.scaffold.registry import Layer, Scaffold, ScaffoldRegistry, load_scaffold
from tests.helpers import SCAFFOLDS


@pytest.fixture(scope="module")
def registry() -> ScaffoldRegistry:
    return ScaffoldRegistry(SCAFFOLDS)


def test_bundled_scaffolds_have_one_of_each_layer(registry: ScaffoldRegistry) -> None:
    layers = {s.name: s.layer for s in registry.all()}
    assert layers["service-python"] is Layer.APP
    assert layers["paved-road"] is Layer.ROAD
    for scaffold in registry.all():
        assert scaffold.version.count(".") == 2
        assert (scaffold.template_dir / "{{ _copier_conf.answers_file }}.jinja").is_file()


def test_unknown_template_names_the_known_ones(registry: ScaffoldRegistry) -> None:
    with pytest.raises(
        InputError, match=r"unknown app-layer template 'service-cobol'.*service-python"
    ):
        registry.get("service-cobol", layer=Layer.APP)
    with pytest.raises(InputError, match="unknown app-layer template 'paved-road'"):
        registry.get("paved-road", layer=Layer.APP)


@pytest.mark.parametrize(
    ("question", "raw", "value"),
    [("port", "9090", 9090), ("python_version", "3.13", "3.13")],
)
def test_answers_are_coerced_to_the_question_type(
    registry: ScaffoldRegistry, question: str, raw: str, value: object
) -> None:
    q = registry.get("service-python").question(question)
    assert q is not None
    assert q.coerce(raw) == value


@pytest.mark.parametrize(
    ("question", "raw", "message"),
    [
        ("port", "eighty", "is not a valid int"),
        ("port", "80", "must be between 1024 and 65535"),
        ("python_version", "2.7", "is not one of the choices"),
    ],
)
def test_bad_answers_are_refused(
    registry: ScaffoldRegistry, question: str, raw: str, message: str
) -> None:
    q = registry.get("service-python").question(question)
    assert q is not None
    with pytest.raises(InputError, match=message):
        q.coerce(raw)


def test_registry_of_a_missing_folder_is_empty(tmp_path: Path) -> None:
    assert ScaffoldRegistry(tmp_path / "nope").all() == []


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        ("layer: road\nversion: 1.0.0\n", "name None is not text"),
        ("name: Road\nlayer: road\nversion: 1.0.0\n", "name 'Road' has upper-case letters"),
        ("name: road\nlayer: infra\nversion: 1.0.0\n", "layer 'infra' is not app or road"),
        ("name: road\nlayer: road\nversion: 1.0\n", "version 1.0 is not a version"),
        ("name: road\nlayer: road\nversion: latest\n", "version 'latest' is not a version"),
        ("- a list\n", "not a mapping"),
    ],
)
def test_a_scaffold_yml_is_read_as_input(tmp_path: Path, meta: str, message: str) -> None:
    (tmp_path / "scaffold.yml").write_text(meta, encoding="utf-8")
    (tmp_path / "copier.yml").write_text("_subdirectory: template\n", encoding="utf-8")
    with pytest.raises(InputError, match=message):
        load_scaffold(tmp_path)


def test_a_scaffold_file_behind_a_link_is_refused(tmp_path: Path) -> None:
    (tmp_path / "elsewhere.yml").write_text("name: road\nlayer: road\nversion: 1.0.0\n")
    (tmp_path / "scaffold.yml").symlink_to(tmp_path / "elsewhere.yml")
    (tmp_path / "copier.yml").write_text("_subdirectory: template\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"scaffold\.yml is a symbolic link"):
        load_scaffold(tmp_path)


def test_an_organisation_s_scaffold_takes_the_place_of_the_bundled_one() -> None:
    bundled = ScaffoldRegistry(SCAFFOLDS).get("paved-road")
    theirs = dataclasses.replace(bundled, version="7.0.0", url="https://git.example.com/r.git")
    asked: list[tuple[str, str]] = []

    def load(name: str, url: str) -> Scaffold:
        asked.append((name, url))
        return theirs

    registry = ScaffoldRegistry(SCAFFOLDS, {"paved-road": theirs.url or ""}, load)
    assert registry.get("service-python", layer=Layer.APP).url is None
    assert asked == []  # nothing fetched for a bundled scaffold
    assert registry.get("paved-road", layer=Layer.ROAD) is theirs
    assert [s.version for s in registry.all() if s.name == "paved-road"] == ["7.0.0"]
    assert [s.name for s in registry.bundled()] == ["paved-road", "service-python"]
    assert registry.bundled()[0] is not theirs
    assert asked == [("paved-road", "https://git.example.com/r.git")]  # read once
    with pytest.raises(InputError, match=r"is for the road layer, not the app layer"):
        registry.get("paved-road", layer=Layer.APP)
