"""Every engine the tests run on, behind one small interface.

An engine fixture takes table data ({table node: [row dicts]}) and a query:
a query model dataset, for which it returns result rows (patient_id, *values)
sorted by patient_id, codes as plain strings; or an `IntervalTotals`, for which
it returns the engine's totals rows. Adding an engine to the test suite is one
entry in ENGINES.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Mapping

import duckdb
import pytest

from ehrql.query_engines.duckdb import DuckDBQueryEngine, load_tables
from ehrql.query_engines.duckdb import load_tables as load_duckdb_tables  # noqa: F401 (used by tests)
from ehrql.query_engines.in_memory import InMemoryDatabase, InMemoryQueryEngine
from ehrql.query_model import nodes as qm
from ehrql.query_model.interval_totals import IntervalTotals

TableData = Mapping[qm.Frame, list[dict]]
Query = qm.Dataset | IntervalTotals  # or an EventTableQuery


@dataclasses.dataclass(frozen=True)
class EventTableQuery:
    """One event table of a dataset, as a query: its rows are (patient_id, *columns)."""

    dataset: qm.Dataset
    name: str


def run_query(engine, query: Query) -> list[tuple]:
    """Run a dataset, a totals query or an event table query on an engine object."""
    if isinstance(query, IntervalTotals):
        return list(engine.get_interval_totals(query))
    if isinstance(query, EventTableQuery):
        return list(engine.get_event_table_results(query.dataset, query.name))
    return list(engine.get_results(query))


def run_in_memory(table_data: TableData, query: Query) -> list[tuple]:
    database = InMemoryDatabase({table.name: rows for table, rows in table_data.items()})
    return run_query(InMemoryQueryEngine(database), query)


def run_duckdb(table_data: TableData, query: Query) -> list[tuple]:
    connection = duckdb.connect()
    try:
        load_tables(connection, table_data)
        return run_query(DuckDBQueryEngine(connection), query)
    finally:
        connection.close()


#: Spark properties for the tests' one Spark session: two cores, as CI has,
#: and one partition, since test tables hold a handful of rows and each
#: partition costs a task. Test queries are tiny and all different, so
#: compiling them to Java (codegen) and re-planning them as they run (adaptive
#: execution) cost more than they save: measured, they make a batch of spec
#: cases two to three times slower.
SPARK_TEST_CONF = {
    "spark.sql.shuffle.partitions": "1",
    "spark.default.parallelism": "1",
    "spark.ui.enabled": "false",
    "spark.driver.memory": "1g",
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
}


def spark_session():
    """The test run's one SparkSession (started on first use); skips the test without pyspark."""
    pytest.importorskip("pyspark", reason="pyspark is not installed: pip install -e '.[spark]'")
    from ehrql.query_engines.spark import get_session

    return get_session("local[2]", SPARK_TEST_CONF)


def run_spark(table_data: TableData, query: Query) -> list[tuple]:
    from ehrql.query_engines.spark import SparkQueryEngine, load_tables

    session = spark_session()
    prefix = f"test_{uuid.uuid4().hex[:12]}_"
    # Tables are named with a prefix of their own, so runs never see each other's.
    load_tables(session, table_data, prefix=prefix)
    try:
        return run_query(SparkQueryEngine(session, session_tables_prefix=prefix), query)
    finally:
        for table in table_data:
            session.catalog.dropTempView(prefix + table.name)


#: Engine name -> function running a query over table data.
ENGINES: dict[str, Callable[[TableData, Query], list[tuple]]] = {
    "in_memory": run_in_memory,
    "duckdb": run_duckdb,
    "spark": run_spark,
}
