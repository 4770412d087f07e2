from tests.spec.tables import e

title = "Combining two series from the same event frame"

table_data = {
    e: """
      |  i1 |  i2
    --+-----+-----
    1 | 101 | 111
    1 | 102 | 112
    2 | 201 |
    3 |     |
    """,
}


def test_event_series_and_event_series_combine_row_by_row(spec_test):
    """Each row's values are combined; a null on either side gives null for that row."""
    spec_test(table_data, (e.i1 + e.i2).sum_for_patient(), {1: 426, 2: None, 3: None})


def test_event_series_compared_with_event_series(spec_test):
    """A comparison of two columns, used to filter the rows."""
    spec_test(
        table_data, e.where(e.i2 - e.i1 == 10).count_for_patient(), {1: 2, 2: 0, 3: 0}
    )
