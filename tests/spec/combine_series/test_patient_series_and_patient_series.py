from tests.spec.tables import e, p

title = "Combining patient series from different tables"

table_data = {
    p: """
      |  i1
    --+-----
    1 |  10
    2 |  20
    3 |
    """,
    e: """
      |  i1
    --+-----
    1 | 101
    1 | 102
    3 | 301
    4 | 401
    """,
}


def test_patient_series_from_two_tables(spec_test):
    """A patient missing from one table has null there, so the result is null."""
    spec_test(
        table_data,
        p.i1 + e.i1.sum_for_patient(),
        {1: 213, 2: None, 3: None, 4: None},
    )


def test_patient_series_and_an_aggregation_that_is_never_null(spec_test):
    """count_for_patient() is 0, not null, for a patient with no rows."""
    spec_test(
        table_data,
        p.i1 + e.count_for_patient(),
        {1: 12, 2: 20, 3: None, 4: None},
    )
