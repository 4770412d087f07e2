"""The Trino engine: compiles datasets to Trino SQL and runs them through the trino client.

Intermediate tables: most Trino catalogs have no temporary tables, so each
intermediate result is a real table created with CREATE TABLE ... AS in a
scratch schema (by default the DSN's own catalog and schema, which must
accept CREATE TABLE), named with a prefix unique to the engine, so that
concurrent jobs never share a name, and dropped when the results have been
read. CTEs alone cannot replace them: the population is one statement and the
results another, and inline tables and long code lists need rows stored.

Otherwise Trino differs from standard SQL in small ways: date_add/date_diff
with a unit, date_trunc for the start of a year or month, truncate() before
a CAST to BIGINT (which would round), regexp_like to parse integers as
Python does, and GREATEST/LEAST that return null if any argument is null.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterator, Sequence
from urllib import parse

import sqlalchemy as sa
from sqlalchemy.sql.selectable import FromClause
from trino.sqlalchemy.compiler import TrinoSQLCompiler
from trino.sqlalchemy.dialect import TrinoDialect as _TrinoSQLAlchemyDialect

from ehrql.backends.base import split_dsn_permissions
from ehrql.query_engines.base_sql import BaseSQLQueryEngine
from ehrql.query_engines.scratch_tables import is_scratch_table
from ehrql.query_engines.server_sql import backend_table, check_connection, run_statements
from ehrql.query_engines.sql_dialect import Expr, SQLDialect
from ehrql.query_model import nodes as qm

#: Python's int() accepts surrounding whitespace, a sign and digits grouped by single underscores.
_PYTHON_INT = r"^\s*[+-]?[0-9]+(_[0-9]+)*\s*$"

_EPOCH = datetime.date(1970, 1, 1)


class _ScratchTableCompiler(TrinoSQLCompiler):
    """The trino compiler, writing intermediate tables under the dialect's scratch names."""

    def visit_table(self, table, **kw):
        if is_scratch_table(table):
            # Columns are qualified by the plain name, so the FROM item takes it as its alias.
            name = self.dialect.scratch_name(table.name)
            return f"{name} AS {table.name}" if kw.get("asfrom") else name
        return super().visit_table(table, **kw)


class _EhrqlTrinoSQLAlchemyDialect(_TrinoSQLAlchemyDialect):
    """The trino SQLAlchemy dialect, knowing where intermediate tables go."""

    statement_compiler = _ScratchTableCompiler

    def __init__(self, scratch_schema: str | None, table_prefix: str, **kwargs):
        super().__init__(**kwargs)
        self._scratch_schema = scratch_schema
        self._table_prefix = table_prefix

    def scratch_name(self, name: str) -> str:
        """The (possibly schema-qualified) name an intermediate table is created under."""
        quoted = self.identifier_preparer.quote_identifier(self._table_prefix + name)
        if self._scratch_schema is None:
            return quoted
        return f"{self._scratch_schema}.{quoted}"


class TrinoDialect(SQLDialect):
    """Trino's spellings, where they differ from standard SQL (see the module docstring).

    `scratch_schema` is `catalog.schema` (already quoted if it needs to be)
    for intermediate tables, or None for the session's current schema;
    `table_prefix` starts every intermediate table's name.
    """

    def __init__(self, scratch_schema: str | None = None, table_prefix: str = "ehrql_tmp_"):
        self.sqlalchemy_dialect = _EhrqlTrinoSQLAlchemyDialect(scratch_schema, table_prefix)

    # -- arithmetic -------------------------------------------------------

    def integer_divide_truncating(self, lhs: Expr, rhs: Expr) -> Expr:
        """`/` on two BIGINTs truncates in Trino (SQLAlchemy's `/` would cast to a decimal)."""
        return lhs.op("/", precedence=_DIVISION_PRECEDENCE)(rhs)

    def true_divide(self, lhs: Expr, rhs: Expr) -> Expr:
        """DOUBLE division; null when rhs is zero."""
        divisor = sa.func.nullif(sa.cast(rhs, sa.Double()), 0)
        return sa.cast(lhs, sa.Double()).op("/", precedence=_DIVISION_PRECEDENCE)(divisor)

    def floor_divide(self, lhs: Expr, rhs: Expr, operand_type) -> Expr:
        """Integers exactly (see `SQLDialect`); floats as floor() of DOUBLE division."""
        if operand_type is float:
            return sa.cast(sa.func.floor(self.true_divide(lhs, rhs)), sa.BigInteger())
        return super().floor_divide(lhs, rhs, operand_type)

    # -- casts --------------------------------------------------------------

    def cast_to_int(self, expr: Expr, source_type) -> Expr:
        """Trino's CAST of a DOUBLE to BIGINT rounds, so truncate towards zero first."""
        if source_type is float:
            return sa.cast(sa.func.truncate(expr), sa.BigInteger())
        return super().cast_to_int(expr, source_type)

    def parse_int(self, expr: Expr) -> Expr:
        """An integer where the text is one Python's int() reads, else null."""
        digits = sa.func.regexp_replace(sa.func.regexp_replace(expr, r"^\s+|\s+$", ""), "_", "")
        return sa.case((sa.func.regexp_like(expr, _PYTHON_INT), sa.try_cast(digits, sa.BigInteger())), else_=sa.null())

    def parse_float(self, expr: Expr) -> Expr:
        """TRY_CAST to DOUBLE of the text without surrounding whitespace (Python ignores it)."""
        return sa.try_cast(sa.func.trim(expr), sa.Double())

    # -- dates --------------------------------------------------------------

    def to_first_of_year(self, date: Expr) -> Expr:
        """date_trunc('year', ...), which keeps the DATE type."""
        return sa.func.date_trunc("year", date, type_=sa.Date())

    def to_first_of_month(self, date: Expr) -> Expr:
        """date_trunc('month', ...)."""
        return sa.func.date_trunc("month", date, type_=sa.Date())

    def days_since_epoch(self, date: Expr) -> Expr:
        """date_diff in days from 1970-01-01."""
        return sa.func.date_diff("day", self.literal(_EPOCH), date)

    def date_from_days_since_epoch(self, days: Expr) -> Expr:
        """date_add in days from 1970-01-01."""
        return sa.func.date_add("day", days, self.literal(_EPOCH))

    def add_days_unchecked(self, date: Expr, days) -> Expr:
        """date_add in days."""
        return sa.func.date_add("day", days, date)

    def add_months_clamping(self, date: Expr, months: Expr) -> Expr:
        """date_add in months, which clamps a missing day to the month's last."""
        return sa.func.date_add("month", months, date)

    def date_add_years(self, date: Expr, years: Expr) -> Expr:
        """Whole years as 12 months each, giving null (not an overflow) for enormous year counts."""
        limit = 9999
        months = sa.case((years.between(-limit, limit), years * 12), else_=sa.null())
        return self.date_add_months(date, months)

    def date_difference_in_days(self, end: Expr, start: Expr) -> Expr:
        """date_diff in days."""
        return sa.func.date_diff("day", start, end)

    # -- across series ------------------------------------------------------

    def greatest_ignoring_nulls(self, values: Sequence[Expr]) -> Expr:
        """greatest() with each null replaced by some present value, which cannot change the maximum.

        Trino's greatest() is null when any argument is; replaced this way it
        is null only when every argument is.
        """
        return sa.func.greatest(*_nulls_filled(values))

    def least_ignoring_nulls(self, values: Sequence[Expr]) -> Expr:
        """least() with nulls filled as for `greatest_ignoring_nulls`."""
        return sa.func.least(*_nulls_filled(values))

    # -- statements ---------------------------------------------------------

    def create_temp_table(self, table: sa.Table, query) -> list[str]:
        """CREATE TABLE ... AS, each column cast to its declared type (an all-null column has none)."""
        name = self.sqlalchemy_dialect.scratch_name(table.name)
        return [f"CREATE TABLE {name} AS {self.render(self.typed_select(table, query))}"]

    def create_temp_table_from_rows(self, table: sa.Table, rows: Sequence[tuple]) -> list[str]:
        """CREATE TABLE with declared columns, filled by INSERT ... VALUES in batches."""
        name = self.sqlalchemy_dialect.scratch_name(table.name)
        columns = ", ".join(
            f"{self.quote(c.name)} {c.type.compile(dialect=self.sqlalchemy_dialect)}" for c in table.columns
        )
        statements = [f"CREATE TABLE {name} ({columns})"]
        for start in range(0, len(rows), self.insert_batch_size):
            batch = rows[start : start + self.insert_batch_size]
            values = ", ".join("(" + ", ".join(self.literal_sql(v) for v in row) + ")" for row in batch)
            statements.append(f"INSERT INTO {name} VALUES {values}")
        return statements

    def drop_temp_table(self, table: sa.Table) -> list[str]:
        """DROP TABLE IF EXISTS on the scratch table."""
        return [f"DROP TABLE IF EXISTS {self.sqlalchemy_dialect.scratch_name(table.name)}"]


def _nulls_filled(values: Sequence[Expr]) -> list[Expr]:
    return [sa.func.coalesce(v, *values) for v in values]


_DIVISION_PRECEDENCE = sa.sql.operators._PRECEDENCE[sa.sql.operators.truediv]


def sqlalchemy_url(dsn: str) -> sa.engine.URL:
    """The SQLAlchemy URL for an ehrQL Trino DSN: `trino://user[:password]@host:port/catalog/schema`.

    Query parameters are passed on to the trino client.
    """
    if not dsn:
        raise ValueError("a database connection needs a DSN (--dsn)")
    parts = parse.urlsplit(dsn)
    if parts.scheme != "trino":
        raise ValueError(f"a Trino DSN starts trino://, not {parts.scheme}://")
    return sa.engine.make_url(dsn)


def scratch_schema(dsn: str | None) -> str | None:
    """`catalog.schema` of a Trino DSN, quoted, or None when the DSN names none."""
    if not dsn:
        return None
    path = [parse.unquote(p) for p in parse.urlsplit(dsn).path.split("/") if p]
    if len(path) != 2:
        return None
    return ".".join('"' + p.replace('"', '""') + '"' for p in path)


class TrinoQueryEngine(BaseSQLQueryEngine):
    """Runs datasets on Trino; `dsn` is `trino://user@host:port/catalog/schema`.

    Intermediate tables go into the DSN's catalog and schema (see the module
    docstring). Permissions granted through the DSN are passed to the backend.
    """

    def __init__(self, dsn: str | None, backend=None, table_prefix: str | None = None):
        self.dsn, self.permissions = split_dsn_permissions(dsn) if dsn else (dsn, frozenset())
        self.backend = backend
        prefix = table_prefix if table_prefix is not None else f"ehrql_tmp_{uuid.uuid4().hex[:12]}_"
        self.dialect = TrinoDialect(scratch_schema(self.dsn), prefix)

    def resolve_table(self, table: qm.Frame) -> FromClause:
        """The backend's mapping of the table (the compiler leaves out excluded patients)."""
        return backend_table(self.backend, table)

    def get_results(self, dataset: qm.Dataset) -> Iterator[tuple]:
        """Rows of (patient_id, *variables) ordered by patient_id, streamed from Trino."""
        compiled = self.compile(dataset)
        yield from run_statements(sa.create_engine(sqlalchemy_url(self.dsn)), compiled, compiled.select)

    def test_connection(self) -> None:
        """Connect and run a trivial query, raising if the database cannot be reached."""
        check_connection(sqlalchemy_url(self.dsn))

    def get_event_results(self, dataset: qm.Dataset) -> dict[str, list[tuple]]:
        """For each event table of the dataset, its (patient_id, *columns) rows, sorted."""
        compiled = self.compile(dataset)
        engine = sa.create_engine(sqlalchemy_url(self.dsn))
        return {name: list(run_statements(engine, compiled, select)) for name, select in compiled.event_selects}
