"""Keeping the values of `Unique` columns unique across all generated rows."""

from __future__ import annotations

import random

from ehrql.dummy.recipes import RowRecipe
from ehrql.query_model.table_schema import NotNullConstraint, UniqueConstraint


class UniqueValues:
    """Keeps values of Unique columns unique across every generated row."""

    def __init__(self, tables: list):
        self._columns = {
            table: [
                n for n, c in table.schema.columns if c.get_constraint(UniqueConstraint)
            ]
            for table in tables
        }
        self._seen: dict = {}

    def make_unique(
        self, table, row: dict, recipe: RowRecipe | None, rng: random.Random
    ) -> dict:
        """`row`, with any repeated unique value replaced by a fresh one (or null)."""
        columns = self._columns.get(table, ())
        if not columns:
            return row
        row = dict(row)
        for name in columns:
            seen = self._seen.setdefault((table, name), set())
            value = row[name]
            if value is not None and value in seen and recipe is not None:
                choice = dict(recipe.choices)[name]
                for _ in range(50):
                    value = choice.sample(rng)
                    if value not in seen:
                        break
            if value is not None and value in seen:
                value = _fresh_value(table, name, seen)
            row[name] = value
            if value is not None:
                seen.add(value)
        return row


def _fresh_value(table, name: str, seen: set):
    """A value not yet used, for a unique column whose pool has run dry."""
    column = table.schema.get_column(name)
    # An unconstrained integer (an id) can always go one higher.
    if column.type is int and all(
        isinstance(c, (UniqueConstraint, NotNullConstraint)) for c in column.constraints
    ):
        return max(seen) + 1
    if column.nullable:
        return None
    raise ValueError(
        f"ran out of unique values for {table.name}.{name}: "
        "its constraints allow too few values for this many patients"
    )
