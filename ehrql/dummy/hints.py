"""The values a definition cares about, read from its query model.

Codes from codelists, categories compared against, the dates of study
windows: dummy data drawn near these values exercises the definition, where
blind sampling would almost never hit a codelist or a window.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable

from ehrql.query_model import nodes as qm
from ehrql.query_model.semantics import apply_function, function_arguments

_COMPARISONS = (
    qm.Function._Comparison,  # EQ, NE, LT, LE, GT, GE
    qm.Function.In,
    # Searching a multi-code string for a code counts as mentioning the code.
    qm.Function.StringContains,
)


@dataclasses.dataclass(frozen=True)
class Hints:
    """Constants found in a definition.

    `by_column` maps (table name, column name) to the constants that column is
    compared with; `by_type` maps a value type to every constant of that type;
    `dates` are all date constants, including those worked out from date
    arithmetic on constants (e.g. `"2020-01-01" - years(1)`).
    """

    by_column: dict
    by_type: dict
    dates: tuple

    def for_column(self, table_name: str, column_name: str) -> tuple:
        """Constants compared directly with the column, in a stable order."""
        return self.by_column.get((table_name, column_name), ())

    def for_type(self, type_) -> tuple:
        """Every constant of `type_` in the definition, in a stable order."""
        return self.by_type.get(type_, ())


def collect_hints(roots: Iterable[qm.Node]) -> Hints:
    """Gather the constants of every node reachable from `roots`."""
    constants: dict = {}
    by_column: dict = {}
    by_type: dict = {}
    for root in roots:
        for node in qm.all_nodes(root):
            _fold_constant(node, constants)
            for value in _values_of(node, constants):
                by_type.setdefault(type(value), {})[value] = None
            if isinstance(node, _COMPARISONS):
                _attribute(node, constants, by_column)
    dates = tuple(sorted(by_type.get(datetime.date, {})))
    return Hints(
        by_column={key: _stable(values) for key, values in by_column.items()},
        by_type={type_: _stable(values) for type_, values in by_type.items()},
        dates=dates,
    )


def _fold_constant(node, constants: dict) -> None:
    """Record the value of `node` when it is computed from constants alone."""
    if isinstance(node, qm.Value):
        constants[node] = node.value
        return
    if not isinstance(node, qm.Function._Base):
        return
    args = function_arguments(node)
    if all(a in constants for a in args):
        try:
            constants[node] = apply_function(node, *(constants[a] for a in args))
        except (TypeError, ValueError, OverflowError):
            pass


def _values_of(node, constants: dict):
    if node not in constants:
        return ()
    value = constants[node]
    if isinstance(value, frozenset):
        return tuple(value)
    if value is None or isinstance(value, bool):
        return ()
    return (value,)


def _attribute(node, constants: dict, by_column: dict) -> None:
    """Credit the constant side of a comparison to the column on the other side."""
    lhs, rhs = node.lhs, node.rhs
    for column_side, constant_side in ((lhs, rhs), (rhs, lhs)):
        if constant_side not in constants or column_side in constants:
            continue
        column = _column_of(column_side)
        if column is None:
            continue
        for value in _values_of(constant_side, constants):
            by_column.setdefault(column, {})[value] = None


def _column_of(series) -> tuple | None:
    """(table name, column name) when `series` reads exactly one table column."""
    columns = {
        (getattr(qm.root_table(n.source), "name", None), n.name)
        for n in qm.all_nodes(series)
        if isinstance(n, qm.SelectColumn)
    }
    if len(columns) != 1:
        return None
    column = columns.pop()
    return None if column[0] is None else column


def _stable(values: dict) -> tuple:
    # Sets of codes and strings iterate in a hash order that changes between
    # runs; sorting keeps generation deterministic for a seed.
    try:
        return tuple(sorted(values))
    except TypeError:
        return tuple(sorted(values, key=repr))
