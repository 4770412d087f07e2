"""Make equal subtrees of a query model tree one and the same object.

The DSL builds a fresh node for every constant, so a definition that tests
sixteen columns against one codelist holds sixteen equal `Value` nodes.
Engines memoise by node; looking up an equal-but-distinct key costs a full
equality check (for a set of codes, a walk over every code) on every lookup,
and the in-memory engine looks up per patient. Checking thousands of dummy
patients goes several times faster on a tree whose equal parts are shared.
"""

from __future__ import annotations

import dataclasses

from ehrql.query_model import nodes as qm


def share_equal_subtrees(root: qm.Node) -> qm.Node:
    """An equal tree in which equal subtrees are the same object."""
    canonical: dict = {}

    def rewrite(value):
        if isinstance(value, qm.Node):
            return rewrite_node(value)
        if isinstance(value, qm.FrozenDict):
            return qm.FrozenDict({rewrite(k): rewrite(v) for k, v in value.items()})
        if isinstance(value, tuple):
            return tuple(rewrite(v) for v in value)
        return value

    def rewrite_node(node):
        # An equal node seen before answers here, which is the whole point.
        if node in canonical:
            return canonical[node]
        changes = {}
        for field in dataclasses.fields(node):
            old = getattr(node, field.name)
            new = rewrite(old)
            if new is not old:
                changes[field.name] = new
        result = dataclasses.replace(node, **changes) if changes else node
        canonical[node] = result
        return result

    return rewrite_node(root)
