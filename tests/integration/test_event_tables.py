"""Event-level output: `dataset.add_event_table(...)` written beside the dataset,
one file per table in a `DIR/:FORMAT` output, and read back from such a directory."""

import contextlib
import datetime
import os

import pytest

from ehrql.file_formats import read_rows
from ehrql.file_formats.base import ColumnSpec
from tests.integration.test_cli import as_rows, read_arrow
from tests.lib.cli import SMALL_DEFINITION, command, run, write_definition, write_tables

d = datetime.date

EVENT_DEFINITION = (
    SMALL_DEFINITION
    + """
from ehrql import claim_permissions
claim_permissions("event_level_data")
coded = clinical_events.where(clinical_events.snomedct_code == "60621009")
dataset.add_event_table("bmi_readings", date=coded.date, value=coded.numeric_value, code=coded.snomedct_code)
"""
)

DATASET_HEADER = "patient_id,age,sex,bmi,has_events,died"
BMI_ROWS = [(1, d(2019, 3, 1), 27.5, "60621009"), (1, d(2021, 8, 15), 29.0, "60621009")]


@pytest.fixture
def events(tmp_path):
    return write_definition(tmp_path, EVENT_DEFINITION), write_tables(
        tmp_path / "tables"
    )


def csv_lines(path):
    return path.read_text().splitlines()


@pytest.mark.parametrize("engine", ["duckdb", "in_memory"])
@pytest.mark.parametrize("spelling", ["out/:csv", "out:csv"])
def test_a_directory_output_holds_the_dataset_and_each_event_table(
    events, tmp_path, capsys, engine, spelling
):
    definition, tables = events
    code, _, err = run(
        command(
            "generate-dataset",
            definition,
            dummy_tables=tables,
            output=tmp_path / spelling,
            query_engine=engine,
        ),
        capsys,
    )
    assert code == 0, err
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["bmi_readings.csv", "dataset.csv"]
    assert csv_lines(out / "dataset.csv")[0] == DATASET_HEADER
    assert len(csv_lines(out / "dataset.csv")) == 4
    assert csv_lines(out / "bmi_readings.csv") == [
        "patient_id,date,value,code",
        "1,2019-03-01,27.5,60621009",
        "1,2021-08-15,29.0,60621009",
    ]
    assert "bmi_readings: 2" in err


@pytest.mark.parametrize("extension", [".csv.gz", ".arrow", ".parquet"])
def test_every_format_can_be_a_directory_output(events, tmp_path, capsys, extension):
    definition, tables = events
    output = f"{tmp_path / 'out'}/:{extension.lstrip('.')}"
    code, _, err = run(
        command("generate-dataset", definition, dummy_tables=tables, output=output),
        capsys,
    )
    assert code == 0, err
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == [
        f"bmi_readings{extension}",
        f"dataset{extension}",
    ]
    if extension == ".arrow":
        assert as_rows(read_arrow(out / "bmi_readings.arrow")) == BMI_ROWS
    specs = [
        ColumnSpec("patient_id", int, nullable=False),
        ColumnSpec("date", datetime.date),
        ColumnSpec("value", float),
        ColumnSpec("code", str),
    ]
    assert list(read_rows(out / f"bmi_readings{extension}", specs)) == BMI_ROWS


def test_only_patients_in_the_population_have_event_rows(tmp_path, capsys):
    definition = write_definition(
        tmp_path,
        """
        from ehrql import claim_permissions
        claim_permissions("event_level_data")
        dataset = create_dataset()
        dataset.define_population(patients.sex == "male")
        dataset.add_event_table("events", date=clinical_events.date)
    """,
    )
    tables = write_tables(tmp_path / "tables")
    code, _, err = run(
        command(
            "generate-dataset",
            definition,
            dummy_tables=tables,
            output=tmp_path / "o/:csv",
        ),
        capsys,
    )
    assert code == 0, err
    assert csv_lines(tmp_path / "o" / "events.csv") == [
        "patient_id,date",
        "2,2020-01-02",
    ]
    assert csv_lines(tmp_path / "o" / "dataset.csv") == ["patient_id", "2"]


def test_a_single_file_cannot_hold_event_tables_and_nothing_runs(
    events, tmp_path, capsys
):
    definition, tables = events
    output = tmp_path / "results" / "dataset.csv"
    code, _, err = run(
        command("generate-dataset", definition, dummy_tables=tables, output=output),
        capsys,
    )
    assert code == 11
    assert (
        f"give a directory and a format instead, such as {tmp_path / 'results' / 'dataset'}/:csv"
        in err
    )
    assert "Executing" not in err
    assert not (tmp_path / "results").exists()


def test_event_tables_on_the_console_each_under_its_name(events, capsys):
    definition, tables = events
    code, out, err = run(
        command("generate-dataset", definition, dummy_tables=tables), capsys
    )
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "# dataset"
    assert "# bmi_readings" in lines
    assert lines[lines.index("# bmi_readings") + 1].split() == [
        "patient_id",
        "|",
        "date",
        "|",
        "value",
        "|",
        "code",
    ]


def test_generated_dummy_data_fills_event_tables(events, tmp_path, capsys):
    definition, _ = events
    code, _, err = run(
        command("generate-dataset", definition, output=tmp_path / "o/:csv"), capsys
    )
    assert code == 0, err
    ids = {line.split(",")[0] for line in csv_lines(tmp_path / "o" / "dataset.csv")[1:]}
    event_ids = {
        line.split(",")[0]
        for line in csv_lines(tmp_path / "o" / "bmi_readings.csv")[1:]
    }
    assert len(ids) == 10
    assert event_ids <= ids


def test_a_dummy_data_directory_is_output_as_it_is(events, tmp_path, capsys):
    definition, _ = events
    dummy = tmp_path / "dummy"
    dummy.mkdir()
    (dummy / "dataset.csv").write_text(DATASET_HEADER + "\n7,40,male,22.5,T,\n")
    (dummy / "bmi_readings.csv").write_text(
        "patient_id,date,value,code\n7,2020-02-02,22.5,60621009\n"
    )
    (dummy / "README.md").write_text("notes are ignored\n")
    code, _, err = run(
        command(
            "generate-dataset",
            definition,
            dummy_data_file=dummy,
            output=tmp_path / "o/:arrow",
        ),
        capsys,
    )
    assert code == 0, err
    assert as_rows(read_arrow(tmp_path / "o" / "bmi_readings.arrow")) == [
        (7, d(2020, 2, 2), 22.5, "60621009")
    ]
    assert as_rows(read_arrow(tmp_path / "o" / "dataset.arrow")) == [
        (7, 40, "male", 22.5, True, None)
    ]


@pytest.mark.parametrize(
    "files,message",
    [
        ({"dataset.csv": DATASET_HEADER + "\n"}, "missing bmi_readings.csv"),
        (
            {"dataset.csv": DATASET_HEADER + "\n", "bmi_readings.arrow": ""},
            "more than one format (.arrow, .csv)",
        ),
        (
            {
                "dataset.csv": DATASET_HEADER + "\n",
                "bmi_readings.csv": "patient_id,date,value\n",
            },
            "missing columns: code",
        ),
        ({}, "holds no table files"),
    ],
)
def test_a_bad_dummy_data_directory_is_named(events, tmp_path, capsys, files, message):
    definition, _ = events
    dummy = tmp_path / "dummy"
    dummy.mkdir()
    for name, text in files.items():
        (dummy / name).write_text(text)
    code, _, err = run(
        command(
            "generate-dataset",
            definition,
            dummy_data_file=dummy,
            output=tmp_path / "o/:csv",
        ),
        capsys,
    )
    assert code == 11
    assert message in err
    assert not (tmp_path / "o").exists()


def test_a_single_dummy_data_file_for_event_tables_says_what_to_give(
    events, tmp_path, capsys
):
    definition, _ = events
    dummy = tmp_path / "dataset.csv"
    dummy.write_text(DATASET_HEADER + "\n")
    code, _, err = run(
        command("generate-dataset", definition, dummy_data_file=dummy), capsys
    )
    assert code == 11
    assert "give a directory holding dataset.csv, bmi_readings.csv" in err


def test_a_directory_output_adds_to_an_existing_directory(events, tmp_path, capsys):
    definition, tables = events
    out = tmp_path / "output"
    out.mkdir()
    (out / "other_action.csv").write_text("kept\n")
    (out / "dataset.csv").write_text("stale\n")
    code, _, err = run(
        command(
            "generate-dataset", definition, dummy_tables=tables, output=f"{out}/:csv"
        ),
        capsys,
    )
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == [
        "bmi_readings.csv",
        "dataset.csv",
        "other_action.csv",
    ]
    assert (out / "other_action.csv").read_text() == "kept\n"
    assert csv_lines(out / "dataset.csv")[0] == DATASET_HEADER


def test_a_failure_part_way_leaves_no_directory_and_no_file(
    events, tmp_path, capsys, monkeypatch
):
    from ehrql.query_engines.duckdb import DuckDBQueryEngine

    results_of = DuckDBQueryEngine.results_of

    def rows_then_failure():
        yield (1, d(2020, 1, 1), 1.0, "60621009")
        raise RuntimeError("the database went away")

    @contextlib.contextmanager
    def fail(self, dataset, compiled):
        # The event table (compiled alone, without the patient columns) fails
        # after its first row; the dataset's own rows are written in full.
        if dataset.variables:
            with results_of(self, dataset, compiled) as results:
                yield results
        else:
            yield rows_then_failure()

    monkeypatch.setattr(DuckDBQueryEngine, "results_of", fail)
    definition, tables = events
    new = tmp_path / "new" / "deeper"
    code, _, err = run(
        command(
            "generate-dataset", definition, dummy_tables=tables, output=f"{new}/:csv"
        ),
        capsys,
    )
    assert code == 1
    assert "the database went away" in err
    assert not (tmp_path / "new").exists()

    existing = tmp_path / "existing"
    existing.mkdir()
    code, _, err = run(
        command(
            "generate-dataset",
            definition,
            dummy_tables=tables,
            output=f"{existing}/:csv",
        ),
        capsys,
    )
    assert code == 1
    # Not even the dataset, which was written in full before the failure.
    assert os.listdir(existing) == []


def test_an_event_table_may_not_be_called_dataset(tmp_path, capsys):
    definition = write_definition(
        tmp_path,
        """
        from ehrql import claim_permissions
        claim_permissions("event_level_data")
        dataset = create_dataset()
        dataset.define_population(patients.exists_for_patient())
        dataset.add_event_table("dataset", date=clinical_events.date)
    """,
    )
    tables = write_tables(tmp_path / "tables")
    code, _, err = run(
        command(
            "generate-dataset",
            definition,
            dummy_tables=tables,
            output=tmp_path / "o/:csv",
        ),
        capsys,
    )
    assert code != 0
    assert "dataset" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("output", ["o/:xlsx", "o:xlsx"])
def test_an_unknown_directory_format_is_a_usage_error(events, tmp_path, capsys, output):
    definition, tables = events
    code, _, err = run(
        command("generate-dataset", definition, output=tmp_path / output), capsys
    )
    assert code == 2
    assert "unknown file format 'xlsx'" in err


# -- every engine ----------------------------------------------------------------


@pytest.mark.parametrize("engine", ["duckdb", "in_memory"])
def test_patient_level_columns_repeat_on_each_event_row(tmp_path, capsys, engine):
    definition = write_definition(
        tmp_path,
        """
        from ehrql import claim_permissions
        claim_permissions("event_level_data")
        dataset = create_dataset()
        dataset.define_population(patients.exists_for_patient())
        dataset.add_event_table(
            "events", date=clinical_events.date, sex=patients.sex, age=patients.age_on(clinical_events.date)
        )
    """,
    )
    tables = write_tables(tmp_path / "tables")
    code, _, err = run(
        command(
            "generate-dataset",
            definition,
            dummy_tables=tables,
            output=tmp_path / "o/:csv",
            query_engine=engine,
        ),
        capsys,
    )
    assert code == 0, err
    assert csv_lines(tmp_path / "o" / "events.csv") == [
        "patient_id,date,sex,age",
        "1,2019-03-01,female,48",
        "1,2021-08-15,female,51",
        "2,2020-01-02,male,19",
    ]


def test_spark_writes_event_tables(events, tmp_path, capsys, monkeypatch):
    from tests.lib.engines import spark_session

    spark_session()
    # --dsn is a database as far as permissions go: the job must hold event_level_data.
    monkeypatch.setenv("EHRQL_PERMISSIONS", '["event_level_data"]')
    definition, tables = events
    code, _, err = run(
        command(
            "generate-dataset",
            definition,
            query_engine="spark",
            dsn=tables,
            output=tmp_path / "o/:csv",
        ),
        capsys,
    )
    assert code == 0, err
    assert csv_lines(tmp_path / "o" / "bmi_readings.csv") == [
        "patient_id,date,value,code",
        "1,2019-03-01,27.5,60621009",
        "1,2021-08-15,29.0,60621009",
    ]
    assert len(csv_lines(tmp_path / "o" / "dataset.csv")) == 4


@pytest.mark.parametrize("engine_name", ["mssql", "trino", "spark"])
def test_event_tables_compile_for_server_engines_through_a_backend(engine_name):
    from ehrql import create_dataset
    from ehrql.backends.tpp import TPPBackend
    from ehrql.query_engines import get_engine_class
    from ehrql.query_engines.base_sql import event_table_dataset
    from ehrql.tables.core import clinical_events, patients

    dataset = create_dataset()
    dataset.define_population(patients.exists_for_patient())
    dataset.add_event_table(
        "events", date=clinical_events.date, code=clinical_events.snomedct_code
    )
    engine = get_engine_class(engine_name)(None, backend=TPPBackend())
    compiled = engine.compile(event_table_dataset(dataset._compile(), "events"))
    ((name, select),) = compiled.event_selects
    assert name == "events"
    setup = "\n".join(compiled.setup)
    # The opt-out exclusion is in the population every event row is joined to.
    assert "PatientsWithTypeOneDissent" in setup
    assert "CodedEvent" in setup + select
