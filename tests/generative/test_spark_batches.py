"""The generative properties on Spark, a batch of examples per Spark run.

A Spark job costs a few hundred milliseconds however small its data, so rather
than one job per example (as the other engines run), each hypothesis example
here is a list of generated examples, run together in a few jobs by
`tests.lib.spark_batch.run_cases`. Each batch checks:

* agreement: every example's results match the in-memory engine's;
* the metamorphic properties of test_metamorphic.py: storing rows in another
  order, or leaving out other patients' rows, changes no patient's results;
* that the batched path gives what `SparkQueryEngine.get_results` gives, on
  the batch's first example, so that batching can hide nothing.

Hypothesis shrinks a failing batch to the one example (and the fewest rows)
that fails, as it would a single example.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.generative.budget import generative_settings
from tests.generative.compare import describe_difference, rows_match
from tests.generative.data import PATIENT_IDS
from tests.generative.examples import examples
from tests.generative.known_issues import hits_known_issue
from tests.generative.test_engines_agree import overflows
from tests.lib.engines import run_in_memory, run_spark, spark_session
from tests.lib.spark_batch import Case, run_cases

#: Examples per batch: large enough to share a Spark job's fixed cost.
BATCH_SIZE = 8


def batches(extreme_dates: bool = False) -> st.SearchStrategy[list]:
    """Lists of examples, without those that would hit a known issue or overflow
    (a batch cannot tell which of its examples stopped the Spark job)."""
    return st.lists(
        examples(extreme_dates=extreme_dates), min_size=1, max_size=BATCH_SIZE
    ).map(
        lambda batch: [
            example
            for example in batch
            if not hits_known_issue(example.dataset) and not overflows(example)
        ]
    )


def batch_settings(fast_examples: int) -> settings:
    """`generative_settings`, also allowing large examples.

    A batch is several examples' worth of random choices, which hypothesis may
    find large; the budget, not the size check, bounds the run time.
    """
    return settings(
        generative_settings(fast_examples),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def assert_spark_agrees(batch) -> None:
    if not batch:
        return
    results = run_cases(
        spark_session(), [Case(example.data, example.dataset) for example in batch]
    )
    for example, actual in zip(batch, results):
        expected = run_in_memory(example.data, example.dataset)
        assert rows_match(expected, actual), (
            f"spark disagrees with in_memory on {example!r}"
            + describe_difference(expected, actual)
        )
    first = batch[0]
    direct = run_spark(first.data, first.dataset)
    assert rows_match(results[0], direct), (
        "batched and direct Spark runs differ: "
        + describe_difference(results[0], direct)
    )


@batch_settings(12)
@given(batch=batches())
def test_spark_agrees_with_in_memory(batch):
    assert_spark_agrees(batch)


@batch_settings(3)
@given(batch=batches(extreme_dates=True))
def test_spark_agrees_on_dates_at_the_ends_of_the_range(batch):
    assert_spark_agrees(batch)


@batch_settings(4)
@given(
    batch=batches(),
    seed=st.randoms(use_true_random=False),
    kept=st.frozensets(st.sampled_from(PATIENT_IDS)),
)
def test_spark_results_ignore_row_order_and_other_patients(batch, seed, kept):
    if not batch:
        return
    cases = []
    for example in batch:
        shuffled = {
            table: seed.sample(rows, len(rows)) for table, rows in example.data.items()
        }
        fewer = {
            table: [r for r in rows if r["patient_id"] in kept]
            for table, rows in example.data.items()
        }
        cases += [
            Case(example.data, example.dataset),
            Case(shuffled, example.dataset),
            Case(fewer, example.dataset),
        ]
    results = run_cases(spark_session(), cases)
    for number, example in enumerate(batch):
        original, reordered, narrowed = results[3 * number : 3 * number + 3]
        assert rows_match(original, reordered), (
            f"row order changed results of {example!r}"
            + describe_difference(original, reordered)
        )
        kept_rows = [row for row in original if row[0] in kept]
        narrowed_rows = [row for row in narrowed if row[0] in kept]
        assert rows_match(kept_rows, narrowed_rows), (
            f"other patients changed results of {example!r}"
            + describe_difference(kept_rows, narrowed_rows)
        )
