"""The Trino engine: compiles datasets to Trino SQL and runs them through the trino client.

Intermediate tables: most Trino catalogs have no temporary tables, so each
intermediate result is a real table created with CREATE TABLE ... AS in a
scratch schema, named with a prefix unique to the engine, so that
concurrent jobs never share a name, and dropped when the results have been
read. The scratch schema is the DSN's own catalog and schema, unless the DSN
names another with `?ehrql_scratch_schema=catalog.schema` (for when the
schema holding the data is read-only); the connecting user needs CREATE
TABLE and DROP TABLE rights there. CTEs alone cannot replace these tables:
the population is one statement and the results another, and inline tables
and long code lists need rows stored.

Otherwise Trino differs from standard SQL in small ways: date_add/date_diff
with a unit, date_trunc for the start of a year or month, truncate() before
a CAST to BIGINT (which would round), regexp_like to parse integers as
Python does, and GREATEST/LEAST that return null if any argument is null.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from urllib import parse

import sqlalchemy as sa
from trino.sqlalchemy.compiler import TrinoSQLCompiler
from trino.sqlalchemy.dialect import TrinoDialect as _TrinoSQLAlchemyDialect

from ehrql.backends.expressions import hex_text, hex_to_int
from ehrql.errors import EHRQLError
from ehrql.query_engines.base_sql import CompiledDataset
from ehrql.query_engines.scratch_tables import TempTableNaming, temp_table
from ehrql.query_engines.server_sql import ServerSQLQueryEngine, run_statements
from ehrql.query_engines.sql_dialect import EPOCH, PYTHON_INT_PATTERN, Expr, SQLDialect


class _ScratchTableCompiler(TempTableNaming, TrinoSQLCompiler):
    """The trino compiler, writing intermediate tables under the dialect's scratch names."""


class _EhrqlTrinoSQLAlchemyDialect(_TrinoSQLAlchemyDialect):
    """The trino SQLAlchemy dialect, knowing where intermediate tables go."""

    statement_compiler = _ScratchTableCompiler

    def __init__(self, scratch_schema: str | None, table_prefix: str, **kwargs):
        super().__init__(**kwargs)
        self._scratch_schema = scratch_schema
        self._table_prefix = table_prefix

    def temp_table_name(self, name: str) -> str:
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

    sqlalchemy_name = "trino"

    construct_spellings = {hex_text: "to_hex({})", hex_to_int: "from_base({}, 16)"}

    #: Trino has no temporary tables: intermediate tables are ordinary ones
    #: in the scratch schema (CREATE TABLE ... AS, each column cast to its
    #: declared type: an all-null column has none), dropped at cleanup.
    create_table_keywords = "CREATE TABLE"
    cast_created_columns = True
    #: CAST of a DOUBLE to BIGINT rounds, so truncate towards zero first.
    truncate_function = "truncate"
    greatest_ignores_nulls = False

    def __init__(
        self, scratch_schema: str | None = None, table_prefix: str = "ehrql_tmp_"
    ):
        self.sqlalchemy_dialect = _EhrqlTrinoSQLAlchemyDialect(
            scratch_schema, table_prefix
        )

    def parse_int(self, expr: Expr) -> Expr:
        """An integer where the text is one Python's int() reads, else null."""
        digits = sa.func.regexp_replace(
            sa.func.regexp_replace(expr, r"^\s+|\s+$", ""), "_", ""
        )
        return sa.case(
            (
                sa.func.regexp_like(expr, PYTHON_INT_PATTERN),
                sa.try_cast(digits, sa.BigInteger()),
            ),
            else_=sa.null(),
        )

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
        return sa.func.date_diff("day", self.literal(EPOCH), date)

    def date_from_days_since_epoch(self, days: Expr) -> Expr:
        """date_add in days from 1970-01-01."""
        return sa.func.date_add("day", days, self.literal(EPOCH))

    def add_days_unchecked(self, date: Expr, days) -> Expr:
        """date_add in days."""
        return sa.func.date_add("day", days, date)

    def add_months_clamping(self, date: Expr, months: Expr) -> Expr:
        """date_add in months, which clamps a missing day to the month's last."""
        return sa.func.date_add("month", months, date)

    def date_difference_in_days(self, end: Expr, start: Expr) -> Expr:
        """date_diff in days."""
        return sa.func.date_diff("day", start, end)


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


#: The DSN query parameter naming the catalog and schema for intermediate tables.
SCRATCH_SCHEMA_PARAMETER = "ehrql_scratch_schema"


class ScratchSchemaError(EHRQLError):
    """No usable schema for intermediate tables: none named, or no right to create tables there."""


def split_scratch_schema(dsn: str | None) -> tuple[str | None, str | None]:
    """The DSN the trino client sees, and the quoted `"catalog"."schema"` for intermediate tables.

    The schema is the `ehrql_scratch_schema` query parameter (`catalog.schema`,
    taken off the DSN), else the DSN's own `/catalog/schema`. With no DSN
    (only printing SQL) it is None, and tables are named without one.
    """
    if not dsn:
        return dsn, None
    parts = parse.urlsplit(dsn)
    query = parse.parse_qsl(parts.query, keep_blank_values=True)
    named = [value for key, value in query if key == SCRATCH_SCHEMA_PARAMETER]
    if len(named) > 1:
        raise ScratchSchemaError(
            f"the DSN gives '{SCRATCH_SCHEMA_PARAMETER}' more than once"
        )
    if named:
        path = named[0].split(".")
        if len(path) != 2 or not all(path):
            raise ScratchSchemaError(
                f"'{SCRATCH_SCHEMA_PARAMETER}' must be catalog.schema (two names and a dot), not '{named[0]}'"
            )
        kept = [(key, value) for key, value in query if key != SCRATCH_SCHEMA_PARAMETER]
        dsn = parts._replace(query=parse.urlencode(kept)).geturl()
    else:
        path = [parse.unquote(p) for p in parts.path.split("/") if p]
        if len(path) != 2:
            raise ScratchSchemaError(
                "the Trino DSN names no schema for ehrQL's intermediate tables: give one as "
                f"trino://user@host:port/catalog/schema, or add ?{SCRATCH_SCHEMA_PARAMETER}=catalog.schema"
            )
    quote = _TrinoSQLAlchemyDialect().identifier_preparer.quote_identifier
    return dsn, ".".join(quote(p) for p in path)


def _explain_setup_error(scratch: str | None) -> Callable[[str, Exception], Exception]:
    """How a failure to create an intermediate table is reported: where, and what to do."""

    def explain(statement: str, error: Exception) -> Exception:
        if not statement.lstrip().upper().startswith(("CREATE TABLE", "INSERT INTO")):
            return error
        return ScratchSchemaError(
            f"cannot create ehrQL's intermediate tables in {scratch or 'the session schema'}: "
            f"{getattr(error, 'orig', error)}. The DSN's user needs CREATE TABLE and DROP TABLE "
            f"rights there; to use another schema, add ?{SCRATCH_SCHEMA_PARAMETER}=catalog.schema to the DSN"
        )

    return explain


class TrinoQueryEngine(ServerSQLQueryEngine):
    """Runs datasets on Trino; `dsn` is `trino://user@host:port/catalog/schema`.

    Intermediate tables go into the DSN's catalog and schema, or the one its
    `ehrql_scratch_schema` parameter names (see the module docstring).
    Permissions granted through the DSN are checked against the backend (one
    it cannot grant is refused before connecting) and passed to its patient
    exclusions.
    """

    def __init__(self, dsn: str | None, backend=None, table_prefix: str | None = None):
        super().__init__(dsn, backend)
        self.dsn, self.scratch_schema = split_scratch_schema(self.dsn)
        prefix = (
            table_prefix
            if table_prefix is not None
            else f"ehrql_tmp_{uuid.uuid4().hex[:12]}_"
        )
        self.dialect = TrinoDialect(self.scratch_schema, prefix)

    def sqlalchemy_url(self) -> sa.engine.URL:
        """The trino client's URL for the DSN (see the module's `sqlalchemy_url`)."""
        return sqlalchemy_url(self.dsn)

    def setup_error_explainer(self) -> Callable[[str, Exception], Exception]:
        """A failure to create an intermediate table says where, and what rights are needed."""
        return _explain_setup_error(self.scratch_schema)

    def test_connection(self) -> None:
        """Connect, run a trivial query, and create and drop a table in the scratch schema.

        Raises if the database cannot be reached, or (`ScratchSchemaError`)
        if intermediate tables cannot be created where they would go.
        """
        super().test_connection()
        table = temp_table("connection_check", [("ok", sa.Integer())])
        check = CompiledDataset(
            setup=tuple(
                self.dialect.create_temp_table(
                    table, sa.select(sa.literal(1).label("ok"))
                )
            ),
            select=f"SELECT ok FROM {self.dialect.temp_table_name(table.name)}",
            cleanup=tuple(self.dialect.drop_temp_table(table)),
        )
        list(
            run_statements(
                self.connect(), check, check.select, self.setup_error_explainer()
            )
        )
