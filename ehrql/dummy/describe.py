"""Conditions written back in something close to the ehrQL a researcher wrote.

When dummy data falls short, the user is told which condition could not be
met. The query model has lost the definition's variable names, but its shape
still reads much like ehrQL: `clinical_events.where(...).count_for_patient() >= 2`.
Long descriptions are shortened, as they only have to identify the condition.
"""

from __future__ import annotations

import datetime

from ehrql.query_model import nodes as qm

#: Longer descriptions are cut to this many characters.
MAX_LENGTH = 160

_OPERATORS = {
    qm.Function.EQ: "==",
    qm.Function.NE: "!=",
    qm.Function.LT: "<",
    qm.Function.LE: "<=",
    qm.Function.GT: ">",
    qm.Function.GE: ">=",
    qm.Function.And: "&",
    qm.Function.Or: "|",
    qm.Function.Add: "+",
    qm.Function.Subtract: "-",
    qm.Function.Multiply: "*",
    qm.Function.TrueDivide: "/",
    qm.Function.FloorDivide: "//",
}

_AGGREGATES = {
    qm.AggregateByPatient.Sum: "sum_for_patient",
    qm.AggregateByPatient.Mean: "mean_for_patient",
    qm.AggregateByPatient.Min: "minimum_for_patient",
    qm.AggregateByPatient.Max: "maximum_for_patient",
    qm.AggregateByPatient.CountDistinct: "count_distinct_for_patient",
}

_METHODS = {
    qm.Function.IsNull: "is_null",
    qm.Function.CastToInt: "as_int",
    qm.Function.CastToFloat: "as_float",
    qm.Function.CastToStr: "as_str",
    qm.Function.YearFromDate: "year",
    qm.Function.MonthFromDate: "month",
    qm.Function.DayFromDate: "day",
    qm.Function.ToFirstOfYear: "to_first_of_year",
    qm.Function.ToFirstOfMonth: "to_first_of_month",
}

_DURATIONS = {
    qm.Function.DateAddYears: "years",
    qm.Function.DateAddMonths: "months",
    qm.Function.DateAddDays: "days",
    qm.Function.DateDifferenceInYears: "years",
    qm.Function.DateDifferenceInMonths: "months",
    qm.Function.DateDifferenceInDays: "days",
}


def describe_in_full(node: qm.Node) -> str:
    """The description of `describe`, however long: a stable key for ordering nodes."""
    return _describe(node)


def describe(node: qm.Node) -> str:
    """A one-line, ehrQL-like description of a series or frame, cut to `MAX_LENGTH`."""
    text = _describe(node)
    return text if len(text) <= MAX_LENGTH else text[: MAX_LENGTH - 3] + "..."


def _describe(node) -> str:
    if isinstance(node, qm.Value):
        return _value(node.value)
    if isinstance(node, qm.Parameter):
        return f"<{node.name}>"
    if isinstance(node, (qm.SelectTable, qm.SelectPatientTable)):
        return node.name
    if isinstance(node, qm.InlinePatientTable):
        return "<inline table>"
    if isinstance(node, qm.Filter):
        return f"{_describe(node.source)}.where({_describe(node.condition)})"
    if isinstance(node, qm.Sort):
        return _describe(node.source)
    if isinstance(node, qm.PickOneRowPerPatient):
        which = "first" if node.position == qm.Position.FIRST else "last"
        return f"{_describe(node.source)}.{which}_for_patient()"
    if isinstance(node, qm.SelectColumn):
        return f"{_describe(node.source)}.{node.name}"
    if isinstance(node, qm.AggregateByPatient.Exists):
        return f"{_describe(node.source)}.exists_for_patient()"
    if isinstance(node, qm.AggregateByPatient.Count):
        return f"{_describe(node.source)}.count_for_patient()"
    if type(node) in _AGGREGATES:
        return f"{_describe(node.source)}.{_AGGREGATES[type(node)]}()"
    if isinstance(node, qm.Function.Not):
        return f"~({_describe(node.source)})"
    if isinstance(node, qm.Function.Negate):
        return f"-{_describe(node.source)}"
    if type(node) in _OPERATORS:
        return f"({_describe(node.lhs)} {_OPERATORS[type(node)]} {_describe(node.rhs)})"
    if type(node) in _METHODS:
        suffix = "" if isinstance(node, qm.Function._DatePart) else "()"
        return f"{_describe(node.source)}.{_METHODS[type(node)]}{suffix}"
    if isinstance(node, qm.Function.In):
        return f"{_describe(node.lhs)}.is_in({_describe(node.rhs)})"
    if isinstance(node, qm.Function.StringContains):
        return f"{_describe(node.lhs)}.contains({_describe(node.rhs)})"
    if isinstance(node, qm.Function._DateAdd):
        return (
            f"({_describe(node.lhs)} + {_DURATIONS[type(node)]}({_describe(node.rhs)}))"
        )
    if isinstance(node, qm.Function._DateDifference):
        return (
            f"({_describe(node.lhs)} - {_describe(node.rhs)}).{_DURATIONS[type(node)]}"
        )
    if isinstance(node, qm.Function._Extremum):
        name = "maximum_of" if isinstance(node, qm.Function.MaximumOf) else "minimum_of"
        return f"{name}({', '.join(_describe(s) for s in node.sources)})"
    if isinstance(node, qm.Case):
        return "case(...)"
    return type(node).__name__


def _value(value) -> str:
    if isinstance(value, frozenset):
        items = sorted(value, key=repr)
        shown = ", ".join(_value(v) for v in items[:3])
        more = f", ... ({len(items)} in all)" if len(items) > 3 else ""
        return f"[{shown}{more}]"
    if isinstance(value, datetime.date):
        return f'"{value.isoformat()}"'
    if isinstance(value, str):
        return repr(value)
    if hasattr(value, "value") and isinstance(value.value, str):
        # A code: shown as its string, as a codelist lists it.
        return repr(value.value)
    return repr(value)
