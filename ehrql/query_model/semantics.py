"""What each row-wise operation means, on plain Python values.

This is the definition every SQL dialect is tested against: the in-memory
engine applies these functions row by row, and the population check uses them
to work out what a population would say about a patient with no records.
Null is None, and it follows SQL's rules: most operations give null when an
input is null; `&` and `|` use three-valued logic.
"""

from __future__ import annotations

import datetime
import math
import operator
from collections.abc import Callable

from ehrql.query_model import nodes as qm
from ehrql.utils import date_utils

UNKNOWN = object()


def _null_safe(fn: Callable) -> Callable:
    """Wrap `fn` so that any null input gives a null result."""

    def wrapped(*args):
        # A loop rather than any() over a generator: this runs for every
        # value the in-memory engine and the dummy data generator compute.
        for a in args:
            if a is None:
                return None
        return fn(*args)

    return wrapped


def _and(lhs, rhs):
    if lhs is False or rhs is False:
        return False
    if lhs is None or rhs is None:
        return None
    return True


def _or(lhs, rhs):
    if lhs is True or rhs is True:
        return True
    if lhs is None or rhs is None:
        return None
    return False


def _true_divide(lhs, rhs):
    if rhs == 0:
        return None
    return lhs / rhs


def _floor_divide(lhs, rhs):
    if rhs == 0:
        return None
    return (
        int(math.floor(lhs / rhs))
        if isinstance(lhs, float) or isinstance(rhs, float)
        else lhs // rhs
    )


def _power(lhs, rhs):
    # Python gives a complex number for a negative base and a fractional
    # exponent, and raises for zero to a negative power or a huge result: in
    # ehrQL each of those is null.
    try:
        result = float(lhs) ** float(rhs)
    except (ZeroDivisionError, OverflowError):
        return None
    return result if isinstance(result, float) else None


def _cast_to_int(value):
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return None
    return int(value)


def _cast_to_float(value):
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return float(value)


def _cast_to_str(value):
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def _contains(lhs, rhs):
    return str(rhs) in str(lhs)


def count_episodes(dates, maximum_gap_days: int) -> int:
    """How many episodes non-null `dates` make: a date more than `maximum_gap_days`
    after the previous one (in date order) starts a new episode."""
    ordered = sorted(dates)
    return sum(
        1
        for previous, date in zip([None, *ordered], ordered)
        if previous is None or (date - previous).days > maximum_gap_days
    )


class PatientValues(frozenset):
    """A patient's values of an event series, combined into a set (`CombineAsSet`).

    Told apart from a constant set because the two differ for a null tested
    against an empty set (see `_is_in`).
    """


def _is_in(lhs, rhs):
    # Nothing is in an empty constant collection, not even an unknown (null)
    # value: public ehrQL's spec makes `x.is_in([])` False for every row. A
    # patient's own values are another matter: a null is null whatever they are.
    if not rhs and not isinstance(rhs, PatientValues):
        return False
    if lhs is None:
        return None
    return lhs in rhs


def _extremum(pick):
    def fn(*values):
        present = [v for v in values if v is not None]
        return pick(present) if present else None

    return fn


#: Each Function node class to its meaning on Python values (in node field order).
FUNCTIONS: dict[type, Callable] = {
    qm.Function.EQ: _null_safe(operator.eq),
    qm.Function.NE: _null_safe(operator.ne),
    qm.Function.LT: _null_safe(operator.lt),
    qm.Function.LE: _null_safe(operator.le),
    qm.Function.GT: _null_safe(operator.gt),
    qm.Function.GE: _null_safe(operator.ge),
    qm.Function.And: _and,
    qm.Function.Or: _or,
    qm.Function.Not: _null_safe(operator.not_),
    qm.Function.IsNull: lambda value: value is None,
    qm.Function.Add: _null_safe(operator.add),
    qm.Function.Subtract: _null_safe(operator.sub),
    qm.Function.Multiply: _null_safe(operator.mul),
    qm.Function.TrueDivide: _null_safe(_true_divide),
    qm.Function.FloorDivide: _null_safe(_floor_divide),
    qm.Function.Power: _null_safe(_power),
    qm.Function.Absolute: _null_safe(abs),
    qm.Function.Negate: _null_safe(operator.neg),
    qm.Function.CastToInt: _null_safe(_cast_to_int),
    qm.Function.CastToFloat: _null_safe(_cast_to_float),
    qm.Function.CastToStr: _null_safe(_cast_to_str),
    qm.Function.StringContains: _null_safe(_contains),
    qm.Function.In: _is_in,
    qm.Function.YearFromDate: _null_safe(lambda d: d.year),
    qm.Function.MonthFromDate: _null_safe(lambda d: d.month),
    qm.Function.DayFromDate: _null_safe(lambda d: d.day),
    qm.Function.ToFirstOfYear: _null_safe(lambda d: d.replace(month=1, day=1)),
    qm.Function.ToFirstOfMonth: _null_safe(lambda d: d.replace(day=1)),
    qm.Function.DateAddYears: _null_safe(date_utils.date_add_years),
    qm.Function.DateAddMonths: _null_safe(date_utils.date_add_months),
    qm.Function.DateAddDays: _null_safe(date_utils.date_add_days),
    qm.Function.DateDifferenceInYears: _null_safe(
        lambda end, start: date_utils.years_between(start, end)
    ),
    qm.Function.DateDifferenceInMonths: _null_safe(
        lambda end, start: date_utils.months_between(start, end)
    ),
    qm.Function.DateDifferenceInDays: _null_safe(lambda end, start: (end - start).days),
    qm.Function.MaximumOf: _extremum(max),
    qm.Function.MinimumOf: _extremum(min),
}


def apply_function(node: qm.Series, *args):
    """Apply the Function node's meaning to argument values (in field order)."""
    return FUNCTIONS[type(node)](*args)


def function_arguments(node: qm.Series) -> tuple:
    """The child series of a Function node in the order `apply_function` takes them."""
    if isinstance(node, (qm.Function.MaximumOf, qm.Function.MinimumOf)):
        return node.sources
    return tuple(getattr(node, f) for f in node.__dataclass_fields__)


#: What an aggregation gives for a patient with no rows.
EMPTY_AGGREGATE = {
    qm.AggregateByPatient.Sum: None,
    qm.AggregateByPatient.Mean: None,
    qm.AggregateByPatient.Min: None,
    qm.AggregateByPatient.Max: None,
    qm.AggregateByPatient.CountDistinct: 0,
    qm.AggregateByPatient.CombineAsSet: PatientValues(),
    qm.AggregateByPatient.CountEpisodes: 0,
    qm.AggregateByPatient.Count: 0,
    qm.AggregateByPatient.Exists: False,
}


def value_for_patient_with_no_records(series: qm.Series):
    """What `series` evaluates to for a patient who has no row in any table.

    Used to reject populations that would include every such patient. Gives
    UNKNOWN for what cannot be known without data (parameters).
    """
    memo: dict = {}

    def evaluate(node):
        if node in memo:
            return memo[node]
        if isinstance(node, qm.Value):
            result = node.value
        elif isinstance(node, qm.Parameter):
            result = UNKNOWN
        elif isinstance(node, qm.SelectColumn):
            result = None
        elif type(node) in EMPTY_AGGREGATE:
            result = EMPTY_AGGREGATE[type(node)]
        elif isinstance(node, qm.Case):
            result = None if node.default is None else evaluate(node.default)
            for condition, value in node.cases.items():
                c = evaluate(condition)
                if c is UNKNOWN:
                    result = UNKNOWN
                    break
                if c is True:
                    result = None if value is None else evaluate(value)
                    break
        else:
            args = [evaluate(a) for a in function_arguments(node)]
            result = (
                UNKNOWN
                if any(a is UNKNOWN for a in args)
                else apply_function(node, *args)
            )
        memo[node] = result
        return result

    return evaluate(series)


def _mean(values):
    return sum(values) / len(values)


#: How an aggregation combines a patient's non-null values, when there is at
#: least one (with none, it gives `EMPTY_AGGREGATE`). Exists and Count count
#: rows, not values, and episode counting also needs the node's maximum gap
#: (see `aggregate_function`).
AGGREGATE_FUNCTIONS: dict[type, Callable] = {
    qm.AggregateByPatient.Sum: sum,
    qm.AggregateByPatient.Mean: _mean,
    qm.AggregateByPatient.Min: min,
    qm.AggregateByPatient.Max: max,
    qm.AggregateByPatient.CountDistinct: lambda values: len(set(values)),
    qm.AggregateByPatient.CombineAsSet: PatientValues,
}


def aggregate_function(node) -> Callable:
    """The function combining a patient's non-null values for an aggregation
    node of `AGGREGATE_FUNCTIONS`, or for episode counting."""
    if isinstance(node, qm.AggregateByPatient.CountEpisodes):
        return lambda dates: count_episodes(dates, node.maximum_gap_days)
    return AGGREGATE_FUNCTIONS[type(node)]
