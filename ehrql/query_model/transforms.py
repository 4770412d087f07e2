"""Rewrites of query model trees."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

from ehrql.query_model import nodes as qm


def rewrite_tree(
    root: qm.Node,
    replace: Callable[[qm.Node], qm.Node | None],
    rebuild: Callable[[qm.Node, dict], qm.Node] | None = None,
) -> qm.Node:
    """`root` with each node for which `replace` gives a node swapped for it.

    Nodes `replace` leaves alone (returns None for) are rebuilt only if a
    descendant changed: by `rebuild(node, {field name: new value})`, which by
    default builds (and so validates) a new node. Work is memoised by node
    equality, so equal subtrees come out as one and the same object.
    """
    rebuild = rebuild or _validated
    memo: dict = {}

    def rewrite_node(node):
        if node in memo:
            return memo[node]
        result = replace(node)
        if result is None:
            changes = _changed_fields(node, rewrite_node)
            result = rebuild(node, changes) if changes else node
        memo[node] = result
        return result

    return rewrite_node(root)


def _changed_fields(node: qm.Node, map_node: Callable[[qm.Node], qm.Node]) -> dict:
    """{field name: new value} for each field of `node` holding a node that
    `map_node` changes."""
    changes = {}
    for name in qm.field_names(type(node)):
        old = getattr(node, name)
        new = _nodes_mapped(old, map_node)
        if new is not old:
            changes[name] = new
    return changes


def _nodes_mapped(value, map_node: Callable[[qm.Node], qm.Node]):
    """A field's value (a node, or a tuple or `FrozenDict` holding nodes)
    with each node mapped; `value` itself where none changed."""
    if isinstance(value, qm.Node):
        return map_node(value)
    if isinstance(value, qm.FrozenDict):
        items = [
            (_nodes_mapped(k, map_node), _nodes_mapped(v, map_node))
            for k, v in value.items()
        ]
        if all(a is k and b is v for (a, b), (k, v) in zip(items, value.items())):
            return value
        return qm.FrozenDict(items)
    if isinstance(value, tuple):
        items = tuple(_nodes_mapped(v, map_node) for v in value)
        return value if all(a is b for a, b in zip(items, value)) else items
    return value


def _validated(node: qm.Node, changes: dict) -> qm.Node:
    return dataclasses.replace(node, **changes)


def _unvalidated(node: qm.Node, changes: dict) -> qm.Node:
    """`node` with some fields changed, built without checking it again.

    Only for changes that cannot make a valid node invalid (see the callers).
    What a node works out from its fields (its hash, derived type and domain)
    is left to be worked out again when asked for.
    """
    new = object.__new__(type(node))
    for name in qm.field_names(type(node)):
        new.__dict__[name] = changes.get(name, getattr(node, name))
    return new


def _equal_copy(node: qm.Node, changes: dict) -> qm.Node:
    """`node` with fields swapped for equal values: the copy equals `node`, so
    it is as valid, and what `node` worked out (hash, type, domain) holds for it."""
    new = object.__new__(type(node))
    new.__dict__.update(node.__dict__)
    new.__dict__.update(changes)
    return new


def substitute_parameters(root: qm.Node, **values) -> qm.Node:
    """`root` with each `Parameter` named in `values` replaced by that constant."""
    return ParameterTemplate(root, values).fill(**values)


class ParameterTemplate:
    """A tree whose parameters are to be filled in many times over, with
    different values (a measure's INTERVAL, once per interval).

    The nodes above the parameters are found once; each `fill` rebuilds only
    those. A constant of the parameter's own type puts the same type where
    the parameter was, with the same (patient-level) domain, and a node's
    validity depends only on its operands' types and domains and on the
    shape of the tree, never on a constant's value; so such fills do not
    validate the rebuilt series and frames again (most of the cost, with
    hundreds of intervals). A value of another type, or a rebuilt
    `Dataset` (whose population check evaluates constants), is validated.
    """

    def __init__(self, root: qm.Node, names: Mapping | set | frozenset):
        self.root = root
        #: The parameters filled in, and the nodes above them, children first.
        self._parameters: list[qm.Parameter] = []
        self._above: list[qm.Node] = []
        changed: set = set()
        for node in qm.all_nodes(root):
            if isinstance(node, qm.Parameter):
                if node.name in names:
                    self._parameters.append(node)
                    changed.add(node)
            elif any(child in changed for child in node.children()):
                self._above.append(node)
                changed.add(node)

    def fill(self, **values) -> qm.Node:
        """The tree with each of its parameters named in `values` replaced by that constant."""
        done: dict = {}
        same_types = True
        for parameter in self._parameters:
            value = qm.Value(values[parameter.name])
            same_types = same_types and value.type == parameter.type
            done[parameter] = value

        for node in self._above:
            changes = _changed_fields(node, lambda n: done.get(n, n))
            trusted = same_types and isinstance(node, (qm.Series, qm.Frame))
            done[node] = (_unvalidated if trusted else _validated)(node, changes)
        return done.get(self.root, self.root)


def share_equal_subtrees(root: qm.Node) -> qm.Node:
    """An equal tree in which equal subtrees are the same object.

    The DSL builds a fresh node for every constant, so a definition testing
    sixteen columns against one codelist holds sixteen equal `Value` nodes;
    engines that memoise by node then pay a full equality check on every
    lookup. Sharing them makes those lookups identity checks.
    """
    return rewrite_tree(root, lambda node: None, _equal_copy)


def parameters_of(root: qm.Node) -> set[str]:
    """The names of the parameters a tree uses."""
    return {n.name for n in qm.all_nodes(root) if isinstance(n, qm.Parameter)}
