"""Every engine gives the in-memory engine's results on random datasets and data.

The in-memory engine is the reference: it applies the semantics module row by
row. Any other engine registered in `tests.lib.engines.ENGINES` is compared
with it on each generated example, so a new engine is covered as soon as it
registers. Spark is the exception: a Spark job costs too much to run one per
example, so test_spark_batches.py runs it on batches of examples.
"""

from __future__ import annotations

import pytest
from hypothesis import assume, given, reject

from ehrql.errors import IntegerOverflowError
from tests.generative.budget import generative_settings
from tests.generative.compare import describe_difference, rows_match
from tests.generative.examples import examples
from tests.generative.known_issues import hits_known_issue
from tests.lib.engines import ENGINES, run_in_memory

#: Engines run example by example (Spark runs in batches, in test_spark_batches.py).
OTHER_ENGINES = {
    name: run for name, run in ENGINES.items() if name not in ("in_memory", "spark")
}

needs_another_engine = pytest.mark.skipif(
    not OTHER_ENGINES, reason="no engine besides in_memory is registered"
)


def expected_results(data, query) -> list:
    """The in-memory engine's results, the reference; an example whose integers
    overflow the 64-bit range is rejected: every engine stops such a query
    with the same data error (tests/integration/test_bad_input.py checks it on
    each engine), and there are no rows to compare."""
    try:
        return run_in_memory(data, query)
    except IntegerOverflowError:
        reject()


def overflows(example) -> bool:
    """Whether the in-memory engine stops `example` for an integer overflow."""
    try:
        run_in_memory(example.data, example.dataset)
    except IntegerOverflowError:
        return True
    return False


def assert_engines_agree(example) -> None:
    """Every other engine's results on `example` match the in-memory engine's."""
    dataset, data = example.dataset, example.data
    assume(not hits_known_issue(dataset))
    expected = expected_results(data, dataset)
    for name, run in OTHER_ENGINES.items():
        actual = run(data, dataset)
        assert rows_match(expected, actual), (
            f"engine {name!r} disagrees with in_memory: "
            + describe_difference(expected, actual)
        )


@needs_another_engine
@generative_settings(150)
@given(example=examples())
def test_engines_agree_with_in_memory(example):
    assert_engines_agree(example)


@needs_another_engine
@generative_settings(30)
@given(example=examples(extreme_dates=True))
def test_engines_agree_on_dates_at_the_ends_of_the_range(example):
    assert_engines_agree(example)
