"""Both ways of picking one row per patient agree with the in-memory engine.

DuckDB picks with arg_min/arg_max over a struct of sort keys; other databases
use the standard ROW_NUMBER() window of `SQLDialect`. Both are run on DuckDB
here, over data full of nulls and ties, where they are easiest to get wrong.
"""

from __future__ import annotations

import duckdb
import pytest

from ehrql.query_engines.duckdb import DuckDBDialect, DuckDBQueryEngine
from ehrql.query_engines.in_memory import InMemoryDatabase, InMemoryQueryEngine
from ehrql.query_engines.sql_dialect import SQLDialect
from ehrql.query_model import nodes as qm
from ehrql.query_model.table_schema import Column, TableSchema
from tests.lib.engines import load_duckdb_tables

EVENTS = qm.SelectTable("events", TableSchema(k=Column(int), s=Column(str), b=Column(bool)))

ROWS = [
    {"patient_id": 1, "k": None, "s": "b", "b": True},
    {"patient_id": 1, "k": None, "s": "a", "b": None},
    {"patient_id": 1, "k": 3, "s": None, "b": False},
    {"patient_id": 2, "k": 5, "s": "x", "b": True},
    {"patient_id": 2, "k": 5, "s": "x", "b": False},
    {"patient_id": 2, "k": 5, "s": None, "b": None},
    {"patient_id": 3, "k": None, "s": None, "b": None},
    {"patient_id": 4, "k": -1, "s": "z", "b": True},
    {"patient_id": 4, "k": 7, "s": "z", "b": True},
]


class WindowPickingDuckDBDialect(DuckDBDialect):
    """DuckDB, but picking rows the standard way."""

    pick_one_row_per_patient = SQLDialect.pick_one_row_per_patient


class WindowPickingEngine(DuckDBQueryEngine):
    dialect = WindowPickingDuckDBDialect()


def picked_dataset(sort_columns, position) -> qm.Dataset:
    frame = EVENTS
    # The DSL's sort_by(a, b) nests as Sort(Sort(t, b), a).
    for name in reversed(sort_columns):
        frame = qm.Sort(frame, qm.SelectColumn(EVENTS, name))
    picked = qm.PickOneRowPerPatient(frame, position)
    return qm.Dataset(
        population=qm.AggregateByPatient.Exists(EVENTS),
        variables=qm.FrozenDict({n: qm.SelectColumn(picked, n) for n in ("k", "s", "b")}),
    )


@pytest.mark.parametrize("engine_class", [DuckDBQueryEngine, WindowPickingEngine])
@pytest.mark.parametrize("position", [qm.Position.FIRST, qm.Position.LAST])
@pytest.mark.parametrize("sort_columns", [["k"], ["s"], ["b"], ["k", "b"], ["b", "s"]])
def test_picks_agree_with_in_memory(engine_class, position, sort_columns):
    dataset = picked_dataset(sort_columns, position)
    expected = InMemoryQueryEngine(InMemoryDatabase({"events": ROWS})).get_results(dataset)
    with duckdb.connect() as connection:
        load_duckdb_tables(connection, {EVENTS: ROWS})
        actual = list(engine_class(connection).get_results(dataset))
    assert actual == expected
