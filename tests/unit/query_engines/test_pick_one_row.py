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

EVENTS = qm.SelectTable(
    "events", TableSchema(k=Column(int), s=Column(str), b=Column(bool))
)
PATIENTS = qm.SelectPatientTable("patients", TableSchema(k=Column(int)))
PATIENT_ROWS = [
    {"patient_id": 1, "k": 2},
    {"patient_id": 2, "k": None},
    {"patient_id": 4, "k": 9},
]

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


def picked_dataset(sort_keys, position, read_columns=("k", "s", "b")) -> qm.Dataset:
    frame = EVENTS
    # The DSL's sort_by(a, b) nests as Sort(Sort(t, b), a).
    for key in reversed(sort_keys):
        frame = qm.Sort(
            frame, key if isinstance(key, qm.Series) else qm.SelectColumn(EVENTS, key)
        )
    picked = qm.PickOneRowPerPatient(frame, position)
    return qm.Dataset(
        population=qm.AggregateByPatient.Exists(EVENTS),
        variables=qm.FrozenDict({n: qm.SelectColumn(picked, n) for n in read_columns}),
    )


def check(engine_class, dataset):
    tables = {"events": ROWS, "patients": PATIENT_ROWS}
    expected = InMemoryQueryEngine(InMemoryDatabase(tables)).get_results(dataset)
    with duckdb.connect() as connection:
        load_duckdb_tables(connection, {EVENTS: ROWS, PATIENTS: PATIENT_ROWS})
        actual = list(engine_class(connection).get_results(dataset))
    assert actual == expected


ENGINES = [DuckDBQueryEngine, WindowPickingEngine]
POSITIONS = [qm.Position.FIRST, qm.Position.LAST]


@pytest.mark.parametrize("engine_class", ENGINES)
@pytest.mark.parametrize("position", POSITIONS)
@pytest.mark.parametrize("sort_keys", [["k"], ["s"], ["b"], ["k", "b"], ["b", "s"]])
def test_picks_agree_with_in_memory(engine_class, position, sort_keys):
    check(engine_class, picked_dataset(sort_keys, position))


@pytest.mark.parametrize("engine_class", ENGINES)
@pytest.mark.parametrize("position", POSITIONS)
@pytest.mark.parametrize("sort_keys", [["k"], ["s"], ["k", "s"]])
def test_reading_only_the_primary_sort_key(engine_class, position, sort_keys):
    # Compiled as a minimum or maximum rather than a picked row.
    check(
        engine_class, picked_dataset(sort_keys, position, read_columns=[sort_keys[0]])
    )


@pytest.mark.parametrize("position", POSITIONS)
def test_patient_level_sort_key_with_the_same_name_as_a_column(position):
    patient_key = qm.SelectColumn(PATIENTS, "k")
    check(
        DuckDBQueryEngine,
        picked_dataset([patient_key, "s"], position, read_columns=["k"]),
    )
