"""What the engines for database servers (MS SQL Server, Trino) share: tables and running.

Both read tables through a backend, which may exclude patients, and both run
a compiled dataset's statements on one SQLAlchemy connection, streaming the
results.
"""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.sql.selectable import FromClause

from ehrql.query_engines.base_sql import CompiledDataset, default_table
from ehrql.query_model import nodes as qm

#: Rows fetched from the server at a time while streaming results.
FETCH_BATCH_SIZE = 10_000


def restricted_table(backend, table: qm.Frame, permissions: frozenset[str]) -> FromClause:
    """A table as the backend maps it, keeping only patients its inclusion condition allows.

    Filtering every table keeps excluded patients out of every population and
    every value; with no backend, the table of the same name.
    """
    if backend is None:
        return default_table(table)
    relation = backend.resolve_table(table)
    condition = backend.inclusion_condition(relation.c.patient_id, permissions)
    if condition is None:
        return relation
    return sa.select(*relation.c).where(condition).subquery(f"{table.name}_included")


def run_statements(engine: sa.Engine, compiled: CompiledDataset, select: str) -> Iterator[tuple]:
    """Run the setup on one connection (session tables live as long as it), stream `select`, clean up."""
    with engine.connect() as connection:
        try:
            for statement in compiled.setup:
                connection.exec_driver_sql(statement)
            result = connection.execution_options(stream_results=True).exec_driver_sql(select)
            while batch := result.fetchmany(FETCH_BATCH_SIZE):
                yield from (tuple(row) for row in batch)
        finally:
            for statement in compiled.cleanup:
                connection.exec_driver_sql(statement)
            connection.commit()
