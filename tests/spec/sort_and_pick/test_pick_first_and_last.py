from tests.spec.tables import e

title = "Sorting rows and picking the first or last for each patient"

table_data = {
    e: """
      |  i1 |  i2
    --+-----+-----
    1 |   7 |  70
    1 |   3 |  30
    1 |     |  99
    2 |   5 |  51
    2 |   5 |  50
    3 |     |
    """,
}


def test_first_puts_nulls_first(spec_test):
    """A null sort value comes before every value; a patient with one row gets it."""
    spec_test(
        table_data, e.sort_by(e.i1).first_for_patient().i2, {1: 99, 2: 50, 3: None}
    )


def test_last_picks_largest_and_breaks_ties_on_other_columns(spec_test):
    """Rows tying on the sort value are ordered by their other columns."""
    spec_test(
        table_data, e.sort_by(e.i1).last_for_patient().i2, {1: 70, 2: 51, 3: None}
    )
