"""Properties every engine must have whatever the right answer is.

These compare an engine with itself on related inputs, so they hold for the
reference engine too and catch bugs that agreement alone would not (a bug
shared by every engine), as well as SQL-specific slips such as a window or
join that lets one patient's rows leak into another's results.
"""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tests.generative.budget import generative_settings
from tests.generative.compare import describe_difference, rows_match
from tests.generative.data import PATIENT_IDS
from tests.generative.examples import examples
from tests.generative.known_issues import hits_known_issue
from tests.lib.engines import ENGINES

#: Spark checks these properties on batches of examples, in test_spark_batches.py.
every_engine = pytest.mark.parametrize(
    "engine_name", [name for name in ENGINES if name != "spark"]
)


def rows_in_other_order(data, reorder) -> dict:
    """The same tables with each table's rows in the order `reorder` gives."""
    return {table: reorder(rows) for table, rows in data.items()}


@every_engine
@generative_settings(25)
@given(example=examples(), seed=st.randoms(use_true_random=False))
def test_row_order_does_not_matter(engine_name, example, seed):
    # Ties after the sort keys are broken by every column, so which row is
    # picked must not depend on the order rows were stored in.
    assume(not hits_known_issue(example.dataset))
    run = ENGINES[engine_name]
    shuffled = rows_in_other_order(
        example.data, lambda rows: seed.sample(rows, len(rows))
    )

    expected = run(example.data, example.dataset)
    actual = run(shuffled, example.dataset)
    assert rows_match(expected, actual), describe_difference(expected, actual)


@every_engine
@generative_settings(25)
@given(example=examples(), kept=st.frozensets(st.sampled_from(PATIENT_IDS)))
def test_patients_do_not_affect_each_other(engine_name, example, kept):
    # Every value is computed from one patient's own rows, so dropping other
    # patients' rows changes nothing for the patients kept.
    assume(not hits_known_issue(example.dataset))
    run = ENGINES[engine_name]
    fewer = {
        table: [row for row in rows if row["patient_id"] in kept]
        for table, rows in example.data.items()
    }

    # Inline tables keep their patients whatever the data, so both sides are
    # narrowed to the kept patients.
    expected = [row for row in run(example.data, example.dataset) if row[0] in kept]
    actual = [row for row in run(fewer, example.dataset) if row[0] in kept]
    assert rows_match(expected, actual), describe_difference(expected, actual)
