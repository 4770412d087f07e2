"""Rewrites of query model trees."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from ehrql.query_model import nodes as qm


def rewrite_tree(
    root: qm.Node, replace: Callable[[qm.Node], qm.Node | None]
) -> qm.Node:
    """`root` with each node for which `replace` gives a node swapped for it.

    Nodes `replace` leaves alone (returns None for) are rebuilt only if a
    descendant changed. Work is memoised by node equality, so equal subtrees
    come out as one and the same object.
    """
    memo: dict = {}

    def rewrite(value):
        if isinstance(value, qm.Node):
            return rewrite_node(value)
        if isinstance(value, qm.FrozenDict):
            return qm.FrozenDict({rewrite(k): rewrite(v) for k, v in value.items()})
        if isinstance(value, tuple):
            return tuple(rewrite(v) for v in value)
        return value

    def rewrite_node(node):
        if node in memo:
            return memo[node]
        result = replace(node)
        if result is None:
            changes = {}
            for field in dataclasses.fields(node):
                old = getattr(node, field.name)
                new = rewrite(old)
                if new is not old:
                    changes[field.name] = new
            result = dataclasses.replace(node, **changes) if changes else node
        memo[node] = result
        return result

    return rewrite_node(root)


def substitute_parameters(root: qm.Node, **values) -> qm.Node:
    """`root` with each `Parameter` named in `values` replaced by that constant."""

    def replace(node):
        if isinstance(node, qm.Parameter) and node.name in values:
            return qm.Value(values[node.name])
        return None

    return rewrite_tree(root, replace)


def share_equal_subtrees(root: qm.Node) -> qm.Node:
    """An equal tree in which equal subtrees are the same object.

    The DSL builds a fresh node for every constant, so a definition testing
    sixteen columns against one codelist holds sixteen equal `Value` nodes;
    engines that memoise by node then pay a full equality check on every
    lookup. Sharing them makes those lookups identity checks.
    """
    return rewrite_tree(root, lambda node: None)


def parameters_of(root: qm.Node) -> set[str]:
    """The names of the parameters a tree uses."""
    return {n.name for n in qm.all_nodes(root) if isinstance(n, qm.Parameter)}
