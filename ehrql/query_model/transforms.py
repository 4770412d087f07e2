"""Rewrites of query model trees."""

from __future__ import annotations

import dataclasses

from ehrql.query_model import nodes as qm


def substitute_parameters(root: qm.Node, **values) -> qm.Node:
    """`root` with each `Parameter` named in `values` replaced by that constant.

    Subtrees without parameters are returned unchanged (the same objects), so
    memoised compilation of them is shared between substitutions.
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
        if isinstance(node, qm.Parameter) and node.name in values:
            result = qm.Value(values[node.name])
        else:
            changes = {}
            for field in dataclasses.fields(node):
                old = getattr(node, field.name)
                new = rewrite(old)
                if new is not old and new != old:
                    changes[field.name] = new
            result = dataclasses.replace(node, **changes) if changes else node
        memo[node] = result
        return result

    return rewrite_node(root)


def parameters_of(root: qm.Node) -> set[str]:
    """The names of the parameters a tree uses."""
    return {n.name for n in qm.all_nodes(root) if isinstance(n, qm.Parameter)}
