from tests.spec.tables import e, p

title = "Rows that tie on every sort value"

# Patient 1's rows all have i1 = 5. Rows tying on every sort value are ordered
# by the table's columns in turn (i1, i2, ... s1), nulls first, so the same row
# is picked on every engine.
table_data = {
    p: """
      |  i1
    --+-----
    1 |   0
    2 |   0
    """,
    e: """
      |  i1 |  i2 | s1
    --+-----+-----+----
    1 |   5 |   2 | x
    1 |   5 |   1 | z
    1 |   5 |   1 | y
    2 |   5 |     | w
    2 |   5 |   3 | v
    """,
}


def test_ties_are_broken_by_the_other_columns_for_first(spec_test):
    """Among tied rows, first_for_patient() takes the one with the smallest other columns."""
    spec_test(table_data, e.sort_by(e.i1).first_for_patient().s1, {1: "y", 2: "w"})


def test_ties_are_broken_by_the_other_columns_for_last(spec_test):
    """Among tied rows, last_for_patient() takes the one with the largest other columns."""
    spec_test(table_data, e.sort_by(e.i1).last_for_patient().s1, {1: "x", 2: "v"})


def test_sorting_by_a_patient_level_value_ties_every_row(spec_test):
    """A patient-level sort value is the same on all of a patient's rows."""
    spec_test(table_data, e.sort_by(p.i1).first_for_patient().s1, {1: "y", 2: "w"})
