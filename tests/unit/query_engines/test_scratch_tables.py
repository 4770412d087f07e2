"""Intermediate tables are named by each dialect's `temp_table_name`, recognised by their mark."""

import sqlalchemy as sa

from ehrql.query_engines.duckdb import DuckDBDialect
from ehrql.query_engines.mssql import MSSQLDialect
from ehrql.query_engines.scratch_tables import is_temp_table, temp_table
from ehrql.query_engines.trino import TrinoDialect

DIALECTS = {
    "duckdb": DuckDBDialect(),
    "mssql": MSSQLDialect(),
    "trino": TrinoDialect(scratch_schema='"scratch"."work"', table_prefix="job7_"),
}


def test_each_dialect_names_its_intermediate_tables():
    assert DIALECTS["duckdb"].temp_table_name("population_1") == "population_1"
    assert DIALECTS["mssql"].temp_table_name("population_1") == "#population_1"
    assert (
        DIALECTS["trino"].temp_table_name("population_1")
        == '"scratch"."work"."job7_population_1"'
    )


def read(dialect, table) -> str:
    return dialect.render(sa.select(table.c.patient_id))


def test_reads_of_an_intermediate_table_use_the_dialect_name():
    table = temp_table("picked_4", [("patient_id", sa.BigInteger())])
    assert is_temp_table(table)
    assert "FROM #picked_4 AS picked_4" in read(DIALECTS["mssql"], table)
    assert 'FROM "scratch"."work"."job7_picked_4" AS picked_4' in read(
        DIALECTS["trino"], table
    )
    assert "FROM picked_4" in read(DIALECTS["duckdb"], table)


def test_a_database_table_is_never_taken_for_one_whatever_its_name():
    # A raw table may happen to be called what the compiler calls its tables.
    table = sa.Table(
        "population_1", sa.MetaData(), sa.Column("patient_id", sa.BigInteger())
    )
    assert not is_temp_table(table)
    assert "#" not in read(DIALECTS["mssql"], table)
    assert "job7_" not in read(DIALECTS["trino"], table)


def test_statements_creating_filling_and_dropping_use_the_dialect_name():
    table = temp_table("values_2", [("value", sa.String())])
    for name, dialect in DIALECTS.items():
        expected = dialect.temp_table_name("values_2")
        statements = [
            *dialect.create_temp_table(
                table, sa.select(sa.literal("a").label("value"))
            ),
            *dialect.create_temp_table_from_rows(table, [("a",)]),
            *dialect.drop_temp_table(table),
        ]
        for statement in statements:
            assert expected in statement, (name, statement)
