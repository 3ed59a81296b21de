"""YAML (and JSON, which PyYAML reads as YAML) with the line of every mapping and list item.

Aliases are bounded: a document may use at most :data:`MAX_ALIASES` of them, and they may
stand for at most :data:`MAX_ALIAS_NODES` nodes in all, counting each alias as the whole
subtree it repeats. PyYAML shares one object per anchor, so an alias bomb ("billion laughs")
loads in an instant, but every rule that walks it would walk the expansion: such a document
is refused as one that does not parse. So is a recursive alias, or nesting too deep to walk.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

__all__ = [
    "MAX_ALIASES",
    "MAX_ALIAS_NODES",
    "LineDict",
    "LineList",
    "YamlError",
    "line_of",
    "load_all",
]

YamlError = yaml.YAMLError

#: Alias uses allowed in one document (a large GitLab CI file uses a few hundred).
MAX_ALIASES = 10_000
#: Nodes all the aliases of one document may stand for, once expanded.
MAX_ALIAS_NODES = 200_000


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


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_aliases(root: yaml.Node) -> None:
    """Refuse a document whose aliases are too many, expand too far, or refer to themselves.

    The composer has already resolved each alias to its anchor's node, so a node met a second
    time is an alias. Each node's expanded size is counted once, depth first, without recursion.
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    aliases = expanded = 0
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            continue
        if key in open_nodes:
            raise YamlError(f"line {node.start_mark.line + 1}: an alias refers to itself")
        if key in sizes:
            aliases += 1
            expanded += sizes[key]
            if aliases > MAX_ALIASES:
                raise YamlError(f"the document uses more than {MAX_ALIASES} aliases")
            if expanded > MAX_ALIAS_NODES:
                raise YamlError(
                    f"line {node.start_mark.line + 1}: its aliases expand to more than "
                    f"{MAX_ALIAS_NODES} nodes (an alias bomb?)"
                )
            continue
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(_children(node)))


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


class _AliasCheckingLoader(_LineLoader):
    """The same loader, with the aliases of each document checked before it is built."""

    def construct_document(self, node: yaml.Node) -> Any:
        _check_aliases(node)
        return super().construct_document(node)


def load_all(text: str) -> list[Any]:
    """Every document of a YAML stream, empty documents left out. Raises :data:`YamlError`."""
    loader = _AliasCheckingLoader if "*" in text else _LineLoader  # no '*', no alias
    try:
        return [doc for doc in yaml.load_all(text, Loader=loader) if doc is not None]
    except RecursionError:
        raise YamlError("it is nested too deeply to read") from None
