"""A PostgreSQL dialect and engine in one file: what adding a SQL database to ehrql takes.

`PostgreSQLDialect` spells ehrQL's building blocks in PostgreSQL (the
abstract methods of `SQLDialect`, and the flags where PostgreSQL differs
from the standard); `PostgreSQLQueryEngine` is a `ServerSQLQueryEngine` for a
`postgresql://` DSN. Nothing else in ehrql changes for it: to ship it, this
module would move to `ehrql/query_engines/` and get one `EngineRecord`.

No PostgreSQL server runs in the tests, so the spec tests run it with every
statement translated by sqlglot (read="postgres", write="duckdb") and run on
an in-process DuckDB, through the same SQLAlchemy path a server would take
(`ServerSQLQueryEngine.run_select`). A pass shows the SQL means what we
intend as sqlglot reads PostgreSQL; the spec cases it cannot pass are listed
in `KNOWN_GAPS`, with the reason, and run as strict xfails, so that one that
starts passing is reported too.

Importing this module registers the engine with the tests
(`tests.lib.engines.register_test_engine`).
"""

from __future__ import annotations

import datetime

import duckdb
import sqlalchemy as sa
import sqlglot
from sqlalchemy.dialects import postgresql
from sqlalchemy.pool import StaticPool
from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types

from ehrql.query_engines.duckdb import duckdb_type_name, load_tables
from ehrql.query_engines.server_sql import ServerSQLQueryEngine
from ehrql.query_engines.sql_dialect import EPOCH, PYTHON_INT_PATTERN, Expr, SQLDialect
from tests.lib.engines import TableData, register_test_engine, run_query

#: Text Python's float() reads, apart from infinities and NaN (see `_SPECIAL_FLOAT_PATTERN`).
_DIGITS = r"[0-9](_?[0-9])*"
_FLOAT_PATTERN = (
    rf"^\s*[+-]?(({_DIGITS})?\.{_DIGITS}|{_DIGITS}\.?)([eE][+-]?{_DIGITS})?\s*$"
)
#: Infinities and NaN as Python's float() reads them, matched on lower-cased text.
_SPECIAL_FLOAT_PATTERN = r"^\s*[+-]?(inf|infinity|nan)\s*$"


class PostgreSQLDialect(SQLDialect):
    """PostgreSQL's spellings, where they differ from standard SQL."""

    # "named": the default (pyformat) would double every % in string constants.
    sqlalchemy_dialect = postgresql.dialect(paramstyle="named")
    sqlalchemy_name = "postgresql"

    # The backends' hex constructs are not spelled: this dialect reads the
    # public tables as they are, not TPP's or EMIS's raw ones.

    def parse_int(self, expr: Expr) -> Expr:
        """The integer Python's int() reads from the text, else null."""
        digits = sa.func.regexp_replace(expr, r"\s+|_", "", "g")
        return sa.case(
            (expr.regexp_match(PYTHON_INT_PATTERN), sa.cast(digits, sa.BigInteger())),
            else_=sa.null(),
        )

    def parse_float(self, expr: Expr) -> Expr:
        """The float Python's float() reads from the text, else null (PostgreSQL has no TRY_CAST)."""
        digits = sa.func.regexp_replace(expr, r"\s+|_", "", "g")
        readable = sa.or_(
            expr.regexp_match(_FLOAT_PATTERN),
            sa.func.lower(expr).regexp_match(_SPECIAL_FLOAT_PATTERN),
        )
        return sa.case((readable, sa.cast(digits, sa.Double())), else_=sa.null())

    def make_date(self, year: Expr, month: Expr, day: Expr) -> Expr:
        """make_date(), which takes INTs."""
        return sa.func.make_date(
            *(sa.cast(part, sa.Integer()) for part in (year, month, day))
        )

    def days_since_epoch(self, date: Expr) -> Expr:
        """A DATE minus a DATE is the days between them."""
        return sa.cast(date - self.literal(EPOCH), sa.BigInteger())

    def date_from_days_since_epoch(self, days: Expr) -> Expr:
        """A DATE plus an INT is a DATE."""
        return self.literal(EPOCH) + self.as_int32(days)

    def add_days_unchecked(self, date: Expr, days: Expr | int) -> Expr:
        """A DATE plus an INT."""
        return date + self.as_int32(days)

    def add_months_clamping(self, date: Expr, months: Expr) -> Expr:
        """A DATE plus a number of month intervals, which clamps a missing day to the month's last."""
        month = sa.literal_column("INTERVAL '1 month'", sa.Interval())
        return sa.cast(date + self.as_int32(months) * month, sa.Date())


class PostgreSQLQueryEngine(ServerSQLQueryEngine):
    """Runs datasets on PostgreSQL; `dsn` is `postgresql://user:password@host:port/database`."""

    dialect = PostgreSQLDialect()

    def sqlalchemy_url(self) -> sa.engine.URL:
        """The DSN, which SQLAlchemy reads as it is."""
        return sa.engine.make_url(self.dsn)

    def is_integer_overflow(self, error: Exception) -> bool:
        """PostgreSQL's numeric_value_out_of_range (SQLSTATE 22003)."""
        return getattr(getattr(error, "orig", None), "sqlstate", None) == "22003"


# -- running in the tests, translated to DuckDB ------------------------------


class _PostgreSQLOnDuckDB(PostgreSQLQueryEngine):
    """The engine, with every statement translated by sqlglot and run on one DuckDB connection."""

    def __init__(self, engine: sa.Engine, table_data: TableData):
        super().__init__(None)
        self._engine = engine
        self._schema = {
            table.name: {
                name: exp.DataType.build(duckdb_type_name(type_), dialect="duckdb")
                for name, type_ in [("patient_id", int), *table.schema.column_types]
            }
            for table in table_data
        }
        sa.event.listen(engine, "before_cursor_execute", self._translate, retval=True)

    def connect(self) -> sa.Engine:
        return self._engine

    def _translate(
        self, connection, cursor, statement, parameters, context, executemany
    ):
        # Type annotation lets sqlglot see that `/` on two integers is
        # PostgreSQL's integer division (a float division in DuckDB).
        parsed = annotate_types(
            sqlglot.parse_one(statement, read="postgres"), schema=self._schema
        )
        return parsed.sql("duckdb"), parameters

    def is_integer_overflow(self, error: Exception) -> bool:
        return isinstance(getattr(error, "orig", None), duckdb.OutOfRangeException)


def run_postgresql(table_data: TableData, query) -> list[tuple]:
    """Run a query on the PostgreSQL engine, translated to DuckDB."""
    engine = sa.create_engine("duckdb:///:memory:", poolclass=StaticPool)
    try:
        load_tables(engine.raw_connection().driver_connection, table_data)
        rows = run_query(_PostgreSQLOnDuckDB(engine, table_data), query)
    finally:
        engine.dispose()
    # sqlglot may turn date arithmetic into DuckDB timestamp arithmetic where
    # PostgreSQL gives dates; a whole-day timestamp is that date.
    return [tuple(_as_date(v) for v in row) for row in rows]


def _as_date(value):
    if isinstance(value, datetime.datetime) and value.time() == datetime.time(0):
        return value.date()
    return value


#: Spec tests (path under tests/spec, and test name) the translated engine
#: cannot pass, and why. Each is a gap in the translation to DuckDB, not a
#: known fault in the PostgreSQL spelling; each still needs checking on a
#: real PostgreSQL server before the dialect could ship.
KNOWN_GAPS: dict[str, str] = {}

register_test_engine("postgresql", run_postgresql, KNOWN_GAPS)
