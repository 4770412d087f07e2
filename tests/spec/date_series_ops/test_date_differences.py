from datetime import date

from tests.spec.tables import p

title = "The time between two dates in days, weeks, months and years"

# d1 - d2 for pairs around leap days and month ends, a negative difference,
# no difference, and a null.
table_data = {
    p: """
      |     d1     |     d2
    --+------------+------------
    1 | 2021-02-28 | 2020-02-29
    2 | 2021-03-01 | 2020-02-29
    3 | 2024-02-29 | 2020-02-29
    4 | 2020-02-29 | 2020-01-31
    5 | 2020-03-31 | 2020-02-29
    6 | 2020-01-01 | 2020-03-15
    7 | 2020-03-15 | 2020-03-15
    8 |            | 2020-01-01
    9 | 2019-12-31 | 2020-01-01
    """,
}


def test_difference_in_days(spec_test):
    """Days from the second date to the first: negative when the first is earlier."""
    spec_test(
        table_data,
        (p.d1 - p.d2).days,
        {1: 365, 2: 366, 3: 1461, 4: 29, 5: 31, 6: -74, 7: 0, 8: None, 9: -1},
    )


def test_difference_in_weeks(spec_test):
    """Whole weeks, rounded down: -74 days is -11 weeks."""
    spec_test(
        table_data,
        (p.d1 - p.d2).weeks,
        {1: 52, 2: 52, 3: 208, 4: 4, 5: 4, 6: -11, 7: 0, 8: None, 9: -1},
    )


def test_difference_in_months(spec_test):
    """Whole calendar months, rounded down: a month is complete when the day of the month is reached."""
    spec_test(
        table_data,
        (p.d1 - p.d2).months,
        {1: 11, 2: 12, 3: 48, 4: 0, 5: 1, 6: -3, 7: 0, 8: None, 9: -1},
    )


def test_difference_in_years(spec_test):
    """Whole years, as an age is counted: someone born on 29 February turns one on 1 March."""
    spec_test(
        table_data,
        (p.d1 - p.d2).years,
        {1: 0, 2: 1, 3: 4, 4: 0, 5: 0, 6: -1, 7: 0, 8: None, 9: -1},
    )


def test_difference_between_a_date_series_and_a_date_string(spec_test):
    """Either date can be a constant written as 'YYYY-MM-DD'."""
    spec_test(
        table_data,
        (p.d1 - "2020-01-01").days,
        {1: 424, 2: 425, 3: 1520, 4: 59, 5: 90, 6: 0, 7: 74, 8: None, 9: -1},
    )


def test_difference_between_a_date_string_and_a_date_series(spec_test):
    """Age on a fixed date: the constant date minus a date of birth, in years."""
    spec_test(
        table_data,
        ("2024-02-28" - p.d2).years,
        {1: 3, 2: 3, 3: 3, 4: 4, 5: 3, 6: 3, 7: 3, 8: 4, 9: 4},
    )


def test_difference_between_a_date_series_and_a_date_object(spec_test):
    """A datetime.date constant works as well as a string."""
    spec_test(
        table_data,
        (date(2021, 3, 1) - p.d1).months,
        {1: 0, 2: 0, 3: -36, 4: 12, 5: 11, 6: 14, 7: 11, 8: None, 9: 14},
    )
