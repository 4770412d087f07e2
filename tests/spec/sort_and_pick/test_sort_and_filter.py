from tests.spec.tables import e, p

title = "Sorting and filtering together, and patients with no rows left"

table_data = {
    p: """
      |  i1
    --+-----
    1 |   2
    2 |   0
    3 |   0
    """,
    e: """
      |  i1 | b1 | s1
    --+-----+----+----
    1 |   1 | F  | a
    1 |   2 | T  | b
    1 |   3 | T  | c
    1 |   4 |    | d
    2 |   5 | F  | e
    """,
}


def test_filter_then_sort(spec_test):
    """Filtering first, then sorting what is left."""
    spec_test(
        table_data,
        e.where(e.b1).sort_by(e.i1).first_for_patient().s1,
        {1: "b", 2: None, 3: None},
    )


def test_sort_then_filter(spec_test):
    """Sorting first, then filtering, picks the same row as filtering first."""
    spec_test(
        table_data,
        e.sort_by(e.i1).where(e.b1).last_for_patient().s1,
        {1: "c", 2: None, 3: None},
    )


def test_filter_with_a_patient_series_then_pick(spec_test):
    """The filter may compare each row with a patient-level value."""
    spec_test(
        table_data,
        e.where(e.i1 > p.i1).sort_by(e.i1).first_for_patient().s1,
        {1: "c", 2: "e", 3: None},
    )


def test_picked_row_from_no_rows_is_all_null(spec_test):
    """A patient with no rows, or none left after filtering, gets null in every column."""
    spec_test(
        table_data,
        e.where(e.i1 > 4).sort_by(e.i1).first_for_patient().b1,
        {1: None, 2: False, 3: None},
    )


def test_combining_columns_of_the_picked_row(spec_test):
    """Columns of one picked row combine like any patient series."""
    spec_test(
        table_data, e.sort_by(e.i1).first_for_patient().i1 + p.i1, {1: 3, 2: 5, 3: None}
    )
