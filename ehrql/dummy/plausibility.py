"""Soft rules that make filler rows look like real records.

Nothing in a schema says an event cannot come before the patient's birth, or a
registration end before it starts, but dummy data full of such rows looks
wrong and hides bugs in date logic. These rules are read from column names
(`date_of_birth`, `date_of_death`, `start_date`, `end_date` and the like) and
only shape filler rows: rows the population requires are never held to them.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable

from ehrql.query_model import nodes as qm

RowCheck = Callable[[dict, dict], bool]


def _tokens(name: str) -> set:
    return set(name.lower().split("_"))


def _date_columns(table: qm.Frame, *words: str) -> list[str]:
    return [
        name
        for name, column in table.schema.columns
        if column.type is datetime.date and (not words or _tokens(name) & set(words))
    ]


def plausibility_check(table: qm.Frame) -> RowCheck | None:
    """A check that a row of `table` keeps its dates in a plausible order, or
    None when its column names suggest no rule.

    Within the row, "end" dates are not before "start" dates and "death" dates
    not before "birth" dates; against the patient's other tables (the
    context), no date is before their birth or after their death.
    """
    dates = _date_columns(table)
    if not dates:
        return None
    ordered_pairs = [
        (early, late)
        for early_word, late_word in (("start", "end"), ("birth", "death"))
        for early in _date_columns(table, early_word)
        for late in _date_columns(table, late_word)
    ]
    own_life = set(_date_columns(table, "birth", "death"))
    # Dates about the patient's own life are not themselves bounded by it.
    bounded = [d for d in dates if d not in own_life]

    def check(row: dict, context: dict) -> bool:
        for early, late in ordered_pairs:
            if (
                row[early] is not None
                and row[late] is not None
                and row[late] < row[early]
            ):
                return False
        if not bounded:
            return True
        born, died = life_span(context)
        for name in bounded:
            value = row[name]
            if value is None:
                continue
            if (born is not None and value < born) or (
                died is not None and value > died
            ):
                return False
        return True

    return check


@functools.lru_cache(maxsize=1024)
def _life_role(table_name: str, column_name: str) -> str | None:
    """What a patient table's date column says of the life: "birth", "death" or None."""
    words = _tokens(column_name)
    # Every date of a table about deaths (`ons_deaths.date`) is a death date.
    if _tokens(table_name) & {"death", "deaths"}:
        words = words | {"death"}
    if "birth" in words:
        return "birth"
    if "death" in words:
        return "death"
    return None


def life_bounded_columns(table: qm.Frame) -> tuple:
    """The date columns of `table` that should fall within the patient's life."""
    own_life = set(_date_columns(table, "birth", "death"))
    return tuple(d for d in _date_columns(table) if d not in own_life)


#: Where the generator may keep a patient's (birth, death) once known.
LIFE_SPAN_KEY = ("life span",)


def life_span(context: dict) -> tuple:
    """(birth, death) of the patient whose rows `context` holds (either may be None)."""
    known = context.get(LIFE_SPAN_KEY)
    return known if known is not None else _life_span(context)


def _life_span(context: dict) -> tuple:
    """(birth, death) dates found in the patient's rows of patient tables."""
    born = died = None
    for table_name, patient_row in context.items():
        # Only patient tables' rows (dicts) say when the patient lived; event
        # tables appear in the context as lists of rows.
        # Inline tables' rows are keyed by their node, not by a name.
        if not isinstance(patient_row, dict) or not isinstance(table_name, str):
            continue
        for name, value in patient_row.items():
            if not isinstance(value, datetime.date):
                continue
            role = _life_role(table_name, name)
            if role == "birth":
                born = value if born is None else max(born, value)
            elif role == "death":
                died = value if died is None else min(died, value)
    return born, died
