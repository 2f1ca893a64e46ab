"""Bounded parsing of user-supplied YAML and JSON (configuration, policy, persona, scenario files).

``yaml.safe_load`` and ``json.loads`` recurse once per nesting level, so a file of 100,000 ``[``
ends in a ``RecursionError`` (a traceback, not an error a user can act on); a YAML file of nested
aliases (a "billion laughs" document, OWASP *XML/YAML entity expansion*) is small on disk but
expands to ~10^9 items for whoever walks it (pydantic validation). These loaders refuse both with
an error of the parser's own type, so every existing ``except yaml.YAMLError`` /
``except json.JSONDecodeError`` handler reports it with the file and position:

* :func:`load_yaml`: ``yaml.SafeLoader`` that refuses nesting deeper than :data:`MAX_DEPTH`
  (checked while composing, before the recursion), an alias that refers to its own anchor (a
  recursive structure), and a document whose alias-expanded size exceeds :data:`MAX_NODES`
  nodes; raises :class:`YAMLLimitError` (a ``yaml.MarkedYAMLError``).
* :func:`load_yaml_node`: the same, also returning the composed root node, whose marks give the
  line of every key (:mod:`tutela.configfile` reports errors by them).
* :func:`loads_json`: ``json.loads`` that refuses nesting deeper than :data:`MAX_DEPTH`; raises
  :class:`JSONLimitError` (a ``json.JSONDecodeError``, hence a ``ValueError``) with the line and
  column where the limit was passed.

Shipped package data may use them too; both limits are far beyond any file Tutela ships.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

__all__ = [
    "MAX_DEPTH",
    "MAX_NODES",
    "JSONLimitError",
    "YAMLLimitError",
    "load_yaml",
    "load_yaml_node",
    "loads_json",
]

MAX_DEPTH = 100
"""Deepest nesting of mappings/sequences (YAML) or objects/arrays (JSON) accepted."""
MAX_NODES = 1_000_000
"""Most YAML nodes a document may expand to, counting every use of an alias in full."""


class YAMLLimitError(yaml.MarkedYAMLError):
    """A YAML document passes a limit of this module (depth, recursive alias, expanded size).

    ``problem`` says which; ``problem_mark`` (0-based ``line``/``column``) says where.
    """


class JSONLimitError(json.JSONDecodeError):
    """A JSON document nests deeper than the limit; ``msg``, ``lineno``, ``colno`` say where."""


class _BoundedSafeLoader(yaml.SafeLoader):
    """``SafeLoader`` with the depth checked in ``compose_node`` (the recursive step)."""

    def __init__(self, stream: Any, *, max_depth: int) -> None:
        super().__init__(stream)
        self._depth = 0
        self._max_depth = max_depth

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self._depth >= self._max_depth:
            mark = self.peek_event().start_mark
            raise YAMLLimitError(
                problem=f"nested deeper than {self._max_depth} levels", problem_mark=mark
            )
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _check_expansion(root: yaml.Node, *, max_nodes: int, max_depth: int) -> None:
    """Refuse a cycle, or an alias-expanded size/depth past the limits (iterative DFS, O(nodes)).

    Aliases share their anchor's node object, so sizes are memoised by node identity.
    """
    size: dict[int, int] = {}
    height: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            kids = _children(node)
            size[key] = 1 + sum(size[id(k)] for k in kids)
            height[key] = 1 + max((height[id(k)] for k in kids), default=0)
            on_path.discard(key)
            if size[key] > max_nodes:
                raise YAMLLimitError(
                    problem=f"expands to more than {max_nodes:,} nodes (nested aliases)",
                    problem_mark=node.start_mark,
                )
            if height[key] > max_depth:
                raise YAMLLimitError(
                    problem=f"nested deeper than {max_depth} levels once aliases are expanded",
                    problem_mark=node.start_mark,
                )
            continue
        if key in size:
            continue
        if key in on_path:
            raise YAMLLimitError(
                problem="an alias refers to its own anchor (recursive structure)",
                problem_mark=node.start_mark,
            )
        on_path.add(key)
        stack.append((node, True))
        stack.extend((k, False) for k in reversed(_children(node)) if id(k) not in size)


def load_yaml(text: str | bytes, *, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES) -> Any:
    """Parse one YAML document like ``yaml.safe_load`` (``None`` for an empty document), bounded.

    Raises
    ------
    YAMLLimitError
        Nesting deeper than ``max_depth``, a recursive alias, or more than ``max_nodes`` nodes
        once aliases are expanded (a ``yaml.MarkedYAMLError``: catch ``yaml.YAMLError``).
    yaml.YAMLError
        Any other YAML error, as ``yaml.safe_load`` raises it.
    """
    return load_yaml_node(text, max_depth=max_depth, max_nodes=max_nodes)[0]


def load_yaml_node(
    text: str | bytes, *, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES
) -> tuple[Any, yaml.Node | None]:
    """``(value, root node)`` of one YAML document, bounded as :func:`load_yaml`.

    The node is ``None`` for an empty document (value ``None``). Its ``start_mark.line`` (0-based)
    and those of its children locate every key and item. Constructing the value flattens merge
    keys (``<<``) into the node's mappings, so merged keys are found there too. Raises as
    :func:`load_yaml`.
    """
    loader = _BoundedSafeLoader(text, max_depth=max_depth)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        _check_expansion(node, max_nodes=max_nodes, max_depth=max_depth)
        return loader.construct_document(node), node
    finally:
        loader.dispose()


def _too_deep_at(text: str, max_depth: int) -> int:
    """Index of the first ``[``/``{`` outside a string that passes ``max_depth`` (else 0)."""
    depth = 0
    in_string = escaped = False
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > max_depth:
                return i
        elif ch in "]}":
            depth -= 1
    return 0


def _depth_exceeds(value: Any, max_depth: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict):
            v = list(v.values())
        elif not isinstance(v, list):
            continue
        if d > max_depth:
            return True
        stack.extend((x, d + 1) for x in v if isinstance(x, dict | list))
    return False


def loads_json(text: str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON like ``json.loads``, refusing objects/arrays nested deeper than ``max_depth``.

    Raises
    ------
    JSONLimitError
        Nesting deeper than ``max_depth`` (names line and column; a ``json.JSONDecodeError``).
    json.JSONDecodeError
        Malformed JSON, as ``json.loads`` raises it.
    """
    try:
        value = json.loads(text)
    except RecursionError:
        value = None
        too_deep = True
    else:
        too_deep = _depth_exceeds(value, max_depth)
    if too_deep:
        raise JSONLimitError(
            f"nested deeper than {max_depth} levels", text, _too_deep_at(text, max_depth)
        )
    return value
