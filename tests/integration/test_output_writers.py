"""The database-side writers (`write_results`) against the row-at-a-time writers (`write_rows`).

Every file the new writers make must be the file the row writers make from
the same rows, byte for byte: on the example data through the DuckDB engine,
and on generated rows holding the awkward values (nulls everywhere, floats
such as 0.1, 1e20 and -0.0, strings with quotes, commas and line breaks,
dates at the ends of the calendar).
"""

import datetime
import gzip
import io
import random
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from ehrql.codes import SNOMEDCTCode
from ehrql.file_formats import arrow_format, dataset_column_specs, write_rows
from ehrql.file_formats import results as results_module
from ehrql.file_formats.arrow_format import record_batches
from ehrql.file_formats.base import ColumnSpec, patient_id_spec
from ehrql.file_formats.results import (
    CONSOLE_ROWS,
    ArrowResults,
    DuckDBResults,
    csv_select,
    write_results,
)
from ehrql.loaders import load_dataset_definition
from ehrql.main import write_engine_output
from ehrql.progress import Progress
from ehrql.query_engines.duckdb import DuckDBQueryEngine

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_DEFINITION = REPO / "examples" / "dataset_definition.py"
EXAMPLE_DATA = REPO / "ehrql" / "example-data"

EXTENSIONS = [".csv", ".csv.gz", ".arrow", ".parquet"]


def assert_same_file(old: Path, new: Path) -> None:
    if old.name.endswith(".gz"):
        # The content first, for a readable failure.
        assert gzip.decompress(new.read_bytes()) == gzip.decompress(old.read_bytes())
    assert new.read_bytes() == old.read_bytes()


def quiet_log(message):
    pass


@pytest.mark.parametrize("extension", EXTENSIONS)
def test_example_data_through_the_duckdb_engine(tmp_path, extension):
    dataset = load_dataset_definition(EXAMPLE_DEFINITION, {}).query_model
    specs = dataset_column_specs(dataset)
    engine = DuckDBQueryEngine(EXAMPLE_DATA)
    old = tmp_path / f"old{extension}"
    new = tmp_path / f"new{extension}"
    old_count = write_rows(old, specs, engine.get_results(dataset))
    new_count = write_engine_output(
        engine, dataset, new, specs, log=quiet_log, progress=Progress.silent()
    )
    assert new_count == old_count > 0
    assert_same_file(old, new)


AWKWARD_STRINGS = [
    "plain",
    "",
    None,
    "a,b",
    'say "hi"',
    "two\nlines",
    "carriage\rreturn",
    "crlf\r\nend",
    " leading",
    "trailing ",
    "semi;colon",
    "it's",
    "\t",
    "é ü ß 日本",
    '"',
    '""',
    ",",
    "NULL",
    "null",
    "\\",
    "#comment",
    "N/A",
    "=1+1",
    "x" * 300,
]
AWKWARD_FLOATS = [
    0.1,
    0.2 + 0.1,
    1e20,
    1e16,
    1e15,
    123456789.125,
    -0.0,
    0.0,
    1.0,
    100.0,
    1e-5,
    1.5e-7,
    5e-324,
    1.7976931348623157e308,
    -2.5,
    1 / 3,
    float("inf"),
    float("-inf"),
    None,
]
AWKWARD_DATES = [
    datetime.date(1, 1, 1),
    datetime.date(9999, 12, 31),
    datetime.date(1900, 2, 28),
    datetime.date(2000, 2, 29),
    datetime.date(1970, 1, 1),
    None,
]
AWKWARD_INTS = [0, -1, 2**63 - 1, -(2**63), 10**15, None]

AWKWARD_SPECS = [
    patient_id_spec(),
    ColumnSpec("text", str),
    ColumnSpec("number", float),
    ColumnSpec("flag", bool),
    ColumnSpec("day", datetime.date),
    ColumnSpec("count", int),
    ColumnSpec("sex", str, categories=("female", "male", "intersex", "unknown")),
    ColumnSpec("code", SNOMEDCTCode),
    ColumnSpec("band", str, categories=("a,b", 'q"uote', "line\nbreak")),
]


def awkward_rows(count: int, seed: int = 1) -> list[tuple]:
    rng = random.Random(seed)
    codes = [SNOMEDCTCode("1000004"), SNOMEDCTCode("44054006"), None]
    rows = []
    for patient_id in range(1, count + 1):
        rows.append(
            (
                patient_id,
                rng.choice(AWKWARD_STRINGS),
                rng.choice(
                    [*AWKWARD_FLOATS, rng.random() * 10 ** rng.randint(-30, 30)]
                ),
                rng.choice([True, False, None]),
                rng.choice(AWKWARD_DATES),
                rng.choice([*AWKWARD_INTS, rng.randint(-(2**40), 2**40)]),
                rng.choice(["female", "male", "intersex", "unknown", None]),
                rng.choice(codes),
                rng.choice(["a,b", 'q"uote', "line\nbreak", None]),
            )
        )
    return rows


@pytest.fixture(autouse=True)
def small_batches(monkeypatch):
    """Record batches of a few rows, so that a few thousand rows span several."""
    monkeypatch.setattr(arrow_format, "BATCH_SIZE", 1_000)
    monkeypatch.setattr(results_module, "BATCH_SIZE", 1_000)


@pytest.fixture(scope="module")
def awkward():
    """Rows spanning several record batches, and a DuckDB table holding them."""
    rows = awkward_rows(5_500)
    table = pa.Table.from_batches(list(record_batches(AWKWARD_SPECS, rows)))
    plain = table.cast(
        pa.schema(
            [
                pa.field(
                    f.name,
                    f.type.value_type if pa.types.is_dictionary(f.type) else f.type,
                )
                for f in table.schema
            ]
        )
    )
    connection = duckdb.connect()
    connection.register("staged", plain)
    connection.execute("CREATE TABLE awkward AS SELECT * FROM staged")
    connection.unregister("staged")
    yield rows, plain, connection
    connection.close()


def sources(awkward):
    rows, plain, connection = awkward
    return {
        "duckdb": lambda: DuckDBResults(
            connection, "SELECT * FROM awkward ORDER BY patient_id"
        ),
        # Odd batch sizes, so that batches must be cut and joined to match.
        "arrow": lambda: ArrowResults(plain.to_batches(max_chunksize=777)),
        "rows": lambda: iter(rows),
    }


@pytest.mark.parametrize("extension", EXTENSIONS)
@pytest.mark.parametrize("source", ["duckdb", "arrow", "rows"])
def test_awkward_values_match_the_row_writers(tmp_path, awkward, extension, source):
    rows = awkward[0]
    old = tmp_path / f"old{extension}"
    new = tmp_path / f"new{extension}"
    assert write_rows(old, AWKWARD_SPECS, rows) == len(rows)
    assert write_results(new, AWKWARD_SPECS, sources(awkward)[source]()) == len(rows)
    assert_same_file(old, new)


def test_csv_to_standard_output(tmp_path, awkward):
    rows = awkward[0]
    old = tmp_path / "old.csv"
    write_rows(old, AWKWARD_SPECS, rows)
    stdout = io.StringIO()
    count = write_results(
        "-", AWKWARD_SPECS, sources(awkward)["duckdb"](), stdout=stdout
    )
    assert count == len(rows)
    assert stdout.getvalue().encode() == old.read_bytes()


@pytest.mark.parametrize("source", ["duckdb", "arrow", "rows"])
def test_console_shows_the_first_rows_and_the_count(awkward, source):
    stdout = io.StringIO()
    count = write_results(
        None,
        AWKWARD_SPECS[:1] + AWKWARD_SPECS[3:6],
        _columns(awkward, source, [0, 3, 4, 5]),
        stdout=stdout,
    )
    lines = stdout.getvalue().splitlines()
    assert count == len(awkward[0])
    # Header, rule, the first rows, and the count.
    assert len(lines) == 2 + CONSOLE_ROWS + 1
    assert lines[0].split(" | ")[0].strip() == "patient_id"
    assert lines[2].split("|")[0].strip() == "1"
    assert (
        lines[-1]
        == f"... {count - CONSOLE_ROWS:,} more rows not shown ({count:,} in all); write them all with --output FILE"
    )


def _columns(awkward, source, positions):
    rows, plain, connection = awkward
    names = [plain.column_names[i] for i in positions]
    if source == "duckdb":
        return DuckDBResults(
            connection, f"SELECT {', '.join(names)} FROM awkward ORDER BY patient_id"
        )
    if source == "arrow":
        return ArrowResults(plain.select(names).to_batches(max_chunksize=999))
    return (tuple(row[i] for i in positions) for row in rows)


def test_console_with_few_rows_has_no_count_line():
    stdout = io.StringIO()
    write_results(None, [patient_id_spec()], [(1,), (2,)], stdout=stdout)
    assert stdout.getvalue().splitlines()[2:] == ["         1", "         2"]


@pytest.mark.parametrize("extension", EXTENSIONS)
def test_empty_results_give_the_same_file(tmp_path, extension):
    connection = duckdb.connect()
    connection.execute(
        "CREATE TABLE empty (patient_id BIGINT, text VARCHAR, flag BOOLEAN)"
    )
    specs = [patient_id_spec(), ColumnSpec("text", str), ColumnSpec("flag", bool)]
    old, new = tmp_path / f"old{extension}", tmp_path / f"new{extension}"
    write_rows(old, specs, [])
    assert (
        write_results(new, specs, DuckDBResults(connection, "SELECT * FROM empty")) == 0
    )
    assert_same_file(old, new)


@pytest.mark.parametrize("extension", EXTENSIONS)
def test_a_value_outside_the_categories_leaves_no_file(tmp_path, extension):
    connection = duckdb.connect()
    specs = [patient_id_spec(), ColumnSpec("sex", str, categories=("female", "male"))]
    path = tmp_path / "out" / f"dataset{extension}"
    results = DuckDBResults(connection, "SELECT 1 AS patient_id, 'other' AS sex")
    if extension.startswith(".csv"):
        # CSV cells are not checked against categories, as with the row writers.
        write_results(path, specs, results)
        assert path.exists()
    else:
        with pytest.raises(
            ValueError, match="'other', which is not one of its categories"
        ):
            write_results(path, specs, results)
        assert not path.exists()
        assert not (tmp_path / "out").exists()


def test_a_failing_query_leaves_no_file(tmp_path):
    connection = duckdb.connect()
    specs = [patient_id_spec()]
    path = tmp_path / "dataset.csv"
    with pytest.raises(duckdb.Error):
        write_results(
            path, specs, DuckDBResults(connection, "SELECT error('boom') AS patient_id")
        )
    assert list(tmp_path.iterdir()) == []


def test_csv_header_names_are_quoted_as_pythons_csv_would():
    select = csv_select([ColumnSpec("a,b", int)], "SELECT 1")
    connection = duckdb.connect()
    assert connection.execute(select).description[0][0] == '"a,b"'


def test_copy_reports_progress(tmp_path, awkward):
    seen = []
    write_results(
        tmp_path / "out.csv",
        AWKWARD_SPECS,
        sources(awkward)["duckdb"](),
        progress=lambda done, total, unit=None: seen.append((done, total, unit)),
    )
    assert seen[0] == (0, 100, "%") and seen[-1] == (100, 100, "%")


def test_arrow_writer_reports_rows(tmp_path, awkward):
    seen = []
    write_results(
        tmp_path / "out.parquet",
        AWKWARD_SPECS,
        sources(awkward)["arrow"](),
        progress=lambda done, total: seen.append(done),
    )
    assert seen[-1] == len(awkward[0])
    assert seen == sorted(seen)


def test_an_interrupted_copy_stops_and_leaves_no_file(tmp_path, awkward):
    def interrupt(done, total, unit=None):
        raise KeyboardInterrupt

    path = tmp_path / "out.csv"
    with pytest.raises(KeyboardInterrupt):
        write_results(
            path, AWKWARD_SPECS, sources(awkward)["duckdb"](), progress=interrupt
        )
    assert list(tmp_path.iterdir()) == []
