"""What the engines for database servers (MS SQL Server, Trino) share: tables and running.

Both read tables through a backend, and both run
a compiled dataset's statements on one SQLAlchemy connection, streaming the
results.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence

import sqlalchemy as sa
from sqlalchemy.sql.selectable import FromClause

from ehrql.backends.base import split_dsn_permissions
from ehrql.errors import EHRQLError
from ehrql.query_engines.base_sql import CompiledDataset, PatientTableCheck, default_table
from ehrql.query_model import nodes as qm

#: Rows fetched from the server at a time while streaming results.
FETCH_BATCH_SIZE = 10_000


def dsn_and_permissions(dsn: str | None, backend) -> tuple[str | None, frozenset[str]]:
    """The DSN the database sees, and the permissions it grants, checked against the backend.

    Permissions come from the DSN's `opensafely_include_<permission>=true`
    parameters (see `ehrql.backends.base.split_dsn_permissions`). A backend
    refuses any it cannot grant, before any connection is made, so that a job
    never runs believing it holds a permission the backend ignores.
    """
    if not dsn:
        return dsn, frozenset()
    dsn, granted = split_dsn_permissions(dsn)
    if backend is not None:
        granted = backend.check_permissions(granted)
    return dsn, granted


def backend_table(backend, table: qm.Frame, permissions: frozenset[str] = frozenset()) -> FromClause:
    """A table as the backend maps it, less any rows its access rules keep back
    from a job holding `permissions`; with no backend, the table of the same name.

    Excluded patients are not filtered here: the compiler applies the
    backend's inclusion condition to the population (`BaseSQLQueryEngine.patient_filter`).
    """
    if backend is None:
        return default_table(table)
    return backend.resolve_table(table, permissions)


#: Given a setup statement and the database's error running it, the error to raise instead.
SetupErrorExplainer = Callable[[str, Exception], Exception]


def run_statements(
    engine: sa.Engine,
    compiled: CompiledDataset,
    select: str,
    explain_setup_error: SetupErrorExplainer | None = None,
    checks: Sequence[PatientTableCheck] = (),
) -> Iterator[tuple]:
    """Run the setup on one connection (session tables live as long as it), stream `select`, clean up.

    Each of `checks` runs after the setup, before `select` (see
    `BaseSQLQueryEngine.patient_table_checks`). A database error in a setup
    statement is passed to `explain_setup_error`, if given, for an error that
    says what to do about it. When the run has failed, an error while
    cleaning up is not raised, so it cannot hide the error that matters.
    """
    with engine.connect() as connection:
        try:
            for statement in compiled.setup:
                try:
                    connection.exec_driver_sql(statement)
                except sa.exc.DBAPIError as error:
                    if explain_setup_error is None:
                        raise
                    raise explain_setup_error(statement, error) from error
            for check in checks:
                check.raise_for(connection.exec_driver_sql(check.sql).fetchall(), "the database")
            result = connection.execution_options(stream_results=True).exec_driver_sql(select)
            while batch := result.fetchmany(FETCH_BATCH_SIZE):
                yield from (tuple(row) for row in batch)
        except BaseException:
            with contextlib.suppress(sa.exc.DBAPIError):
                _clean_up(connection, compiled.cleanup)
            raise
        _clean_up(connection, compiled.cleanup)


def _clean_up(connection: sa.Connection, statements) -> None:
    for statement in statements:
        connection.exec_driver_sql(statement)
    connection.commit()


class DriverMissingError(EHRQLError):
    """The database driver an engine connects with is not installed."""


#: SQLAlchemy driver name -> the ehrql extra that installs its package.
_DRIVER_EXTRAS = {"mssql+pyodbc": "mssql", "trino": "trino"}


def server_engine(url: sa.engine.URL | str) -> sa.Engine:
    """A SQLAlchemy engine for `url`, or a clear error naming the package its driver needs.

    No connection is made until a statement runs.
    """
    try:
        return sa.create_engine(url)
    except ImportError as error:
        drivername = sa.engine.make_url(url).drivername
        extra = _DRIVER_EXTRAS.get(drivername, drivername)
        raise DriverMissingError(
            f"connecting to {drivername.split('+')[0]} needs the {error.name} package: "
            f"install it with pip install 'ehrql[{extra}]'"
        ) from error


def check_connection(url: str) -> None:
    """Connect to the server at the SQLAlchemy `url` and run `SELECT 1`; raise if that fails."""
    engine = server_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1")).fetchall()
    finally:
        engine.dispose()
