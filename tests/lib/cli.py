"""Running the `ehrql` command line in-process, and the small files its tests share."""

from __future__ import annotations

import datetime
import textwrap
from pathlib import Path

from ehrql.__main__ import entrypoint

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_DEFINITION = REPO / "examples" / "dataset_definition.py"
EXAMPLE_DATA = REPO / "ehrql" / "example-data"


def run(argv, capsys) -> tuple[int, str, str]:
    """Run the CLI in this process: (exit code, stdout, stderr)."""
    code = entrypoint([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def command(verb: str, *positional, **options) -> list:
    """The argv for `ehrql VERB POSITIONAL... --OPTION VALUE...`.

    An option's keyword is its name with `_` for `-` (`dummy_tables` is
    `--dummy-tables`); `True` gives the bare flag, and `None` leaves the option
    out, so a test can pass an optional value straight through.
    """
    argv = [verb, *positional]
    for name, value in options.items():
        if value is None or value is False:
            continue
        argv.append("--" + name.replace("_", "-"))
        if value is not True:
            argv.append(value)
    return argv


def write_definition(directory: Path, body: str, name="dataset_definition.py") -> Path:
    """A definition file importing the core tables, `create_dataset` and `get_parameter`."""
    path = directory / name
    path.write_text(
        "from ehrql import create_dataset, get_parameter\n"
        "from ehrql.tables.core import clinical_events, patients\n"
        + textwrap.dedent(body)
    )
    return path


def write_tables(directory: Path) -> Path:
    """Three patients, one of them without events."""
    directory.mkdir()
    (directory / "patients.csv").write_text(
        "patient_id,date_of_birth,sex,date_of_death\n"
        "1,1970-07-01,female,\n"
        "2,2001-01-01,male,2022-05-06\n"
        "3,1940-12-01,unknown,\n"
    )
    (directory / "clinical_events.csv").write_text(
        "patient_id,date,snomedct_code,numeric_value\n"
        "1,2019-03-01,60621009,27.5\n"
        "1,2021-08-15,60621009,29.0\n"
        "2,2020-01-02,195967001,\n"
    )
    return directory


#: A dataset on the tables `write_tables` makes, and its rows.
SMALL_DEFINITION = """
index_date = get_parameter("index", default="2023-01-01")
dataset = create_dataset()
dataset.define_population(patients.exists_for_patient())
dataset.age = patients.age_on(index_date)
dataset.sex = patients.sex
dataset.bmi = clinical_events.sort_by(clinical_events.date).last_for_patient().numeric_value
dataset.has_events = clinical_events.exists_for_patient()
dataset.died = patients.date_of_death
"""

SMALL_EXPECTED = [
    (1, 52, "female", 29.0, True, None),
    (2, 22, "male", None, True, datetime.date(2022, 5, 6)),
    (3, 82, "unknown", None, False, None),
]


def write_duckdb_records(
    path: Path, patients: str = "", clinical_events: str = ""
) -> Path:
    """A DuckDB file holding the core `patients` and `clinical_events` tables.

    Each argument is the text of an `INSERT ... VALUES` list; empty leaves the
    table empty.
    """
    import duckdb

    connection = duckdb.connect(str(path))
    connection.execute(
        "CREATE TABLE patients (patient_id BIGINT, date_of_birth DATE, sex VARCHAR, date_of_death DATE)"
    )
    connection.execute(
        "CREATE TABLE clinical_events (patient_id BIGINT, date DATE, snomedct_code VARCHAR, numeric_value DOUBLE)"
    )
    for table, values in [("patients", patients), ("clinical_events", clinical_events)]:
        if values:
            connection.execute(f"INSERT INTO {table} VALUES {values}")
    connection.close()
    return path


#: A definition using `table_from_file("things.csv")`, with a population of its patients.
THINGS_FROM_FILE = """
from ehrql import create_dataset
from ehrql.tables import PatientFrame, Series, table_from_file
@table_from_file("things.csv")
class things(PatientFrame):
    x = Series(str)
dataset = create_dataset()
dataset.define_population(things.exists_for_patient())
dataset.x = things.x
"""
