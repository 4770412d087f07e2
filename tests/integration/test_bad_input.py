"""Careless or hostile input to the command line: each gets a clear error naming the
file (and row, where there is one), the same exit code on every engine, and no output."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from ehrql.__main__ import EXIT_DATA_ERROR
from tests.lib.cli import (
    REPO,
    THINGS_FROM_FILE,
    command,
    run,
    write_definition,
    write_duckdb_records,
    write_tables,
)

ENGINES = ["duckdb", "in_memory", "spark"]


def needs_engine(engine):
    if engine == "spark":
        from tests.lib.engines import spark_session

        spark_session()


# -- 1. duplicate patient ids --------------------------------------------------------------


DUPLICATED_PATIENTS = (
    "patient_id,date_of_birth,sex,date_of_death\n"
    "1,1970-07-01,female,\n"
    "2,2001-01-01,male,\n"
    "1,1970-07-01,male,\n"
    "3,1940-12-01,unknown,\n"
    "3,1940-12-01,unknown,\n"
)


@pytest.mark.parametrize("engine", ENGINES)
def test_duplicate_patient_id_in_a_table_file(small, tmp_path, capsys, engine):
    needs_engine(engine)
    definition, tables = small
    (tables / "patients.csv").write_text(DUPLICATED_PATIENTS)
    output = tmp_path / "out" / "d.csv"
    code, _, err = run(
        command(
            "generate-dataset",
            definition,
            dummy_tables=tables,
            query_engine=engine,
            output=output,
        ),
        capsys,
    )
    assert code == EXIT_DATA_ERROR, err
    assert (
        f"table 'patients' in {tables / 'patients.csv'} has more than one row for patient_id 1, 3"
        in err
    )
    assert not output.parent.exists()


@pytest.mark.parametrize("engine", ["duckdb", "in_memory"])
def test_duplicate_patient_id_double_counts_no_measure(small, tmp_path, capsys, engine):
    _, tables = small
    (tables / "patients.csv").write_text(DUPLICATED_PATIENTS)
    definition = tmp_path / "measures.py"
    definition.write_text(
        textwrap.dedent(
            """
            from ehrql import INTERVAL, create_measures, months
            from ehrql.tables.core import clinical_events, patients
            measures = create_measures()
            measures.define_measure(
                "events",
                numerator=clinical_events.where(clinical_events.date.is_during(INTERVAL)).exists_for_patient(),
                denominator=patients.exists_for_patient(),
                intervals=months(2).starting_on("2021-01-01"),
                group_by={"sex": patients.sex},
            )
            measures.configure_disclosure_control(enabled=False)
            """
        )
    )
    code, _, err = run(
        command(
            "generate-measures", definition, dummy_tables=tables, query_engine=engine
        ),
        capsys,
    )
    assert code == EXIT_DATA_ERROR, err
    assert "more than one row for patient_id 1, 3" in err


def test_duplicate_patient_id_in_a_duckdb_database(small, tmp_path, capsys):
    definition, _ = small
    database = tmp_path / "records.duckdb"
    write_duckdb_records(
        database, patients="(4, NULL, 'female', NULL), (4, NULL, 'male', NULL)"
    )
    code, _, err = run(command("generate-dataset", definition, dsn=database), capsys)
    assert code == EXIT_DATA_ERROR, err
    assert (
        f"table 'patients' in the database {database} has more than one row for patient_id 4"
        in err
    )


def test_more_duplicates_than_are_listed(small, capsys):
    definition, tables = small
    rows = "".join(f"{i},,male,\n{i},,male,\n" for i in range(10, 20))
    (tables / "patients.csv").write_text(
        "patient_id,date_of_birth,sex,date_of_death\n" + rows
    )
    code, _, err = run(
        command("generate-dataset", definition, dummy_tables=tables), capsys
    )
    assert code == EXIT_DATA_ERROR
    assert "patient_id 10, 11, 12 and more;" in err


def test_duplicate_patient_id_in_table_from_file(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "things.csv").write_text("patient_id,x\n1,a\n2,b\n1,c\n")
    (tmp_path / "d.py").write_text(THINGS_FROM_FILE)
    code, _, err = run(
        command("generate-dataset", "d.py", dummy_tables=write_tables(tmp_path / "t")),
        capsys,
    )
    assert code != 0
    assert "table 'things' in things.csv has more than one row for patient_id 1" in err


def test_server_engines_check_patient_tables_before_the_results():
    # MS SQL Server and Trino cannot run here; the same check runs through
    # run_statements on any SQLAlchemy engine.
    import sqlalchemy as sa

    from ehrql.errors import DuplicatePatientIdError
    from ehrql.query_engines.base_sql import CompiledDataset, PatientTableCheck
    from ehrql.query_engines.server_sql import run_statements

    engine = sa.create_engine("sqlite://")
    compiled = CompiledDataset(
        (
            "CREATE TABLE patients (patient_id INTEGER)",
            "INSERT INTO patients VALUES (7), (7), (8)",
        ),
        "SELECT patient_id FROM patients",
        (),
    )
    check = PatientTableCheck(
        "patients",
        "SELECT patient_id FROM patients GROUP BY patient_id HAVING count(*) > 1 ORDER BY 1 LIMIT 4",
    )
    with pytest.raises(
        DuplicatePatientIdError,
        match="table 'patients' in the database .* patient_id 7;",
    ):
        list(run_statements(engine, compiled, compiled.select, checks=[check]))


@pytest.mark.parametrize("engine_name", ["mssql", "trino"])
def test_server_engines_compile_a_check_for_each_patient_table(small, engine_name):
    from pathlib import Path

    from ehrql.loaders import load_dataset_definition
    from ehrql.main import get_backend, make_engine

    definition, _ = small
    dataset = load_dataset_definition(Path(definition), {}).query_model
    backend = get_backend({"mssql": "tpp", "trino": "emis"}[engine_name])
    dsn = {"mssql": "mssql://u:p@nowhere:1/db", "trino": "trino://u@nowhere:1/c/s"}[
        engine_name
    ]
    engine = make_engine(engine_name, dsn, dataset, backend)
    checks = engine.patient_table_checks(dataset)
    assert [c.table_name for c in checks] == ["patients"]
    assert "GROUP BY" in checks[0].sql and "HAVING" in checks[0].sql


# -- 7. two files for one table; overwriting dummy tables -------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_two_files_for_one_table_are_refused(small, tmp_path, capsys, engine):
    needs_engine(engine)
    definition, tables = small
    pyarrow_csv = pytest.importorskip("pyarrow.csv")
    import pyarrow.parquet

    pyarrow.parquet.write_table(
        pyarrow_csv.read_csv(tables / "patients.csv"), tables / "patients.parquet"
    )
    code, _, err = run(
        command(
            "generate-dataset", definition, dummy_tables=tables, query_engine=engine
        ),
        capsys,
    )
    assert code == 1, err
    assert (
        f"more than one file for table 'patients' in {tables}: patients.csv, patients.parquet"
        in err
    )


def test_create_dummy_tables_does_not_overwrite_without_force(small, tmp_path, capsys):
    definition, _ = small
    directory = tmp_path / "dummy"
    directory.mkdir()
    edited = directory / "patients.csv"
    edited.write_text(
        "patient_id,date_of_birth,sex,date_of_death\n1,1970-07-01,female,\n"
    )
    code, _, err = run(command("create-dummy-tables", definition, directory), capsys)
    assert code == 1
    assert (
        "not overwriting existing table files" in err
        and "patients.csv" in err
        and "--force" in err
    )
    assert edited.read_text().count("\n") == 2
    assert not (directory / "clinical_events.csv").exists()


def test_create_dummy_tables_with_force_leaves_one_file_per_table(
    small, tmp_path, capsys
):
    definition, _ = small
    directory = tmp_path / "dummy"
    directory.mkdir()
    (directory / "patients.csv").write_text(
        "patient_id,date_of_birth,sex,date_of_death\n"
    )
    code, _, err = run(
        command("create-dummy-tables", definition, f"{directory}:parquet", force=True),
        capsys,
    )
    assert code == 0, err
    assert sorted(p.name for p in directory.iterdir()) == [
        "clinical_events.parquet",
        "patients.parquet",
    ]


# -- 8. bad cells ---------------------------------------------------------------------------------

EVENTS_HEADER = (
    "patient_id,date,snomedct_code,numeric_value\n1,2019-03-01,60621009,27.5\n"
)

BAD_CELLS = {
    "text_in_int": (
        "x,2019-03-01,60621009,27.5",
        "line 3, column 'patient_id': 'x' is not a valid integer",
    ),
    "text_in_float": (
        "1,2019-03-01,60621009,abc",
        "line 3, column 'numeric_value': 'abc' is not a valid float",
    ),
    "text_in_date": (
        "1,yesterday,60621009,1",
        "line 3, column 'date': 'yesterday' is not a valid date",
    ),
    "no_such_day": (
        "1,2021-02-30,60621009,1",
        "line 3, column 'date': '2021-02-30' is not a valid date",
    ),
    "not_iso": (
        "1,01/02/2021,60621009,1",
        "line 3, column 'date': '01/02/2021' is not a valid date",
    ),
    "null_text": (
        "NULL,2021-02-03,60621009,1",
        "line 3, column 'patient_id': 'NULL' is not a valid integer",
    ),
    "ragged": ("1,2021-02-03,60621009", "line 3: expected 4 cells, found 3"),
}

FLAGS_DEFINITION = """
from ehrql import create_dataset
from ehrql.tables import PatientFrame, Series, table
@table
class flags(PatientFrame):
    f = Series(bool)
dataset = create_dataset()
dataset.define_population(flags.exists_for_patient())
dataset.f = flags.f
"""


@pytest.mark.parametrize("case", BAD_CELLS)
@pytest.mark.parametrize("engine", ["duckdb", "in_memory"])
def test_bad_cell_names_file_line_and_column(small, tmp_path, capsys, engine, case):
    definition, tables = small
    line, message = BAD_CELLS[case]
    (tables / "clinical_events.csv").write_text(EVENTS_HEADER + line + "\n")
    output = tmp_path / "out" / "d.csv"
    code, _, err = run(
        command(
            "generate-dataset",
            definition,
            dummy_tables=tables,
            query_engine=engine,
            output=output,
        ),
        capsys,
    )
    assert code == EXIT_DATA_ERROR, err
    assert f"ehrql: error: {tables / 'clinical_events.csv'} {message}" in err
    assert "strict" not in err and "Traceback" not in err
    assert not output.parent.exists()


@pytest.mark.parametrize("case", ["text_in_int", "ragged"])
def test_bad_cell_on_spark(small, capsys, case):
    needs_engine("spark")
    definition, tables = small
    line, message = BAD_CELLS[case]
    (tables / "clinical_events.csv").write_text(EVENTS_HEADER + line + "\n")
    code, _, err = run(
        command(
            "generate-dataset", definition, dummy_tables=tables, query_engine="spark"
        ),
        capsys,
    )
    assert code == EXIT_DATA_ERROR, err
    assert f"{tables / 'clinical_events.csv'} {message}" in err


@pytest.mark.parametrize("value", ["maybe", "yes", "true", "1"])
@pytest.mark.parametrize("engine", ENGINES)
def test_booleans_are_t_or_f_on_every_engine(tmp_path, capsys, engine, value):
    needs_engine(engine)
    definition = tmp_path / "d.py"
    definition.write_text(FLAGS_DEFINITION)
    tables = tmp_path / "t"
    tables.mkdir()
    (tables / "flags.csv").write_text(f"patient_id,f\n1,T\n2,\n3,{value}\n")
    code, _, err = run(
        command(
            "generate-dataset", definition, dummy_tables=tables, query_engine=engine
        ),
        capsys,
    )
    assert code == EXIT_DATA_ERROR, err
    assert (
        f"flags.csv line 4, column 'f': '{value}' is not a valid boolean (write booleans as T or F)"
        in err
    )


@pytest.mark.parametrize("engine", ENGINES)
def test_booleans_t_f_and_empty_read_alike(tmp_path, capsys, engine):
    needs_engine(engine)
    definition = tmp_path / "d.py"
    definition.write_text(FLAGS_DEFINITION)
    tables = tmp_path / "t"
    tables.mkdir()
    (tables / "flags.csv").write_text("patient_id,f\n1,T\n2,\n3,F\n")
    output = tmp_path / "o.csv"
    code, _, err = run(
        command(
            "generate-dataset",
            definition,
            dummy_tables=tables,
            query_engine=engine,
            output=output,
        ),
        capsys,
    )
    assert code == 0, err
    assert output.read_text() == "patient_id,f\n1,T\n2,\n3,F\n"


# -- 9. byte order marks and other encodings ------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_byte_order_mark_at_the_start_of_a_table_file_is_accepted(
    small, tmp_path, capsys, engine
):
    needs_engine(engine)
    definition, tables = small
    for name in ["patients.csv", "clinical_events.csv"]:
        path = tables / name
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    output = tmp_path / "d.csv"
    code, _, err = run(
        command(
            "generate-dataset",
            definition,
            dummy_tables=tables,
            query_engine=engine,
            output=output,
        ),
        capsys,
    )
    assert code == 0, err
    assert output.read_text().splitlines()[1:] == [
        "1,52,female,29.0,T,",
        "2,22,male,,T,2022-05-06",
        "3,82,unknown,,F,",
    ]


@pytest.mark.parametrize("engine", ["duckdb", "in_memory"])
def test_table_file_that_is_not_utf8_is_named(small, capsys, engine):
    definition, tables = small
    (tables / "patients.csv").write_bytes(
        "patient_id,date_of_birth,sex,date_of_death\n1,,caf\xe9,\n".encode("latin-1")
    )
    code, _, err = run(
        command(
            "generate-dataset", definition, dummy_tables=tables, query_engine=engine
        ),
        capsys,
    )
    assert code == EXIT_DATA_ERROR, err
    assert f"{tables / 'patients.csv'} is not UTF-8 text" in err


def test_table_from_file_accepts_a_byte_order_mark(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "things.csv").write_bytes(b"\xef\xbb\xbfpatient_id,x\n1,a\n")
    (tmp_path / "d.py").write_text(THINGS_FROM_FILE)
    code, out, err = run(
        command("generate-dataset", "d.py", dummy_tables=write_tables(tmp_path / "t")),
        capsys,
    )
    assert code == 0, err
    assert "1 | a" in out


# -- 12. signals ----------------------------------------------------------------------------------


def rows_then_signal(signum, raise_as=None):
    """An engine's rows that are cut short by `signum` arriving, after enough rows to
    have started the output file. With `raise_as`, the interrupt is turned into that
    error, as DuckDB turns one into `RuntimeError: Query interrupted`."""

    def engine_rows(*args, **kwargs):
        for i in range(1, 5001):
            if i == 2000:
                try:
                    os.kill(os.getpid(), signum)
                    time.sleep(1)  # the handler runs before this returns
                except KeyboardInterrupt:
                    if raise_as is None:
                        raise
                    raise raise_as from None
            yield (i, 40, "female", None, False, None)

    return engine_rows


@pytest.mark.parametrize(
    "signum, raise_as, code, message",
    [
        (signal.SIGTERM, None, 143, "ehrql: terminated"),
        (signal.SIGTERM, RuntimeError("Query interrupted"), 143, "ehrql: terminated"),
        (signal.SIGINT, None, 130, "ehrql: interrupted"),
        (signal.SIGINT, RuntimeError("Query interrupted"), 130, "ehrql: interrupted"),
    ],
)
def test_signal_while_writing_leaves_no_file_and_exits_as_the_shell_would(
    small, tmp_path, capsys, monkeypatch, signum, raise_as, code, message
):
    definition, tables = small
    rows = rows_then_signal(signum, raise_as)
    monkeypatch.setattr("ehrql.main._timed_rows", lambda get_rows, log: rows())
    output = tmp_path / "out" / "dataset.csv"
    before = signal.getsignal(signum)
    # The in-memory engine streams its rows through _timed_rows; DuckDB writes
    # the file itself (see test_output_writers for an interrupted COPY).
    argv = [
        "generate-dataset",
        definition,
        "--dummy-tables",
        tables,
        "--output",
        output,
        "--query-engine",
        "in_memory",
    ]
    result, _, err = run(argv, capsys)
    assert result == code, err
    assert err.rstrip().endswith(message)
    assert "Traceback" not in err and "RuntimeError" not in err
    assert not output.parent.exists()
    # The handlers are put back as they were.
    assert signal.getsignal(signum) is before


def test_sigterm_to_a_running_process(small, tmp_path):
    definition, tables = small
    rows = "".join(f"{i},1970-07-01,female,\n" for i in range(4, 200_000))
    (tables / "patients.csv").write_text((tables / "patients.csv").read_text() + rows)
    output = tmp_path / "out" / "dataset.csv"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ehrql",
            "generate-dataset",
            definition,
            "--dummy-tables",
            tables,
            "--output",
            output,
            "--query-engine",
            "in_memory",
        ],
        cwd=REPO,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Signalled once the output has begun (or, on a fast machine, as it ends).
    deadline = time.monotonic() + 60
    while process.poll() is None and time.monotonic() < deadline:
        if (
            any(output.parent.glob(".dataset.csv.*.tmp"))
            if output.parent.exists()
            else False
        ):
            break
        time.sleep(0.01)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    if process.returncode == 0:
        pytest.skip("the run finished before the signal arrived")
    assert process.returncode == 143, err
    assert err.rstrip().endswith("ehrql: terminated")
    assert "Traceback" not in err
    assert not output.parent.exists() or not list(output.parent.iterdir())


# -- 13. output closed early ----------------------------------------------------------------------


def test_output_piped_into_head_closes_quietly(small):
    definition, tables = small
    rows = "".join(f"{i},1970-07-01,female,\n" for i in range(4, 20_000))
    (tables / "patients.csv").write_text((tables / "patients.csv").read_text() + rows)
    # All the rows, as CSV on standard output: far more than a pipe holds, so
    # the run is still writing when the reader goes (the console shows only
    # the first rows, which could all be in the pipe before it closes).
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ehrql",
            "generate-dataset",
            definition,
            "--dummy-tables",
            tables,
            "--output",
            "-",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline().startswith("patient_id")
    process.stdout.close()  # as `head -1` does once it has its line
    err = process.stderr.read()
    assert process.wait(timeout=120) == 141, err
    assert (
        "BrokenPipe" not in err
        and "Traceback" not in err
        and "Exception ignored" not in err
    )


# -- 11. small ones -------------------------------------------------------------------------------


def test_dummy_tables_given_a_file_says_it_is_a_file(small, capsys):
    definition, _ = small
    code, _, err = run(
        command("generate-dataset", definition, dummy_tables=definition), capsys
    )
    assert code == 2
    assert f"{definition} is a file, not a directory" in err


def test_output_whose_parent_is_a_file_says_so(small, tmp_path, capsys):
    definition, tables = small
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    output = blocker / "sub" / "dataset.csv"
    code, _, err = run(
        command("generate-dataset", definition, dummy_tables=tables, output=output),
        capsys,
    )
    assert code == 1
    assert (
        f"ehrql: error: cannot write {output}: {blocker} is a file, not a directory"
        in err
    )
    assert "File exists" not in err


@pytest.mark.parametrize(
    "line",
    [
        "dataset.n = clinical_events.where(clinical_events.date.is_during(INTERVAL)).count_for_patient()",
        "dataset.define_population(patients.date_of_birth < INTERVAL.start_date)",
    ],
)
def test_interval_in_a_dataset_is_an_error_at_its_line(tmp_path, capsys, line):
    definition = write_definition(
        tmp_path,
        f"""
        from ehrql import INTERVAL
        dataset = create_dataset()
        {line}
        """,
    )
    code, _, err = run(
        command(
            "generate-dataset", definition, dummy_tables=write_tables(tmp_path / "t")
        ),
        capsys,
    )
    assert code == 10
    assert f"Error in {definition}, line 6:" in err
    assert "INTERVAL" in err and "only has a value in a measure" in err


def test_sys_exit_in_a_definition_is_reported(tmp_path, capsys):
    definition = write_definition(
        tmp_path,
        """
        import sys
        dataset = create_dataset()
        sys.exit(3)
        """,
    )
    code, _, err = run(
        command(
            "generate-dataset", definition, dummy_tables=write_tables(tmp_path / "t")
        ),
        capsys,
    )
    assert code == 10
    assert f"Error in {definition}, line 6:" in err
    assert "sys.exit(3)" in err and "cannot end the run" in err


# -- 5. integers past 64 bits ---------------------------------------------------------------------


OVERFLOW_DEFINITION = """
dataset = create_dataset()
dataset.define_population(patients.exists_for_patient())
dataset.year = patients.date_of_birth.year
dataset.big = patients.date_of_birth.year * 10**18
"""


#: The same, from a float too large for an integer.
CAST_OVERFLOW_DEFINITION = """
dataset = create_dataset()
dataset.define_population(patients.exists_for_patient())
dataset.year = patients.date_of_birth.year
dataset.big = (patients.date_of_birth.year.as_float() * 1e300).as_int()
"""


@pytest.mark.parametrize("body", [OVERFLOW_DEFINITION, CAST_OVERFLOW_DEFINITION])
@pytest.mark.parametrize("engine", ENGINES)
def test_integer_overflow_is_the_same_error_on_every_engine(
    tmp_path, capsys, engine, body
):
    needs_engine(engine)
    definition = write_definition(tmp_path, body)
    output = tmp_path / "out" / "d.csv"
    code, _, err = run(
        command(
            "generate-dataset",
            definition,
            dummy_tables=write_tables(tmp_path / "t"),
            query_engine=engine,
            output=output,
        ),
        capsys,
    )
    assert code == EXIT_DATA_ERROR, err
    assert (
        "ehrql: error: column 'big' overflows: an integer calculation gave a value beyond the 64-bit range"
        in err
    )
    assert not output.parent.exists()


@pytest.mark.parametrize("engine", ["duckdb", "in_memory"])
def test_integers_up_to_64_bits_are_fine(tmp_path, capsys, engine):
    definition = write_definition(
        tmp_path,
        """
        dataset = create_dataset()
        dataset.define_population(patients.exists_for_patient())
        dataset.big = patients.date_of_birth.year * 4_000_000_000_000_000
        """,
    )
    code, out, err = run(
        command(
            "generate-dataset",
            definition,
            dummy_tables=write_tables(tmp_path / "t"),
            query_engine=engine,
        ),
        capsys,
    )
    assert code == 0, err
    assert "7880000000000000000" in out


# -- 14. exit codes -------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_a_missing_column_is_a_data_error_on_every_engine(small, capsys, engine):
    needs_engine(engine)
    definition, tables = small
    (tables / "clinical_events.csv").write_text(
        "patient_id,date,snomedct_code\n1,2019-03-01,60621009\n"
    )
    code, _, err = run(
        command(
            "generate-dataset", definition, dummy_tables=tables, query_engine=engine
        ),
        capsys,
    )
    assert code == EXIT_DATA_ERROR, err
    assert "numeric_value" in err


def test_every_exit_code_is_in_the_cli_reference():
    from ehrql import __main__ as cli
    from ehrql.docs.cli import cli_page

    page = cli_page()
    codes = {
        value
        for name, value in vars(cli).items()
        if name.startswith("EXIT_") and isinstance(value, int)
    }
    listed = {code for code, _ in cli.EXIT_CODES}
    assert {str(c) for c in codes} <= listed
    assert "## Exit codes" in page
    for code, _ in cli.EXIT_CODES:
        assert f"| `{code}` |" in page
