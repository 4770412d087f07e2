from tests.spec.tables import e, p

title = "Dropping the rows of an event frame where a condition is true: except_where()"

table_data = {
    p: """
      | b1
    --+----
    1 | T
    2 | F
    3 |
    """,
    e: """
      |  i1 | b1
    --+-----+----
    1 | 101 | T
    1 | 102 | F
    1 | 103 |
    2 | 201 | T
    2 |     | F
    """,
}


def test_except_where_keeps_false_and_null(spec_test):
    """Only rows where the condition is true are dropped: null counts as not true."""
    spec_test(
        table_data,
        e.except_where(e.b1).i1.sum_for_patient(),
        {1: 205, 2: None, 3: None},
    )


def test_except_where_is_the_complement_of_where(spec_test):
    """where() and except_where() of one condition split the rows between them."""
    spec_test(
        table_data,
        e.where(e.b1).count_for_patient() + e.except_where(e.b1).count_for_patient(),
        {1: 3, 2: 2, 3: 0},
    )


def test_except_where_with_an_expression(spec_test):
    """A null in the expression's input makes the condition null, and the row is kept."""
    spec_test(
        table_data,
        e.except_where(e.i1 > 101).count_for_patient(),
        {1: 1, 2: 1, 3: 0},
    )


def test_except_where_with_a_patient_level_condition(spec_test):
    """A patient-level condition drops all or none of a patient's rows."""
    spec_test(table_data, e.except_where(p.b1).count_for_patient(), {1: 0, 2: 2, 3: 0})
