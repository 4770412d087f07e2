"""The DuckDB engine on real database files and real directories of table files."""

from __future__ import annotations

import csv
import datetime
import gzip
from collections.abc import Iterator

import duckdb
import pyarrow as pa
import pyarrow.ipc
import pyarrow.parquet
import pytest

from ehrql.query_engines.duckdb import (
    ColumnNotFoundError,
    DatabaseOpenError,
    DuckDBQueryEngine,
    TableNotFoundError,
)
from ehrql.query_model import nodes as qm
from ehrql.query_model.table_schema import Column, TableSchema
from tests.lib.engines import load_duckdb_tables

PATIENTS = qm.SelectPatientTable(
    "patients",
    TableSchema(birth=Column(datetime.date), sex=Column(str), smoker=Column(bool)),
)
EVENTS = qm.SelectTable(
    "events",
    TableSchema(date=Column(datetime.date), code=Column(str), value=Column(float)),
)
Agg = qm.AggregateByPatient
Fn = qm.Function

PATIENT_ROWS = [
    {
        "patient_id": 1,
        "birth": datetime.date(1980, 5, 17),
        "sex": "female",
        "smoker": True,
    },
    {
        "patient_id": 2,
        "birth": datetime.date(1990, 11, 2),
        "sex": None,
        "smoker": False,
    },
    {"patient_id": 3, "birth": None, "sex": "male", "smoker": None},
]
EVENT_ROWS = [
    {"patient_id": 1, "date": datetime.date(2021, 3, 4), "code": "abc", "value": 1.5},
    {"patient_id": 1, "date": datetime.date(2022, 1, 9), "code": "xyz", "value": None},
    {"patient_id": 3, "date": datetime.date(2020, 8, 8), "code": "abc", "value": -2.0},
    {"patient_id": 4, "date": None, "code": None, "value": 7.25},
]


def the_dataset() -> qm.Dataset:
    latest = qm.PickOneRowPerPatient(
        qm.Sort(EVENTS, qm.SelectColumn(EVENTS, "date")), qm.Position.LAST
    )
    return qm.Dataset(
        population=Fn.Or(Agg.Exists(PATIENTS), Agg.Exists(EVENTS)),
        variables=qm.FrozenDict(
            {
                "birth": qm.SelectColumn(PATIENTS, "birth"),
                "sex": qm.SelectColumn(PATIENTS, "sex"),
                "smoker": qm.SelectColumn(PATIENTS, "smoker"),
                "latest_code": qm.SelectColumn(latest, "code"),
                "events": Agg.Count(EVENTS),
                "total": Agg.Sum(qm.SelectColumn(EVENTS, "value")),
            }
        ),
    )


EXPECTED = [
    (1, datetime.date(1980, 5, 17), "female", True, "xyz", 2, 1.5),
    (2, datetime.date(1990, 11, 2), None, False, None, 0, None),
    (3, None, "male", None, "abc", 1, -2.0),
    (4, None, None, None, None, 1, 7.25),
]


def csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "T" if value else "F"
    return str(value)


def write_csv(path, table, rows, opener=open, extra_column=False):
    names = ["patient_id", *table.schema.column_names]
    # Columns in a different order from the schema, to show they are read by name.
    names = [names[0], *reversed(names[1:])] + (["unused"] if extra_column else [])
    with opener(path, "wt", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(names)
        for row in rows:
            writer.writerow([csv_cell(row.get(n, "ignored")) for n in names])


def arrow_table(table, rows) -> pa.Table:
    types = {
        bool: pa.bool_(),
        str: pa.string(),
        float: pa.float64(),
        datetime.date: pa.date32(),
    }
    columns = {"patient_id": pa.array([r["patient_id"] for r in rows], pa.int64())}
    for name, type_ in table.schema.column_types:
        columns[name] = pa.array([r[name] for r in rows], types[type_])
    return pa.table(columns)


def test_duckdb_file(tmp_path):
    path = tmp_path / "data.duckdb"
    with duckdb.connect(str(path)) as connection:
        load_duckdb_tables(connection, {PATIENTS: PATIENT_ROWS, EVENTS: EVENT_ROWS})
    assert list(DuckDBQueryEngine(path).get_results(the_dataset())) == EXPECTED


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz"])
def test_directory_of_csv_files(tmp_path, suffix):
    opener = gzip.open if suffix.endswith(".gz") else open
    write_csv(
        tmp_path / f"patients{suffix}",
        PATIENTS,
        PATIENT_ROWS,
        opener,
        extra_column=True,
    )
    write_csv(tmp_path / f"events{suffix}", EVENTS, EVENT_ROWS, opener)
    assert list(DuckDBQueryEngine(str(tmp_path)).get_results(the_dataset())) == EXPECTED


def test_directory_of_parquet_and_arrow_files(tmp_path):
    pyarrow.parquet.write_table(
        arrow_table(PATIENTS, PATIENT_ROWS), tmp_path / "patients.parquet"
    )
    events = arrow_table(EVENTS, EVENT_ROWS)
    with pa.OSFile(str(tmp_path / "events.arrow"), "wb") as sink:
        with pyarrow.ipc.new_file(sink, events.schema) as writer:
            writer.write_table(events)
    assert list(DuckDBQueryEngine(tmp_path).get_results(the_dataset())) == EXPECTED


def test_results_are_streamed(tmp_path):
    results = DuckDBQueryEngine(tmp_path / "never-opened.duckdb").get_results(
        the_dataset()
    )
    # Nothing has run yet: the missing file is only found when rows are asked for.
    assert isinstance(results, Iterator)
    with pytest.raises(TableNotFoundError, match="never-opened.duckdb"):
        next(results)


def test_missing_table_file_names_table_and_directory(tmp_path):
    write_csv(tmp_path / "patients.csv", PATIENTS, PATIENT_ROWS)
    with pytest.raises(
        TableNotFoundError, match=r"table 'events' in directory .*events\.csv"
    ):
        list(DuckDBQueryEngine(tmp_path).get_results(the_dataset()))


def test_table_file_missing_a_column(tmp_path):
    write_csv(tmp_path / "events.csv", EVENTS, EVENT_ROWS)
    with open(tmp_path / "patients.csv", "w") as f:
        f.write("patient_id,birth,sex\n1,2000-01-01,male\n")
    with pytest.raises(
        ColumnNotFoundError, match="table 'patients' .* no column 'smoker'"
    ):
        list(DuckDBQueryEngine(tmp_path).get_results(the_dataset()))


def test_database_missing_a_table_or_column(tmp_path):
    path = tmp_path / "data.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute(
            "CREATE TABLE patients (patient_id BIGINT, birth DATE, sex VARCHAR)"
        )
    with pytest.raises(TableNotFoundError, match="no table 'events'"):
        list(DuckDBQueryEngine(path).get_results(the_dataset()))
    with duckdb.connect(str(path)) as connection:
        connection.execute(
            "CREATE TABLE events (patient_id BIGINT, date DATE, code VARCHAR, value DOUBLE)"
        )
    with pytest.raises(ColumnNotFoundError, match="'smoker'"):
        list(DuckDBQueryEngine(path).get_results(the_dataset()))


def test_get_queries_shows_file_reads(tmp_path):
    write_csv(tmp_path / "patients.csv", PATIENTS, PATIENT_ROWS)
    pyarrow.parquet.write_table(
        arrow_table(EVENTS, EVENT_ROWS), tmp_path / "events.parquet"
    )
    queries = DuckDBQueryEngine(tmp_path).get_queries(the_dataset())
    assert any("read_csv(" in q for q in queries)
    assert any("read_parquet(" in q for q in queries)
    assert queries[-1].startswith("DROP")


def test_event_tables_match_the_in_memory_engine(tmp_path):
    from ehrql.query_engines.in_memory import InMemoryDatabase, InMemoryQueryEngine

    recent = qm.Filter(
        EVENTS,
        Fn.GE(qm.SelectColumn(EVENTS, "date"), qm.Value(datetime.date(2021, 1, 1))),
    )
    dataset = qm.Dataset(
        population=Fn.Not(Fn.IsNull(qm.SelectColumn(PATIENTS, "sex"))),
        variables=qm.FrozenDict({"sex": qm.SelectColumn(PATIENTS, "sex")}),
        events=qm.FrozenDict(
            {
                "recent": qm.FrozenDict(
                    {
                        "date": qm.SelectColumn(recent, "date"),
                        "value": qm.SelectColumn(recent, "value"),
                        "sex": qm.SelectColumn(PATIENTS, "sex"),
                    }
                ),
                "all_codes": qm.FrozenDict({"code": qm.SelectColumn(EVENTS, "code")}),
            }
        ),
    )
    path = tmp_path / "data.duckdb"
    with duckdb.connect(str(path)) as connection:
        load_duckdb_tables(connection, {PATIENTS: PATIENT_ROWS, EVENTS: EVENT_ROWS})
    expected = InMemoryQueryEngine(
        InMemoryDatabase({"patients": PATIENT_ROWS, "events": EVENT_ROWS})
    ).get_event_results(dataset)
    actual = DuckDBQueryEngine(path).get_event_results(dataset)
    assert actual == expected
    assert actual["recent"] == [
        (1, datetime.date(2021, 3, 4), 1.5, "female"),
        (1, datetime.date(2022, 1, 9), None, "female"),
    ]


def test_dsn_may_be_a_duckdb_url(tmp_path):
    path = tmp_path / "data.duckdb"
    with duckdb.connect(str(path)) as connection:
        load_duckdb_tables(connection, {PATIENTS: PATIENT_ROWS, EVENTS: EVENT_ROWS})
    assert (
        list(DuckDBQueryEngine(f"duckdb:///{path}").get_results(the_dataset()))
        == EXPECTED
    )


def test_file_that_is_not_a_database(tmp_path):
    path = tmp_path / "patients.csv"
    path.write_text("patient_id\n1\n")
    with pytest.raises(
        DatabaseOpenError, match="cannot open .*patients.csv as a DuckDB database"
    ):
        list(DuckDBQueryEngine(path).get_results(the_dataset()))
