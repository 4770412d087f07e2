from tests.spec.tables import e, p

title = "Averaging each patient's values: mean_for_patient()"

table_data = {
    p: """
      |  i1
    --+-----
    1 |
    2 |
    3 |
    4 |
    """,
    e: """
      |  i1 |  f1
    --+-----+------
    1 |   1 |  1.5
    1 |   2 |  2.5
    1 |     |  4.0
    2 |   2 |
    2 |   3 |
    2 |   3 |
    3 |     |
    """,
}


def test_mean_of_an_int_series_is_a_float(spec_test):
    """The mean of ints is a float; nulls are skipped, not counted as zero."""
    spec_test(table_data, e.i1.mean_for_patient(), {1: 1.5, 2: 8 / 3, 3: None, 4: None})


def test_mean_of_a_float_series(spec_test):
    """A patient whose values are all null, or who has no rows, gets null."""
    spec_test(
        table_data, e.f1.mean_for_patient(), {1: 8 / 3, 2: None, 3: None, 4: None}
    )
