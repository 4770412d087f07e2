from datetime import date

from ehrql import days, months, weeks, years
from tests.spec.tables import e, p

title = "Adding days, weeks, months and years to dates"

table_data = {
    p: """
      |     d1     |  i1
    --+------------+-----
    1 | 2020-01-31 |   1
    2 | 2020-02-29 |  12
    3 | 2019-12-31 |  -1
    4 | 2021-03-31 |  -1
    5 |            |   1
    6 | 2020-06-15 |
    """,
}


def test_add_days(spec_test):
    """Adding days crosses month and year ends; a null date gives null."""
    spec_test(
        table_data,
        p.d1 + days(1),
        {
            1: date(2020, 2, 1),
            2: date(2020, 3, 1),
            3: date(2020, 1, 1),
            4: date(2021, 4, 1),
            5: None,
            6: date(2020, 6, 16),
        },
    )


def test_subtract_days(spec_test):
    """Subtracting a duration moves the date back."""
    spec_test(
        table_data,
        p.d1 - days(1),
        {
            1: date(2020, 1, 30),
            2: date(2020, 2, 28),
            3: date(2019, 12, 30),
            4: date(2021, 3, 30),
            5: None,
            6: date(2020, 6, 14),
        },
    )


def test_add_days_onto_a_leap_day(spec_test):
    """28 February plus a day is 29 February in a leap year and 1 March otherwise."""
    table_data = {
        p: """
          |     d1
        --+------------
        1 | 2020-02-28
        2 | 2021-02-28
        3 | 2000-02-28
        4 | 1900-02-28
        """,
    }
    spec_test(
        table_data,
        p.d1 + days(1),
        {
            1: date(2020, 2, 29),
            2: date(2021, 3, 1),
            3: date(2000, 2, 29),
            4: date(1900, 3, 1),
        },
    )


def test_add_weeks(spec_test):
    """A week is seven days."""
    spec_test(
        table_data,
        p.d1 + weeks(2),
        {
            1: date(2020, 2, 14),
            2: date(2020, 3, 14),
            3: date(2020, 1, 14),
            4: date(2021, 4, 14),
            5: None,
            6: date(2020, 6, 29),
        },
    )


def test_add_months(spec_test):
    """A day that does not exist in the new month rolls forward to the 1st of the next."""
    spec_test(
        table_data,
        p.d1 + months(1),
        {
            1: date(2020, 3, 1),
            2: date(2020, 3, 29),
            3: date(2020, 1, 31),
            4: date(2021, 5, 1),
            5: None,
            6: date(2020, 7, 15),
        },
    )


def test_subtract_months(spec_test):
    """Going back into a shorter month also rolls forward to the 1st of the next."""
    spec_test(
        table_data,
        p.d1 - months(1),
        {
            1: date(2019, 12, 31),
            2: date(2020, 1, 29),
            3: date(2019, 12, 1),
            4: date(2021, 3, 1),
            5: None,
            6: date(2020, 5, 15),
        },
    )


def test_add_years(spec_test):
    """29 February plus a year is 1 March."""
    spec_test(
        table_data,
        p.d1 + years(1),
        {
            1: date(2021, 1, 31),
            2: date(2021, 3, 1),
            3: date(2020, 12, 31),
            4: date(2022, 3, 31),
            5: None,
            6: date(2021, 6, 15),
        },
    )


def test_subtract_years(spec_test):
    """29 February minus a year is 1 March too."""
    spec_test(
        table_data,
        p.d1 - years(1),
        {
            1: date(2019, 1, 31),
            2: date(2019, 3, 1),
            3: date(2018, 12, 31),
            4: date(2020, 3, 31),
            5: None,
            6: date(2019, 6, 15),
        },
    )


def test_add_years_from_leap_day_to_leap_day(spec_test):
    """29 February plus four years is 29 February again."""
    spec_test(
        table_data,
        p.d1 + years(4),
        {
            1: date(2024, 1, 31),
            2: date(2024, 2, 29),
            3: date(2023, 12, 31),
            4: date(2025, 3, 31),
            5: None,
            6: date(2024, 6, 15),
        },
    )


def test_add_days_from_an_int_series(spec_test):
    """The number of days can be a series; a null number gives null."""
    spec_test(
        table_data,
        p.d1 + days(p.i1),
        {
            1: date(2020, 2, 1),
            2: date(2020, 3, 12),
            3: date(2019, 12, 30),
            4: date(2021, 3, 30),
            5: None,
            6: None,
        },
    )


def test_add_weeks_from_an_int_series(spec_test):
    """Weeks from a series are seven days each."""
    spec_test(
        table_data,
        p.d1 + weeks(p.i1),
        {
            1: date(2020, 2, 7),
            2: date(2020, 5, 23),
            3: date(2019, 12, 24),
            4: date(2021, 3, 24),
            5: None,
            6: None,
        },
    )


def test_add_months_from_an_int_series(spec_test):
    """Months from a series follow the same rule for days past the month's end."""
    spec_test(
        table_data,
        p.d1 + months(p.i1),
        {
            1: date(2020, 3, 1),
            2: date(2021, 3, 1),
            3: date(2019, 12, 1),
            4: date(2021, 3, 1),
            5: None,
            6: None,
        },
    )


def test_add_years_from_an_int_series(spec_test):
    """Years from a series; 29 February onto a leap year stays 29 February."""
    spec_test(
        table_data,
        p.d1 + years(p.i1),
        {
            1: date(2021, 1, 31),
            2: date(2032, 2, 29),
            3: date(2018, 12, 31),
            4: date(2020, 3, 31),
            5: None,
            6: None,
        },
    )


def test_subtract_an_int_series_of_days(spec_test):
    """Subtracting days(series) moves back by the series' value."""
    spec_test(
        table_data,
        p.d1 - days(p.i1),
        {
            1: date(2020, 1, 30),
            2: date(2020, 2, 17),
            3: date(2020, 1, 1),
            4: date(2021, 4, 1),
            5: None,
            6: None,
        },
    )


def test_duration_plus_date(spec_test):
    """The duration can be written first."""
    spec_test(
        table_data,
        days(100) + p.d1,
        {
            1: date(2020, 5, 10),
            2: date(2020, 6, 8),
            3: date(2020, 4, 9),
            4: date(2021, 7, 9),
            5: None,
            6: date(2020, 9, 23),
        },
    )


def test_constant_date_plus_a_duration_series(spec_test):
    """A date written as a string plus a duration of a series gives a date series."""
    spec_test(
        table_data,
        "2020-01-31" + months(p.i1),
        {
            1: date(2020, 3, 1),
            2: date(2021, 1, 31),
            3: date(2019, 12, 31),
            4: date(2019, 12, 31),
            5: date(2020, 3, 1),
            6: None,
        },
    )


def test_add_days_from_an_event_series(spec_test):
    """On an event frame, each row's date moves by that row's number of days."""
    table_data = {
        e: """
          |     d1     |  i1
        --+------------+-----
        1 | 2020-01-01 |  10
        1 | 2020-01-05 |   2
        1 | 2020-01-20 |
        2 | 2020-12-25 |  10
        """,
    }
    spec_test(
        table_data,
        (e.d1 + days(e.i1)).maximum_for_patient(),
        {1: date(2020, 1, 11), 2: date(2021, 1, 4)},
    )


def test_adding_durations_together(spec_test):
    """Durations of one unit add up before they are added to a date."""
    spec_test(
        table_data,
        p.d1 + (months(2) - months(1)) + (weeks(1) + weeks(-1)),
        {
            1: date(2020, 3, 1),
            2: date(2020, 3, 29),
            3: date(2020, 1, 31),
            4: date(2021, 5, 1),
            5: None,
            6: date(2020, 7, 15),
        },
    )
