from tests.spec.tables import e, p

title = "Testing for membership of another series' values: is_in(event_series)"

table_data = {
    p: """
      |  i1
    --+-----
    1 | 101
    2 | 201
    3 | 301
    4 |
    5 | 501
    6 |
    7 | 701
    """,
    e: """
      |  i1 |  i2
    --+-----+-----
    1 | 101 | 101
    2 | 201 | 1
    2 | 203 | 203
    2 | 301 | 2
    3 | 333 |
    3 | 334 | 333
    4 |     |
    4 | 401 |
    5 |     |
    5 | 101 |
    6 | 601 |
    """,
}


def test_is_in_event_series(spec_test):
    """A patient's value against their own values of the event series; null values there
    are ignored, a null value tested is null, and a patient with no rows has no values."""
    spec_test(
        table_data,
        p.i1.is_in(e.i1),
        {1: True, 2: True, 3: False, 4: None, 5: False, 6: None, 7: False},
    )


def test_is_not_in_event_series(spec_test):
    """The opposite; null stays null."""
    spec_test(
        table_data,
        p.i1.is_not_in(e.i1),
        {1: False, 2: False, 3: True, 4: None, 5: True, 6: None, 7: True},
    )


def test_event_values_in_another_event_series(spec_test):
    """Each row's value is looked for among the patient's values of the other series,
    from any row: here, rows whose i1 is some row's i2."""
    spec_test(
        table_data,
        e.where(e.i1.is_in(e.i2)).count_for_patient(),
        {1: 1, 2: 1, 3: 1, 4: 0, 5: 0, 6: 0, 7: 0},
    )


def test_event_values_in_a_filtered_series_of_the_same_table(spec_test):
    """The other series may come from a filtered copy of the same table."""
    big = e.where(e.i1 > 300)
    spec_test(
        table_data,
        e.where(e.i2.is_in(big.i1)).count_for_patient(),
        {1: 0, 2: 0, 3: 1, 4: 0, 5: 0, 6: 0, 7: 0},
    )
