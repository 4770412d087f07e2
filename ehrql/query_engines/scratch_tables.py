"""The tables the SQL compiler creates for intermediate results, and how they are named.

The compiler declares each intermediate table with `temp_table`, under a
plain name (`population_1`, `picked_4`, ...), and the dialect decides the
name it is created and read under (`SQLDialect.temp_table_name`): MS SQL
Server wants `#name` for a session table; Trino has no session tables, so
they go into a scratch schema under a prefix unique to the engine; DuckDB
keeps the plain name. The table carries a mark in its `info`, so a renderer
tells it from the database's own tables by what it is, never by its name.

`TempTableNaming` is the renderer side: mixed into a SQLAlchemy statement
compiler whose dialect has a `temp_table_name` method, it writes that name
wherever an intermediate table is read.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

#: The key in `Table.info` marking an intermediate table.
_TEMP_TABLE_MARK = "ehrql_temp_table"


def temp_table(
    name: str, columns: Iterable[tuple[str, sa.types.TypeEngine]]
) -> sa.Table:
    """An intermediate table called `name` (letters, digits and underscores) with typed columns."""
    return sa.Table(
        name,
        sa.MetaData(),
        *(sa.Column(column_name, type_) for column_name, type_ in columns),
        info={_TEMP_TABLE_MARK: True},
    )


def is_temp_table(table) -> bool:
    """Whether `table` is an intermediate table made by `temp_table`."""
    return isinstance(table, sa.Table) and table.info.get(_TEMP_TABLE_MARK, False)


class TempTableNaming:
    """Mixin for a SQLAlchemy statement compiler: intermediate tables under the dialect's names."""

    def visit_table(self, table, **kw):
        if is_temp_table(table):
            name = self.dialect.temp_table_name(table.name)
            # Columns are qualified by the plain name, so a FROM item takes it as its alias.
            return f"{name} AS {table.name}" if kw.get("asfrom") else name
        return super().visit_table(table, **kw)
