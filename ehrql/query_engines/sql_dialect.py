"""How one database spells the operations ehrQL needs.

The SQL compiler (`ehrql.query_engines.base_sql`) builds SQLAlchemy Core
expressions for every node. Wherever databases disagree on how to say
something with the meaning ehrQL gives it (date arithmetic, division,
casts, temporary tables), the compiler asks the dialect. `SQLDialect` holds
spellings that are standard SQL; a database's dialect subclasses it and
overrides only what that database does differently.

Every method here takes and returns SQLAlchemy column expressions, so dialects
stay small and are tested through the compiler against the in-memory engine.

A new database is one subclass (see `ehrql.query_engines.duckdb` for a small
one): the building blocks with no standard spelling are abstract methods, so
a dialect lacking one cannot even be instantiated; where databases differ in
a known, small way, a class flag says which way (as sqlglot's dialects do),
rather than a method being copied; and the spellings of the dialect-neutral
constructs backends build their mappings from (`ehrql.backends.expressions`)
are a table on the dialect (`construct_spellings`).
"""

from __future__ import annotations

import abc
import datetime
import functools
import math
import sys
from collections.abc import Mapping, Sequence
from typing import ClassVar

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import ColumnElement, Grouping

from ehrql.codes import BaseCode
from ehrql.column_types import column_type
from ehrql.query_model import nodes as qm

Expr = ColumnElement

#: The first and last days a result may hold; dates outside become null.
MIN_DATE = datetime.date(1, 1, 1)
MAX_DATE = datetime.date(9999, 12, 31)
#: No whole-month shift larger than this keeps a date within years 1 to 9999.
MAX_MONTHS_SHIFT = 12 * 10_000
#: Day 0 of the day numbers dates are shifted and compared by.
EPOCH = datetime.date(1970, 1, 1)
#: Text Python's int() reads: surrounding whitespace, a sign, digits grouped by single underscores.
PYTHON_INT_PATTERN = r"^\s*[+-]?[0-9]+(_[0-9]+)*\s*$"

#: SQLAlchemy's precedence for its own comparison operators, so that operands
#: are parenthesised as they would be for `==`.
_COMPARISON_PRECEDENCE = 5
#: SQLAlchemy's precedence for `/`, so that a custom `/` groups like the built-in one.
DIVISION_PRECEDENCE = operators._PRECEDENCE[operators.truediv]


def comparison(operator: str, lhs: Expr, rhs: Expr) -> Expr:
    """`lhs <operator> rhs` as written, null when either side is.

    A plain operator: SQLAlchemy would turn `== NULL` into `IS NULL`, which
    is true for nulls, where ehrQL's comparison with null is null.
    """
    return lhs.op(operator, precedence=_COMPARISON_PRECEDENCE, is_comparison=True)(rhs)


#: The natural log of the largest finite float: a power whose log is above it overflows.
_LARGEST_FLOAT_LOG = math.log(sys.float_info.max)


def _spelled_as(construct: type, dialect_name: str, spelling: str) -> None:
    """Compile `construct` on the SQLAlchemy dialect `dialect_name` as `spelling`,
    a format string taking the SQL of the construct's arguments, and by name
    any `spelling_arguments` the construct has."""

    @compiles(construct, dialect_name)
    def _compile(element, compiler, **kw):
        named = getattr(element, "spelling_arguments", {})
        return spelling.format(compiler.process(element.clauses, **kw), **named)


class SQLDialect(abc.ABC):
    """Standard SQL spellings; subclasses override what their database does differently."""

    #: The SQLAlchemy dialect statements are rendered with.
    sqlalchemy_dialect: Dialect

    #: The name of that SQLAlchemy dialect (`Dialect.name`), under which the
    #: construct spellings below are registered.
    sqlalchemy_name: ClassVar[str]

    #: How this database spells the dialect-neutral constructs backends map
    #: raw columns with (`ehrql.backends.expressions`): construct class ->
    #: format string taking the SQL of its arguments (and by name its
    #: `spelling_arguments`, if any). A construct a dialect does not spell is
    #: a compile error on that dialect, never other SQL.
    construct_spellings: ClassVar[Mapping[type, str]] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for construct, spelling in cls.__dict__.get("construct_spellings", {}).items():
            _spelled_as(construct, cls.sqlalchemy_name, spelling)

    #: Sets with more values than this are matched through a temporary table
    #: rather than a literal IN list, which databases parse slowly.
    max_in_list_size: int = 500

    # -- flags: where databases differ in a known way ------------------------

    #: The operator dividing two integers with a result truncated towards
    #: zero. Any but `/` is one SQLAlchemy cannot rank (PostgreSQL-like
    #: parsers rank an unknown operator below `+`), so its operands are
    #: grouped explicitly.
    integer_division_operator: ClassVar[str] = "/"
    #: Whether CAST of a float to an integer truncates towards zero (rather than rounding).
    cast_to_int_truncates: ClassVar[bool] = False
    #: The function truncating a float towards zero, where a CAST would round.
    truncate_function: ClassVar[str] = "trunc"
    #: Whether GREATEST and LEAST skip nulls (rather than being null when any argument is).
    greatest_ignores_nulls: ClassVar[bool] = True
    #: Whether ORDER BY takes NULLS FIRST / NULLS LAST. A database without
    #: them must sort nulls first ascending and last descending, as SQL
    #: Server does, which are the orders ehrQL asks for.
    supports_nulls_ordering: ClassVar[bool] = True
    #: Whether the database has contains(haystack, needle) for substring tests (else strpos).
    has_contains_function: ClassVar[bool] = False
    #: Characters escaped inside a string constant, and their escapes.
    string_escapes: ClassVar[Mapping[str, str]] = {"'": "''"}
    #: Written before a string constant holding text outside ASCII (T-SQL's N).
    unicode_string_prefix: ClassVar[str] = ""
    #: Whether a table created from a query is given each column's declared
    #: type by a CAST (for databases that give a column null throughout no type).
    cast_created_columns: ClassVar[bool] = False

    # -- types --------------------------------------------------------------

    def column_type(self, type_) -> sa.types.TypeEngine:
        """The SQL type holding values of a series type (see `ehrql.column_types`)."""
        return column_type(type_).sql()

    def literal(self, value) -> Expr:
        """A constant, typed explicitly so that the database never guesses.

        Integers are cast to 64 bits (a bare literal may be a 32-bit integer that
        overflows) and floats go through their exact text (a bare `0.1` may be a
        decimal, which does arithmetic differently from a float).
        """
        if value is None:
            return sa.null()
        if isinstance(value, BaseCode):
            value = value.value
        if isinstance(value, bool):
            return sa.true() if value else sa.false()
        if isinstance(value, int):
            return sa.cast(sa.literal(value, sa.BigInteger()), sa.BigInteger())
        if isinstance(value, float):
            return sa.cast(sa.literal(repr(value), sa.String()), sa.Double())
        if isinstance(value, datetime.date):
            return sa.cast(
                sa.literal(value.isoformat(), sa.String()),
                self.column_type(datetime.date),
            )
        if isinstance(value, str):
            # Written here: SQLAlchemy does not write a dialect's prefix, and
            # its bound constants cost several times more to build and render
            # (a codelist's codes in an IN list are hundreds).
            return sa.literal_column(self.string_literal_sql(value), sa.String())
        raise TypeError(f"cannot write {value!r} as an SQL constant")

    @classmethod
    def string_literal_sql(cls, value: str) -> str:
        """A string constant as SQL text, escaped as `string_escapes` says."""
        escaped = value.translate(str.maketrans(dict(cls.string_escapes)))
        prefix = "" if value.isascii() else cls.unicode_string_prefix
        return f"{prefix}'{escaped}'"

    def type_name(self, type_) -> str:
        """The database's name for the SQL type holding values of a series type."""
        return self.column_type(type_).compile(dialect=self.sqlalchemy_dialect)

    def cast(self, expr: Expr, type_) -> Expr:
        """`expr` converted to the SQL type of a series type."""
        return sa.cast(expr, self.column_type(type_))

    # -- comparing and ordering ---------------------------------------------

    def comparable(self, expr: Expr, type_) -> Expr:
        """`expr` (of series type `type_`) as the database must see it to compare,
        order and tell apart its values as ehrQL does: text exactly, by code point.

        By default unchanged; a database whose text comparison ignores case
        (by its collation) overrides it.
        """
        return expr

    def compare(self, operator: str, lhs: Expr, rhs: Expr, type_) -> Expr:
        """`lhs <operator> rhs` (=, <>, <, <=, >, >=) on values of series type `type_`; null if either is."""
        return comparison(
            operator, self.comparable(lhs, type_), self.comparable(rhs, type_)
        )

    def is_in(self, lhs: Expr, candidates, type_) -> Expr:
        """Whether `lhs` (of series type `type_`) is among `candidates`: constants, or a one-column SELECT."""
        return self.comparable(lhs, type_).in_(candidates)

    def minimum_aggregate(self, expr: Expr, type_) -> Expr:
        """MIN over a patient's rows of `expr`, a series of type `type_`."""
        return sa.func.min(self.comparable(expr, type_))

    def maximum_aggregate(self, expr: Expr, type_) -> Expr:
        """MAX over a patient's rows of `expr`, a series of type `type_`."""
        return sa.func.max(self.comparable(expr, type_))

    # -- arithmetic ---------------------------------------------------------

    def true_divide(self, lhs: Expr, rhs: Expr) -> Expr:
        """lhs / rhs as a float; null when rhs is zero.

        A plain `/` operator: SQLAlchemy's own may add casts of its own (to a
        decimal on Trino, for one).
        """
        divisor = sa.func.nullif(sa.cast(rhs, sa.Double()), 0)
        return sa.cast(lhs, sa.Double()).op("/", precedence=DIVISION_PRECEDENCE)(
            divisor
        )

    def floor_divide(self, lhs: Expr, rhs: Expr, operand_type) -> Expr:
        """lhs // rhs rounded towards minus infinity, as an int; null when rhs is zero."""
        if operand_type is float:
            return sa.cast(sa.func.floor(self.true_divide(lhs, rhs)), sa.BigInteger())
        divisor = sa.func.nullif(rhs, 0)
        # Integer division in SQL truncates towards zero; step down by one
        # when the operands have opposite signs and do not divide exactly.
        truncated = self.integer_divide_truncating(lhs, divisor)
        inexact = sa.and_(lhs % divisor != 0, (lhs < 0) != (divisor < 0))
        return truncated - sa.case((inexact, 1), else_=0)

    def power(self, lhs: Expr, rhs: Expr) -> Expr:
        """lhs ** rhs as a float; null where it has no real, finite value.

        Databases differ on zero to a negative power, a negative number to a
        fractional power and overflow (an error, NaN or infinity), so those
        cases are caught before POWER is reached. Nested CASEs, as SQL does not
        promise to evaluate the operands of AND in order.
        """
        base, exponent = sa.cast(lhs, sa.Double()), sa.cast(rhs, sa.Double())
        result = sa.func.power(base, exponent)
        too_large = exponent * self.natural_log(sa.func.abs(base)) > _LARGEST_FLOAT_LOG
        return sa.case(
            (sa.and_(base == 0, exponent < 0), sa.null()),
            (sa.and_(base < 0, exponent != sa.func.floor(exponent)), sa.null()),
            (base != 0, sa.case((too_large, sa.null()), else_=result)),
            else_=result,
        )

    def natural_log(self, expr: Expr) -> Expr:
        """The natural logarithm of a positive float."""
        return sa.func.ln(expr)

    def integer_divide_truncating(self, lhs: Expr, rhs: Expr) -> Expr:
        """Integer division rounding towards zero, with `integer_division_operator`.

        A plain operator: SQLAlchemy's own `/` would cast (to a decimal, a float).
        """
        operator = self.integer_division_operator
        if operator == "/":
            return lhs.op("/", precedence=DIVISION_PRECEDENCE)(rhs)
        return Grouping(lhs).op(operator)(Grouping(rhs))

    # -- casts --------------------------------------------------------------

    def cast_to_int(self, expr: Expr, source_type) -> Expr:
        """An integer from a bool, int, float (truncated towards zero) or string."""
        if source_type is float and not self.cast_to_int_truncates:
            expr = getattr(sa.func, self.truncate_function)(expr)
        if source_type is str:
            return self.parse_int(expr)
        return sa.cast(expr, sa.BigInteger())

    @abc.abstractmethod
    def parse_int(self, expr: Expr) -> Expr:
        """An integer from text Python's int() reads, null when it is not one."""

    def cast_to_float(self, expr: Expr, source_type) -> Expr:
        """A float from a bool, int, float or numeric string."""
        if source_type is str:
            return self.parse_float(expr)
        return sa.cast(expr, sa.Double())

    @abc.abstractmethod
    def parse_float(self, expr: Expr) -> Expr:
        """A float from a numeric string, null when it is not one."""

    def cast_to_str(self, expr: Expr, source_type) -> Expr:
        """The string form of a value, spelt as Python spells it."""
        if source_type is bool:
            return sa.case((expr, "True"), (sa.not_(expr), "False"), else_=sa.null())
        if source_type is str or qm.is_code_type(source_type):
            return expr
        return sa.cast(expr, sa.String())

    # -- strings and sets ---------------------------------------------------

    def string_contains(self, haystack: Expr, needle: Expr) -> Expr:
        """Whether `needle` occurs in `haystack`, case-sensitively, with no wildcards."""
        if self.has_contains_function:
            return sa.func.contains(haystack, needle)
        return sa.func.strpos(haystack, needle) > 0

    # -- dates --------------------------------------------------------------

    def date_part(self, part: str, date: Expr) -> Expr:
        """The year, month or day of a date, as an integer."""
        return sa.cast(sa.extract(part, date), sa.BigInteger())

    def make_date(self, year: Expr, month: Expr, day: Expr) -> Expr:
        """The date with these parts (which must exist), counted on from the epoch.

        Databases with a function for this override it.
        """
        months = (year - EPOCH.year) * 12 + (month - 1)
        return self.add_days_unchecked(
            self.add_months_clamping(self.literal(EPOCH), months), day - 1
        )

    def to_first_of_year(self, date: Expr) -> Expr:
        """1 January of the date's year."""
        return self.make_date(self.date_part("year", date), 1, 1)

    def to_first_of_month(self, date: Expr) -> Expr:
        """The first of the date's month."""
        return self.make_date(
            self.date_part("year", date), self.date_part("month", date), 1
        )

    @abc.abstractmethod
    def days_since_epoch(self, date: Expr) -> Expr:
        """Days from `EPOCH` (1 January 1970) to `date`."""

    @abc.abstractmethod
    def date_from_days_since_epoch(self, days: Expr) -> Expr:
        """The date `days` after `EPOCH` (the days must give a valid date)."""

    def date_add_days(self, date: Expr, days: Expr) -> Expr:
        """`date` moved by `days`; null outside the years 1 to 9999.

        The range check is done on day numbers, before any date is built, so
        that the database never raises an out-of-range error.
        """
        total = self.days_since_epoch(date) + days
        in_range = total.between((MIN_DATE - EPOCH).days, (MAX_DATE - EPOCH).days)
        return sa.case(
            (in_range, self.date_from_days_since_epoch(total)), else_=sa.null()
        )

    def date_add_months(self, date: Expr, months: Expr) -> Expr:
        """`date` moved by whole months, a missing day rolling to the next month's first.

        Null when the result is outside the years 1 to 9999. Databases clamp a
        missing day to the month's last day (31 January + 1 month = 29 February);
        a clamped result has a smaller day than the start, and the day after it
        is the first of the next month, which is ehrQL's answer.
        """
        shifted = self.add_months_clamping(date, months)
        rolled = sa.case(
            (
                self.date_part("day", shifted) < self.date_part("day", date),
                self.add_days_unchecked(shifted, 1),
            ),
            else_=shifted,
        )
        return sa.case(
            # Beyond this no result can be in range, and the database might overflow.
            (sa.not_(months.between(-MAX_MONTHS_SHIFT, MAX_MONTHS_SHIFT)), sa.null()),
            (
                self.date_part("year", rolled).between(MIN_DATE.year, MAX_DATE.year),
                rolled,
            ),
            else_=sa.null(),
        )

    @abc.abstractmethod
    def add_months_clamping(self, date: Expr, months: Expr) -> Expr:
        """`date` moved by months, a missing day becoming the month's last day."""

    @abc.abstractmethod
    def add_days_unchecked(self, date: Expr, days: Expr | int) -> Expr:
        """`date` moved by days (an expression or a Python int), trusting the result to be a valid date."""

    @staticmethod
    def as_int32(days: Expr | int) -> Expr | int:
        """A day or month count as a 32-bit INT, as most databases' date functions take it."""
        return days if isinstance(days, int) else sa.cast(days, sa.Integer())

    def date_add_years(self, date: Expr, years: Expr) -> Expr:
        """`date` moved by whole years; 29 February onto a non-leap year gives 1 March.

        Years beyond any valid date give null before multiplying, which for an
        enormous count would overflow.
        """
        limit = MAX_DATE.year
        months = sa.case((years.between(-limit, limit), years * 12), else_=sa.null())
        return self.date_add_months(date, months)

    def date_difference_in_days(self, end: Expr, start: Expr) -> Expr:
        """Days from `start` to `end`."""
        return self.days_since_epoch(end) - self.days_since_epoch(start)

    def date_difference_in_months(self, end: Expr, start: Expr) -> Expr:
        """Whole months from `start` to `end`, floored."""
        months = (self.date_part("year", end) - self.date_part("year", start)) * 12 + (
            self.date_part("month", end) - self.date_part("month", start)
        )
        short = self.date_part("day", end) < self.date_part("day", start)
        return months - sa.case((short, 1), else_=0)

    def date_difference_in_years(self, end: Expr, start: Expr) -> Expr:
        """Whole years from `start` to `end`, floored, as ages are counted."""

        def month_day(date):
            return self.date_part("month", date) * 100 + self.date_part("day", date)

        years = self.date_part("year", end) - self.date_part("year", start)
        return years - sa.case((month_day(end) < month_day(start), 1), else_=0)

    # -- across series ------------------------------------------------------

    def greatest_ignoring_nulls(self, values: Sequence[Expr]) -> Expr:
        """The largest non-null value; null when all are null (see `greatest_ignores_nulls`)."""
        return sa.func.greatest(*self._nulls_skipped(values))

    def least_ignoring_nulls(self, values: Sequence[Expr]) -> Expr:
        """The smallest non-null value; null when all are null (see `greatest_ignores_nulls`)."""
        return sa.func.least(*self._nulls_skipped(values))

    def _nulls_skipped(self, values: Sequence[Expr]) -> Sequence[Expr]:
        if self.greatest_ignores_nulls:
            return values
        # Each null replaced by some present value, which cannot change the
        # extremum; null only when every value is.
        return [sa.func.coalesce(v, *values) for v in values]

    # -- picking rows -------------------------------------------------------

    def row_ordering(self, order: Sequence[Expr], last: bool) -> list:
        """ORDER BY terms putting the row to pick first: ascending with nulls
        first, or for the last row the reverse."""
        if not self.supports_nulls_ordering:
            return [e.desc() if last else e.asc() for e in order]
        if last:
            return [e.desc().nulls_last() for e in order]
        return [e.asc().nulls_first() for e in order]

    def pick_one_row_per_patient(
        self,
        source,
        patient_id: Expr,
        columns,
        order,
        last: bool,
        partition: Sequence[Expr] = (),
    ):
        """A query giving patient_id and `columns` from one row per patient of `source`.

        The row is the first under `order` (ascending, nulls first), or the
        last when `last` is true. `columns` are (name, expression) pairs.
        With `partition`, one row is picked per patient and partition value
        (measures pick one row per patient and interval).
        """
        ordering = self.row_ordering(order, last)
        row_number = sa.func.row_number().over(
            partition_by=[patient_id, *partition], order_by=ordering
        )
        numbered = (
            sa.select(
                patient_id.label("patient_id"),
                *(e.label(n) for n, e in columns),
                row_number.label("row_number"),
            )
            .select_from(source)
            .subquery()
        )
        names = ["patient_id", *(n for n, _ in columns)]
        return sa.select(*(numbered.c[n] for n in names)).where(
            numbered.c.row_number == 1
        )

    # -- statements ---------------------------------------------------------

    def inline_cte(self, cte: sa.CTE) -> sa.CTE:
        """Ask for a CTE to be recomputed at each use rather than stored.

        The compiler asks this for event rows: they are large and cheap to
        recompute (a scan and a filter the database can push into the scan),
        while storing them costs memory and a second pass. By default the
        database chooses.
        """
        return cte

    def render(self, statement) -> str:
        """SQL text for a statement, every constant written inline."""
        return str(
            statement.compile(
                dialect=self.sqlalchemy_dialect, compile_kwargs={"literal_binds": True}
            )
        )

    def temp_table_name(self, name: str) -> str:
        """The name (as SQL) a temporary table the compiler calls `name` is created and read under.

        The SQLAlchemy dialect's `temp_table_name` where it has one (it must
        render reads of the table under the same name), else the name itself;
        see `ehrql.query_engines.scratch_tables`.
        """
        naming = getattr(self.sqlalchemy_dialect, "temp_table_name", None)
        return self.quote(name) if naming is None else naming(name)

    def create_temp_table(self, table: sa.Table, query) -> list[str]:
        """Statements filling a new temporary table with the rows of `query`."""
        name = self.temp_table_name(table.name)
        if self.cast_created_columns:
            return [
                f"{self.create_table_keywords} {name} AS {self.render(self.typed_select(table, query))}"
            ]
        columns = ", ".join(f"{self.quote(c.name)}" for c in table.columns)
        return [
            f"{self.create_table_keywords} {name} AS SELECT {columns} FROM ({self.render(query)}) AS source"
        ]

    def typed_select(self, table: sa.Table, query) -> sa.Select:
        """The rows of `query` with each column cast to `table`'s type for it.

        For databases that create tables from a query's own types, where a
        column that is null throughout would have none.
        """
        source = query.subquery("source")
        return sa.select(
            *(sa.cast(source.c[c.name], c.type).label(c.name) for c in table.columns)
        )

    #: How a statement declaring an intermediate table begins.
    create_table_keywords: str = "CREATE TEMPORARY TABLE"

    def column_definitions(self, table: sa.Table) -> str:
        """The column list declaring `table`'s columns: name and SQL type of each."""
        return ", ".join(
            f"{self.quote(c.name)} {c.type.compile(dialect=self.sqlalchemy_dialect)}"
            for c in table.columns
        )

    def create_temp_table_from_rows(
        self, table: sa.Table, rows: Sequence[tuple]
    ) -> list[str]:
        """Statements declaring a new temporary table, then filling it with
        constant rows by INSERT ... VALUES in batches of `insert_batch_size`.

        Written as text rather than through SQLAlchemy: codelists run to
        thousands of values, and building an expression per value is slow.
        """
        name = self.temp_table_name(table.name)
        statements = [
            f"{self.create_table_keywords} {name} ({self.column_definitions(table)})"
        ]
        for start in range(0, len(rows), self.insert_batch_size):
            batch = rows[start : start + self.insert_batch_size]
            values = ", ".join(
                "(" + ", ".join(self.literal_sql(v) for v in row) + ")" for row in batch
            )
            statements.append(f"INSERT INTO {name} VALUES {values}")
        return statements

    #: Rows per INSERT statement when filling a table with constants.
    insert_batch_size: int = 1000

    def literal_sql(self, value) -> str:
        """A constant as SQL text, typed as `literal` types it."""
        if isinstance(value, str):
            return self.string_literal_sql(value)
        if type(value) is datetime.date:
            # A table of each interval's days holds thousands of different
            # dates: rendered through SQLAlchemy once, as a pattern.
            before, after = self._date_sql_pattern
            return f"{before}{value.isoformat()}{after}"
        # Rendering through SQLAlchemy is slow, and a table of constants
        # repeats the same few (flags, small numbers) thousands of times. Keyed on
        # repr as well, since 0.0 == -0.0 and 1 == True.
        cache = self.__dict__.setdefault("_literal_sql_cache", {})
        key = (type(value), repr(value))
        if key not in cache:
            if len(cache) >= 10_000:
                cache.clear()  # bounded, in a process compiling many datasets
            cache[key] = self.render(self.literal(value))
        return cache[key]

    @functools.cached_property
    def _date_sql_pattern(self) -> tuple[str, str]:
        """The text around a date's ISO form in the SQL of a date constant."""
        sample = datetime.date(1999, 12, 31).isoformat()
        before, found, after = self.render(
            self.literal(datetime.date.fromisoformat(sample))
        ).partition(sample)
        assert found and sample not in after, (
            "a date constant's SQL holds its ISO form once"
        )
        return before, after

    def drop_temp_table(self, table: sa.Table) -> list[str]:
        """Statements removing a temporary table."""
        return [f"DROP TABLE IF EXISTS {self.temp_table_name(table.name)}"]

    def quote(self, name: str) -> str:
        """An identifier quoted when it needs to be."""
        return self.sqlalchemy_dialect.identifier_preparer.quote(name)

    def quote_always(self, name: str) -> str:
        """An identifier quoted whether or not it needs to be."""
        return self.sqlalchemy_dialect.identifier_preparer.quote_identifier(name)
