"""The Spark engine's pieces: DSNs, constants, and the conversions Spark spells its own way.

The conversions are checked against Python itself on many values at once, in
one Spark query each, since Python's int(), float() and str() are what ehrQL's
semantics say they mean.
"""

import pytest
import sqlalchemy as sa

from ehrql.query_engines.scratch_tables import temp_table
from ehrql.query_engines.spark import SparkSource
from ehrql.query_engines.spark_dialect import (
    SparkDialect,
    python_float_text,
    spark_string,
)
from tests.lib.engines import spark_session

DIALECT = SparkDialect()


def spark_values(expressions):
    """The values of SQLAlchemy expressions, computed by Spark in one SELECT."""
    query = sa.select(*(e.label(f"c{i}") for i, e in enumerate(expressions)))
    return list(spark_session().sql(DIALECT.render(query)).collect()[0])


@pytest.mark.parametrize(
    "dsn, expected",
    [
        ("/data/ehr", SparkSource(master="local[*]", tables="/data/ehr")),
        (
            "spark://m:7077?tables=hdfs://nn/ehr",
            SparkSource(master="spark://m:7077", tables="hdfs://nn/ehr"),
        ),
        ("spark://m:7077/ehr", SparkSource(master="spark://m:7077", database="ehr")),
        ("spark://local/ehr", SparkSource(master="local[*]", database="ehr")),
        (
            "spark://m:7077/ehr?conf.spark.executor.memory=8g",
            SparkSource(
                master="spark://m:7077",
                database="ehr",
                conf=(("spark.executor.memory", "8g"),),
            ),
        ),
    ],
)
def test_spark_dsns(dsn, expected):
    assert SparkSource.from_dsn(dsn) == expected


@pytest.mark.parametrize(
    "dsn, message",
    [
        ("spark://", "names a master"),
        ("spark://m:7077", "either table files"),
        ("spark://m:7077/db?tables=/x", "either table files"),
        ("spark://m:7077/db?user=x", r"unknown Spark DSN parameter\(s\) user"),
    ],
)
def test_bad_spark_dsns(dsn, message):
    with pytest.raises(ValueError, match=message):
        SparkSource.from_dsn(dsn)


def test_string_constants_escape_backslashes_and_quotes():
    assert spark_string("it's a \\ path") == "'it\\'s a \\\\ path'"


STRINGS = [
    "",
    "plain",
    "it's",
    "back\\slash",
    "\\n",
    "%",
    "a_c",
    "é",
    "tab\there",
    "''",
]


def test_string_constants_read_back_unchanged():
    assert spark_values([DIALECT.literal(s) for s in STRINGS]) == STRINGS


FLOATS = [
    0.0,
    -0.0,
    1.0,
    -1.5,
    0.1,
    1 / 3,
    2 / 3,
    123456.789,
    1e-3,
    1.5e-4,
    1e-4,
    9.99e-5,
    1e-5,
    1.5e-5,
    1e6,
    9999999.0,
    1e7,
    12345678.9,
    1.5e15,
    9999999999999998.0,
    1e16,
    1.5e16,
    1e22,
    1e100,
    -2.5e-7,
    float("inf"),
    float("-inf"),
    1.7976931348623157e308,
]

#: Floats Java 17 writes with digits more than the shortest (fixed in Java 19),
#: so their text differs from Python's; it still reads back as the same float.
JAVA_17_LONG_FLOATS = [2e23, 5e-324]


def test_floats_are_written_as_python_writes_them():
    texts = spark_values([python_float_text(DIALECT.literal(f)) for f in FLOATS])
    assert texts == [str(f) for f in FLOATS]


def test_floats_java_writes_long_still_read_back_exactly():
    texts = spark_values(
        [python_float_text(DIALECT.literal(f)) for f in JAVA_17_LONG_FLOATS]
    )
    assert [float(t) for t in texts] == JAVA_17_LONG_FLOATS


INT_TEXTS = [
    "12",
    " 12 ",
    "+5",
    "-3",
    "007",
    "1_000",
    "1__0",
    "_1",
    "1.5",
    "1e3",
    "",
    " ",
    "x",
    "12a",
    "٣",
]


def python_int(text):
    try:
        return int(text)
    except ValueError:
        return None


def test_strings_parse_as_ints_as_python_parses_them():
    parsed = spark_values([DIALECT.parse_int(DIALECT.literal(t)) for t in INT_TEXTS])
    # Python reads non-ASCII digits too; ehrQL's data holds none, and SQL leaves them unread.
    assert parsed == [python_int(t) if t.isascii() else None for t in INT_TEXTS]


FLOAT_TEXTS = [
    "1.5",
    " 1.5 ",
    "+5",
    "-3",
    "1e3",
    "1E-3",
    ".5",
    "5.",
    "1_000.5",
    "1.5d",
    "1.5f",
    "0x10",
    "inf",
    "-Infinity",
    "nan",
    "",
    ".",
    "e3",
    "1e",
    "1.5.5",
]


def python_float(text):
    try:
        return float(text)
    except ValueError:
        return None


def test_strings_parse_as_floats_as_python_parses_them():
    parsed = spark_values(
        [DIALECT.parse_float(DIALECT.literal(t)) for t in FLOAT_TEXTS]
    )
    expected = [python_float(t) for t in FLOAT_TEXTS]
    assert [str(v) for v in parsed] == [str(v) for v in expected]


def test_scratch_tables_are_named_with_the_engine_prefix():
    table = temp_table("population_1", [("patient_id", sa.BigInteger())])
    (statement,) = SparkDialect("run7_").create_temp_table(
        table, sa.select(sa.literal(1).label("patient_id"))
    )
    assert statement.startswith("CACHE LAZY TABLE `run7_population_1` AS SELECT CAST(")
    assert "run7_population_1" in SparkDialect("run7_").render(
        sa.select(table.c.patient_id)
    )


def test_constant_rows_become_a_typed_cached_view():
    table = sa.Table(
        "inline_1",
        sa.MetaData(),
        sa.Column("patient_id", sa.BigInteger()),
        sa.Column("s", sa.String()),
    )
    session = spark_session()
    dialect = SparkDialect("unit_rows_")
    for statement in dialect.create_temp_table_from_rows(
        table, [(1, "a'b"), (2, None)]
    ):
        session.sql(statement)
    try:
        rows = session.sql(
            "SELECT * FROM unit_rows_inline_1 ORDER BY patient_id"
        ).collect()
        assert [tuple(r) for r in rows] == [(1, "a'b"), (2, None)]
        assert session.table("unit_rows_inline_1").dtypes == [
            ("patient_id", "bigint"),
            ("s", "string"),
        ]
    finally:
        for statement in dialect.drop_temp_table(table):
            session.sql(statement)


def test_no_constant_rows_still_gives_typed_columns():
    table = sa.Table("values_1", sa.MetaData(), sa.Column("value", sa.Date()))
    session = spark_session()
    dialect = SparkDialect("unit_empty_")
    for statement in dialect.create_temp_table_from_rows(table, []):
        session.sql(statement)
    try:
        assert session.table("unit_empty_values_1").dtypes == [("value", "date")]
        assert session.table("unit_empty_values_1").count() == 0
    finally:
        for statement in dialect.drop_temp_table(table):
            session.sql(statement)


def test_a_backend_needs_a_catalog_database():
    from ehrql.backends.tpp import TPPBackend
    from ehrql.query_engines.duckdb import DatabaseOpenError
    from ehrql.query_engines.spark import SparkQueryEngine

    with pytest.raises(DatabaseOpenError, match="catalog database"):
        SparkQueryEngine("/data/parquet", backend=TPPBackend())


def test_permissions_granted_through_the_dsn_reach_the_backend():
    from ehrql.backends.tpp import TPPBackend
    from ehrql.query_engines.spark import SparkQueryEngine

    engine = SparkQueryEngine(
        "spark://local/tpp?opensafely_include_t1oo=true", backend=TPPBackend()
    )
    assert engine.source.database == "tpp"
    assert engine.permissions == frozenset({"include_t1oo"})
