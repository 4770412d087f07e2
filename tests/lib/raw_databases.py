"""A backend's raw database, recreated in DuckDB for tests.

`RawDatabase.create(backend, path)` builds every raw table the backend
declares; `insert` adds raw rows; `rows` runs a backend expression and returns
its rows as dicts. Mappings are written to render on DuckDB as well as on the
provider's engine, which is what makes this stand-in meaningful.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path

import sqlalchemy as sa

from ehrql.backends.base import Backend


@dataclasses.dataclass(frozen=True)
class RawDatabase:
    """A DuckDB database holding one backend's raw tables."""

    backend: Backend
    engine: sa.Engine

    @classmethod
    def create(cls, backend: Backend, path: Path) -> RawDatabase:
        """A new database file at `path` with the backend's raw tables, all empty."""
        engine = sa.create_engine(f"duckdb:///{path}")
        backend.raw_metadata.create_all(engine)
        return cls(backend, engine)

    def insert(self, table_name: str, *rows: dict) -> RawDatabase:
        """Add rows to a raw table; a column a row leaves out is NULL."""
        table = self.backend.raw_table(table_name)
        unknown = {key for row in rows for key in row} - set(table.c.keys())
        if unknown:
            raise KeyError(f"{table_name} has no column(s) {sorted(unknown)}")
        with self.engine.begin() as connection:
            connection.execute(
                table.insert(),
                [{c: row.get(c) for c in table.c.keys()} for row in rows],
            )
        return self

    def rows(self, selectable) -> list[dict]:
        """The rows of a SELECT or FROM clause, as dicts, in patient then column order."""
        query = (
            selectable if isinstance(selectable, sa.Select) else sa.select(selectable)
        )
        with self.engine.connect() as connection:
            result = [dict(row._mapping) for row in connection.execute(query)]
        return sorted(result, key=_sort_key)

    def table(self, table_name: str, schema) -> list[dict]:
        """The rows of a public table as the backend maps it."""
        return self.rows(self.backend.table_expression(table_name, schema))

    def dispose(self) -> None:
        """Close the database's connections."""
        self.engine.dispose()


def _sort_key(row: dict) -> tuple:
    # NULL sorts first; values are only compared with values of the same column.
    return tuple(
        (value is not None, value if value is not None else 0) for value in row.values()
    )


def public_schema(frame) -> tuple[str, object]:
    """A public table's name and schema, from its ehrQL frame."""
    return frame._qm_node.name, frame._qm_node.schema


def column_values(rows: Iterable[dict], column: str) -> list:
    """One column of a list of row dicts."""
    return [row[column] for row in rows]
