"""The MS SQL Server engine: compiles datasets to T-SQL and runs them over ODBC.

T-SQL differs from standard SQL in ways the shared compiler never sees, so
they are handled while rendering, by `_TSQLCompiler`:

* there is no boolean type for expressions: a predicate (`a = b`, `x IS NULL`,
  `p AND q`) may stand only where a condition is expected, and a BIT value
  only where a value is. The renderer knows which position each expression is
  in, and converts: a predicate used as a value becomes
  `CASE WHEN p THEN 1 WHEN NOT p THEN 0 END` (null stays null), a BIT value
  used as a condition becomes `v = 1`;
* ORDER BY has no NULLS FIRST/LAST; ascending order already puts nulls first
  and descending order puts them last, which are the two orders ehrQL asks for;
* session tables are named `#name`.

Everything else is an `SQLDialect` override: DATEADD/DATEDIFF date arithmetic
with range guards (T-SQL raises an error on a date out of range, rather than
giving null), text compared, sorted and aggregated under a binary
collation (TPP's own collation ignores case, where ehrQL does not: see
`MSSQLDialect.comparable`), MIN and MAX of BIT by way of INT (T-SQL has no
MIN or MAX of BIT), CHARINDEX for substring tests, TRY_CAST for parsing
strings, and a VALUES subquery for GREATEST/LEAST, which only SQL Server
2022 has.

The connection is opened only when results are asked for, so the SQL of a
dataset can be printed with no server (`dump-dataset-sql`).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from urllib import parse

import sqlalchemy as sa
from sqlalchemy.dialects.mssql.base import MSIdentifierPreparer, MSSQLCompiler
from sqlalchemy.dialects.mssql.pyodbc import MSDialect_pyodbc
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import elements, operators
from sqlalchemy.sql.expression import FunctionElement

from ehrql.backends.expressions import hex_text, hex_to_int, mssql_collate
from ehrql.query_engines.scratch_tables import (
    TempTableNaming,
    is_temp_table,
    temp_table,
)
from ehrql.query_engines.server_sql import ServerSQLQueryEngine
from ehrql.query_engines.sql_dialect import (
    EPOCH,
    MAX_DATE,
    MAX_MONTHS_SHIFT,
    MIN_DATE,
    Expr,
    SQLDialect,
    comparison,
)
from ehrql.query_model import nodes as qm

#: The ODBC driver named in the connection URL when the DSN does not name one.
DEFAULT_ODBC_DRIVER = "ODBC Driver 18 for SQL Server"

#: Collation of text columns in session tables: the TPP database's own, so that
#: comparing a session table's text with a raw table's raises no collation conflict.
SESSION_TABLE_COLLATION = "Latin1_General_CI_AS"

#: Collation under which text compares by code point, hence case-sensitively
#: and in the order Python sorts strings (BIN2 rather than BIN, whose order is
#: not quite code point order for Unicode text).
BINARY_COLLATION = "Latin1_General_BIN2"

#: Series types T-SQL cannot take MIN or MAX of (BIT), and the SQL type they
#: are aggregated as instead; the result is cast back.
AGGREGATED_AS = {bool: sa.Integer()}

_BIT_TRUE = sa.literal_column("CAST(1 AS BIT)")
_BIT_FALSE = sa.literal_column("CAST(0 AS BIT)")
_ONE = sa.literal_column("1")

#: Operators whose result is a T-SQL predicate rather than a value.
_PREDICATE_OPERATORS = frozenset(
    {
        operators.eq, operators.ne, operators.lt, operators.le, operators.gt, operators.ge,
        operators.is_, operators.is_not, operators.in_op, operators.not_in_op,
        operators.between_op, operators.not_between_op, operators.like_op, operators.not_like_op,
        operators.inv, operators.exists, operators.and_, operators.or_,
    }
)  # fmt: skip


def is_predicate(element) -> bool:
    """Whether T-SQL reads `element` as a condition (true, false or unknown) rather than a value."""
    while isinstance(element, (elements.Grouping, elements.Label)):
        element = element.element
    if isinstance(element, (elements.BooleanClauseList, elements.AsBoolean, sa.Exists)):
        return True
    # Only these carry an operator that decides; a ClauseList's and_ (BETWEEN's
    # bounds) is punctuation.
    if not isinstance(element, (elements.BinaryExpression, elements.UnaryExpression)):
        return False
    operator = element.operator
    if operator is None:
        return False
    if isinstance(operator, operators.custom_op):
        return operator.is_comparison
    return operator in _PREDICATE_OPERATORS


def as_value(element):
    """`element` written so that it may stand where T-SQL expects a value."""
    if not is_predicate(element):
        return element
    # NOT p is unknown exactly when p is, so an unknown condition gives null.
    return sa.case((element, _BIT_TRUE), (sa.not_(element), _BIT_FALSE))


def as_predicate(element):
    """`element` written so that it may stand where T-SQL expects a condition."""
    if is_predicate(element):
        return element
    return elements.Grouping(element).op("=", is_comparison=True)(_ONE)


class _TSQLCompiler(TempTableNaming, MSSQLCompiler):
    """SQLAlchemy's MS SQL compiler, putting predicates and values where T-SQL allows them."""

    def visit_label(self, label, **kw):
        if kw.get("within_columns_clause") and is_predicate(label.element):
            label = as_value(label.element).label(label.name)
        return super().visit_label(label, **kw)

    def visit_binary(self, binary, **kw):
        left, right = as_value(binary.left), as_value(binary.right)
        if left is not binary.left or right is not binary.right:
            binary = elements.BinaryExpression(
                left.self_group(), right.self_group(), binary.operator,
                type_=binary.type, negate=binary.negate, modifiers=binary.modifiers,
            )  # fmt: skip
        return super().visit_binary(binary, **kw)

    def visit_expression_clauselist(self, clauselist, **kw):
        # AND and OR of conditions; BETWEEN's bounds are also an and_ list, of values.
        if isinstance(clauselist, elements.BooleanClauseList):
            separator = " AND " if clauselist.operator is operators.and_ else " OR "
            return separator.join(
                self.process(as_predicate(c).self_group(), **kw)
                for c in clauselist.clauses
            )
        return super().visit_expression_clauselist(clauselist, **kw)

    def _generate_delimited_and_list(self, clauses, **kw):
        # WHERE and HAVING criteria.
        return super()._generate_delimited_and_list(
            [as_predicate(c) for c in clauses], **kw
        )

    def visit_unary(self, unary, **kw):
        if unary.operator is operators.inv:
            return "NOT " + self.process(
                as_predicate(unary.element).self_group(against=operators.inv), **kw
            )
        if unary.operator is operators.distinct_op:
            return "DISTINCT " + self.process(as_value(unary.element), **kw)
        if unary.modifier in (operators.nulls_first_op, operators.nulls_last_op):
            return self._null_ordering(unary, **kw)
        if unary.modifier in (operators.asc_op, operators.desc_op):
            direction = " ASC" if unary.modifier is operators.asc_op else " DESC"
            return self.process(as_value(unary.element), **kw) + direction
        return super().visit_unary(unary, **kw)

    def _null_ordering(self, unary, **kw):
        """An ORDER BY term with NULLS FIRST/LAST, which T-SQL lacks."""
        inner = unary.element
        descending = getattr(inner, "modifier", None) is operators.desc_op
        nulls_first = unary.modifier is operators.nulls_first_op
        if nulls_first != descending:
            # Ascending puts nulls first and descending puts them last already.
            return self.process(inner, **kw)
        key = (
            inner.element
            if getattr(inner, "modifier", None) in (operators.asc_op, operators.desc_op)
            else inner
        )
        flag = sa.case(
            (as_value(key).is_(None), 0 if nulls_first else 1),
            else_=1 if nulls_first else 0,
        )
        return self.process(flag, **kw) + ", " + self.process(inner, **kw)

    def visit_case(self, clause, **kw):
        parts = ["CASE"]
        for condition, result in clause.whens:
            parts.append(
                f"WHEN {self.process(as_predicate(condition), **kw)} THEN {self.process(as_value(result), **kw)}"
            )
        if clause.else_ is not None:
            parts.append(f"ELSE {self.process(as_value(clause.else_), **kw)}")
        return " ".join([*parts, "END"])

    def visit_cast(self, cast, **kw):
        return f"CAST({self.process(as_value(cast.clause), **kw)} AS {self.process(cast.typeclause, **kw)})"

    def function_argspec(self, func, **kw):
        arguments = ", ".join(self.process(as_value(a), **kw) for a in func.clauses)
        return f"({arguments})"

    def visit_true(self, expr, **kw):
        return "CAST(1 AS BIT)"

    def visit_false(self, expr, **kw):
        return "CAST(0 AS BIT)"


class _SessionTableIdentifiers(MSIdentifierPreparer):
    """Names tables as SQL Server does, and the compiler's intermediate tables as session tables.

    INSERT names its target table through here rather than through the
    statement compiler.
    """

    def format_table(self, table, use_schema=True, name=None):
        if name is None and is_temp_table(table):
            return self.dialect.temp_table_name(table.name)
        return super().format_table(table, use_schema=use_schema, name=name)


class _EhrqlMSDialect(MSDialect_pyodbc):
    """SQLAlchemy's pyodbc MS SQL dialect with the T-SQL renderer above."""

    statement_compiler = _TSQLCompiler
    preparer = _SessionTableIdentifiers

    def temp_table_name(self, name: str) -> str:
        """`#name`: a session table, private to the connection and dropped when it closes.

        Compiler table names are letters, digits and underscores, so need no quoting.
        """
        return f"#{name}"


class _extremum_of_values(FunctionElement):
    """MAX or MIN over a row of values, skipping nulls: `(SELECT MAX(v) FROM (VALUES (a), (b)) ...)`.

    One subclass per aggregate, so that the aggregate is part of the class
    (and of SQLAlchemy's cache key), not an attribute it cannot see.
    """

    inherit_cache = True
    aggregate: str

    def __init__(self, *values):
        super().__init__(*values)
        self.type = values[0].type


class _max_of_values(_extremum_of_values):
    inherit_cache = True
    name = "max_of_values"
    aggregate = "MAX"


class _min_of_values(_extremum_of_values):
    inherit_cache = True
    name = "min_of_values"
    aggregate = "MIN"


@compiles(_max_of_values, "mssql")
@compiles(_min_of_values, "mssql")
def _extremum_of_values_mssql(element, compiler, **kw):
    rows = ", ".join(
        f"({compiler.process(as_value(v), **kw)})" for v in element.clauses
    )
    return f"(SELECT {element.aggregate}(v) FROM (VALUES {rows}) AS extremum_values(v))"


def _datepart(part: str):
    # DATEADD and DATEDIFF take the unit as a bare keyword, not a string.
    return sa.literal_column(part)


class MSSQLDialect(SQLDialect):
    """T-SQL spellings, where they differ from standard SQL (see the module docstring)."""

    sqlalchemy_dialect = _EhrqlMSDialect()
    sqlalchemy_name = "mssql"

    construct_spellings = {
        # Style 2 writes the bytes as hex digits with no 0x prefix.
        hex_text: "CONVERT(VARCHAR(MAX), {}, 2)",
        # Style 2 reads hex digits without a 0x prefix into bytes, read as a number.
        hex_to_int: "CAST(CONVERT(VARBINARY(8), {}, 2) AS BIGINT)",
        mssql_collate: "{} COLLATE {collation}",
    }

    #: CAST to BIGINT truncates a FLOAT towards zero, as Python's int() does.
    cast_to_int_truncates = True
    #: T-SQL's own null ordering is the one ehrQL asks for (see the module docstring).
    supports_nulls_ordering = False
    #: Without N, text outside the database's code page would be mangled.
    unicode_string_prefix = "N"

    # -- types and constants ---------------------------------------------

    def column_type(self, type_) -> sa.types.TypeEngine:
        """BIT, BIGINT, DOUBLE PRECISION (FLOAT(53)), DATE or VARCHAR(MAX): the T-SQL type of a series type."""
        if type_ is datetime.date:
            # SQLAlchemy spells the generic Date as DATETIME until it has met a server.
            return sa.DATE()
        return super().column_type(type_)

    def natural_log(self, expr: Expr) -> Expr:
        """T-SQL's LOG, which with one argument is the natural logarithm."""
        return sa.func.log(expr)

    # -- comparing and ordering ---------------------------------------------

    def comparable(self, expr: Expr, type_) -> Expr:
        """Text under a binary collation, whatever the column's own.

        TPP's database collation (Latin1_General_CI_AS) ignores case, so
        without this 'abc' = 'ABC', is_in() would match across case, and
        count_distinct_for_patient() would count 'a' and 'A' once, where ehrQL
        compares text exactly. An explicit COLLATE also outranks both sides'
        column collations, so comparing a session table's text with a raw
        table's never raises a collation conflict.
        """
        if _is_text(type_) and not isinstance(expr, elements.Null):
            return _collate(expr)
        return expr

    def compare(self, operator: str, lhs: Expr, rhs: Expr, type_) -> Expr:
        """Text equality also tested under the columns' own collation, so that SQL Server can use an index.

        A column under an explicit COLLATE cannot be looked up in its index.
        Text equal under the binary collation is equal under any other, so
        adding the collation's own (possibly case-insensitive) equality
        changes no answer, null included, but lets SQL Server seek on it.
        """
        exact = super().compare(operator, lhs, rhs, type_)
        if operator != "=" or not _is_text(type_):
            return exact
        return sa.and_(comparison(operator, lhs, rhs), exact)

    def is_in(self, lhs: Expr, candidates, type_) -> Expr:
        """Text membership also tested under the column's own collation, for an index (see `compare`)."""
        exact = super().is_in(lhs, candidates, type_)
        if not _is_text(type_):
            return exact
        return sa.and_(lhs.in_(candidates), exact)

    def minimum_aggregate(self, expr: Expr, type_) -> Expr:
        """MIN, by way of `AGGREGATED_AS` for types T-SQL cannot aggregate (BIT)."""
        return self._aggregate(sa.func.min, expr, type_)

    def maximum_aggregate(self, expr: Expr, type_) -> Expr:
        """MAX, by way of `AGGREGATED_AS` for types T-SQL cannot aggregate (BIT)."""
        return self._aggregate(sa.func.max, expr, type_)

    def _aggregate(self, function, expr: Expr, type_) -> Expr:
        stand_in = AGGREGATED_AS.get(type_)
        if stand_in is None:
            return function(self.comparable(expr, type_))
        return sa.cast(function(sa.cast(expr, stand_in)), self.column_type(type_))

    # -- casts --------------------------------------------------------------

    def parse_int(self, expr: Expr) -> Expr:
        """TRY_CAST, except for blank text, which T-SQL would read as 0.

        Python also accepts digits grouped with underscores ("1_000"); T-SQL
        does not, so such text gives null here.
        """
        return sa.case(
            (expr == "", sa.null()), else_=sa.try_cast(expr, sa.BigInteger())
        )

    def parse_float(self, expr: Expr) -> Expr:
        """TRY_CAST to FLOAT, except for blank text, which T-SQL would read as 0."""
        return sa.case((expr == "", sa.null()), else_=sa.try_cast(expr, sa.Double()))

    def cast_to_str(self, expr: Expr, source_type) -> Expr:
        """Text as VARCHAR(MAX); dates as ISO text (style 23 is yyyy-mm-dd)."""
        if source_type is datetime.date:
            return sa.func.convert(
                sa.literal_column("VARCHAR(10)"), expr, sa.literal_column("23")
            )
        return super().cast_to_str(expr, source_type)

    # -- strings ------------------------------------------------------------

    def string_contains(self, haystack: Expr, needle: Expr) -> Expr:
        """CHARINDEX under a binary collation, so case matters and % or _ are plain characters.

        CHARINDEX finds no empty needle, where Python finds one in any string;
        DATALENGTH rather than LEN, since LEN ignores trailing spaces.
        """
        found = sa.func.charindex(_collate(needle), _collate(haystack)) > 0
        empty = sa.and_(sa.func.datalength(needle) == 0, haystack.is_not(None))
        return sa.or_(found, empty)

    # -- dates --------------------------------------------------------------

    def make_date(self, year: Expr, month: Expr, day: Expr) -> Expr:
        """DATEFROMPARTS (SQL Server 2012 on)."""
        return sa.func.datefromparts(year, month, day)

    def days_since_epoch(self, date: Expr) -> Expr:
        """DATEDIFF in days from 1970-01-01, as BIGINT so that adding a large number cannot overflow INT."""
        return sa.cast(
            sa.func.datediff(_datepart("day"), self.literal(EPOCH), date),
            sa.BigInteger(),
        )

    def date_from_days_since_epoch(self, days: Expr) -> Expr:
        """DATEADD counts in INT; the caller has checked the result is a valid date."""
        return sa.func.dateadd(
            _datepart("day"), sa.cast(days, sa.Integer()), self.literal(EPOCH)
        )

    def add_days_unchecked(self, date: Expr, days) -> Expr:
        """DATEADD in days."""
        return sa.func.dateadd(_datepart("day"), self.as_int32(days), date)

    def add_months_clamping(self, date: Expr, months: Expr) -> Expr:
        """DATEADD in months, which clamps a missing day to the month's last."""
        return sa.func.dateadd(_datepart("month"), sa.cast(months, sa.Integer()), date)

    def date_add_months(self, date: Expr, months: Expr) -> Expr:
        """`date` moved by whole months, rolling a missing day forward; null outside years 1-9999.

        DATEADD raises an error, rather than giving null, for a result out
        of range, so the target month is checked first; T-SQL evaluates a
        CASE's branches in order, so DATEADD only sees shifts it can make.
        The roll forward never leaves the range: a day is only missing in a
        month shorter than December.
        """
        month_index = (
            self.date_part("year", date) * 12 + self.date_part("month", date) - 1
        )
        target = month_index + months
        shifted = self.add_months_clamping(date, months)
        return sa.case(
            (sa.not_(months.between(-MAX_MONTHS_SHIFT, MAX_MONTHS_SHIFT)), sa.null()),
            (
                sa.not_(target.between(MIN_DATE.year * 12, MAX_DATE.year * 12 + 11)),
                sa.null(),
            ),
            (
                self.date_part("day", shifted) < self.date_part("day", date),
                self.add_days_unchecked(shifted, 1),
            ),
            else_=shifted,
        )

    def date_difference_in_days(self, end: Expr, start: Expr) -> Expr:
        """DATEDIFF in days counts midnights crossed, which for DATEs is the exact difference."""
        return sa.cast(sa.func.datediff(_datepart("day"), start, end), sa.BigInteger())

    # -- across series ------------------------------------------------------

    def greatest_ignoring_nulls(self, values: Sequence[Expr]) -> Expr:
        """MAX over a VALUES row, which skips nulls; GREATEST needs SQL Server 2022."""
        return _max_of_values(*values)

    def least_ignoring_nulls(self, values: Sequence[Expr]) -> Expr:
        """MIN over a VALUES row, which skips nulls; LEAST needs SQL Server 2022."""
        return _min_of_values(*values)

    # -- statements ---------------------------------------------------------

    #: Session tables (`#name`) are plain tables to CREATE TABLE.
    create_table_keywords = "CREATE TABLE"
    #: T-SQL takes at most 1000 rows in one INSERT ... VALUES.
    insert_batch_size = 1000

    def column_definitions(self, table: sa.Table) -> str:
        """Each column's name and type; text under the session tables' collation."""

        def definition(column):
            sql_type = column.type.compile(dialect=self.sqlalchemy_dialect)
            if isinstance(column.type, sa.String):
                sql_type += f" COLLATE {SESSION_TABLE_COLLATION}"
            return f"{self.quote(column.name)} {sql_type}"

        return ", ".join(definition(c) for c in table.columns)

    def create_temp_table(self, table: sa.Table, query) -> list[str]:
        """A session table (`#name`) declared with explicit types, then filled by INSERT ... SELECT.

        Declaring the table first, rather than SELECT ... INTO, fixes each
        column's type and collation whatever the query's expressions are.
        """
        names = [c.name for c in table.columns]
        source = query.subquery("source")
        target = temp_table(table.name, [(c.name, c.type) for c in table.columns])
        insert = sa.insert(target).from_select(
            names, sa.select(*(source.c[n] for n in names))
        )
        return [
            f"{self.create_table_keywords} {self.temp_table_name(table.name)} ({self.column_definitions(table)})",
            self.render(insert),
        ]


def _is_text(type_) -> bool:
    return type_ is str or qm.is_code_type(type_)


def _collate(expr: Expr) -> Expr:
    return expr.collate(BINARY_COLLATION)


def sqlalchemy_url(dsn: str) -> sa.engine.URL:
    """The SQLAlchemy URL for an ehrQL MS SQL DSN: `mssql://user:password@host:port/database`.

    The pyodbc driver is used, with the ODBC driver named by a `driver` query
    parameter, else `DEFAULT_ODBC_DRIVER`; other query parameters are passed on.
    """
    if not dsn:
        raise ValueError("a database connection needs a DSN (--dsn)")
    parts = parse.urlsplit(dsn)
    if parts.scheme not in ("mssql", "mssql+pyodbc"):
        raise ValueError(f"an MS SQL Server DSN starts mssql://, not {parts.scheme}://")
    query = dict(parse.parse_qsl(parts.query, keep_blank_values=True))
    query.setdefault("driver", DEFAULT_ODBC_DRIVER)
    return sa.engine.URL.create(
        "mssql+pyodbc",
        username=parse.unquote(parts.username) if parts.username else None,
        password=parse.unquote(parts.password) if parts.password else None,
        host=parts.hostname,
        port=parts.port,
        database=parts.path.lstrip("/") or None,
        query=query,
    )


class MSSQLQueryEngine(ServerSQLQueryEngine):
    """Runs datasets on MS SQL Server; `dsn` is `mssql://user:password@host:port/database`.

    Permissions granted through the DSN (`opensafely_include_<permission>=true`)
    are taken off it, checked against the backend (one it cannot grant is
    refused before connecting) and passed to its patient exclusions.
    """

    dialect = MSSQLDialect()

    def sqlalchemy_url(self) -> sa.engine.URL:
        """The pyodbc URL for the DSN (see the module's `sqlalchemy_url`)."""
        return sqlalchemy_url(self.dsn)
