from tests.spec.tables import e, p

title = "Adding up each patient's values: sum_for_patient()"

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
      |  i1 |  i2 |  f1
    --+-----+-----+------
    1 | 101 |   1 |  1.5
    1 | 102 |   2 |  2.25
    1 | 103 |     | -0.5
    2 | 201 |     |
    2 |     |     |
    3 |     |     |
    """,
}


def test_sum_of_an_int_series(spec_test):
    """Nulls are skipped; a patient with only nulls, or no rows, gets null."""
    spec_test(table_data, e.i1.sum_for_patient(), {1: 306, 2: 201, 3: None, 4: None})


def test_sum_of_a_float_series(spec_test):
    """The sum of a float series is a float."""
    spec_test(table_data, e.f1.sum_for_patient(), {1: 3.25, 2: None, 3: None, 4: None})


def test_sum_of_an_expression(spec_test):
    """The sum of a row-wise expression: rows where it is null are skipped."""
    spec_test(
        table_data, (e.i1 + e.i2).sum_for_patient(), {1: 206, 2: None, 3: None, 4: None}
    )


def test_sum_on_a_filtered_frame(spec_test):
    """Only the rows kept by a filter are added up."""
    spec_test(
        table_data,
        e.where(e.i1 > 101).i1.sum_for_patient(),
        {1: 205, 2: 201, 3: None, 4: None},
    )
