from tests.spec.tables import e, p

title = "Keeping the rows of an event frame where a condition is true: where()"

table_data = {
    p: """
      |  i1 | b1
    --+-----+----
    1 | 102 | T
    2 | 200 | F
    3 |     |
    """,
    e: """
      |  i1 | b1
    --+-----+----
    1 | 101 | T
    1 | 102 | F
    1 | 103 |
    2 | 201 | T
    2 |     | T
    """,
}


def test_where_with_a_boolean_column(spec_test):
    """Rows where the condition is null are dropped, like rows where it is false."""
    spec_test(table_data, e.where(e.b1).i1.sum_for_patient(), {1: 101, 2: 201, 3: None})


def test_where_with_an_expression(spec_test):
    """The condition can be any boolean expression on the frame's columns."""
    spec_test(table_data, e.where(e.i1 >= 102).count_for_patient(), {1: 2, 2: 1, 3: 0})


def test_where_using_a_patient_series(spec_test):
    """A patient-level series in the condition is the same on all of a patient's rows."""
    spec_test(table_data, e.where(e.i1 > p.i1).count_for_patient(), {1: 1, 2: 1, 3: 0})


def test_where_with_a_patient_level_boolean(spec_test):
    """A condition that is only patient-level keeps all or none of a patient's rows."""
    spec_test(table_data, e.where(p.b1).count_for_patient(), {1: 3, 2: 0, 3: 0})


def test_where_true(spec_test):
    """where(True) keeps every row."""
    spec_test(table_data, e.where(True).count_for_patient(), {1: 3, 2: 2, 3: 0})


def test_where_false(spec_test):
    """where(False) keeps no row."""
    spec_test(table_data, e.where(False).count_for_patient(), {1: 0, 2: 0, 3: 0})


def test_chained_where(spec_test):
    """Two filters in a row keep the rows both conditions keep."""
    spec_test(
        table_data,
        e.where(e.i1 > 101).where(e.i1 < 201).i1.sum_for_patient(),
        {1: 205, 2: None, 3: None},
    )


def test_where_with_and_or(spec_test):
    """Conditions combine with & and |; True | null keeps the row."""
    spec_test(
        table_data,
        e.where(e.b1 | (e.i1 == 103)).count_for_patient(),
        {1: 2, 2: 2, 3: 0},
    )


def test_where_comparing_with_an_aggregate_of_the_same_frame(spec_test):
    """Keeping each patient's rows that hold their largest value."""
    spec_test(
        table_data,
        e.where(e.i1 == e.i1.maximum_for_patient()).count_for_patient(),
        {1: 1, 2: 1, 3: 0},
    )


def test_where_comparing_with_a_picked_row_of_the_same_frame(spec_test):
    """A null in the picked row (nulls sort first) makes the condition null for every row."""
    spec_test(
        table_data,
        e.where(e.i1 > e.sort_by(e.i1).first_for_patient().i1).count_for_patient(),
        {1: 2, 2: 0, 3: 0},
    )
