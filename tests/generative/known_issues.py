"""Engine and query model bugs already found, so generation can step round them.

Each predicate recognises examples that would hit one known bug; the
agreement test `assume()`s they are absent, so that a bug found once shows up
as one xfail regression test (in test_regressions.py, named beside each
predicate) rather than as a red generative test on every run. Remove a
predicate when its regression test starts passing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from ehrql.query_model import nodes as qm


def _every_node(root: qm.Node) -> Iterator[qm.Node]:
    # Unlike qm.all_nodes this keeps nodes that compare equal, which is the
    # point: the bug below is about nodes that are equal but should not be.
    yield root
    for child in root.children():
        yield from _every_node(child)


def _type_signature(value) -> object:
    if isinstance(value, frozenset):
        return frozenset(type(v) for v in value)
    return type(value)


def has_equal_constants_of_different_types(dataset: qm.Dataset) -> bool:
    """Two constants equal in Python but of different types (0 and False, 1 and 1.0).

    `qm.Value` compares by value, so such constants are the same node to every
    engine's memo and one is computed in place of the other.
    Regression test: test_constants_of_different_types_are_different_nodes.
    """
    signatures = defaultdict(set)
    for node in _every_node(dataset):
        if isinstance(node, qm.Value):
            signatures[node.value].add(_type_signature(node.value))
    return any(len(types) > 1 for types in signatures.values())


#: Every known-issue predicate; an example matching any of them is skipped.
KNOWN_ISSUES = (has_equal_constants_of_different_types,)


def hits_known_issue(dataset: qm.Dataset) -> bool:
    """True when `dataset` would run into an already-reported bug."""
    return any(predicate(dataset) for predicate in KNOWN_ISSUES)
