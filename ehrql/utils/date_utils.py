"""Calendar arithmetic with the rules ehrQL defines, shared by every engine's tests."""

from __future__ import annotations

import datetime


def date_add_years(date: datetime.date, years: int) -> datetime.date | None:
    """`date` moved by whole years; 29 February onto a non-leap year becomes 1 March.

    None when the result falls outside the years 1 to 9999.
    """
    return date_add_months(date, years * 12)


def date_add_months(date: datetime.date, months: int) -> datetime.date | None:
    """`date` moved by whole months.

    When the day does not exist in the target month (31 January + 1 month) the
    result rolls forward to the first of the following month (1 March). None
    when the result falls outside the years 1 to 9999.
    """
    zero_based = date.month - 1 + months
    year = date.year + zero_based // 12
    month = zero_based % 12 + 1
    if not 1 <= year <= 9999:
        return None
    try:
        return date.replace(year=year, month=month)
    except ValueError:
        # The day is past the end of the target month.
        if month == 12:
            return datetime.date(year + 1, 1, 1) if year < 9999 else None
        return datetime.date(year, month + 1, 1)


def date_add_days(date: datetime.date, days: int) -> datetime.date | None:
    """`date` moved by days; None outside the years 1 to 9999."""
    try:
        return date + datetime.timedelta(days=days)
    except OverflowError:
        return None


def years_between(start: datetime.date, end: datetime.date) -> int:
    """Whole years from `start` to `end`, as an age is counted (floor)."""
    years = end.year - start.year
    if (end.month, end.day) < (start.month, start.day):
        years -= 1
    return years


def months_between(start: datetime.date, end: datetime.date) -> int:
    """Whole months from `start` to `end` (floor)."""
    months = (end.year - start.year) * 12 + (end.month - start.month)
    if end.day < start.day:
        months -= 1
    return months
