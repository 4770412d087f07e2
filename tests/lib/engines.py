"""Every engine the tests run on, behind one small interface.

An engine fixture takes table data ({table node: [row dicts]}) and a query:
a query model dataset, for which it returns result rows (patient_id, *values)
sorted by patient_id, codes as plain strings; or an `IntervalTotals`, for which
it returns the engine's totals rows. Adding an engine to the test suite is one
entry in ENGINES; a dialect that exists only in the tests is one file,
`tests/lib/dialect_<name>.py`, that calls `register_test_engine`.
"""

from __future__ import annotations

import dataclasses
import importlib
import pathlib
import uuid
from collections.abc import Callable, Mapping

import duckdb
import pytest

from ehrql import query_engines
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
    database = InMemoryDatabase(
        {table.name: rows for table, rows in table_data.items()}
    )
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
    pytest.importorskip(
        "pyspark", reason="pyspark is not installed: pip install -e '.[spark]'"
    )
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


Runner = Callable[[TableData, Query], list[tuple]]

#: Engine name (as `ehrql.query_engines.ENGINES` registers it) -> function
#: running a query over table data: each engine that runs with no server.
ENGINES: dict[str, Runner] = {
    "in_memory": run_in_memory,
    "duckdb": run_duckdb,
    "spark": run_spark,
}
assert set(ENGINES) <= set(query_engines.ENGINES), (
    "a test engine must be a registered engine"
)

#: Engines that exist only in the tests (see `register_test_engine`), and
#: every engine the spec tests run on.
TEST_ENGINES: dict[str, Runner] = {}
SPEC_ENGINES: dict[str, Runner] = dict(ENGINES)
#: Engine name -> {spec test: why that engine cannot pass it}.
KNOWN_GAPS: dict[str, Mapping[str, str]] = {}


def register_test_engine(
    name: str, runner: Runner, known_gaps: Mapping[str, str]
) -> None:
    """Add a test-only engine (a dialect shown to work, say) to the spec tests.

    `known_gaps` names the spec tests it cannot pass (`file.py::test_name`,
    under tests/spec), with the reason; they run as strict xfails.
    """
    assert name not in SPEC_ENGINES and name not in query_engines.ENGINES, name
    TEST_ENGINES[name] = SPEC_ENGINES[name] = runner
    KNOWN_GAPS[name] = known_gaps


# Each tests/lib/dialect_*.py module registers itself: a dialect added in the
# tests is that one file.
for _module in sorted(pathlib.Path(__file__).parent.glob("dialect_*.py")):
    importlib.import_module(f"{__package__}.{_module.stem}")
