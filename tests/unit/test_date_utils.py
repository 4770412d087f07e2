"""Unit tests for the calendar rules every engine follows."""

from datetime import date

import pytest

from ehrql.utils.date_utils import (
    date_add_days,
    date_add_months,
    date_add_years,
    months_between,
    years_between,
)


@pytest.mark.parametrize(
    "start, months, expected",
    [
        (date(2020, 1, 15), 1, date(2020, 2, 15)),
        (date(2020, 1, 31), 1, date(2020, 3, 1)),  # no 31 February: roll forward
        (date(2021, 1, 29), 1, date(2021, 3, 1)),  # no 29 February in 2021
        (date(2020, 1, 29), 1, date(2020, 2, 29)),
        (date(2020, 3, 31), -1, date(2020, 3, 1)),  # going back rolls forward too
        (date(2020, 5, 31), 1, date(2020, 7, 1)),
        (date(2019, 12, 31), 2, date(2020, 3, 1)),  # across a year end into February
        (date(2020, 12, 31), 1, date(2021, 1, 31)),
        (date(2020, 1, 31), -1, date(2019, 12, 31)),
        (date(2020, 1, 1), -13, date(2018, 12, 1)),
        (date(2020, 1, 1), 0, date(2020, 1, 1)),
        (date(2020, 1, 1), 24, date(2022, 1, 1)),
    ],
)
def test_date_add_months(start, months, expected):
    assert date_add_months(start, months) == expected


@pytest.mark.parametrize(
    "start, years, expected",
    [
        (date(2020, 2, 29), 1, date(2021, 3, 1)),
        (date(2020, 2, 29), -1, date(2019, 3, 1)),
        (date(2020, 2, 29), 4, date(2024, 2, 29)),
        (date(2020, 2, 29), 100, date(2120, 2, 29)),
        (date(2000, 2, 29), 100, date(2100, 3, 1)),  # 2100 is not a leap year
        (date(2019, 2, 28), 1, date(2020, 2, 28)),
        (date(2020, 12, 31), -20, date(2000, 12, 31)),
    ],
)
def test_date_add_years(start, years, expected):
    assert date_add_years(start, years) == expected


@pytest.mark.parametrize(
    "start, days, expected",
    [
        (date(2020, 2, 28), 1, date(2020, 2, 29)),
        (date(2021, 2, 28), 1, date(2021, 3, 1)),
        (date(2020, 12, 31), 1, date(2021, 1, 1)),
        (date(2020, 1, 1), -1, date(2019, 12, 31)),
        (date(2020, 1, 1), 366, date(2021, 1, 1)),
    ],
)
def test_date_add_days(start, days, expected):
    assert date_add_days(start, days) == expected


@pytest.mark.parametrize(
    "add, start, amount",
    [
        (date_add_days, date(9999, 12, 31), 1),
        (date_add_days, date(1, 1, 1), -1),
        (date_add_days, date(2020, 1, 1), 10**10),
        (date_add_months, date(9999, 12, 1), 1),
        (date_add_months, date(1, 1, 1), -1),
        (date_add_years, date(9999, 2, 28), 1),
        (date_add_years, date(9999, 1, 1), 1),
        (date_add_years, date(1, 1, 1), -1),
    ],
)
def test_results_outside_the_calendar_are_none(add, start, amount):
    assert add(start, amount) is None


def test_last_representable_dates_still_work():
    assert date_add_months(date(9999, 11, 30), 1) == date(9999, 12, 30)
    assert date_add_days(date(9999, 12, 30), 1) == date(9999, 12, 31)
    assert date_add_years(date(2, 1, 1), -1) == date(1, 1, 1)


@pytest.mark.parametrize(
    "start, end, expected",
    [
        (date(2000, 3, 15), date(2020, 3, 15), 20),  # the birthday itself
        (date(2000, 3, 15), date(2020, 3, 14), 19),  # the day before
        (date(2000, 2, 29), date(2021, 2, 28), 20),  # leap day birthday: not yet
        (date(2000, 2, 29), date(2021, 3, 1), 21),
        (date(2000, 2, 29), date(2024, 2, 29), 24),
        (date(2020, 1, 1), date(2020, 1, 1), 0),
        (date(2020, 1, 2), date(2020, 1, 1), -1),  # rounded down, not towards zero
        (date(2020, 3, 15), date(2018, 3, 15), -2),
        (date(2020, 3, 15), date(2018, 3, 16), -2),
        (date(2020, 3, 15), date(2018, 3, 14), -3),
    ],
)
def test_years_between(start, end, expected):
    assert years_between(start, end) == expected


@pytest.mark.parametrize(
    "start, end, expected",
    [
        (date(2020, 1, 15), date(2020, 2, 15), 1),
        (date(2020, 1, 15), date(2020, 2, 14), 0),
        (date(2020, 1, 31), date(2020, 2, 29), 0),  # 31 February is never reached
        (date(2020, 1, 31), date(2020, 3, 1), 1),
        (date(2020, 2, 29), date(2020, 3, 29), 1),
        (date(2020, 2, 29), date(2021, 2, 28), 11),
        (date(2019, 12, 31), date(2020, 1, 1), 0),
        (date(2020, 1, 1), date(2019, 12, 31), -1),  # rounded down
        (date(2020, 3, 15), date(2020, 1, 1), -3),
        (date(2020, 3, 15), date(2020, 1, 15), -2),
    ],
)
def test_months_between(start, end, expected):
    assert months_between(start, end) == expected
