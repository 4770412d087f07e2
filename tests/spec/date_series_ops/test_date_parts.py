from datetime import date

from tests.spec.tables import p

title = "Parts of a date, and the first of its month or year"

table_data = {
    p: """
      |     d1
    --+------------
    1 | 2020-02-29
    2 | 1999-12-31
    3 | 2021-01-01
    4 |
    """,
}


def test_year(spec_test):
    """The year as an integer."""
    spec_test(table_data, p.d1.year, {1: 2020, 2: 1999, 3: 2021, 4: None})


def test_month(spec_test):
    """The month, from 1 to 12."""
    spec_test(table_data, p.d1.month, {1: 2, 2: 12, 3: 1, 4: None})


def test_day(spec_test):
    """The day of the month, from 1 to 31."""
    spec_test(table_data, p.d1.day, {1: 29, 2: 31, 3: 1, 4: None})


def test_to_first_of_month(spec_test):
    """The first day of the date's month."""
    spec_test(
        table_data,
        p.d1.to_first_of_month(),
        {1: date(2020, 2, 1), 2: date(1999, 12, 1), 3: date(2021, 1, 1), 4: None},
    )


def test_to_first_of_year(spec_test):
    """1 January of the date's year."""
    spec_test(
        table_data,
        p.d1.to_first_of_year(),
        {1: date(2020, 1, 1), 2: date(1999, 1, 1), 3: date(2021, 1, 1), 4: None},
    )


def test_date_parts_can_be_compared_and_combined(spec_test):
    """Date parts are ordinary integers."""
    spec_test(
        table_data,
        p.d1.year * 100 + p.d1.month,
        {1: 202002, 2: 199912, 3: 202101, 4: None},
    )


def test_as_str(spec_test):
    """A date as a 'YYYY-MM-DD' string."""
    spec_test(
        table_data,
        p.d1.as_str(),
        {1: "2020-02-29", 2: "1999-12-31", 3: "2021-01-01", 4: None},
    )
