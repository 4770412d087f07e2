from tests.spec.tables import e, p

title = "Counting each patient's rows: count_for_patient()"

table_data = {
    p: """
      |  i1
    --+-----
    1 |  10
    2 |  20
    3 |
    """,
    e: """
      |  i1 | b1
    --+-----+----
    1 | 101 | T
    1 | 102 | T
    1 |     | F
    2 | 201 |
    4 | 401 | T
    """,
}


def test_count_for_patient_counts_rows_including_those_with_nulls(spec_test):
    """Every row counts, whatever its values; a patient with no rows gets 0."""
    spec_test(table_data, e.count_for_patient(), {1: 3, 2: 1, 3: 0, 4: 1})


def test_count_for_patient_on_a_filtered_frame(spec_test):
    """Rows dropped by a filter are not counted, and a null condition drops the row."""
    spec_test(table_data, e.where(e.b1).count_for_patient(), {1: 2, 2: 0, 3: 0, 4: 1})


def test_count_for_patient_on_an_except_where_frame(spec_test):
    """except_where() keeps the rows whose condition is false or null."""
    spec_test(
        table_data, e.except_where(e.b1).count_for_patient(), {1: 1, 2: 1, 3: 0, 4: 0}
    )


def test_count_for_patient_on_a_patient_frame(spec_test):
    """A patient frame has one row or none for each patient."""
    spec_test(table_data, p.count_for_patient(), {1: 1, 2: 1, 3: 1, 4: 0})
