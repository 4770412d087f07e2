from datetime import date

from ehrql import days
from tests.spec.tables import p

title = "Comparing dates"

table_data = {
    p: """
      |     d1     |     d2
    --+------------+------------
    1 | 2019-12-31 | 2019-12-31
    2 | 2020-01-01 |
    3 | 2020-06-15 | 2020-06-01
    4 | 2020-12-31 | 2021-01-01
    5 | 2021-01-01 | 2020-01-01
    6 |            | 2020-01-01
    """,
}


def test_is_before(spec_test):
    """Strictly before; dates can be written as 'YYYY-MM-DD' strings."""
    spec_test(
        table_data,
        p.d1.is_before("2020-01-01"),
        {1: True, 2: False, 3: False, 4: False, 5: False, 6: None},
    )


def test_is_on_or_before(spec_test):
    """Before or on the same day."""
    spec_test(
        table_data,
        p.d1.is_on_or_before("2020-01-01"),
        {1: True, 2: True, 3: False, 4: False, 5: False, 6: None},
    )


def test_is_after(spec_test):
    """Strictly after."""
    spec_test(
        table_data,
        p.d1.is_after("2020-12-31"),
        {1: False, 2: False, 3: False, 4: False, 5: True, 6: None},
    )


def test_is_on_or_after(spec_test):
    """After or on the same day."""
    spec_test(
        table_data,
        p.d1.is_on_or_after("2020-12-31"),
        {1: False, 2: False, 3: False, 4: True, 5: True, 6: None},
    )


def test_is_between_but_not_on(spec_test):
    """Strictly between the two dates: the end dates themselves are excluded."""
    spec_test(
        table_data,
        p.d1.is_between_but_not_on("2020-01-01", "2020-12-31"),
        {1: False, 2: False, 3: True, 4: False, 5: False, 6: None},
    )


def test_is_on_or_between(spec_test):
    """Between the two dates, both included."""
    spec_test(
        table_data,
        p.d1.is_on_or_between("2020-01-01", "2020-12-31"),
        {1: False, 2: True, 3: True, 4: True, 5: False, 6: None},
    )


def test_is_during(spec_test):
    """Within an interval given as a (start, end) pair, both included."""
    spec_test(
        table_data,
        p.d1.is_during((date(2020, 1, 1), date(2020, 12, 31))),
        {1: False, 2: True, 3: True, 4: True, 5: False, 6: None},
    )


def test_is_on_or_between_with_series_bounds(spec_test):
    """The bounds can be series; a null bound gives null unless the other bound already fails."""
    spec_test(
        table_data,
        p.d1.is_on_or_between(p.d2, p.d2 + days(30)),
        {1: True, 2: None, 3: True, 4: False, 5: False, 6: None},
    )


def test_comparison_operators_with_date_objects(spec_test):
    """<, <=, >, >= also work, with datetime.date constants or strings."""
    spec_test(
        table_data,
        p.d1 < date(2020, 6, 15),
        {1: True, 2: True, 3: False, 4: False, 5: False, 6: None},
    )


def test_equality_with_a_date_string(spec_test):
    """A date equals a string naming the same day."""
    spec_test(
        table_data,
        p.d1 == "2020-06-15",
        {1: False, 2: False, 3: True, 4: False, 5: False, 6: None},
    )


def test_comparing_two_date_series(spec_test):
    """A null on either side gives null."""
    spec_test(
        table_data,
        p.d1 >= p.d2,
        {1: True, 2: None, 3: True, 4: False, 5: True, 6: None},
    )
