from tests.spec.tables import e, p

title = "Turning booleans into numbers: as_int()"

table_data = {
    p: """
      | b1
    --+----
    1 | T
    2 | F
    3 |
    """,
    e: """
      | b1
    --+----
    1 | T
    1 | T
    1 | F
    2 | F
    3 |
    """,
}


def test_bool_as_int(spec_test):
    """True is 1, False is 0, null stays null."""
    spec_test(table_data, p.b1.as_int(), {1: 1, 2: 0, 3: None})


def test_counting_true_values_with_as_int(spec_test):
    """Adding up as_int() counts the rows where a condition is True."""
    spec_test(table_data, e.b1.as_int().sum_for_patient(), {1: 2, 2: 0, 3: None})
