"""YAML (and JSON, which PyYAML reads as YAML) with the line of every mapping and list item."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

__all__ = ["LineDict", "LineList", "YamlError", "line_of", "load_all"]

YamlError = yaml.YAMLError


class LineDict(dict[Any, Any]):
    """A mapping that knows the line it starts on and the line of each key (1-based)."""

    line: int | None = None
    key_lines: dict[Any, int]

    def __init__(self) -> None:
        super().__init__()
        self.key_lines = {}


class LineList(list[Any]):
    """A sequence that knows its own line and the line of each item (1-based)."""

    line: int | None = None
    item_lines: list[int]

    def __init__(self) -> None:
        super().__init__()
        self.item_lines = []


def line_of(value: Any, key: Any = None) -> int | None:
    """The line of ``value`` (or of ``value[key]``) when it was read with :func:`load_all`."""
    if isinstance(value, LineDict):
        return value.key_lines.get(key, value.line) if key is not None else value.line
    if isinstance(value, LineList):
        if isinstance(key, int) and 0 <= key < len(value.item_lines):
            return value.item_lines[key]
        return value.line
    return None


_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_Base):  # type: ignore[misc,valid-type]
    pass


def _map(loader: yaml.SafeLoader, node: yaml.MappingNode) -> Iterator[LineDict]:
    data = LineDict()
    data.line = node.start_mark.line + 1
    yield data
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            data[key] = loader.construct_object(value_node, deep=True)
        except TypeError:  # an unhashable key: keep the document, skip the entry
            continue
        data.key_lines[key] = key_node.start_mark.line + 1


def _seq(loader: yaml.SafeLoader, node: yaml.SequenceNode) -> Iterator[LineList]:
    data = LineList()
    data.line = node.start_mark.line + 1
    yield data
    for item in node.value:
        data.append(loader.construct_object(item, deep=True))
        data.item_lines.append(item.start_mark.line + 1)


_LineLoader.add_constructor("tag:yaml.org,2002:map", _map)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _seq)


def load_all(text: str) -> list[Any]:
    """Every document of a YAML stream, empty documents left out. Raises :data:`YamlError`."""
    return [doc for doc in yaml.load_all(text, Loader=_LineLoader) if doc is not None]
