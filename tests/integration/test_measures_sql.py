"""Measures compile for MS SQL Server and Trino to one SELECT that parses, and,
translated to DuckDB by sqlglot, gives the in-memory engine's totals.

The measures read the interval's bounds in filters (of both kinds that
compile specially: dates within the interval, and rows in force on one of its
bounds), picks, the population and group columns, and group in two different ways, so that the SQL has a grouping
per measure (GROUPING SETS) as well as the plain GROUP BY of a single grouping.
"""

from __future__ import annotations

import datetime

import duckdb
import pytest
import sqlglot

from ehrql import INTERVAL, create_measures, months
from ehrql.measures.calculate import measure_totals_query
from ehrql.query_engines.base_sql import compile_interval_totals, default_table
from ehrql.query_engines.mssql import MSSQLDialect
from ehrql.query_engines.trino import TrinoDialect
from ehrql.tables import EventFrame, PatientFrame, Series, table
from tests.lib.engines import load_duckdb_tables, run_in_memory
from tests.unit.query_engines.transpiled import DUCKDB_MACROS, sqlglot_schema, translate

D = datetime.date

DIALECTS = {"tsql": MSSQLDialect(), "trino": TrinoDialect(table_prefix="ehrql_tmp_")}


@table
class people(PatientFrame):
    sex = Series(str)
    date_of_birth = Series(datetime.date)


@table
class visits(EventFrame):
    date = Series(datetime.date)
    cost = Series(int)
    urgent = Series(bool)


TABLE_DATA = {
    people._qm_node: [
        {"patient_id": 1, "sex": "female", "date_of_birth": D(1950, 6, 1)},
        {"patient_id": 2, "sex": "male", "date_of_birth": D(1990, 2, 1)},
        {"patient_id": 3, "sex": None, "date_of_birth": D(2019, 12, 1)},
        {"patient_id": 4, "sex": "male", "date_of_birth": None},
    ],
    visits._qm_node: [
        {"patient_id": 1, "date": D(2020, 1, 5), "cost": 10, "urgent": True},
        {"patient_id": 1, "date": D(2020, 2, 20), "cost": 5, "urgent": False},
        {"patient_id": 2, "date": D(2019, 12, 31), "cost": 7, "urgent": None},
        {"patient_id": 2, "date": D(2020, 3, 2), "cost": 3, "urgent": True},
        {"patient_id": 3, "date": D(2020, 2, 1), "cost": None, "urgent": False},
        {"patient_id": 4, "date": D(2020, 3, 1), "cost": 1, "urgent": True},
    ],
}


def totals_query():
    in_interval = visits.where(visits.date.is_during(INTERVAL))
    latest_so_far = (
        visits.where(visits.date.is_on_or_before(INTERVAL.end_date))
        .sort_by(visits.date)
        .last_for_patient()
    )
    measures = create_measures()
    measures.define_defaults(
        denominator=visits.where(
            visits.date.is_on_or_before(INTERVAL.end_date)
        ).exists_for_patient(),
        intervals=months(3).starting_on("2020-01-01"),
    )
    measures.define_measure(
        "visits_by_sex",
        numerator=in_interval.count_for_patient(),
        group_by={"sex": people.sex},
    )
    measures.define_measure(
        "visited_before_by_sex",
        numerator=visits.where(
            (visits.date < INTERVAL.start_date) | visits.date.is_null()
        ).exists_for_patient(),
        group_by={"sex": people.sex},
    )
    measures.define_measure(
        "urgent_last_by_age",
        numerator=latest_so_far.urgent,
        group_by={
            "over_50": (
                people.date_of_birth.is_before(INTERVAL.start_date - months(600))
            )
        },
    )
    batch = list(measures)
    query, _ = measure_totals_query(batch[0].denominator, batch[0].intervals, batch)
    return query


def totals_through_translation(read: str, query) -> list:
    compiled = compile_interval_totals(query, DIALECTS[read], default_table)
    statements = compiled.statements
    with duckdb.connect() as connection:
        for macro in DUCKDB_MACROS:
            connection.execute(macro)
        load_duckdb_tables(connection, TABLE_DATA)
        for statement in statements.setup:
            for translated in translate(statement, read, sqlglot_schema(TABLE_DATA)):
                connection.execute(translated)
        (select,) = translate(statements.select, read, sqlglot_schema(TABLE_DATA))
        return compiled.decode(connection.execute(select).fetchall())


@pytest.mark.parametrize("read", list(DIALECTS))
def test_measures_sql_parses(read):
    compiled = compile_interval_totals(totals_query(), DIALECTS[read], default_table)
    assert "GROUPING SETS" in compiled.statements.select.upper()
    for statement in compiled.statements.all_statements():
        sqlglot.parse_one(statement, read=read)


@pytest.mark.parametrize("read", list(DIALECTS))
def test_measures_totals_through_translation_to_duckdb(read):
    query = totals_query()
    expected = run_in_memory(TABLE_DATA, query)
    assert {row[0] for row in expected} == {0, 1}, "both groupings have rows"
    assert totals_through_translation(read, query) == expected
