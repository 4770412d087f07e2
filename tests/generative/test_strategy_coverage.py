"""The query strategies reach every kind of node.

A node class the strategies never build would be silently untested by the
agreement test, so each one must turn up within a modest number of examples.
"""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, given, settings

from ehrql.query_model import nodes as qm
from tests.generative.queries import datasets


def _node_classes(namespace) -> list[type]:
    return [
        value
        for name, value in vars(namespace).items()
        if not name.startswith("_")
        and isinstance(value, type)
        and issubclass(value, qm.Series)
    ]


NODE_CLASSES = [
    *_node_classes(qm.Function),
    *_node_classes(qm.AggregateByPatient),
    qm.Case,
    qm.Filter,
    qm.Sort,
    qm.PickOneRowPerPatient,
    qm.SelectTable,
    qm.SelectPatientTable,
    qm.InlinePatientTable,
]

EXAMPLES = 400


def test_strategies_build_every_node_class():
    seen = set()

    # Generation only (no engine runs, no shrinking), from a fixed seed so the
    # test cannot flicker; the inner test just records what was built.
    @settings(
        max_examples=EXAMPLES,
        phases=[Phase.generate],
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(datasets())
    def record(dataset):
        seen.update(type(node) for node in qm.all_nodes(dataset))

    record()
    missing = [c.__qualname__ for c in NODE_CLASSES if c not in seen]
    assert not missing, f"not built in {EXAMPLES} examples: {', '.join(missing)}"
