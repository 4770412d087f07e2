"""Server engines (SQL Server, Trino) write their results through the same writers.

No server runs in the tests: each engine's compiled SQL is translated to
DuckDB's by sqlglot (see `transpiled.py`) and its rows streamed as a driver
would stream them. The files must be those the row writers make from the
expected rows.
"""

import datetime

import duckdb
import pytest

from ehrql.file_formats import dataset_column_specs, write_rows
from ehrql.main import write_engine_output
from ehrql.progress import Progress
from ehrql.query_engines.mssql import MSSQLQueryEngine
from ehrql.query_engines.trino import TrinoQueryEngine
from ehrql.query_model import nodes as qm
from ehrql.query_model.table_schema import Column, TableSchema
from tests.lib.engines import load_duckdb_tables
from tests.unit.query_engines.transpiled import DUCKDB_MACROS, sqlglot_schema, translate

PEOPLE = qm.SelectPatientTable(
    "people",
    TableSchema(
        i=Column(int),
        f=Column(float),
        b=Column(bool),
        s=Column(str),
        d=Column(datetime.date),
    ),
)
ROWS = [
    {
        "patient_id": 1,
        "i": 7,
        "f": 0.1,
        "b": True,
        "s": 'a,"quoted"\nline',
        "d": datetime.date(1, 1, 1),
    },
    {
        "patient_id": 2,
        "i": None,
        "f": 1e20,
        "b": False,
        "s": "",
        "d": datetime.date(9999, 12, 31),
    },
    {"patient_id": 3, "i": -(2**62), "f": -0.0, "b": None, "s": None, "d": None},
    {
        "patient_id": 4,
        "i": 0,
        "f": None,
        "b": True,
        "s": "plain",
        "d": datetime.date(2024, 2, 29),
    },
]
DATASET = qm.Dataset(
    population=qm.AggregateByPatient.Exists(PEOPLE),
    variables=qm.FrozenDict(
        {name: qm.SelectColumn(PEOPLE, name) for name in ["i", "f", "b", "s", "d"]}
    ),
)
EXPECTED = [tuple(row.values()) for row in ROWS]


def translated_rows(read: str):
    """A `run_compiled` running the engine's SQL translated on DuckDB, streaming rows."""

    def run_compiled(dataset, compiled):
        with duckdb.connect() as connection:
            for macro in DUCKDB_MACROS:
                connection.execute(macro)
            load_duckdb_tables(connection, {PEOPLE: ROWS})
            # Trino's scratch tables go in the DSN's catalog and schema.
            connection.execute("ATTACH ':memory:' AS \"catalog\"")
            connection.execute('CREATE SCHEMA "catalog"."schema"')
            rows = []
            for statement in [*compiled.setup, compiled.select]:
                for translated in translate(statement, read, sqlglot_schema([PEOPLE])):
                    rows = connection.execute(translated).fetchall()
        for row in rows:
            # sqlglot's date arithmetic gives timestamps where the server gives dates.
            yield tuple(
                v.date() if isinstance(v, datetime.datetime) else v for v in row
            )

    return run_compiled


ENGINES = {
    "mssql": (lambda: MSSQLQueryEngine("mssql://user:pass@host/db"), "tsql"),
    "trino": (
        lambda: TrinoQueryEngine("trino://user@host:8080/catalog/schema"),
        "trino",
    ),
}


@pytest.mark.parametrize("extension", [".csv", ".csv.gz", ".arrow", ".parquet"])
@pytest.mark.parametrize("name", list(ENGINES))
def test_server_results_write_the_same_files(tmp_path, monkeypatch, name, extension):
    make_engine, read = ENGINES[name]
    engine = make_engine()
    monkeypatch.setattr(engine, "run_compiled", translated_rows(read))
    specs = dataset_column_specs(DATASET)
    old, new = tmp_path / f"old{extension}", tmp_path / f"new{extension}"
    write_rows(old, specs, EXPECTED)
    count = write_engine_output(
        engine, DATASET, new, specs, log=lambda m: None, progress=Progress.silent()
    )
    assert count == len(EXPECTED)
    if extension == ".csv.gz":
        import gzip

        assert gzip.decompress(new.read_bytes()) == gzip.decompress(old.read_bytes())
    else:
        assert new.read_bytes() == old.read_bytes()
