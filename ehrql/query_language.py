"""The ehrQL language as researchers write it.

Every object here is a thin wrapper around a query model node
(`ehrql.query_model.nodes`); every method builds a new node. Validation lives in
the nodes, so an error is raised on the line of the definition that wrote it.
The model words its errors in its own terms (nodes and fields); every node is
built here through `_new`, which says the same thing in the terms a researcher
wrote (`sum_for_patient()`, `+`, `case()`).
"""

from __future__ import annotations

import contextlib
import contextvars
import csv
import dataclasses
import datetime
import difflib
import functools
import gzip
import keyword
import os
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from ehrql import user_args
from ehrql.codes import (
    BaseCode,
    CodelistError,
    MultiCodeString,
    warn_about_suspicious_codes,
)
from ehrql.errors import (
    DefinitionError,
    Error,
    ParameterError,
    duplicate_patient_id_error,
)
from ehrql.query_model import nodes as qm
from ehrql.query_model.nodes import type_name
from ehrql.query_model.table_schema import Column, Constraint, TableSchema

__all__ = [
    "BaseFrame",
    "BaseSeries",
    "Dataset",
    "DateDifference",
    "Duration",
    "EventFrame",
    "PatientFrame",
    "Series",
    "case",
    "create_dataset",
    "days",
    "get_parameter",
    "maximum_of",
    "minimum_of",
    "months",
    "table",
    "table_from_file",
    "table_from_rows",
    "weeks",
    "when",
    "years",
    # The concrete series classes, in the order the reference documents them.
    "BoolPatientSeries",
    "BoolEventSeries",
    "IntPatientSeries",
    "IntEventSeries",
    "FloatPatientSeries",
    "FloatEventSeries",
    "StrPatientSeries",
    "StrEventSeries",
    "DatePatientSeries",
    "DateEventSeries",
    "CodePatientSeries",
    "CodeEventSeries",
    "MultiCodeStringPatientSeries",
    "MultiCodeStringEventSeries",
    "NullPatientSeries",
    "NullEventSeries",
]


# ---------------------------------------------------------------------------
# Converting user values to nodes
# ---------------------------------------------------------------------------


def _parse_date(value: str) -> datetime.date:
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise DefinitionError(
            f"{value!r} is not a date: write dates as 'YYYY-MM-DD'"
        ) from None


def _coerce_constant(value, target_type):
    """Turn a Python constant into a value of `target_type` where ehrQL allows it."""
    if value is None or target_type is None:
        return value
    if target_type is datetime.date and isinstance(value, str):
        return _parse_date(value)
    if qm.is_code_type(target_type) and isinstance(value, str):
        code = target_type(value)
        warn_about_suspicious_codes([code])
        return code
    if target_type is float and type(value) is int:
        return float(value)
    return value


def _to_node(value, target_type=None) -> qm.Series:
    """The query model node for a series or a constant."""
    if isinstance(value, BaseSeries):
        return value._qm_node
    if isinstance(value, (Duration, DateDifference)):
        raise DefinitionError(
            f"cannot use a {type(value).__name__.lower()} here: "
            "durations can only be added to or subtracted from dates"
        )
    if isinstance(value, (BaseFrame, Dataset)):
        raise DefinitionError(
            f"expected a series or a value, got {_describe(value)}: "
            "did you mean to select a column?"
        )
    return qm.Value(_coerce_constant(value, target_type))


def _to_set_node(values, element_type) -> qm.Value:
    """A constant set node for `is_in()` and friends."""
    from ehrql.codelists import CategorisedCodelist, Codelist

    if isinstance(values, (Codelist, CategorisedCodelist)) and qm.is_code_type(
        element_type
    ):
        codes = values.codes_for(element_type)
        warn_about_suspicious_codes(codes, values.origins)
        return qm.Value(codes)
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise DefinitionError(
            f"is_in() needs a list, set, tuple or codelist, not {values!r}"
        )
    if isinstance(values, Mapping):
        values = values.keys()
    if qm.is_code_type(element_type):
        converted = frozenset(
            element_type(v) if isinstance(v, str) else v for v in values
        )
        warn_about_suspicious_codes(c for c in converted if isinstance(c, BaseCode))
    else:
        converted = frozenset(_coerce_constant(v, element_type) for v in values)
    if None in converted:
        raise DefinitionError("is_in() cannot look for None: use is_null() instead")
    return qm.Value(converted)


def _wrap(node: qm.Series) -> BaseSeries:
    """Wrap a series node in the DSL class for its type and domain."""
    domain = "patient" if node.domain.is_patient else "event"
    type_ = node.type
    if qm.is_code_type(type_) and issubclass(type_, MultiCodeString):
        family = "multi_code"
    elif qm.is_code_type(type_):
        family = "code"
    else:
        family = {
            bool: "bool",
            int: "int",
            float: "float",
            str: "str",
            datetime.date: "date",
            None: "null",
        }.get(type_)
    if family is None:
        raise DefinitionError(f"unsupported series type {type_!r}")
    return _SERIES_CLASSES[(family, domain)](node)


# ---------------------------------------------------------------------------
# Building nodes, and saying why one cannot be built
# ---------------------------------------------------------------------------


def _new(node_class: type, *args, operation: str | None = None, **kwargs) -> qm.Node:
    """A query model node, built here so that the model's objection to it is
    reworded in the researcher's terms, naming `operation` if given (else the
    operation `node_class` stands for), and raised at the user's line."""
    try:
        return node_class(*args, **kwargs)
    except qm.ValidationError as error:
        raise _reworded(error, operation) from None


def _series(
    node_class: type, *args, operation: str | None = None, **kwargs
) -> BaseSeries:
    """The DSL series for a new series node (see `_new`)."""
    return _wrap(_new(node_class, *args, operation=operation, **kwargs))


_F = qm.Function
_A = qm.AggregateByPatient
_FILTER_CONDITION = "the condition of a filter"

#: How a researcher writes each operation: for a node, or for one operand of it.
_OPERATION_NAMES: dict[type | tuple[type, str], str] = {
    _F.EQ: "==",
    _F.NE: "!=",
    _F.LT: "<",
    _F.LE: "<=",
    _F.GT: ">",
    _F.GE: ">=",
    _F.And: "&",
    _F.Or: "|",
    _F.Not: "~",
    _F.Add: "+",
    _F.Subtract: "-",
    _F.Multiply: "*",
    _F.TrueDivide: "/",
    _F.FloorDivide: "//",
    _F.Power: "**",
    _F.Negate: "unary -",
    _F.Absolute: "absolute()",
    _F.CastToInt: "as_int()",
    _F.CastToFloat: "as_float()",
    _F.CastToStr: "as_str()",
    _F.StringContains: "contains()",
    _F.In: "is_in()",
    _F.YearFromDate: "year",
    _F.MonthFromDate: "month",
    _F.DayFromDate: "day",
    _F.ToFirstOfYear: "to_first_of_year()",
    _F.ToFirstOfMonth: "to_first_of_month()",
    (_F.DateAddYears, "lhs"): "adding years",
    (_F.DateAddYears, "rhs"): "the number of years",
    (_F.DateAddMonths, "lhs"): "adding months",
    (_F.DateAddMonths, "rhs"): "the number of months",
    (_F.DateAddDays, "lhs"): "adding days",
    (_F.DateAddDays, "rhs"): "the number of days",
    _F.DateDifferenceInYears: "date difference",
    _F.DateDifferenceInMonths: "date difference",
    _F.DateDifferenceInDays: "date difference",
    _F.MaximumOf: "maximum_of()",
    _F.MinimumOf: "minimum_of()",
    _A.Sum: "sum_for_patient()",
    _A.Mean: "mean_for_patient()",
    _A.Min: "minimum_for_patient()",
    _A.Max: "maximum_for_patient()",
    _A.CountDistinct: "count_distinct_for_patient()",
    _A.CountEpisodes: "count_episodes_for_patient()",
    (qm.Filter, "condition"): _FILTER_CONDITION,
    qm.Sort: "sort_by()",
    (qm.Case, "cases"): "a when() condition",
    qm.Case: "case()",
}

#: Operations whose operands, when of different types, are "compared", not "combined".
_COMPARISONS = {_F.EQ, _F.NE, _F.LT, _F.LE, _F.GT, _F.GE}

#: What to do about a population the model refuses, by the rule it breaks.
_POPULATION_HINTS = {
    qm.PopulationValidationError.NOT_PATIENT_LEVEL: (
        "use an aggregation such as .exists_for_patient() on an event frame"
    ),
    qm.PopulationValidationError.TRUE_WITHOUT_RECORDS: (
        "combine it with a condition that needs a record, such as practice_registrations.exists_for_patient()"
    ),
}


def _reworded(
    error: qm.ValidationError, operation: str | None = None
) -> qm.ValidationError:
    """The model's `error` said as a researcher writes the definition.

    Errors the model already words in terms a researcher knows (frames,
    domains, inline tables) are returned as they are.
    """
    if isinstance(error, qm.PopulationValidationError):
        hint = _POPULATION_HINTS.get(error.reason)
        return error.reworded(f"{error}: {hint}") if hint else error
    if error.node is qm.Case and error.reason == "all null":
        return error.reworded(
            f"{operation or 'case()'} needs at least one value that is not None"
        )
    if not isinstance(error, qm.TypeValidationError) or error.node is None:
        return error
    mismatch = error.other is not None
    name = (
        operation
        or (None if mismatch else _OPERATION_NAMES.get((error.node, error.operand)))
        or _OPERATION_NAMES.get(error.node)
    )
    actual = qm.a_type_name(error.actual)
    if name is None:
        return error
    if mismatch and error.node is _F.In:
        message = f"cannot look for {actual} series in a collection of {type_name(error.other)} values"
    elif mismatch:
        verb = "compare" if error.node in _COMPARISONS else "combine"
        message = f"cannot {verb} {actual} series with {qm.a_type_name(error.other)} series (in {name})"
    elif error.expected is qm.ORDERED:
        message = f"cannot use {name} on {actual} series: its values have no order"
    elif error.expected is qm.SORTABLE:
        message = f"cannot sort by {actual} series"
    elif error.expected is not None:
        given = "None" if error.actual is None else f"{actual} series"
        message = (
            f"{name} needs {qm.with_article(error.expected.name)} series, not {given}"
        )
    else:
        return error
    return error.reworded(message)


# ---------------------------------------------------------------------------
# Series
# ---------------------------------------------------------------------------


#: While a definition file runs (`recording_locations`): each series node ->
#: (file, line) of the user's code that first built it. None otherwise, so
#: that building series outside a load records nothing and keeps nothing.
_LOCATIONS: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "ehrql_locations", default=None
)


@contextlib.contextmanager
def recording_locations() -> Iterator[dict]:
    """Record where each series built inside is first built, in the dict yielded.

    Query model nodes compare by value and never change, so a location cannot
    live on them: it is kept beside them, node -> (file, line), for messages
    about a condition (dummy data saying which one no patient can meet).
    """
    locations: dict = {}
    token = _LOCATIONS.set(locations)
    try:
        yield locations
    finally:
        _LOCATIONS.reset(token)


class BaseSeries:
    """A column of values: one per patient, or one per row of an event frame."""

    def __init__(self, qm_node: qm.Series):
        self._qm_node = qm_node
        locations = _LOCATIONS.get()
        if locations is not None and qm_node not in locations:
            location = _caller_location()
            if location is not None:
                locations[qm_node] = location

    def __repr__(self):
        return f"{type(self).__name__}({self._qm_node!r})"

    def __hash__(self):
        return hash(self._qm_node)

    def __bool__(self):
        raise TypeError(
            "a series has no single True or False value: combine conditions with "
            "& (and), | (or) and ~ (not) instead of `and`, `or`, `not`, and don't "
            "use a series in an `if`"
        )

    def __iter__(self):
        raise TypeError(
            "a series cannot be looped over: it holds one value per patient or row"
        )

    # -- equality and nulls -------------------------------------------------

    def __eq__(self, other) -> BaseSeries:
        """True where the values are equal; null where either is null."""
        if other is None:
            raise Error(
                "`== None` is always null in ehrQL: use `x.is_null()` to test for missing values"
            )
        return self._binary(qm.Function.EQ, other)

    def __ne__(self, other) -> BaseSeries:
        """True where the values differ; null where either is null."""
        if other is None:
            raise Error(
                "`!= None` is always null in ehrQL: use `x.is_not_null()` to test for present values"
            )
        return self._binary(qm.Function.NE, other)

    def __getattr__(self, name):
        # Only reached for names that are not methods: say which method was meant.
        if name.startswith("_"):
            raise AttributeError(name)
        raise AttributeError(
            f"{_describe(self)} has no method or property '{name}'; {_suggest(name, _public_names(type(self)))}"
        )

    def is_null(self) -> BaseSeries:
        """True where the value is null, False otherwise (never null)."""
        return _series(qm.Function.IsNull, self._qm_node)

    def is_not_null(self) -> BaseSeries:
        """True where the value is not null, False otherwise (never null)."""
        return _series(qm.Function.Not, _new(qm.Function.IsNull, self._qm_node))

    def when_null_then(self, other) -> BaseSeries:
        """This series, with nulls replaced by `other` (a value or a series)."""
        other_node = _to_node(other, self._qm_node.type)
        if other_node.type not in (None, self._qm_node.type):
            raise qm.TypeValidationError(
                f"when_null_then() cannot replace the nulls of "
                f"{qm.a_type_name(self._qm_node.type)} series with "
                f"{qm.a_type_name(other_node.type)} value"
            )
        present = _new(qm.Function.Not, _new(qm.Function.IsNull, self._qm_node))
        return _series(
            qm.Case, qm.FrozenDict({present: self._qm_node}), default=other_node
        )

    def is_in(self, other) -> BaseSeries:
        """True where the value is one of `other`: a list, set, tuple or codelist, or an event series.

        With an event series, the value is looked for among the patient's own
        non-null values of that series (e.g. the consultation ids of some
        events); null where the value is null.
        """
        if isinstance(other, EventSeries):
            if other._qm_node.type != self._qm_node.type:
                raise qm.TypeValidationError(
                    f"cannot look for {qm.a_type_name(self._qm_node.type)} series among the "
                    f"values of {qm.a_type_name(other._qm_node.type)} series"
                )
            values = _new(qm.AggregateByPatient.CombineAsSet, other._qm_node)
            return _series(qm.Function.In, self._qm_node, values)
        if isinstance(other, PatientSeries):
            raise DefinitionError(
                "is_in() takes an event series (many values per patient) or a list; for a "
                "series with one value per patient, compare with == instead"
            )
        return _series(
            qm.Function.In, self._qm_node, _to_set_node(other, self._qm_node.type)
        )

    def is_not_in(self, other) -> BaseSeries:
        """True where the value is not one of `other`; null stays null."""
        return _series(qm.Function.Not, self.is_in(other)._qm_node)

    def map_values(self, mapping: Mapping, default=None) -> BaseSeries:
        """Replace each value by its entry in `mapping`; values not in it become `default`."""
        if not isinstance(mapping, Mapping) or not mapping:
            raise DefinitionError(
                "map_values() needs a non-empty dict of value -> new value"
            )
        cases = {}
        for key, new_value in mapping.items():
            condition = _new(
                qm.Function.EQ, self._qm_node, _to_node(key, self._qm_node.type)
            )
            cases[condition] = None if new_value is None else qm.Value(new_value)
        default_node = None if default is None else qm.Value(default)
        _unify_case_types(cases, default_node)
        return _series(
            qm.Case,
            qm.FrozenDict(cases),
            default=default_node,
            operation="map_values()",
        )

    # -- helpers ------------------------------------------------------------

    def _binary(self, node_class, other, swap=False):
        other_node = _to_node(other, self._qm_node.type)
        lhs, rhs = _unify_numeric(self._qm_node, other_node)
        if swap:
            lhs, rhs = rhs, lhs
        return _series(node_class, lhs, rhs)


def _unify_numeric(lhs: qm.Series, rhs: qm.Series):
    """Mixing an int with a float: compute in floats, as Python does."""
    if lhs.type is int and rhs.type is float:
        lhs = _as_float_node(lhs)
    elif lhs.type is float and rhs.type is int:
        rhs = _as_float_node(rhs)
    return lhs, rhs


def _as_float_node(node):
    if isinstance(node, qm.Value) and node.value is not None:
        return qm.Value(float(node.value))
    return _new(qm.Function.CastToFloat, node)


class PatientSeries(BaseSeries):
    """A series with one value per patient."""


class EventSeries(BaseSeries):
    """A series with one value per row of an event frame."""

    def count_distinct_for_patient(self) -> BaseSeries:
        """The number of distinct non-null values for each patient (0 if none)."""
        return _series(qm.AggregateByPatient.CountDistinct, self._qm_node)


class ComparableMixin:
    """Ordering comparisons for series whose values have an order."""

    def __lt__(self, other):
        return self._binary(qm.Function.LT, other)

    def __le__(self, other):
        return self._binary(qm.Function.LE, other)

    def __gt__(self, other):
        return self._binary(qm.Function.GT, other)

    def __ge__(self, other):
        return self._binary(qm.Function.GE, other)


class ComparableAggregations:
    """Minimum and maximum per patient."""

    def minimum_for_patient(self):
        """The smallest non-null value for each patient; null if there is none."""
        return _series(qm.AggregateByPatient.Min, self._qm_node)

    def maximum_for_patient(self):
        """The largest non-null value for each patient; null if there is none."""
        return _series(qm.AggregateByPatient.Max, self._qm_node)


class BoolMixin:
    """Logic on boolean series, with SQL's rules for nulls."""

    def __and__(self, other):
        return self._binary(qm.Function.And, other)

    def __rand__(self, other):
        return self._binary(qm.Function.And, other, swap=True)

    def __or__(self, other):
        return self._binary(qm.Function.Or, other)

    def __ror__(self, other):
        return self._binary(qm.Function.Or, other, swap=True)

    def __invert__(self):
        return _series(qm.Function.Not, self._qm_node)

    def as_int(self):
        """1 for True, 0 for False, null for null."""
        return _series(qm.Function.CastToInt, self._qm_node)


class NumericMixin(ComparableMixin):
    """Arithmetic on int and float series. Division by zero gives null."""

    def __add__(self, other):
        return self._binary(qm.Function.Add, other)

    def __radd__(self, other):
        return self._binary(qm.Function.Add, other, swap=True)

    def __sub__(self, other):
        return self._binary(qm.Function.Subtract, other)

    def __rsub__(self, other):
        return self._binary(qm.Function.Subtract, other, swap=True)

    def __mul__(self, other):
        return self._binary(qm.Function.Multiply, other)

    def __rmul__(self, other):
        return self._binary(qm.Function.Multiply, other, swap=True)

    def __truediv__(self, other):
        return self._binary(qm.Function.TrueDivide, other)

    def __rtruediv__(self, other):
        return self._binary(qm.Function.TrueDivide, other, swap=True)

    def __floordiv__(self, other):
        return self._binary(qm.Function.FloorDivide, other)

    def __rfloordiv__(self, other):
        return self._binary(qm.Function.FloorDivide, other, swap=True)

    def __pow__(self, other):
        """This value raised to the power `other`, as a float.

        Null where there is no real, finite answer: zero to a negative power, a
        negative number to a fractional power, or a result too large for a float.
        """
        return self._binary(qm.Function.Power, other)

    def __rpow__(self, other):
        return self._binary(qm.Function.Power, other, swap=True)

    def absolute(self):
        """The absolute value: negative values made positive (e.g. for a gap in days either way)."""
        return _series(qm.Function.Absolute, self._qm_node)

    def __abs__(self):
        raise Error(
            "abs() cannot be used on a series: use `x.absolute()` instead of `abs(x)`"
        )

    def __neg__(self):
        return _series(qm.Function.Negate, self._qm_node)

    def as_int(self):
        """The value as an integer; floats are truncated towards zero."""
        return _series(qm.Function.CastToInt, self._qm_node)

    def as_float(self):
        """The value as a float."""
        return _series(qm.Function.CastToFloat, self._qm_node)


class NumericAggregations(ComparableAggregations):
    """Sum and mean per patient."""

    def sum_for_patient(self):
        """The sum of non-null values for each patient; null if there are none."""
        return _series(qm.AggregateByPatient.Sum, self._qm_node)

    def mean_for_patient(self):
        """The mean of non-null values for each patient, as a float; null if none."""
        return _series(qm.AggregateByPatient.Mean, self._qm_node)


class StrMixin(ComparableMixin):
    """Operations on string series."""

    def contains(self, other):
        """True where the string contains `other` (a string or string series)."""
        return _series(qm.Function.StringContains, self._qm_node, _to_node(other, str))

    def as_str(self):
        """The value itself (for symmetry with other series)."""
        return self


class CodeMixin(ComparableMixin):
    """Operations on series of clinical codes."""

    def to_category(self, categorisation: Mapping, default=None):
        """Each code's category, from a codelist read with a category column (or a dict).

        Codes not in it get `default` (null if not given).
        """
        from ehrql.codelists import CategorisedCodelist

        code_type = self._qm_node.type
        if not isinstance(categorisation, Mapping) or not categorisation:
            raise DefinitionError(
                "to_category() needs a codelist with categories, or a dict of code -> category"
            )
        if isinstance(categorisation, CategorisedCodelist):
            origins = categorisation.origins
            categorisation = categorisation.category_map_for(code_type)
        else:
            origins = {}
            categorisation = {
                (code_type(code) if isinstance(code, str) else code): category
                for code, category in categorisation.items()
            }
        warn_about_suspicious_codes(
            (c for c in categorisation if isinstance(c, BaseCode)), origins
        )
        # One membership test per category keeps the query small for big codelists.
        codes_by_category: dict = {}
        for code, category in categorisation.items():
            codes_by_category.setdefault(category, set()).add(
                _coerce_constant(code, code_type)
            )
        cases = {
            _new(qm.Function.In, self._qm_node, qm.Value(frozenset(codes))): (
                None if category is None else qm.Value(category)
            )
            for category, codes in sorted(
                codes_by_category.items(), key=lambda item: repr(item[0])
            )
        }
        default_node = None if default is None else qm.Value(default)
        _unify_case_types(cases, default_node)
        return _series(
            qm.Case,
            qm.FrozenDict(cases),
            default=default_node,
            operation="to_category()",
        )

    def as_str(self):
        """The code as a string."""
        return _series(qm.Function.CastToStr, self._qm_node)


class MultiCodeStringMixin:
    """Searching strings that hold several codes (e.g. all diagnoses of a hospital spell)."""

    def contains(self, code):
        """True where the string holds `code`, or a code starting with it (a prefix such as "N17")."""
        return _series(
            qm.Function.StringContains,
            self._qm_node,
            qm.Value(self._checked_code(code)),
        )

    def contains_any_of(self, codelist):
        """True where the string holds any code of `codelist` (codes or prefixes)."""
        from ehrql.codelists import CategorisedCodelist, Codelist

        if isinstance(codelist, (Codelist, CategorisedCodelist)):
            codes = sorted(
                c.value
                for c in codelist.codes_for(self._qm_node.type.single_code_class)
            )
        elif isinstance(codelist, (str, bytes)) or not isinstance(codelist, Iterable):
            raise DefinitionError(
                "contains_any_of() needs a list of codes or a codelist"
            )
        else:
            codes = sorted({self._checked_code(c) for c in codelist})
        if not codes:
            raise DefinitionError("contains_any_of() needs at least one code")
        conditions = [
            _new(qm.Function.StringContains, self._qm_node, qm.Value(c)) for c in codes
        ]
        result = conditions[0]
        for condition in conditions[1:]:
            result = _new(qm.Function.Or, result, condition)
        return _wrap(result)

    def _checked_code(self, code) -> str:
        code_class = self._qm_node.type.single_code_class
        value = code.value if isinstance(code, BaseCode) else code
        if not isinstance(value, str) or not code_class.regex.fullmatch(value):
            # A prefix of a valid code is allowed, but not text that no code starts with.
            if not isinstance(value, str) or not any(
                code_class.regex.fullmatch(value + "0" * n) for n in range(1, 4)
            ):
                raise CodelistError(
                    f"{code!r} is not a valid {code_class.system_id} code or prefix"
                )
        return value


class DateMixin(ComparableMixin):
    """Operations on date series. Dates may be written as 'YYYY-MM-DD' strings."""

    @property
    def year(self):
        """The year, as an integer."""
        return _series(qm.Function.YearFromDate, self._qm_node)

    @property
    def month(self):
        """The month (1 to 12), as an integer."""
        return _series(qm.Function.MonthFromDate, self._qm_node)

    @property
    def day(self):
        """The day of the month (1 to 31), as an integer."""
        return _series(qm.Function.DayFromDate, self._qm_node)

    def to_first_of_year(self):
        """1 January of the same year."""
        return _series(qm.Function.ToFirstOfYear, self._qm_node)

    def to_first_of_month(self):
        """The first day of the same month."""
        return _series(qm.Function.ToFirstOfMonth, self._qm_node)

    def as_str(self):
        """The date as 'YYYY-MM-DD'."""
        return _series(qm.Function.CastToStr, self._qm_node)

    def is_before(self, other):
        """True where the date is strictly before `other`."""
        return self < other

    def is_on_or_before(self, other):
        """True where the date is before or on `other`."""
        return self <= other

    def is_after(self, other):
        """True where the date is strictly after `other`."""
        return self > other

    def is_on_or_after(self, other):
        """True where the date is on or after `other`."""
        return self >= other

    def is_between_but_not_on(self, start, end):
        """True where the date is strictly between `start` and `end`."""
        return (self > start) & (self < end)

    def is_on_or_between(self, start, end):
        """True where the date is between `start` and `end`, both included."""
        return (self >= start) & (self <= end)

    def is_during(self, interval):
        """True where the date falls in `interval`, a (start, end) pair, both included."""
        start, end = _interval_bounds(interval)
        return self.is_on_or_between(start, end)

    def __add__(self, other):
        if isinstance(other, Duration):
            return other._add_to(self._qm_node)
        raise DefinitionError(
            f"cannot add {_describe(other)} to a date: only durations such as "
            "days(7), months(1) or years(2) can be added to a date"
        )

    def __radd__(self, other):
        return self.__add__(other)

    def __sub__(self, other):
        if isinstance(other, Duration):
            return (-other)._add_to(self._qm_node)
        other_node = _to_node(other, datetime.date)
        if other_node.type not in (datetime.date, None):
            raise DefinitionError(
                f"cannot subtract {_describe(other)} from a date: subtract a duration "
                "(days(7), months(1), years(2)) or another date"
            )
        return DateDifference(self._qm_node, other_node)

    def __rsub__(self, other):
        other_node = _to_node(other, datetime.date)
        if other_node.type is not datetime.date:
            raise DefinitionError(f"cannot subtract a date from {_describe(other)}")
        return DateDifference(other_node, self._qm_node)


def _public_names(cls) -> list[str]:
    return sorted(n for n in dir(cls) if not n.startswith("_"))


def _suggest(name: str, candidates: list[str]) -> str:
    """'did you mean ...?' with the candidates closest to `name`, or else the whole list."""
    close = difflib.get_close_matches(name, candidates, n=3, cutoff=0.6)
    if not close:
        # Case and word order are the usual slips (upper() for a method that
        # does not exist at all, say): compare lower-cased words too.
        close = difflib.get_close_matches(name.lower(), candidates, n=3, cutoff=0.4)
    if close:
        return "did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
    return "the ones there are: " + ", ".join(candidates)


def _describe(value) -> str:
    if isinstance(value, DateDifference):
        return (
            "the difference between two dates: choose its unit with .days, .weeks, "
            ".months or .years, e.g. (end_date - start_date).days"
        )
    if isinstance(value, Duration):
        return f"a duration ({value!r}): add it to a date, or use it in starting_on()/ending_on()"
    if isinstance(value, When):
        return "an unfinished when(...): add .then(value) and use it in case(...)"
    if isinstance(value, WhenThen):
        return "a when(...).then(...) without case(...) or .otherwise(...) around it"
    if isinstance(value, BaseSeries):
        return f"{qm.a_type_name(value._qm_node.type)} series"
    if isinstance(value, BaseFrame):
        name = getattr(qm.root_table(value._qm_node), "name", "an inline table")
        return f"the frame '{name}'"
    if isinstance(value, Dataset):
        return "a dataset"
    return repr(value)


def _interval_bounds(interval):
    if isinstance(interval, BaseSeries) or not (
        isinstance(interval, (tuple, list)) and len(interval) == 2
    ):
        raise DefinitionError(
            "is_during() needs an interval: a (start, end) pair of dates, such as "
            "INTERVAL in a measure"
        )
    return interval


class DateAggregations(ComparableAggregations):
    """Aggregations of a date event series to one value per patient."""

    def count_episodes_for_patient(self, maximum_gap: Duration):
        """The number of episodes in each patient's dates (0 if they have none).

        In date order, a date no more than `maximum_gap` (given in `days()` or
        `weeks()`) after the previous one belongs to the same episode, so the
        clock restarts at each date: with `days(3)`, dates on the 1st, 4th and
        6th are one episode, and the 10th and 12th another. Null dates are ignored.
        """
        if not isinstance(maximum_gap, Duration) or maximum_gap.units not in (
            "days",
            "weeks",
        ):
            raise DefinitionError(
                "count_episodes_for_patient() needs maximum_gap given in days() or weeks()"
            )
        if isinstance(maximum_gap.value, BaseSeries):
            raise DefinitionError(
                f"count_episodes_for_patient() needs a single, fixed number of {maximum_gap.units}, not a series"
            )
        gap_days = maximum_gap.value * (7 if maximum_gap.units == "weeks" else 1)
        return _series(qm.AggregateByPatient.CountEpisodes, self._qm_node, gap_days)


# The concrete series classes: one per (type family, domain), with the names
# public ehrQL uses. They are written out, rather than made in a loop, so that
# IDEs and type checkers see them (tests/unit/test_static_series_classes.py
# checks that a static reading finds the same methods as Python does).


class BoolPatientSeries(BoolMixin, PatientSeries):
    """A boolean series with one value per patient."""


class BoolEventSeries(BoolMixin, EventSeries):
    """A boolean series with one value per event row."""


class IntPatientSeries(NumericMixin, PatientSeries):
    """An integer series with one value per patient."""


class IntEventSeries(NumericMixin, NumericAggregations, EventSeries):
    """An integer series with one value per event row."""


class FloatPatientSeries(NumericMixin, PatientSeries):
    """A float series with one value per patient."""


class FloatEventSeries(NumericMixin, NumericAggregations, EventSeries):
    """A float series with one value per event row."""


class StrPatientSeries(StrMixin, PatientSeries):
    """A string series with one value per patient."""


class StrEventSeries(StrMixin, ComparableAggregations, EventSeries):
    """A string series with one value per event row."""


class DatePatientSeries(DateMixin, PatientSeries):
    """A date series with one value per patient."""


class DateEventSeries(DateMixin, DateAggregations, EventSeries):
    """A date series with one value per event row."""


class CodePatientSeries(CodeMixin, PatientSeries):
    """A clinical code series with one value per patient."""


class CodeEventSeries(CodeMixin, ComparableAggregations, EventSeries):
    """A clinical code series with one value per event row."""


class MultiCodeStringPatientSeries(MultiCodeStringMixin, PatientSeries):
    """A multi-code string series with one value per patient."""


class MultiCodeStringEventSeries(MultiCodeStringMixin, EventSeries):
    """A multi-code string series with one value per event row."""


class NullPatientSeries(PatientSeries):
    """A series of nulls (a bare None) with one value per patient: it can only be compared and combined."""


class NullEventSeries(EventSeries):
    """A series of nulls (a bare None) with one value per event row: it can only be compared and combined."""


_SERIES_CLASSES: dict[tuple[str, str], type[BaseSeries]] = {
    ("bool", "patient"): BoolPatientSeries,
    ("bool", "event"): BoolEventSeries,
    ("int", "patient"): IntPatientSeries,
    ("int", "event"): IntEventSeries,
    ("float", "patient"): FloatPatientSeries,
    ("float", "event"): FloatEventSeries,
    ("str", "patient"): StrPatientSeries,
    ("str", "event"): StrEventSeries,
    ("date", "patient"): DatePatientSeries,
    ("date", "event"): DateEventSeries,
    ("code", "patient"): CodePatientSeries,
    ("code", "event"): CodeEventSeries,
    ("multi_code", "patient"): MultiCodeStringPatientSeries,
    ("multi_code", "event"): MultiCodeStringEventSeries,
    ("null", "patient"): NullPatientSeries,
    ("null", "event"): NullEventSeries,
}


# ---------------------------------------------------------------------------
# Durations and date differences
# ---------------------------------------------------------------------------

_UNITS = ("days", "weeks", "months", "years")


@dataclasses.dataclass(frozen=True)
class Duration:
    """A number of days, weeks, months or years (an int, or an int series)."""

    value: Any
    units: str

    def __post_init__(self):
        assert self.units in _UNITS
        if isinstance(self.value, BaseSeries):
            if self.value._qm_node.type is not int:
                raise DefinitionError(
                    f"{self.units}() needs an integer or an integer series"
                )
        elif type(self.value) is not int:
            raise DefinitionError(
                f"{self.units}() needs an integer, not {self.value!r}"
            )

    def _add_to(self, date_node: qm.Series):
        """The date series `date_node` moved by this duration."""
        amount = _to_node(self.value, int)
        if self.units == "weeks":
            amount = _new(qm.Function.Multiply, amount, qm.Value(7))
            return _series(qm.Function.DateAddDays, date_node, amount)
        node_class = {
            "days": qm.Function.DateAddDays,
            "months": qm.Function.DateAddMonths,
            "years": qm.Function.DateAddYears,
        }[self.units]
        return _series(node_class, date_node, amount)

    def __neg__(self):
        return Duration(-self.value, self.units)

    def __add__(self, other):
        if isinstance(other, Duration):
            if other.units != self.units:
                raise DefinitionError(f"cannot add {other.units} to {self.units}")
            return Duration(self.value + other.value, self.units)
        return NotImplemented

    def __sub__(self, other):
        if isinstance(other, Duration):
            return self + (-other)
        return NotImplemented

    def __radd__(self, other):
        # A constant date plus a fixed duration is a constant date, as in
        # public ehrQL (so it can be used for intervals); with a duration of
        # an int series it is a date series.
        if isinstance(other, (str, datetime.date)):
            if isinstance(self.value, BaseSeries):
                return self._add_to(_to_node(other, datetime.date))
            return self._shift(self._constant_date(other), self.value)
        return NotImplemented

    def __rsub__(self, other):
        if isinstance(other, (str, datetime.date)):
            return (-self).__radd__(other)
        return NotImplemented

    def starting_on(self, date) -> list[tuple[datetime.date, datetime.date]]:
        """Consecutive intervals of one unit each, `value` of them, the first starting on `date`.

        `years(3).starting_on("2020-01-01")` gives three one-year (start, end)
        pairs; each ends the day before the next starts.
        """
        start = self._constant_date(date)
        return [
            (self._shift(start, i), self._shift(start, i + 1) - _ONE_DAY)
            for i in range(self._constant_count())
        ]

    def ending_on(self, date) -> list[tuple[datetime.date, datetime.date]]:
        """Consecutive intervals of one unit each, `value` of them, the last ending on `date`.

        As in public ehrQL, each interval's end is found by stepping back
        whole units from `date`, and it starts the day after the previous
        end. For months this is not always a calendar month:
        `months(3).ending_on("2020-12-31")` gives (10-02, 10-31),
        (11-01, 12-01) and (12-02, 12-31), since 31 November rolls forward to
        1 December.
        """
        end = self._constant_date(date)
        return [
            (self._shift(end, steps - 1) + _ONE_DAY, self._shift(end, steps))
            for steps in range(1 - self._constant_count(), 1)
        ]

    def _shift(self, date, steps):
        # Shifting from a fixed base each time keeps month ends from drifting.
        from ehrql.utils import date_utils

        if self.units == "weeks":
            return date_utils.date_add_days(date, 7 * steps)
        shift = {
            "days": date_utils.date_add_days,
            "months": date_utils.date_add_months,
            "years": date_utils.date_add_years,
        }[self.units]
        return shift(date, steps)

    @staticmethod
    def _constant_date(date):
        if isinstance(date, str):
            return _parse_date(date)
        if type(date) is datetime.date:
            return date
        raise DefinitionError(
            f"a fixed date such as '2020-01-01' is needed here, not {date!r}"
        )

    def _constant_count(self):
        if isinstance(self.value, BaseSeries):
            raise DefinitionError(
                "intervals need a fixed number of periods, not a series"
            )
        # None at all is allowed, as in public ehrQL: a study may work out a
        # count of years that is 0 for a short run, and its measure is then empty.
        if self.value < 0:
            raise DefinitionError("intervals need a number of periods of 0 or more")
        return self.value


_ONE_DAY = datetime.timedelta(days=1)


def days(value) -> Duration:
    """A duration of `value` days (an int or an int series)."""
    return Duration(value, "days")


def weeks(value) -> Duration:
    """A duration of `value` weeks of 7 days (an int or an int series)."""
    return Duration(value, "weeks")


def months(value) -> Duration:
    """A duration of `value` calendar months (an int or an int series)."""
    return Duration(value, "months")


def years(value) -> Duration:
    """A duration of `value` calendar years (an int or an int series)."""
    return Duration(value, "years")


class DateDifference:
    """The time between two dates: read it as `.days`, `.weeks`, `.months` or `.years`."""

    def __init__(self, end: qm.Series, start: qm.Series):
        self._end = end
        self._start = start

    @property
    def days(self):
        """Days from the second date to the first (negative if it is earlier)."""
        return _series(qm.Function.DateDifferenceInDays, self._end, self._start)

    @property
    def weeks(self):
        """Whole weeks from the second date to the first."""
        return _series(qm.Function.FloorDivide, self.days._qm_node, qm.Value(7))

    @property
    def months(self):
        """Whole calendar months from the second date to the first."""
        return _series(qm.Function.DateDifferenceInMonths, self._end, self._start)

    @property
    def years(self):
        """Whole years from the second date to the first (as an age is counted)."""
        return _series(qm.Function.DateDifferenceInYears, self._end, self._start)

    def __bool__(self):
        raise TypeError(
            "a date difference has no True/False value: use .days, .months or .years"
        )


# ---------------------------------------------------------------------------
# Combining series
# ---------------------------------------------------------------------------


def _common_type(values) -> Any:
    types = [v._qm_node.type for v in values if isinstance(v, BaseSeries)]
    types = [t for t in types if t is not None]
    # Numbers mix as in arithmetic: any float, series or constant, makes it float.
    numeric = set(types) | {type(v) for v in values if type(v) in (int, float)}
    if set(types) <= {int, float} and numeric == {int, float}:
        return float
    return types[0] if types else None


def maximum_of(value, *other_values):
    """The largest of several series or values, per patient; nulls are ignored.

    The values may all be constants, and there may be just one.
    """
    return _extremum(qm.Function.MaximumOf, (value, *other_values))


def minimum_of(value, *other_values):
    """The smallest of several series or values, per patient; nulls are ignored.

    The values may all be constants, and there may be just one.
    """
    return _extremum(qm.Function.MinimumOf, (value, *other_values))


def _extremum(node_class, values):
    target = _common_type(values)
    nodes = []
    for value in values:
        n = _to_node(value, target)
        if target is float and n.type is int:
            n = _as_float_node(n)
        nodes.append(n)
    if len(nodes) == 1:
        return _wrap(nodes[0])
    return _series(node_class, tuple(nodes))


@dataclasses.dataclass(frozen=True)
class When:
    """The condition half of a `when(...).then(...)` pair."""

    condition: Any

    def then(self, value) -> WhenThen:
        """The value to give where the condition is true."""
        return WhenThen(self.condition, value)


@dataclasses.dataclass(frozen=True)
class WhenThen:
    """A complete `when(condition).then(value)` pair."""

    condition: Any
    value: Any

    def otherwise(self, value):
        """Finish a one-case `case`: the value where the condition is not true."""
        return case(self, otherwise=value)


def when(condition) -> When:
    """Start a case: `when(condition).then(value)`."""
    condition_node = _to_node(condition, bool)
    if condition_node.type is not bool:
        raise DefinitionError(
            f"when() needs a boolean condition, not {_describe(condition)}"
        )
    return When(condition)


def case(*when_thens: WhenThen, otherwise=None):
    """The value of the first `when(...).then(...)` whose condition is true.

    Patients matching none get `otherwise` (null if not given). A null
    condition counts as not true.
    """
    for item in when_thens:
        if not isinstance(item, WhenThen):
            raise DefinitionError(
                f"case() takes when(condition).then(value) pairs; got {_describe(item)}"
            )
    if not when_thens:
        raise DefinitionError("case() needs at least one when(...).then(...)")
    target = _common_type([w.value for w in when_thens] + [otherwise])
    cases = {}
    for item in when_thens:
        condition = _to_node(item.condition, bool)
        if condition in cases:
            # The first case with a condition wins, as it would in sequence.
            continue
        cases[condition] = None if item.value is None else _to_node(item.value, target)
    default = None if otherwise is None else _to_node(otherwise, target)
    _unify_case_types(cases, default)
    return _series(qm.Case, qm.FrozenDict(cases), default=default)


def _unify_case_types(cases: dict, default):
    """Promote int constants to float when other outputs are float."""
    outputs = [v for v in [*cases.values(), default] if v is not None]
    if any(v.type is float for v in outputs) and any(v.type is int for v in outputs):
        for condition, value in cases.items():
            if value is not None and value.type is int:
                cases[condition] = _as_float_node(value)


# ---------------------------------------------------------------------------
# Frames and tables
# ---------------------------------------------------------------------------


class Series:
    """Declares a column in a table class: its type, description and constraints.

    Used as `date_of_birth = Series(datetime.date, description=..., constraints=[...])`
    inside a `@table` class.
    """

    def __init__(
        self,
        type,
        description: str = "",
        constraints: Iterable[Constraint] = (),
        required: bool = True,
        implementation_notes_to_add_to_description: str = "",
        notes_for_implementors: str = "",
        dummy_data_constraints: Iterable[Constraint] = (),
    ):
        if not qm.is_valid_series_type(type):
            raise DefinitionError(f"{type!r} is not a type a column can have")
        self.type = type
        self.description = description
        self.constraints = tuple(constraints)
        self.required = required
        self.implementation_notes = implementation_notes_to_add_to_description
        self.notes_for_implementors = notes_for_implementors
        # Constraints that real data need not obey but dummy data should, to look realistic.
        self.dummy_data_constraints = tuple(dummy_data_constraints)
        self.name = None

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, instance, owner):
        if instance is None:
            return self
        return instance._select_column(self.name)

    def _column(self) -> Column:
        description = self.description
        if self.implementation_notes:
            description = f"{description}\n\n{self.implementation_notes}".strip()
        return Column(
            self.type,
            description=description,
            constraints=self.constraints,
            dummy_data_constraints=self.dummy_data_constraints,
        )


class BaseFrame:
    """A table of rows: the base of patient frames and event frames."""

    def __init__(self, qm_node: qm.Frame):
        self._qm_node = qm_node

    def __repr__(self):
        return f"{type(self).__name__}({self._qm_node!r})"

    def _select_column(self, name: str) -> BaseSeries:
        return _series(qm.SelectColumn, self._qm_node, name)

    def __getattr__(self, name):
        # Only reached for names that are not columns or methods.
        if name.startswith("_"):
            raise AttributeError(name)
        table_name = getattr(qm.root_table(self._qm_node), "name", type(self).__name__)
        if name in _PICK_METHODS and isinstance(
            self._qm_node, qm.ManyRowsPerPatientFrame
        ):
            raise AttributeError(
                f"{name}() needs sorted rows: sort them first, as in "
                f"frame.sort_by(frame.date).{name}()"
            )
        if name in _EVENT_FRAME_METHODS and isinstance(
            self._qm_node, qm.OneRowPerPatientFrame
        ):
            raise AttributeError(
                f"{name}() works on event frames; this frame (from '{table_name}') "
                "already has one row per patient"
            )
        columns = ", ".join(self._qm_node.schema.column_names)
        candidates = list(
            dict.fromkeys(
                [*self._qm_node.schema.column_names, *_public_names(type(self))]
            )
        )
        # Short names differ by a larger share for one slip (sl for s1).
        close = difflib.get_close_matches(
            name, candidates, n=3, cutoff=0.5 if len(name) <= 3 else 0.6
        )
        hint = (
            ("did you mean " + " or ".join(f"'{c}'" for c in close) + "? ")
            if close
            else ""
        )
        raise AttributeError(
            f"table '{table_name}' has no column or method '{name}'; {hint}its columns are: {columns}"
        )

    def exists_for_patient(self) -> BaseSeries:
        """True for each patient who has at least one row, False otherwise."""
        return _series(qm.AggregateByPatient.Exists, self._qm_node)

    def count_for_patient(self) -> BaseSeries:
        """The number of rows for each patient (0 if none)."""
        if not isinstance(self._qm_node, qm.ManyRowsPerPatientFrame):
            return self.exists_for_patient().as_int()
        return _series(qm.AggregateByPatient.Count, self._qm_node)


# Methods people reach for on frames that lack them, named in the error they get.
_PICK_METHODS = {"first_for_patient", "last_for_patient"}
_EVENT_FRAME_METHODS = {"where", "except_where", "sort_by", *_PICK_METHODS}


class PatientFrame(BaseFrame):
    """A frame with at most one row per patient."""


class EventFrame(BaseFrame):
    """A frame with any number of rows per patient."""

    def where(self, condition) -> EventFrame:
        """The rows for which `condition` is true (rows where it is null are dropped)."""
        node = _to_node(condition, bool)
        return self._derive(_new(qm.Filter, self._qm_node, node))

    def except_where(self, condition) -> EventFrame:
        """The rows for which `condition` is false or null."""
        node = _to_node(condition, bool)
        keep = _new(
            qm.Function.Or,
            _new(qm.Function.Not, node, operation=_FILTER_CONDITION),
            _new(qm.Function.IsNull, node),
        )
        return self._derive(_new(qm.Filter, self._qm_node, keep))

    def sort_by(self, *sort_values) -> SortedEventFrame:
        """The rows sorted by each of `sort_values` in turn, ascending, nulls first.

        Rows that tie on every sort value are ordered by all their columns, so
        `first_for_patient()` always picks the same row.
        """
        if not sort_values:
            raise DefinitionError("sort_by() needs at least one series to sort by")
        node = self._qm_node
        # The first key is the most significant, so it is applied last.
        for value in reversed(sort_values):
            node = _new(qm.Sort, node, _to_node(value))
        return self._derive(node, sorted_=True)

    def _derive(self, node, sorted_=False):
        return (_sorted_class(type(self)) if sorted_ else type(self))(node)


class SortedEventFrame(EventFrame):
    """An event frame that has been sorted, so one row per patient can be picked."""

    def first_for_patient(self) -> PatientFrame:
        """The first row for each patient, in sort order."""
        return self._pick(qm.Position.FIRST)

    def last_for_patient(self) -> PatientFrame:
        """The last row for each patient, in sort order."""
        return self._pick(qm.Position.LAST)

    def _pick(self, position):
        node = _new(qm.PickOneRowPerPatient, self._qm_node, position)
        return _patient_class(type(self))(node)


@functools.cache
def _sorted_class(cls):
    """The sorted variant of a table class: same columns and helpers, plus picking."""
    if issubclass(cls, SortedEventFrame):
        return cls
    derived = type(cls.__name__, (cls, SortedEventFrame), {})
    derived.__module__ = cls.__module__
    return derived


@functools.cache
def _patient_class(cls):
    """The class of a row picked from an event table class.

    It keeps the table's columns and helper methods but, being one row per
    patient, none of the event frame methods.
    """
    namespace = {}
    for klass in reversed(cls.__mro__):
        if klass.__module__ == __name__ or klass is object:
            continue
        namespace.update(
            (name, value)
            for name, value in vars(klass).items()
            if not name.startswith("__")
        )
    derived = type(cls.__name__, (PatientFrame,), namespace)
    derived.__module__ = cls.__module__
    return derived


def _schema_from_class(cls) -> TableSchema:
    columns = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            if isinstance(value, Series):
                if name == "patient_id":
                    raise DefinitionError(
                        "'patient_id' is present in every table; do not declare it"
                    )
                columns[name] = value._column()
    if not columns:
        raise DefinitionError(f"table '{cls.__name__}' declares no columns")
    return TableSchema(columns)


def _frame_base(cls) -> str:
    if issubclass(cls, EventFrame):
        return "event"
    if issubclass(cls, PatientFrame):
        return "patient"
    raise DefinitionError(
        f"table class '{cls.__name__}' must subclass PatientFrame or EventFrame"
    )


def table(cls: type) -> BaseFrame:
    """Turn a class declaring columns into a table that definitions can query.

    The class subclasses `PatientFrame` (one row per patient) or `EventFrame`
    (many rows per patient); its `Series` attributes are the columns, and its
    methods become helpers on every frame derived from the table.
    """
    schema = _schema_from_class(cls)
    if _frame_base(cls) == "event":
        node = qm.SelectTable(cls.__name__, schema)
    else:
        node = qm.SelectPatientTable(cls.__name__, schema)
    return cls(node)


def table_from_rows(rows: Iterable[Iterable]):
    """A decorator making a patient table from rows written in the definition.

    Each row is (patient_id, then one value per column, in declared order).
    """
    materialised = tuple(tuple(row) for row in rows)

    def decorator(cls):
        if _frame_base(cls) != "patient":
            raise DefinitionError("inline tables must be PatientFrame tables")
        schema = _schema_from_class(cls)
        converted = tuple(_convert_row(row, schema) for row in materialised)
        return cls(qm.InlinePatientTable(converted, schema))

    return decorator


def _convert_row(row, schema: TableSchema):
    if not row or not isinstance(row[0], int) or isinstance(row[0], bool):
        raise DefinitionError(
            f"each row must start with an integer patient_id, got {row!r}"
        )
    values = [row[0]]
    for (name, column), value in zip(schema.columns, row[1:]):
        values.append(coerce_cell(value, column.type, name))
    values.extend(row[len(values) :])
    return tuple(values)


def coerce_cell(value, type_, column_name: str):
    """A value given for a column (e.g. an ISO date string) as a value of the column's type.

    Empty strings and None are null; anything that cannot be read raises
    DefinitionError naming the column.
    """
    if value is None or value == "":
        return None
    try:
        if isinstance(value, str):
            if type_ is bool:
                if value in ("T", "F", "True", "False", "true", "false", "1", "0"):
                    return value in ("T", "True", "true", "1")
                raise ValueError
            if type_ is int:
                return int(value)
            if type_ is float:
                return float(value)
            if type_ is datetime.date:
                return datetime.date.fromisoformat(value)
            if qm.is_code_type(type_):
                return type_(value)
            return value
        if type_ is float and type(value) is int:
            return float(value)
        if not isinstance(value, type_) or (type_ is int and isinstance(value, bool)):
            raise ValueError
        return value
    except (ValueError, TypeError):
        raise DefinitionError(
            f"value {value!r} in column '{column_name}' is not a valid {type_name(type_)}"
        ) from None


def table_from_file(path: str | Path, *, columns: Mapping[str, type] | None = None):
    """A patient table read from a CSV (optionally gzipped) or Arrow file.

    Give the columns to read, by name and type, as public ehrQL documents:

        matched = table_from_file(
            "output/matched.arrow",
            columns={"age": int, "sex": str, "index_date": datetime.date},
        )

    The file needs a `patient_id` column (not listed in `columns`) and each
    column named; other columns in it are ignored. Used without `columns`,
    `@table_from_file(path)` decorates a `PatientFrame` class declaring the
    columns instead.
    """
    if columns is None:
        return _TableFromFileDecorator(Path(path))
    if not isinstance(columns, Mapping) or not columns:
        raise DefinitionError(
            "table_from_file() columns= must be a dict of column name -> type, "
            "e.g. columns={'age': int, 'index_date': datetime.date}"
        )
    attributes = {}
    for name, type_ in columns.items():
        if name == "patient_id":
            raise DefinitionError(
                "table_from_file() reads patient_id itself: leave it out of columns="
            )
        if not isinstance(name, str) or not _VALID_NAME.fullmatch(name):
            raise DefinitionError(
                f"table_from_file(): {name!r} is not a valid column name"
            )
        if not qm.is_valid_series_type(type_):
            raise DefinitionError(
                f"table_from_file(): column '{name}' has type {type_!r}; use bool, int, float, str, "
                "datetime.date or a code class from ehrql.codes"
            )
        attributes[name] = Series(type_)
    cls = type("PatientFrameFromFile", (PatientFrame,), attributes)
    return _TableFromFileDecorator(Path(path))(cls)


class _TableFromFileDecorator:
    """`@table_from_file(path)`: reads the file into the decorated PatientFrame class."""

    def __init__(self, path: Path):
        self._path = path

    def __call__(self, cls):
        if not isinstance(cls, type) or _frame_base(cls) != "patient":
            raise DefinitionError("tables from files must be PatientFrame tables")
        schema = _schema_from_class(cls)
        rows = _read_table_file(self._path, schema)
        _check_one_row_per_patient(self._path, cls.__name__, rows)
        converted = tuple(_convert_row(row, schema) for row in rows)
        return cls(qm.InlinePatientTable(converted, schema))

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        raise AttributeError(
            f"table_from_file({str(self._path)!r}) has no column '{name}': give its columns, as in "
            f"table_from_file({str(self._path)!r}, columns={{'{name}': int}})"
        )


def _check_one_row_per_patient(path: Path, table_name: str, rows: list[tuple]) -> None:
    seen = set()
    repeated = []
    for row in rows:
        if row[0] in seen and row[0] not in repeated:
            repeated.append(row[0])
        seen.add(row[0])
    if repeated:
        raise duplicate_patient_id_error(table_name, str(path), repeated)


def _read_table_file(path: Path, schema: TableSchema) -> list[tuple]:
    from ehrql.utils.study_files import check_in_study

    check_in_study(path, "table file")
    if not path.exists():
        raise DefinitionError(f"table file not found: {path}")
    names = ["patient_id", *schema.column_names]
    suffixes = "".join(path.suffixes[-2:])
    if path.suffix in (".arrow", ".feather"):
        import pyarrow.feather

        data = pyarrow.feather.read_table(path)
        missing = [n for n in names if n not in data.column_names]
        if missing:
            raise DefinitionError(f"{path} is missing columns: {', '.join(missing)}")
        columns = [data.column(n).to_pylist() for n in names]
        return [tuple(row) for row in zip(*columns)]
    if suffixes.endswith(".csv.gz") or path.suffix == ".csv":
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            missing = [n for n in names if n not in (reader.fieldnames or [])]
            if missing:
                raise DefinitionError(
                    f"{path} is missing columns: {', '.join(missing)}"
                )
            rows = []
            for line in reader:
                try:
                    patient_id = int(line["patient_id"])
                except ValueError:
                    raise DefinitionError(
                        f"{path} line {reader.line_num}: patient_id {line['patient_id']!r} "
                        "is not an integer"
                    ) from None
                rows.append((patient_id, *(line[n] for n in names[1:])))
            return rows
    raise DefinitionError(f"{path}: table files must be .csv, .csv.gz or .arrow")


# ---------------------------------------------------------------------------
# The dataset
# ---------------------------------------------------------------------------

_RESERVED_NAMES = {"patient_id", "population"}
_VALID_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_MAX_NAME_LENGTH = 100


@dataclasses.dataclass
class DummyDataConfig:
    """How to generate dummy data for a dataset."""

    population_size: int = 10
    legacy: bool = False
    timeout: int = 60
    additional_population_constraint: Any = None

    @classmethod
    def checked(
        cls, population_size, legacy, timeout, additional_population_constraint
    ) -> DummyDataConfig:
        """A config from a definition's arguments, refusing values that cannot work."""
        if (
            not isinstance(population_size, int)
            or isinstance(population_size, bool)
            or population_size < 1
        ):
            raise DefinitionError("population_size must be a positive integer")
        if not isinstance(legacy, bool):
            raise DefinitionError(f"legacy must be True or False, not {legacy!r}")
        if (
            not isinstance(timeout, (int, float))
            or isinstance(timeout, bool)
            or not timeout > 0
        ):
            raise DefinitionError(
                f"timeout must be a positive number of seconds, not {timeout!r}"
            )
        constraint = additional_population_constraint
        if constraint is not None and not (
            isinstance(constraint, BaseSeries)
            and constraint._qm_node.type is bool
            and constraint._qm_node.domain.is_patient
        ):
            raise DefinitionError(
                "additional_population_constraint must be a boolean patient series"
            )
        if legacy and constraint is not None:
            # As in public ehrQL: its legacy generator cannot take a constraint.
            raise DefinitionError(
                "additional_population_constraint cannot be used with legacy=True: "
                "drop legacy=True to constrain the dummy population"
            )
        return cls(population_size, legacy, timeout, constraint)


def _caller_location() -> tuple[str, int] | None:
    """(file, line) of the nearest caller outside the ehrql package: the user's own call."""
    package = os.path.dirname(os.path.abspath(__file__)) + os.sep
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not os.path.abspath(filename).startswith(package):
            return filename, frame.f_lineno
        frame = frame.f_back
    return None


class Dataset:
    """The table a definition extracts: one row per patient in the population.

    Set a population with `define_population()`, then add columns by
    assignment (`dataset.age = ...`) or with `add_column()`.
    """

    def __init__(self):
        object.__setattr__(self, "_population", None)
        object.__setattr__(self, "_variables", {})
        object.__setattr__(self, "_events", {})
        object.__setattr__(self, "dummy_data_config", DummyDataConfig())
        #: (file, line) of the user's call to define_population(), for messages.
        object.__setattr__(self, "population_defined_at", None)

    def define_population(self, population_condition) -> None:
        """Set which patients the dataset includes: a boolean patient series."""
        if self._population is not None:
            raise DefinitionError("the population has already been defined")
        if not isinstance(population_condition, BaseSeries):
            raise DefinitionError(
                "define_population() needs a boolean series with one value per patient, "
                f"got {_describe(population_condition)}"
            )
        node = population_condition._qm_node
        _refuse_parameters(node, "the population")
        try:
            qm.validate_population(node)
        except qm.PopulationValidationError as error:
            raise _reworded(error) from None
        object.__setattr__(self, "_population", node)
        object.__setattr__(self, "population_defined_at", _caller_location())

    def add_column(self, column_name: str, ehrql_query) -> None:
        """Add a column named `column_name` holding `ehrql_query`, a patient series."""
        self._validate_column_name(column_name)
        if not isinstance(ehrql_query, BaseSeries):
            raise DefinitionError(
                f"dataset.{column_name} must be a series with one value per patient, "
                f"not {_describe(ehrql_query)}"
            )
        node = ehrql_query._qm_node
        if not node.domain.is_patient:
            raise DefinitionError(
                f"dataset.{column_name} has many values per patient: pick one with "
                "an aggregation such as .first_for_patient() or .count_for_patient()"
            )
        if node.type is None:
            raise DefinitionError(f"dataset.{column_name} cannot be a bare None")
        _refuse_parameters(node, f"dataset.{column_name}")
        self._variables[column_name] = node

    def add_event_table(self, name: str, **columns) -> None:
        """Add an event-level output table `name` whose columns are the given event series.

        The columns must all be series of the same event frame (or patient-level
        series, repeated on each row). The table has a row for each row of that
        frame belonging to a patient in the population, with `patient_id` first.
        `generate-dataset --output DIR/:FORMAT` writes it to `DIR/<name>.FORMAT`,
        beside `DIR/dataset.FORMAT`.
        """
        self._validate_column_name(name, what="event table")
        if name == "dataset":
            # The patient-level table is written as `dataset` beside the event tables.
            raise DefinitionError(
                "'dataset' is the name of the patient-level output table: choose another name"
            )
        if not columns:
            raise DefinitionError(f"event table '{name}' needs at least one column")
        nodes = {}
        for column_name, series in columns.items():
            self._validate_column_name(column_name, what="column", check_existing=False)
            if not isinstance(series, BaseSeries):
                raise DefinitionError(
                    f"column '{column_name}' of event table '{name}' must be a series, "
                    f"not {_describe(series)}"
                )
            _refuse_parameters(
                series._qm_node, f"column '{column_name}' of event table '{name}'"
            )
            nodes[column_name] = series._qm_node
        if all(node.domain.is_patient for node in nodes.values()):
            raise DefinitionError(
                f"event table '{name}' needs at least one event series (such as "
                "clinical_events.date) to give it its rows; its columns are all patient-level"
            )
        # Patient-level columns repeat on each row; the event columns must share one frame.
        qm.Domain.union(*(n.domain for n in nodes.values()))
        self._events[name] = qm.FrozenDict(nodes)

    def configure_dummy_data(
        self,
        *,
        population_size: int = 10,
        legacy: bool = False,
        timeout: int = 60,
        additional_population_constraint=None,
    ) -> None:
        """Set how dummy data is generated when the definition runs without a database.

        `population_size`: how many patients to make (default 10). Fewer are
        made only when time runs out or no patient can satisfy the population;
        the log then says how many were made and why (naming the file and line
        of the condition no patient can meet), and a run that makes none
        fails. `timeout`: the most seconds to spend generating (default 60),
        counted in processor time, so that a busy machine makes the run slower
        but not shorter. `additional_population_constraint`: a boolean patient
        series every dummy patient must satisfy as well as the population, to
        shape the data (for instance, only patients over 18); it cannot be
        combined with `legacy`. `legacy`: public ehrQL's switch to its older
        generator; this version has only the current one, which it uses then,
        saying so in the log. The same definition always gives the same dummy
        data.
        """
        object.__setattr__(
            self,
            "dummy_data_config",
            DummyDataConfig.checked(
                population_size, legacy, timeout, additional_population_constraint
            ),
        )

    def __setattr__(self, name, value):
        self.add_column(name, value)

    def __getattr__(self, name):
        variables = self.__dict__.get("_variables", {})
        if name in variables:
            return _wrap(variables[name])
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(f"dataset has no column '{name}'")

    def _validate_column_name(self, name, what="column", check_existing=True):
        if not isinstance(name, str) or not _VALID_NAME.fullmatch(name):
            raise DefinitionError(
                f"{name!r} is not a valid {what} name: use letters, digits and "
                "underscores, starting with a letter"
            )
        if len(name) > _MAX_NAME_LENGTH:
            raise DefinitionError(
                f"{what} name '{name}' is longer than {_MAX_NAME_LENGTH} characters"
            )
        if name in _RESERVED_NAMES or keyword.iskeyword(name):
            raise DefinitionError(
                f"'{name}' is a reserved name and cannot be a {what} name"
            )
        if name in dir(type(self)):
            raise DefinitionError(
                f"'{name}' is a Dataset method and cannot be a {what} name"
            )
        if check_existing and (name in self._variables or name in self._events):
            raise DefinitionError(f"dataset.{name} has already been defined")

    def _compile(self) -> qm.Dataset:
        """The query model for this dataset."""
        if self._population is None:
            raise DefinitionError(
                "the dataset has no population: call dataset.define_population(...)"
            )
        return qm.Dataset(
            population=self._population,
            variables=qm.FrozenDict(self._variables),
            events=qm.FrozenDict(self._events),
        )


def _refuse_parameters(node: qm.Node, what: str) -> None:
    """Refuse a series using INTERVAL (the only parameter) in a dataset, where it never
    has a value: said here, at the user's line, rather than when the query runs."""
    names = sorted({n.name for n in qm.all_nodes(node) if isinstance(n, qm.Parameter)})
    if names:
        raise DefinitionError(
            f"{what} uses INTERVAL ({', '.join(names)}), which only has a value in a measure "
            "(create_measures); in a dataset, give fixed dates (constants, or get_parameter() values)"
        )


def create_dataset() -> Dataset:
    """A new, empty dataset."""
    return Dataset()


# ---------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------

_MISSING = object()


def get_parameter(name: str, type=str, default=_MISSING):
    """The value of the user argument `--name VALUE` given after `--` on the command line.

    `type` converts it (str, int, float, bool or any callable taking a
    string); for bool, `true`/`True`/`1`/`yes` and `false`/`False`/`0`/`no`
    are accepted, and a bare `--name` is True. Several values (`--name a b`,
    or `--name` given more than once) give a list. `default` (None included)
    is returned when the argument was not given; without a default, a missing
    argument is an error.
    """
    state = user_args.CURRENT.get()
    values = state.values(name) if state is not None else None
    if values is None:
        if default is not _MISSING:
            return default
        raise ParameterError(
            f"parameter '{name}' was not given: pass it after '--' on the command "
            f"line, e.g. `-- --{name} VALUE`"
        )
    if not values:
        if type is bool:
            return True
        raise ParameterError(f"user argument '--{name}' has no value after it")
    converted = [_convert_parameter(name, raw, type) for raw in values]
    return converted[0] if len(converted) == 1 else converted


def _convert_parameter(name: str, raw: str, type):
    if type is bool:
        if raw.lower() in ("true", "t", "yes", "1"):
            return True
        if raw.lower() in ("false", "f", "no", "0"):
            return False
        raise ParameterError(f"parameter '{name}' must be true or false, got {raw!r}")
    try:
        return type(raw)
    except (TypeError, ValueError):
        wanted = {int: "an integer", float: "a number"}.get(
            type, f"readable by {getattr(type, '__name__', type)}()"
        )
        raise ParameterError(
            f"parameter '{name}' must be {wanted}, got {raw!r}"
        ) from None
