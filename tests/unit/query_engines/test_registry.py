"""The engine registry, and what a dialect must provide."""

import datetime

import pyarrow as pa
import pytest
import sqlalchemy as sa

from ehrql.column_types import COLUMN_TYPES, arrow_type, column_type
from ehrql.main import engine_for_dsn, query_engine_names
from ehrql.query_engines import (
    DRIVER_EXTRAS,
    DSN_SCHEME_ENGINES,
    ENGINE_CLASSES,
    ENGINES,
    get_engine_class,
)
from ehrql.query_engines.duckdb import DuckDBDialect
from ehrql.query_engines.sql_dialect import SQLDialect
from ehrql.query_model.nodes import Value


def test_every_list_of_engines_is_the_registry():
    assert query_engine_names() == sorted(ENGINES) == sorted(ENGINE_CLASSES)
    assert set(DSN_SCHEME_ENGINES.values()) <= set(ENGINES)
    assert dict(DSN_SCHEME_ENGINES) == {
        "mssql": "mssql",
        "mssql+pyodbc": "mssql",
        "trino": "trino",
        "spark": "spark",
    }
    assert (
        DRIVER_EXTRAS["mssql+pyodbc"] == "mssql" and DRIVER_EXTRAS["trino"] == "trino"
    )


@pytest.mark.parametrize(
    "dsn,engine",
    [
        ("mssql://u:p@h/db", "mssql"),
        ("MSSQL+PYODBC://u:p@h/db", "mssql"),
        ("trino://u@h:1/c/s", "trino"),
        ("spark://local/db", "spark"),
        ("data/tables", None),
        ("postgresql://u@h/db", None),
    ],
)
def test_a_dsn_scheme_names_its_engine(dsn, engine):
    assert engine_for_dsn(dsn) == engine


@pytest.mark.parametrize("name", ["in_memory", "duckdb", "mssql", "trino"])
def test_each_record_loads_its_class(name):
    assert get_engine_class(name).__name__ == ENGINES[name].engine_class.split(":")[1]


def test_an_unknown_engine_names_the_known_ones():
    with pytest.raises(
        ValueError, match="known engines: duckdb, in_memory, mssql, spark, trino"
    ):
        get_engine_class("oracle")


def test_a_dialect_missing_a_building_block_cannot_be_made():
    class Partial(SQLDialect):
        sqlalchemy_dialect = DuckDBDialect.sqlalchemy_dialect
        sqlalchemy_name = "duckdb"

        def parse_int(self, expr):
            return expr

    with pytest.raises(TypeError, match="add_days_unchecked"):
        Partial()


def test_one_column_type_table_gives_sql_and_arrow_types():
    assert set(COLUMN_TYPES) == {bool, int, float, datetime.date, str}
    assert arrow_type(datetime.date) == pa.date32()
    assert isinstance(DuckDBDialect().column_type(int), sa.BigInteger)
    with pytest.raises(TypeError, match="no column type for series type"):
        column_type(Value)


@pytest.mark.parametrize(
    "dialect_module,text,expected",
    [
        ("ehrql.query_engines.duckdb:DuckDBDialect", "it's", "'it''s'"),
        ("ehrql.query_engines.mssql:MSSQLDialect", "café's", "N'café''s'"),
        ("ehrql.query_engines.spark_dialect:SparkDialect", "a\\b's", "'a\\\\b\\'s'"),
    ],
)
def test_string_constants_are_escaped_by_the_dialects_table(
    dialect_module, text, expected
):
    module_name, class_name = dialect_module.split(":")
    dialect_class = getattr(pytest.importorskip(module_name), class_name)
    assert dialect_class.string_literal_sql(text) == expected


#: Every SQL dialect, as "module:class".
SQL_DIALECTS = [
    "ehrql.query_engines.duckdb:DuckDBDialect",
    "ehrql.query_engines.mssql:MSSQLDialect",
    "ehrql.query_engines.spark_dialect:SparkDialect",
    "ehrql.query_engines.trino:TrinoDialect",
]


def _dialect(dialect_module: str):
    module_name, class_name = dialect_module.split(":")
    return getattr(pytest.importorskip(module_name), class_name)()


@pytest.mark.parametrize("dialect_module", SQL_DIALECTS)
def test_date_constants_are_written_as_sqlalchemy_writes_them(dialect_module):
    dialect = _dialect(dialect_module)
    for day in [datetime.date(1, 1, 1), datetime.date(2024, 2, 29)]:
        assert dialect.literal_sql(day) == dialect.render(dialect.literal(day))


@pytest.mark.parametrize("dialect_module", SQL_DIALECTS)
def test_string_constants_are_written_as_sqlalchemy_writes_them(dialect_module):
    # Strings are written by the dialect's escaping table rather than bound
    # through SQLAlchemy (faster): the SQL is the same, but for the prefix
    # SQLAlchemy does not write.
    dialect = _dialect(dialect_module)
    for text in ["it's", "a\\b", "%_", "ünï", ""]:
        written = dialect.render(dialect.literal(text))
        assert written == dialect.string_literal_sql(text)
        if text.isascii() or not dialect.unicode_string_prefix:
            assert written == dialect.render(sa.literal(text, sa.String()))
