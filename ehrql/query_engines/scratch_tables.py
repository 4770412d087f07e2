"""Recognising the tables the SQL compiler creates for intermediate results.

The compiler names each intermediate table `<purpose>_<n>` (`population_1`,
`picked_4`, ...) and declares it as a `sqlalchemy.Table` in a `MetaData` of its
own. Databases that cannot create a table under that plain name (MS SQL Server
wants `#name` for a session table; Trino has no session tables, so they go
into a scratch schema under a unique prefix) rename them while rendering, and
use this module to tell them apart from the database's own tables.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

#: The prefixes `ehrql.query_engines.base_sql` gives its intermediate tables.
_COMPILER_TABLE_NAME = re.compile(r"(population|inline|values|picked|aggregated|intervals)_[0-9]+")


def is_scratch_table(table) -> bool:
    """Whether `table` is an intermediate table the compiler made (not a database table).

    A backend's raw tables share one `MetaData` with the rest of its schema, and
    tables read by name are `sa.table` clauses, so neither is mistaken for one.
    """
    return (
        isinstance(table, sa.Table)
        and table.schema is None
        and len(table.metadata.tables) == 1
        and _COMPILER_TABLE_NAME.fullmatch(table.name) is not None
    )
