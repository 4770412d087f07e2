from tests.spec.tables import e, p

title = "Combining a series with a constant value"

table_data = {
    p: """
      |  i1
    --+-----
    1 |  10
    2 |
    """,
    e: """
      |  i1
    --+-----
    1 | 101
    1 |
    2 | 201
    """,
}


def test_patient_series_and_value(spec_test):
    """The constant is used for every patient."""
    spec_test(table_data, p.i1 + 1, {1: 11, 2: None})


def test_value_and_patient_series(spec_test):
    """The constant can be on the left."""
    spec_test(table_data, 100 - p.i1, {1: 90, 2: None})


def test_event_series_and_value(spec_test):
    """The constant is used for every row."""
    spec_test(table_data, (e.i1 * 2).sum_for_patient(), {1: 202, 2: 402})


def test_value_and_event_series(spec_test):
    """The constant can be on the left of an event series too."""
    spec_test(table_data, (1000 - e.i1).maximum_for_patient(), {1: 899, 2: 799})
