"""Every engine the tests run on, behind one small interface.

An engine fixture takes table data ({table node: [row dicts]}) and a query
model dataset, and returns result rows: (patient_id, *values), sorted by
patient_id, codes as plain strings. Adding an engine to the test suite is one
entry in ENGINES.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import duckdb

from ehrql.query_engines.duckdb import DuckDBQueryEngine, load_tables
from ehrql.query_engines.duckdb import load_tables as load_duckdb_tables  # noqa: F401 (used by tests)
from ehrql.query_engines.in_memory import InMemoryDatabase, InMemoryQueryEngine
from ehrql.query_model import nodes as qm

TableData = Mapping[qm.Frame, list[dict]]


def run_in_memory(table_data: TableData, dataset: qm.Dataset) -> list[tuple]:
    database = InMemoryDatabase({table.name: rows for table, rows in table_data.items()})
    return InMemoryQueryEngine(database).get_results(dataset)


def run_duckdb(table_data: TableData, dataset: qm.Dataset) -> list[tuple]:
    connection = duckdb.connect()
    try:
        load_tables(connection, table_data)
        return list(DuckDBQueryEngine(connection).get_results(dataset))
    finally:
        connection.close()


#: Engine name -> function running a dataset over table data.
ENGINES: dict[str, Callable[[TableData, qm.Dataset], list[tuple]]] = {
    "in_memory": run_in_memory,
    "duckdb": run_duckdb,
}
