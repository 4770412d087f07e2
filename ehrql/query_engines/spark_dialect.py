"""How Spark SQL spells what ehrQL needs: a SQLAlchemy dialect and an `SQLDialect`.

No well-kept SQLAlchemy dialect renders Spark SQL, and Spark's syntax is close
to standard SQL, so `SparkSQLAlchemyDialect` is SQLAlchemy's generic dialect
with the few differences set out as tables: backquoted identifiers, Spark's
type names, string constants whose backslashes are escaped (Spark reads `\\`
in a string constant as an escape), `true`/`false` constants, and
intermediate tables renamed under a per-run prefix.

`SparkDialect` holds the `SQLDialect` overrides: `div` for integer division,
CAST (which truncates) from float to int, regular expressions that make string
parsing follow Python's `int()` and `float()`, `unix_date`/`add_months`/
`trunc` for dates, and float-to-string conversion in Python's spelling.
Everything is written to give the same answer with `spark.sql.ansi.enabled` on
(Spark 4's default) or off: divisors are guarded with NULLIF, strings are parsed
with TRY_CAST, and date arithmetic is range-checked on day and month numbers
before any date is built.

Intermediate tables are cached temporary views (`CACHE LAZY TABLE ... AS`):
Spark has no session tables that can be inserted into, a view alone would be
recomputed at each use, and a lazy cache is filled by the first query that
reads it, so that setup statements start no Spark job of their own.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import default
from sqlalchemy.sql import compiler, sqltypes

from ehrql.backends.expressions import hex_text, hex_to_int
from ehrql.query_engines.scratch_tables import TempTableNaming
from ehrql.query_engines.sql_dialect import PYTHON_INT_PATTERN, Expr, SQLDialect

#: SQLAlchemy type class -> Spark's name for it.
SPARK_TYPE_NAMES: dict[type, str] = {
    sqltypes.Boolean: "BOOLEAN",
    sqltypes.BigInteger: "BIGINT",
    sqltypes.Integer: "INT",
    sqltypes.Double: "DOUBLE",
    sqltypes.Float: "DOUBLE",
    sqltypes.Date: "DATE",
    sqltypes.String: "STRING",
}


_DIGITS = r"[0-9](_?[0-9])*"
#: Text Python's float() reads (infinities and NaN included, in any case).
PYTHON_FLOAT_PATTERN = (
    rf"^\s*[+-]?(({_DIGITS})?\.{_DIGITS}|{_DIGITS}\.?)([eE][+-]?{_DIGITS})?\s*$"
    r"|^(?i)\s*[+-]?(inf|infinity|nan)\s*$"
)


class _SparkString(sqltypes.String):
    """Strings written as Spark reads them (see `SparkDialect.string_escapes`)."""

    def literal_processor(self, dialect):
        return spark_string


class _SparkTypeCompiler(compiler.GenericTypeCompiler):
    """Type names from SPARK_TYPE_NAMES, by the most specific class a type is."""

    def process(self, type_, **kw):
        for cls in type(type_).__mro__:
            if cls in SPARK_TYPE_NAMES:
                return SPARK_TYPE_NAMES[cls]
        return super().process(type_, **kw)


class _SparkIdentifierPreparer(compiler.IdentifierPreparer):
    """Identifiers in backquotes, as Spark quotes them."""

    def __init__(self, dialect):
        super().__init__(dialect, initial_quote="`", escape_quote="`")


class _SparkCompiler(TempTableNaming, compiler.SQLCompiler):
    """The generic compiler, writing intermediate tables under their per-run names."""

    def visit_try_cast(self, element, **kw):
        # The generic compiler has no TRY_CAST; Spark's is spelled as CAST is.
        target = self.dialect.type_compiler_instance.process(element.typeclause.type)
        return f"TRY_CAST({self.process(element.clause, **kw)} AS {target})"


class SparkSQLAlchemyDialect(default.DefaultDialect):
    """SQLAlchemy's generic dialect, rendering Spark SQL (see the module docstring).

    Used only to write SQL text; statements run through a SparkSession.
    `table_prefix` starts the name of every intermediate table.
    """

    name = "spark"
    statement_compiler = _SparkCompiler
    type_compiler_cls = _SparkTypeCompiler
    preparer = _SparkIdentifierPreparer
    supports_native_boolean = True
    # Integer / integer is Spark's floating division, never floor division.
    div_is_floordiv = False
    colspecs = {sqltypes.String: _SparkString}

    def __init__(self, table_prefix: str = "ehrql_tmp_", **kwargs):
        # "named": other paramstyles double every % sign (the modulo operator).
        super().__init__(paramstyle="named", **kwargs)
        self._table_prefix = table_prefix

    def temp_table_name(self, name: str) -> str:
        """The name an intermediate table is created under."""
        return self.identifier_preparer.quote_identifier(self._table_prefix + name)


class SparkDialect(SQLDialect):
    """Spark SQL's spellings, where they differ from standard SQL (see the module docstring)."""

    sqlalchemy_name = "spark"

    construct_spellings = {
        # Spark's hex() of binary data is upper case already.
        hex_text: "hex({})",
        hex_to_int: "CAST(conv({}, 16, 10) AS BIGINT)",
    }

    #: Spark's `div` truncates towards zero (its `/` always gives a float).
    integer_division_operator = "div"
    #: CAST from DOUBLE to BIGINT truncates towards zero, as Python's int() does.
    cast_to_int_truncates = True
    #: contains() is case-sensitive and takes no wildcards.
    has_contains_function = True
    #: Spark reads a backslash in a string constant as an escape.
    string_escapes = {"\\": "\\\\", "'": "\\'"}
    #: Intermediate tables are lazily cached temporary views, each column cast
    #: to its declared type (Spark would type a column null throughout as VOID).
    create_table_keywords = "CACHE LAZY TABLE"
    cast_created_columns = True

    def __init__(self, table_prefix: str = "ehrql_tmp_"):
        self.sqlalchemy_dialect = SparkSQLAlchemyDialect(table_prefix)

    # -- casts --------------------------------------------------------------

    def parse_int(self, expr: Expr) -> Expr:
        """The integer Python's int() reads from the text, else null."""
        digits = sa.func.replace(sa.func.trim(expr), "_", "")
        return sa.case(
            (
                sa.func.rlike(expr, PYTHON_INT_PATTERN),
                sa.try_cast(digits, sa.BigInteger()),
            ),
            else_=sa.null(),
        )

    def parse_float(self, expr: Expr) -> Expr:
        """The float Python's float() reads from the text, else null.

        Spark's own cast is more lenient (it takes Java's `1.5d`), so the text
        is first checked against Python's syntax.
        """
        digits = sa.func.replace(sa.func.trim(expr), "_", "")
        return sa.case(
            (
                sa.func.rlike(expr, PYTHON_FLOAT_PATTERN),
                sa.try_cast(digits, sa.Double()),
            ),
            else_=sa.null(),
        )

    def cast_to_str(self, expr: Expr, source_type) -> Expr:
        """As the base class does, but floats written as Python writes them."""
        if source_type is float:
            return python_float_text(expr)
        return super().cast_to_str(expr, source_type)

    # -- dates --------------------------------------------------------------

    def date_part(self, part: str, date: Expr) -> Expr:
        """year(), month() or day(), which give INT, widened to BIGINT."""
        return sa.cast(getattr(sa.func, part)(date), sa.BigInteger())

    def to_first_of_year(self, date: Expr) -> Expr:
        """trunc() to the year, which keeps the DATE type."""
        return sa.func.trunc(date, "YEAR", type_=sa.Date())

    def to_first_of_month(self, date: Expr) -> Expr:
        """trunc() to the month."""
        return sa.func.trunc(date, "MM", type_=sa.Date())

    def days_since_epoch(self, date: Expr) -> Expr:
        """unix_date(), as BIGINT so that adding a large number of days cannot overflow."""
        return sa.cast(sa.func.unix_date(date), sa.BigInteger())

    def date_from_days_since_epoch(self, days: Expr) -> Expr:
        """date_from_unix_date(), which takes an INT (the caller has checked the range)."""
        return sa.func.date_from_unix_date(sa.cast(days, sa.Integer()), type_=sa.Date())

    def add_months_clamping(self, date: Expr, months: Expr) -> Expr:
        """add_months(), which clamps a missing day to the month's last.

        Spark represents dates some way beyond year 9999 (it only refuses to
        return them), so the year of the result can be checked afterwards.
        """
        return sa.func.add_months(date, sa.cast(months, sa.Integer()), type_=sa.Date())

    def add_days_unchecked(self, date: Expr, days) -> Expr:
        """date_add(), which takes an INT."""
        return sa.func.date_add(date, self.as_int32(days), type_=sa.Date())

    # -- statements ---------------------------------------------------------

    def create_temp_table_from_rows(
        self, table: sa.Table, rows: Sequence[tuple]
    ) -> list[str]:
        """A cached temporary view over the constant rows, each column cast to its type."""
        name = self.temp_table_name(table.name)
        types = [c.type.compile(dialect=self.sqlalchemy_dialect) for c in table.columns]
        casts = ", ".join(
            f"CAST(column_{i} AS {t}) AS {self.quote(c.name)}"
            for i, (c, t) in enumerate(zip(table.columns, types), start=1)
        )
        if not rows:
            nulls = ", ".join(
                f"CAST(NULL AS {t}) AS {self.quote(c.name)}"
                for c, t in zip(table.columns, types)
            )
            return [f"CACHE LAZY TABLE {name} AS SELECT {nulls} WHERE false"]
        values = ", ".join(
            "(" + ", ".join(self.literal_sql(v) for v in row) + ")" for row in rows
        )
        aliases = ", ".join(f"column_{i}" for i in range(1, len(table.columns) + 1))
        return [
            f"CACHE LAZY TABLE {name} AS SELECT {casts} FROM VALUES {values} AS rows({aliases})"
        ]

    def drop_temp_table(self, table: sa.Table) -> list[str]:
        """Release the cache and the view."""
        name = self.temp_table_name(table.name)
        return [f"UNCACHE TABLE IF EXISTS {name}", f"DROP VIEW IF EXISTS {name}"]


#: A Python string as a Spark SQL string constant.
spark_string = SparkDialect.string_literal_sql


def python_float_text(value: Expr) -> Expr:
    """A DOUBLE as the text Python's str() gives for it.

    Spark writes a double as Java does: the shortest digits, in scientific
    notation (`1.0E7`, `1.5E-5`) outside 0.001 <= |x| < 10**7. Python uses
    scientific notation only outside 0.0001 <= |x| < 10**16, spelled `1e+16`,
    `1.5e-05`. So Java's digits and exponent are taken apart and reassembled
    Python's way; fixed notation, which both share in the common range, is
    passed through.
    """
    text = sa.cast(value, sa.String())
    java_scientific = r"^(-?)([0-9])\.([0-9]+)E(-?[0-9]+)$"
    sign = sa.func.regexp_extract(text, java_scientific, 1)
    first = sa.func.regexp_extract(text, java_scientific, 2)
    # Java writes "1.0E7": a fraction of just "0" means no fraction digits.
    rest = sa.func.regexp_replace(
        sa.func.regexp_extract(text, java_scientific, 3), "^0$", ""
    )
    # TRY_CAST: under ANSI mode a CAST of the empty text (no match) would raise.
    exponent = sa.try_cast(
        sa.func.regexp_extract(text, java_scientific, 4), sa.Integer()
    )
    digits = sa.func.concat(first, rest)
    # Fixed notation for 10**-4 <= |x| < 10**-3 (Java's range ends at 10**-3).
    small = sa.func.concat(sign, "0.", sa.func.repeat("0", -exponent - 1), digits)
    # Fixed notation for 10**7 <= |x| < 10**16, with at least one digit after the point.
    whole = exponent + 1
    padded = sa.func.rpad(
        digits, sa.func.greatest(whole + 1, sa.func.length(digits)), "0"
    )
    large = sa.func.concat(
        sign, sa.func.substr(padded, 1, whole), ".", sa.func.substr(padded, whole + 1)
    )
    mantissa = sa.case((rest == "", first), else_=sa.func.concat(first, ".", rest))
    # At least two exponent digits (Spark's lpad would cut a third one off).
    size = sa.func.abs(exponent)
    exponent_text = sa.func.concat(
        sa.case((exponent < 0, "-"), else_="+"),
        sa.case((size < 10, "0"), else_=""),
        sa.cast(size, sa.String()),
    )
    scientific = sa.func.concat(sign, mantissa, "e", exponent_text)
    special = {"NaN": "nan", "Infinity": "inf", "-Infinity": "-inf"}
    return sa.case(
        *((text == java, python) for java, python in special.items()),
        (sa.not_(sa.func.rlike(text, java_scientific)), text),
        (exponent.between(-4, -1), small),
        (exponent.between(7, 15), large),
        else_=scientific,
    )
