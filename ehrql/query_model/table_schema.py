"""Table schemas: the typed, constrained columns of a table.

A schema is data, not behaviour: the dummy data generator, the docs and the
engines all read the same `Column` records.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Iterable
from typing import Any


class Constraint:
    """A rule every value of a column obeys. Subclasses name the rule."""

    @property
    def description(self) -> str:
        """The rule in words, for the docs."""
        raise NotImplementedError

    def validate(self, value) -> bool:
        """True when `value` (not null) obeys the rule."""
        return True


@dataclasses.dataclass(frozen=True)
class CategoricalConstraint(Constraint):
    """The value is one of a fixed set of categories."""

    values: tuple

    def __init__(self, *values):
        # Both Categorical("a", "b") and Categorical(["a", "b"]) are in use.
        if len(values) == 1 and isinstance(values[0], (list, tuple)):
            values = values[0]
        object.__setattr__(self, "values", tuple(values))

    @property
    def description(self):
        return "Possible values: " + ", ".join(f"`{v}`" for v in self.values)

    def validate(self, value):
        return value in self.values


@dataclasses.dataclass(frozen=True)
class NotNullConstraint(Constraint):
    """The value is never null."""

    @property
    def description(self):
        return "Never null"


@dataclasses.dataclass(frozen=True)
class UniqueConstraint(Constraint):
    """No two rows share the value."""

    @property
    def description(self):
        return "Unique: no two rows have the same value"


@dataclasses.dataclass(frozen=True)
class FirstOfMonthConstraint(Constraint):
    """The date is always the first of a month."""

    @property
    def description(self):
        return "Always the first day of a month"

    def validate(self, value):
        return isinstance(value, datetime.date) and value.day == 1


@dataclasses.dataclass(frozen=True)
class RegexConstraint(Constraint):
    """The string matches a regular expression in full."""

    regex: str

    @property
    def description(self):
        return f"Matches the regular expression: `{self.regex}`"

    def validate(self, value):
        return re.fullmatch(self.regex, value) is not None


@dataclasses.dataclass(frozen=True)
class ClosedRangeConstraint(Constraint):
    """The value lies between `minimum` and `maximum` inclusive, in steps of `step`."""

    minimum: Any
    maximum: Any
    step: Any = 1

    @property
    def description(self):
        step = f", in steps of {self.step}" if self.step != 1 else ""
        return f"Always between {self.minimum} and {self.maximum}{step}"

    def validate(self, value):
        return (
            self.minimum <= value <= self.maximum
            and (value - self.minimum) % self.step == 0
        )


@dataclasses.dataclass(frozen=True)
class GeneralRangeConstraint(Constraint):
    """The value lies above `minimum` and below `maximum` (either may be left open).

    Each bound is included unless `includes_minimum` / `includes_maximum` is
    False. Works for any ordered type: numbers or dates.
    """

    minimum: Any = None
    maximum: Any = None
    includes_minimum: bool = True
    includes_maximum: bool = True

    def __post_init__(self):
        if (
            self.minimum is not None
            and self.maximum is not None
            and self.minimum > self.maximum
        ):
            raise ValueError(
                f"GeneralRange: minimum {self.minimum!r} is above maximum {self.maximum!r}"
            )

    @property
    def description(self):
        parts = []
        if self.minimum is not None:
            parts.append(f"{'>=' if self.includes_minimum else '>'} {self.minimum}")
        if self.maximum is not None:
            parts.append(f"{'<=' if self.includes_maximum else '<'} {self.maximum}")
        return "Always " + " and ".join(parts) if parts else "Any value"

    def validate(self, value):
        if self.minimum is not None:
            if value < self.minimum or (
                value == self.minimum and not self.includes_minimum
            ):
                return False
        if self.maximum is not None:
            if value > self.maximum or (
                value == self.maximum and not self.includes_maximum
            ):
                return False
        return True


@dataclasses.dataclass(frozen=True)
class DateAfterConstraint(Constraint):
    """The date is on or after the date in each of the named columns (where set)."""

    columns: tuple

    def __init__(self, *columns):
        object.__setattr__(self, "columns", tuple(columns))

    @property
    def description(self):
        return "Never before: " + ", ".join(f"`{c}`" for c in self.columns)


# Public ehrQL spells these `Constraint.Categorical(...)` and so on.
Constraint.Categorical = CategoricalConstraint
Constraint.NotNull = NotNullConstraint
Constraint.Unique = UniqueConstraint
Constraint.FirstOfMonth = FirstOfMonthConstraint
Constraint.Regex = RegexConstraint
Constraint.ClosedRange = ClosedRangeConstraint
Constraint.GeneralRange = GeneralRangeConstraint
Constraint.DateAfter = DateAfterConstraint


@dataclasses.dataclass(frozen=True)
class Column:
    """One column of a table: its type, description and constraints."""

    type: Any
    description: str = ""
    constraints: tuple = ()
    #: Extra rules only for generated dummy data, to make it look realistic.
    dummy_data_constraints: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "constraints", tuple(self.constraints))
        object.__setattr__(
            self, "dummy_data_constraints", tuple(self.dummy_data_constraints)
        )

    def get_constraint(self, kind: type) -> Constraint | None:
        """The constraint of the given class, if the column has one."""
        return next((c for c in self.constraints if isinstance(c, kind)), None)

    @property
    def nullable(self) -> bool:
        return self.get_constraint(NotNullConstraint) is None


@dataclasses.dataclass(frozen=True)
class TableSchema:
    """The columns of a table, in order. Every table also has `patient_id`."""

    columns: tuple  # of (name, Column) pairs

    def __init__(self, columns: dict[str, Column] | Iterable = (), **kwargs):
        items = dict(columns)
        items.update(kwargs)
        if "patient_id" in items:
            raise ValueError(
                "'patient_id' is implicit in every table; do not declare it"
            )
        object.__setattr__(self, "columns", tuple(items.items()))

    @property
    def column_names(self) -> list[str]:
        return [name for name, _ in self.columns]

    @property
    def column_types(self) -> list[tuple[str, Any]]:
        return [(name, column.type) for name, column in self.columns]

    def get_column(self, name: str) -> Column:
        for column_name, column in self.columns:
            if column_name == name:
                return column
        raise KeyError(name)

    def get_column_type(self, name: str):
        return self.get_column(name).type
