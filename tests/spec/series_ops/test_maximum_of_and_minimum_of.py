from datetime import date

from ehrql import maximum_of, minimum_of
from tests.spec.tables import e, p

title = "The largest or smallest of several values: maximum_of() and minimum_of()"

table_data = {
    p: """
      |  i1 |  i2 |  f1 |     d1     |     d2
    --+-----+-----+-----+------------+------------
    1 |   1 |   2 | 1.5 | 2020-01-01 | 2021-01-01
    2 |   5 |     | 0.5 |            | 2021-01-01
    3 |     |     |     |            |
    4 |  -3 |  -7 |     | 2022-06-30 | 2022-06-29
    """,
}


def test_maximum_of_two_series(spec_test):
    """Nulls are ignored; null only when every value is null."""
    spec_test(table_data, maximum_of(p.i1, p.i2), {1: 2, 2: 5, 3: None, 4: -3})


def test_minimum_of_two_series(spec_test):
    """Nulls are ignored; null only when every value is null."""
    spec_test(table_data, minimum_of(p.i1, p.i2), {1: 1, 2: 5, 3: None, 4: -7})


def test_maximum_of_with_a_constant(spec_test):
    """A constant takes part like a series, so the result is never null here."""
    spec_test(table_data, maximum_of(p.i1, p.i2, 0), {1: 2, 2: 5, 3: 0, 4: 0})


def test_minimum_of_with_a_constant(spec_test):
    """The constant can come first."""
    spec_test(table_data, minimum_of(0, p.i1), {1: 0, 2: 0, 3: 0, 4: -3})


def test_maximum_of_ints_and_floats_gives_a_float(spec_test):
    """Mixing ints and floats gives a float."""
    spec_test(table_data, maximum_of(p.i1, p.f1), {1: 1.5, 2: 5.0, 3: None, 4: -3.0})


def test_maximum_of_dates(spec_test):
    """The latest of several dates."""
    spec_test(
        table_data,
        maximum_of(p.d1, p.d2),
        {1: date(2021, 1, 1), 2: date(2021, 1, 1), 3: None, 4: date(2022, 6, 30)},
    )


def test_minimum_of_dates_and_a_date_string(spec_test):
    """A constant date can be written as a string."""
    spec_test(
        table_data,
        minimum_of(p.d1, p.d2, "2021-06-01"),
        {
            1: date(2020, 1, 1),
            2: date(2021, 1, 1),
            3: date(2021, 6, 1),
            4: date(2021, 6, 1),
        },
    )


def test_maximum_of_event_series_then_aggregated(spec_test):
    """On an event frame, the largest value of each row."""
    table_data = {
        e: """
          |  i1 |  i2
        --+-----+-----
        1 |   1 |  10
        1 |  20 |   2
        1 |     |
        2 |     |   3
        """,
    }
    spec_test(table_data, maximum_of(e.i1, e.i2).sum_for_patient(), {1: 30, 2: 3})


def test_minimum_of_an_int_series_and_a_float_constant_gives_a_float(spec_test):
    """A float constant makes the result a float, as it would in arithmetic."""
    spec_test(
        table_data, minimum_of(p.i1, p.i2, 1.5), {1: 1.0, 2: 1.5, 3: 1.5, 4: -7.0}
    )


def test_maximum_of_constants_only(spec_test):
    """All the values may be constants: the result is the same for every patient."""
    spec_test(table_data, maximum_of(1, 3, 2), {1: 3, 2: 3, 3: 3, 4: 3})


def test_minimum_of_a_single_value(spec_test):
    """A single value is its own minimum."""
    spec_test(table_data, minimum_of(p.i2), {1: 2, 2: None, 3: None, 4: -7})


def test_maximum_of_int_and_float_constants_gives_a_float(spec_test):
    """Constants mix ints and floats as arithmetic does."""
    spec_test(table_data, maximum_of(1, 0.5), {1: 1.0, 2: 1.0, 3: 1.0, 4: 1.0})
