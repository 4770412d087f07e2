"""Column expressions that backend mappings share, rendering on every dialect.

Most are plain SQLAlchemy Core. Two conversions have no spelling common to MS
SQL Server, Trino and DuckDB (binary to hexadecimal text, hexadecimal text to
integer), so they are small SQL constructs that each SQL dialect spells in its
`construct_spellings` (see `ehrql.query_engines.sql_dialect`); a dialect that
does not spell one gets a clear compile error rather than wrong SQL.
"""

from __future__ import annotations

import datetime

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.expression import FunctionElement

#: The date TPP writes where a date is not known (an open end, an unknown death).
FAR_FUTURE = datetime.date(9999, 12, 31)


def typed_literal(
    value: datetime.date | str, type_: sa.types.TypeEngine
) -> ColumnElement:
    """A constant of a raw column's type, written as a CAST of ISO text.

    Trino will not compare a timestamp with bare text, and a CAST reads the
    same on every dialect.
    """
    text = value.isoformat() if isinstance(value, datetime.date) else value
    return sa.cast(sa.literal(text, sa.String()), _explicit(type_))


def _explicit(type_: sa.types.TypeEngine) -> sa.types.TypeEngine:
    # SQLAlchemy's MS SQL dialect renders the generic Date as DATETIME unless
    # it has connected to a server it knows to be 2008 or later; DATE is exact.
    return sa.DATE() if isinstance(type_, sa.Date) else type_


def null_if(column: ColumnElement, sentinel) -> ColumnElement:
    """`column`, with the placeholder value `sentinel` replaced by NULL."""
    if isinstance(sentinel, datetime.date):
        sentinel = typed_literal(sentinel, column.type)
    return sa.func.nullif(column, sentinel, type_=column.type)


def as_date(
    column: ColumnElement, sentinel: datetime.date | None = None
) -> ColumnElement:
    """A datetime or ISO text column as a DATE, NULL where it holds `sentinel`."""
    if sentinel is not None:
        column = null_if(column, sentinel)
    return sa.cast(column, sa.DATE())


def flag(condition: ColumnElement) -> ColumnElement:
    """A BOOLEAN column that is true where `condition` holds and false elsewhere.

    MS SQL Server cannot select a predicate as a value, so it goes through CASE.
    """
    return sa.case((condition, sa.true()), else_=sa.false()).cast(sa.Boolean())


def yes_no(column: ColumnElement, yes="Y", no="N") -> ColumnElement:
    """True for `yes`, false for `no`, NULL for anything else."""
    return sa.case((column == yes, sa.true()), (column == no, sa.false())).cast(
        sa.Boolean()
    )


def recode(column: ColumnElement, values: dict) -> ColumnElement:
    """`column`'s raw values translated through `values`; NULL for any other value."""
    return sa.case(
        *((column == raw, sa.literal(public)) for raw, public in values.items())
    )


def typed_null(type_: sa.types.TypeEngine) -> ColumnElement:
    """NULL of a given type: every branch of a UNION must agree on column types."""
    return sa.cast(sa.null(), type_)


def text(column: ColumnElement) -> ColumnElement:
    """A column as VARCHAR (codes stored as numbers become their decimal digits)."""
    return sa.cast(column, sa.String())


def _unspelled(element_class: type) -> type:
    """Make `element_class` a compile error on any dialect that has not given it a spelling.

    Each SQL dialect spells the constructs it supports in its
    `construct_spellings` (see `ehrql.query_engines.sql_dialect`); elsewhere
    a compile error is better than SQL that might mean something else.
    """

    @compiles(element_class)
    def _compile(element, compiler, **kw):
        raise sa.exc.CompileError(
            f"{element_class.name} has no spelling for the {compiler.dialect.name} dialect"
        )

    return element_class


@_unspelled
class hex_text(FunctionElement):
    """Binary data as upper-case hexadecimal text, without a `0x` prefix."""

    type = sa.String()
    inherit_cache = True
    name = "hex_text"


@_unspelled
class hex_to_int(FunctionElement):
    """Hexadecimal text (no `0x` prefix) as a BIGINT."""

    type = sa.BigInteger()
    inherit_cache = True
    name = "hex_to_int"


#: MS SQL Server collation that compares codes byte for byte, so case matters.
CASE_SENSITIVE = "Latin1_General_BIN"


class mssql_collate(FunctionElement):
    """A text column with an MS SQL Server collation; the column unchanged elsewhere.

    TPP's default collation ignores case, which would make distinct codes
    (CTV3 codes differ by case alone) compare equal. Trino and DuckDB compare
    text exactly already, and do not know SQL Server's collation names.
    """

    type = sa.String()
    inherit_cache = True
    name = "mssql_collate"

    def __init__(self, column, collation: str = CASE_SENSITIVE):
        self.collation = collation
        super().__init__(column)

    @property
    def spelling_arguments(self) -> dict[str, str]:
        """What a dialect's spelling of it may name besides the column (see `construct_spellings`)."""
        return {"collation": self.collation}


@compiles(mssql_collate)
def _mssql_collate_elsewhere(element, compiler, **kw):
    # MS SQL Server's dialect spells it (`MSSQLDialect.construct_spellings`).
    return compiler.process(element.clauses, **kw)
