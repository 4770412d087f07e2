from datetime import date

from tests.spec.tables import e, p

title = "Replacing null values: when_null_then()"

table_data = {
    p: """
      |  i1 |  i2 |     d1
    --+-----+-----+------------
    1 | 101 | 111 | 2020-01-01
    2 |     | 211 |
    3 |     |     |
    """,
}


def test_when_null_then_a_constant(spec_test):
    """Null values are replaced; others are kept."""
    spec_test(table_data, p.i1.when_null_then(0), {1: 101, 2: 0, 3: 0})


def test_when_null_then_a_series(spec_test):
    """The replacement can be another series, which may itself be null."""
    spec_test(table_data, p.i1.when_null_then(p.i2), {1: 101, 2: 211, 3: None})


def test_when_null_then_a_date_string(spec_test):
    """A date can be replaced by a date written as a string."""
    spec_test(
        table_data,
        p.d1.when_null_then("1900-01-01"),
        {1: date(2020, 1, 1), 2: date(1900, 1, 1), 3: date(1900, 1, 1)},
    )


def test_when_null_then_on_an_aggregation(spec_test):
    """Turning a sum over no rows into 0."""
    table_data = {
        p: """
          |  i1
        --+-----
        1 |
        2 |
        """,
        e: """
          |  i1
        --+-----
        1 |   5
        1 |   6
        """,
    }
    spec_test(table_data, e.i1.sum_for_patient().when_null_then(0), {1: 11, 2: 0})


def test_when_null_then_on_event_rows(spec_test):
    """On an event frame, each row's null is replaced before aggregating."""
    table_data = {
        e: """
          |  i1
        --+-----
        1 |   5
        1 |
        2 |
        """,
    }
    spec_test(table_data, e.i1.when_null_then(100).sum_for_patient(), {1: 105, 2: 100})
