"""Every engine the tests run on, behind one small interface.

An engine fixture takes table data ({table node: [row dicts]}) and a query:
a query model dataset, for which it returns result rows (patient_id, *values)
sorted by patient_id, codes as plain strings; or an `IntervalTotals`, for which
it returns the engine's totals rows. Adding an engine to the test suite is one
entry in ENGINES.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import duckdb

from ehrql.query_engines.duckdb import DuckDBQueryEngine, load_tables
from ehrql.query_engines.duckdb import load_tables as load_duckdb_tables  # noqa: F401 (used by tests)
from ehrql.query_engines.in_memory import InMemoryDatabase, InMemoryQueryEngine
from ehrql.query_model import nodes as qm
from ehrql.query_model.interval_totals import IntervalTotals

TableData = Mapping[qm.Frame, list[dict]]
Query = qm.Dataset | IntervalTotals


def run_query(engine, query: Query) -> list[tuple]:
    """Run a dataset or a totals query on an engine object."""
    if isinstance(query, IntervalTotals):
        return list(engine.get_interval_totals(query))
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


#: Engine name -> function running a query over table data.
ENGINES: dict[str, Callable[[TableData, Query], list[tuple]]] = {
    "in_memory": run_in_memory,
    "duckdb": run_duckdb,
}
