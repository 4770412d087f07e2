"""What the engines for database servers (MS SQL Server, Trino) share: tables and running.

Both read tables through a backend, and both run
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


def backend_table(backend, table: qm.Frame) -> FromClause:
    """A table as the backend maps it; with no backend, the table of the same name.

    Excluded patients are not filtered here: the compiler applies the
    backend's inclusion condition to the population (`BaseSQLQueryEngine.patient_filter`).
    """
    if backend is None:
        return default_table(table)
    return backend.resolve_table(table)


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


def check_connection(url: str) -> None:
    """Connect to the server at the SQLAlchemy `url` and run `SELECT 1`; raise if that fails."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1")).fetchall()
    finally:
        engine.dispose()
