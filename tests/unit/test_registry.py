from pathlib import Path

import pytest

from paved.errors import InputError
from paved.scaffold.registry import Layer, ScaffoldRegistry
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
