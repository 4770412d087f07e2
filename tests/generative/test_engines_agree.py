"""Every engine gives the in-memory engine's results on random datasets and data.

The in-memory engine is the reference: it applies the semantics module row by
row. Any other engine registered in `tests.lib.engines.ENGINES` is compared
with it on each generated example, so a new engine is covered as soon as it
registers.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from tests.generative.budget import example_budget
from tests.generative.compare import describe_difference, rows_match
from tests.generative.data import table_data
from tests.generative.queries import datasets
from tests.lib.engines import ENGINES, run_in_memory

OTHER_ENGINES = {name: run for name, run in ENGINES.items() if name != "in_memory"}

# Generating nested queries is slowish and the CPUs are shared, so the
# too-slow health check would fail at random; the budget bounds the run time.
generative = settings(
    max_examples=example_budget(200), suppress_health_check=[HealthCheck.too_slow]
)


@pytest.mark.skipif(not OTHER_ENGINES, reason="no engine besides in_memory is registered")
@generative
@given(dataset=datasets(), data=table_data())
def test_engines_agree_with_in_memory(dataset, data):
    expected = run_in_memory(data, dataset)
    for name, run in OTHER_ENGINES.items():
        actual = run(data, dataset)
        assert rows_match(expected, actual), (
            f"engine {name!r} disagrees with in_memory: "
            + describe_difference(expected, actual)
        )
