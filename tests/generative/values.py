"""Strategies for single values of each series type, as cells of table data
and as constants in queries.

Restrictions, and why:

* Dates lie between 1900-01-01 and 2100-12-31 (plus hand-picked edge dates in
  that range: leap days, month and year ends). Arithmetic on them can still
  leave the years 1-9999, which the semantics define (the result is null), so
  that rule is exercised. Data at the very ends of the date range (years 1 and
  9999) is only drawn when asked for (`extreme_dates`), by a test of its own,
  so that a failure there is told apart from everything else.
* Integers lie within +/-1000 and floats are multiples of 0.25 within
  +/-1000. Queries nest only a few levels deep and multiply only by a column
  or constant (see queries.py), so integer arithmetic stays far inside 64
  bits, where engines may legitimately fail; and sums of such floats are
  exact in any order, so an engine that adds rows in another order gets the
  same bits.
* Strings are a small pool, mostly ASCII letters and numerals, so that
  equality, containment, sort ties and string-to-number casts all have a
  good chance of meeting something interesting. It leaves out strings that
  Python reads as non-finite floats ("nan", "inf"): the semantics say nothing
  about NaN, and no comparison with it would be meaningful.
* Values are drawn from small pools most of the time, so duplicates (and so
  sort ties and repeated values for count-distinct) are common.
"""

from __future__ import annotations

import datetime

from hypothesis import strategies as st

from tests.generative.schemas import CODE_TYPE, CODES

MIN_DATE = datetime.date(1900, 1, 1)
MAX_DATE = datetime.date(2100, 12, 31)

EDGE_DATES = tuple(
    datetime.date.fromisoformat(text)
    for text in (
        "2020-02-29",
        "2000-02-29",
        "1900-02-28",
        "1900-03-01",
        "2019-02-28",
        "2021-01-31",
        "2021-03-31",
        "2021-08-31",
        "1999-12-31",
        "2000-01-01",
        "2100-02-28",
        "2100-12-31",
        "1900-01-01",
    )
)

#: Dates at the ends of the range Python (and so ehrQL) can represent.
EXTREME_DATES = tuple(
    datetime.date.fromisoformat(text)
    for text in (
        "0001-01-01",
        "0001-01-31",
        "0001-12-31",
        "0004-02-29",
        "9996-02-29",
        "9999-01-31",
        "9999-12-01",
        "9999-12-31",
    )
)

EDGE_INTS = (0, 1, -1, 2, -2, 3, 7, 12, -12, 29, 31, 100, 365, -365, 1000, -1000)
EDGE_FLOATS = (0.0, 1.0, -1.0, 0.5, -0.25, 2.5, 3.75, 100.0, -1000.0, 1000.0)
STRINGS = (
    "",
    "a",
    "b",
    "ab",
    "ba",
    "A",
    "Z",
    "abc",
    "a b",
    "x",
    "12",
    "-3",
    "0",
    "007",
    "1.5",
    # The same letters in other cases, for case-sensitive comparison and search.
    "AB",
    "aB",
    "Abc",
    # Characters special to SQL: LIKE wildcards and the string quote.
    "%",
    "a_c",
    "it's",
    # Number formats Python's int() and float() read, that SQL casts may not.
    " 12",
    "+5",
    "1e3",
    # Beyond ASCII, for sorting and comparison.
    "é",
)


def _mostly(pool: tuple, wider: st.SearchStrategy | None = None) -> st.SearchStrategy:
    # Pool values first: hypothesis shrinks towards the first alternative.
    strategy = st.sampled_from(pool)
    return strategy if wider is None else st.one_of(strategy, wider)


#: Non-null values of each type.
NON_NULL_VALUES: dict[type, st.SearchStrategy] = {
    bool: st.booleans(),
    int: _mostly(EDGE_INTS, st.integers(-1000, 1000)),
    float: _mostly(EDGE_FLOATS, st.integers(-4000, 4000).map(lambda n: n / 4)),
    str: st.sampled_from(STRINGS),
    datetime.date: _mostly(EDGE_DATES, st.dates(MIN_DATE, MAX_DATE)),
    CODE_TYPE: st.sampled_from(CODES),
}


def values_of(type_) -> st.SearchStrategy:
    """Non-null values of the series type `type_`."""
    try:
        return NON_NULL_VALUES[type_]
    except KeyError:
        raise ValueError(f"no value strategy for series type {type_!r}") from None


def cells_of(type_, extreme_dates: bool = False) -> st.SearchStrategy:
    """Cell values of `type_` for table data: null about a quarter of the time.

    With `extreme_dates`, dates are as often as not from the ends of the range.
    """
    values = values_of(type_)
    if extreme_dates and type_ is datetime.date:
        values = st.one_of(st.sampled_from(EXTREME_DATES), values)
    return st.one_of(st.none(), values, values, values)
