"""What the engines for database servers (MS SQL Server, Trino) share: `ServerSQLQueryEngine`.

A server engine reads tables through a backend, takes permissions off its
DSN, and runs a compiled dataset's statements on one SQLAlchemy connection,
streaming the results. A new server database is a subclass giving its
dialect and how its DSN becomes a SQLAlchemy URL.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence

import sqlalchemy as sa

from ehrql.backends.base import split_dsn_permissions
from ehrql.errors import EHRQLError
from ehrql.query_engines import DRIVER_EXTRAS
from ehrql.query_engines.base_sql import (
    BaseSQLQueryEngine,
    CompiledDataset,
    PatientTableCheck,
)
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
                check.raise_for(
                    connection.exec_driver_sql(check.sql).fetchall(), "the database"
                )
            result = connection.execution_options(stream_results=True).exec_driver_sql(
                select
            )
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


def server_engine(url: sa.engine.URL | str) -> sa.Engine:
    """A SQLAlchemy engine for `url`, or a clear error naming the package its driver needs.

    No connection is made until a statement runs.
    """
    try:
        return sa.create_engine(url)
    except ImportError as error:
        drivername = sa.engine.make_url(url).drivername
        extra = DRIVER_EXTRAS.get(drivername, drivername)
        raise DriverMissingError(
            f"connecting to {drivername.split('+')[0]} needs the {error.name} package: "
            f"install it with pip install 'ehrql[{extra}]'"
        ) from error


class ServerSQLQueryEngine(BaseSQLQueryEngine):
    """Runs datasets on a database server through SQLAlchemy.

    Permissions granted through the DSN (`opensafely_include_<permission>=true`)
    are taken off it, checked against the backend (one it cannot grant is
    refused before connecting) and passed to its patient exclusions. No
    connection is made until results are asked for, so the SQL of a dataset
    can be printed with no server (`dump-dataset-sql`).

    Subclasses set `dialect` and `sqlalchemy_url`.
    """

    def __init__(self, dsn: str | None, backend=None):
        self.dsn, self.permissions = dsn_and_permissions(dsn, backend)
        self.backend = backend

    def sqlalchemy_url(self) -> sa.engine.URL:
        """The SQLAlchemy URL of the server the DSN names."""
        raise NotImplementedError(
            f"{type(self).__name__} must say how its DSN becomes a SQLAlchemy URL"
        )

    def connect(self) -> sa.Engine:
        """A SQLAlchemy engine for the server (no connection is made yet)."""
        return server_engine(self.sqlalchemy_url())

    def setup_error_explainer(self) -> SetupErrorExplainer | None:
        """What turns a database error in a setup statement into an error saying what to
        do about it (see `run_statements`); None: the database's own error is raised."""
        return None

    def run_select(
        self, dataset: qm.Dataset, compiled: CompiledDataset, select: str
    ) -> Iterator[tuple]:
        """Run the statements on one connection, streaming the rows of `select`."""
        return run_statements(
            self.connect(),
            compiled,
            select,
            self.setup_error_explainer(),
            self.patient_table_checks(dataset),
        )

    def test_connection(self) -> None:
        """Connect and run `SELECT 1`, raising if the database cannot be reached."""
        engine = self.connect()
        try:
            with engine.connect() as connection:
                connection.execute(sa.text("SELECT 1")).fetchall()
        finally:
            engine.dispose()
