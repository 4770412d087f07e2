"""The shared mapping expressions, including the per-dialect constructs."""

import datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mssql, sqlite
from trino.sqlalchemy.dialect import TrinoDialect

# The SQL dialects spell the backends' per-dialect constructs (`construct_spellings`).
import ehrql.query_engines.duckdb  # noqa: F401
import ehrql.query_engines.mssql  # noqa: F401
import ehrql.query_engines.trino  # noqa: F401
from ehrql.backends.expressions import (
    as_date,
    flag,
    hex_text,
    hex_to_int,
    mssql_collate,
    null_if,
    recode,
    typed_literal,
    yes_no,
)
from ehrql.query_engines.duckdb import DuckDBDialect

column = sa.column("x", sa.String())


def sql(expression, dialect):
    return str(
        expression.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
    )


def duckdb_value(expression):
    engine = sa.create_engine("duckdb:///:memory:")
    with engine.connect() as connection:
        return connection.execute(sa.select(expression)).scalar()


@pytest.mark.parametrize(
    "dialect,expected",
    [
        (mssql.dialect(), "CONVERT(VARCHAR(MAX), x, 2)"),
        (TrinoDialect(), "to_hex(x)"),
        (DuckDBDialect.sqlalchemy_dialect, "upper(hex(x))"),
    ],
)
def test_hex_text_spellings(dialect, expected):
    assert sql(hex_text(column), dialect) == expected


@pytest.mark.parametrize("construct", [hex_text, hex_to_int])
def test_dialect_constructs_refuse_unknown_dialects(construct):
    with pytest.raises(sa.exc.CompileError, match="sqlite"):
        sql(construct(column), sqlite.dialect())


def test_hex_to_int_on_duckdb():
    assert duckdb_value(hex_to_int(sa.literal("0a1F"))) == 0x0A1F


def test_mssql_collate_only_on_mssql():
    assert sql(mssql_collate(column), mssql.dialect()) == "x COLLATE Latin1_General_BIN"
    assert sql(mssql_collate(column, "Latin1_General_CI_AS"), mssql.dialect()).endswith(
        "CI_AS"
    )
    assert sql(mssql_collate(column), TrinoDialect()) == "x"


def test_typed_literal_is_a_cast_of_iso_text():
    assert sql(
        typed_literal(datetime.date(9999, 12, 31), sa.DateTime()), TrinoDialect()
    ) == ("CAST('9999-12-31' AS TIMESTAMP)")
    assert sql(
        typed_literal(datetime.date(9999, 12, 31), sa.Date()), mssql.dialect()
    ) == ("CAST('9999-12-31' AS DATE)")


def test_null_if_and_as_date_on_duckdb():
    far_future = datetime.date(9999, 12, 31)
    stamp = sa.cast(sa.literal("9999-12-31 00:00:00"), sa.DateTime())
    assert duckdb_value(as_date(stamp, far_future)) is None
    later = sa.cast(sa.literal("2020-01-02 13:14:15"), sa.DateTime())
    assert duckdb_value(as_date(later, far_future)) == datetime.date(2020, 1, 2)
    assert duckdb_value(null_if(sa.literal(-1), -1)) is None


def test_flag_yes_no_and_recode_on_duckdb():
    assert duckdb_value(flag(sa.literal(1) == 1)) is True
    assert duckdb_value(flag(sa.literal(1) == 2)) is False
    assert [duckdb_value(yes_no(sa.literal(v))) for v in ("Y", "N", "?")] == [
        True,
        False,
        None,
    ]
    assert duckdb_value(recode(sa.literal(2), {1: "one", 2: "two"})) == "two"
    assert duckdb_value(recode(sa.literal(3), {1: "one", 2: "two"})) is None
