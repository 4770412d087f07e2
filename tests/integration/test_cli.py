"""The `ehrql` command line, run end to end on the example data and on small definitions."""

import atexit
import csv
import datetime
import gc
import gzip
import io
import os
import subprocess
import sys

import pyarrow as pa
import pyarrow.ipc
import pyarrow.parquet
import pytest

from ehrql.__main__ import build_parser, entrypoint, process_entrypoint
from tests.lib.cli import (
    EXAMPLE_DATA,
    EXAMPLE_DEFINITION,
    REPO,
    SMALL_DEFINITION,
    SMALL_EXPECTED,
    command,
    run,
    write_definition,
    write_duckdb_records,
    write_tables,
)

ENGINES = ["duckdb", "in_memory"]


def read_arrow(path):
    return pa.ipc.open_file(pa.memory_map(str(path))).read_all()


def as_rows(table):
    return [tuple(row.values()) for row in table.to_pylist()]


# -- outputs ----------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_csv_output(small, tmp_path, capsys, engine):
    definition, tables = small
    output = tmp_path / "out" / "dataset.csv"
    code, out, err = run(
        command(
            "generate-dataset",
            definition,
            dummy_tables=tables,
            output=output,
            query_engine=engine,
        ),
        capsys,
    )
    assert code == 0, err
    assert out == ""
    assert output.read_text().splitlines() == [
        "patient_id,age,sex,bmi,has_events,died",
        "1,52,female,29.0,T,",
        "2,22,male,,T,2022-05-06",
        "3,82,unknown,,F,",
    ]
    # Progress: one line per stage, with times and the row count.
    assert "Loading dataset definition" in err
    assert "Wrote 3 rows to" in err
    assert "done in" in err


@pytest.mark.parametrize("engine", ENGINES)
def test_typed_outputs(small, tmp_path, capsys, engine):
    definition, tables = small
    for name in ["d.arrow", "d.parquet"]:
        output = tmp_path / name
        code, _, err = run(
            command(
                "generate-dataset",
                definition,
                dummy_tables=tables,
                output=output,
                query_engine=engine,
            ),
            capsys,
        )
        assert code == 0, err
        table = (
            read_arrow(output)
            if name.endswith(".arrow")
            else pyarrow.parquet.read_table(output)
        )
        assert as_rows(table) == SMALL_EXPECTED
        assert [str(t) for t in table.schema.types] == [
            "int64",
            "int64",
            "dictionary<values=string, indices=int8, ordered=0>",
            "double",
            "bool",
            "date32[day]",
        ]


def test_csv_gz_output(small, tmp_path, capsys):
    definition, tables = small
    output = tmp_path / "d.csv.gz"
    code, _, err = run(
        command("generate-dataset", definition, dummy_tables=tables, output=output),
        capsys,
    )
    assert code == 0, err
    text = gzip.decompress(output.read_bytes()).decode()
    assert text.splitlines()[1] == "1,52,female,29.0,T,"


def test_console_output(small, capsys):
    definition, tables = small
    code, out, err = run(
        command("generate-dataset", definition, dummy_tables=tables), capsys
    )
    assert code == 0, err
    assert out.splitlines() == [
        "patient_id | age | sex     | bmi  | has_events | died",
        "-----------+-----+---------+------+------------+-----------",
        "         1 |  52 | female  | 29.0 | T          |",
        "         2 |  22 | male    |      | T          | 2022-05-06",
        "         3 |  82 | unknown |      | F          |",
    ]
    assert "Wrote 3 rows to the console" in err


def test_user_args_reach_get_parameter(small, tmp_path, capsys):
    definition, tables = small
    output = tmp_path / "d.csv"
    code, _, err = run(
        [
            "generate-dataset",
            definition,
            "--dummy-tables",
            tables,
            "--output",
            output,
            "--",
            "--index",
            "2000-07-01",
        ],
        capsys,
    )
    assert code == 0, err
    ages = [row["age"] for row in csv.DictReader(output.open())]
    assert ages == ["30", "-1", "59"]


def test_example_study_on_the_example_data_gives_the_same_result_on_every_engine_and_format(
    tmp_path, capsys
):
    outputs = {}
    for engine in ENGINES:
        for extension in [".csv", ".arrow"]:
            output = tmp_path / engine / f"dataset{extension}"
            code, _, err = run(
                command(
                    "generate-dataset",
                    EXAMPLE_DEFINITION,
                    dummy_tables=EXAMPLE_DATA,
                    output=output,
                    query_engine=engine,
                ),
                capsys,
            )
            assert code == 0, err
            outputs[engine, extension] = output
    csv_rows = list(csv.DictReader(outputs["duckdb", ".csv"].open()))
    assert (
        outputs["duckdb", ".csv"].read_text()
        == outputs["in_memory", ".csv"].read_text()
    )
    assert read_arrow(outputs["duckdb", ".arrow"]).equals(
        read_arrow(outputs["in_memory", ".arrow"])
    )
    # The population: registered adults, alive on the index date.
    assert 150 < len(csv_rows) < 300
    assert all(18 <= int(row["age"]) <= 100 for row in csv_rows)
    assert {row["age_band"] for row in csv_rows} == {"18-39", "40-64", "65-79", "80+"}
    assert {row["has_diabetes"] for row in csv_rows} == {"T", "F"}
    assert any(row["bmi"] for row in csv_rows)
    assert any(int(row["events_in_last_year"]) > 0 for row in csv_rows)
    assert all(
        not row["date_of_death"] or row["date_of_death"] > "2023-04-01"
        for row in csv_rows
    )
    arrow = read_arrow(outputs["duckdb", ".arrow"])
    assert arrow.schema.field("smoking_status").type.value_type == pa.string()
    assert arrow.column("smoking_status").chunk(0).dictionary.to_pylist() == [
        "current",
        "former",
        "never",
        "unknown",
    ]


def test_readme_command_through_the_console_script_module(tmp_path):
    # The README's command, run as a user would (from the repository root).
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    output = tmp_path / "output" / "dataset.csv"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ehrql",
            "generate-dataset",
            "examples/dataset_definition.py",
            "--dummy-tables",
            "ehrql/example-data",
            "--output",
            str(output),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert output.read_text().startswith("patient_id,age,age_band,sex,practice,")


def test_only_the_process_entry_point_tunes_the_garbage_collector(monkeypatch, capsys):
    # Tuning (freezing what is imported, rarer collections) is for a process
    # running one command; `entrypoint` runs in tests and other programs too.
    tuned = []
    monkeypatch.setattr(gc, "freeze", lambda: tuned.append("freeze"))
    monkeypatch.setattr(gc, "set_threshold", lambda *t: tuned.append(t[0]))
    monkeypatch.setattr(atexit, "register", lambda f: tuned.append("at exit"))
    monkeypatch.setattr("sys.argv", ["ehrql", "--version"])
    assert entrypoint() == 0
    assert tuned == []
    with pytest.raises(SystemExit) as exit_:
        process_entrypoint()
    assert exit_.value.code == 0
    assert tuned == ["freeze", 50_000, "at exit"]
    assert "ehrql" in capsys.readouterr().out


def test_generated_dummy_data_when_no_data_source_is_given(small, tmp_path, capsys):
    definition, _ = small
    output = tmp_path / "d.csv"
    code, _, err = run(command("generate-dataset", definition, output=output), capsys)
    assert code == 0, err
    rows = list(csv.DictReader(output.open()))
    assert len(rows) == 10  # the default population size
    assert "Generating dummy data for 10 patients" in err


# -- dummy data file ------------------------------------------------------------------


def test_dummy_data_file_is_checked_and_output_in_another_format(
    small, tmp_path, capsys
):
    definition, _ = small
    dummy = tmp_path / "dummy.csv"
    dummy.write_text(
        "patient_id,age,sex,bmi,has_events,died\n7,40,male,22.5,T,\n8,,female,,F,2020-02-02\n"
    )
    output = tmp_path / "d.arrow"
    code, _, err = run(
        command("generate-dataset", definition, dummy_data_file=dummy, output=output),
        capsys,
    )
    assert code == 0, err
    assert as_rows(read_arrow(output)) == [
        (7, 40, "male", 22.5, True, None),
        (8, None, "female", None, False, datetime.date(2020, 2, 2)),
    ]


@pytest.mark.parametrize(
    "contents,message",
    [
        ("patient_id,age,sex,bmi,has_events\n", "missing columns: died"),
        ("patient_id,age,sex,bmi,has_events,died,extra\n", "unexpected columns: extra"),
        (
            "patient_id,age,sex,bmi,has_events,died\n1,old,male,,T,\n",
            "line 2, column 'age': 'old' is not a valid integer",
        ),
        (
            "patient_id,age,sex,bmi,has_events,died\n1,3,man,,T,\n",
            "'man' is not one of the allowed values",
        ),
    ],
)
def test_dummy_data_file_that_does_not_match(
    small, tmp_path, capsys, contents, message
):
    definition, _ = small
    dummy = tmp_path / "dummy.csv"
    dummy.write_text(contents)
    output = tmp_path / "new_dir" / "d.csv"
    code, out, err = run(
        command("generate-dataset", definition, dummy_data_file=dummy, output=output),
        capsys,
    )
    assert code == 11
    assert message in err
    assert str(dummy) in err
    assert not (tmp_path / "new_dir").exists()


# -- dump-dataset-sql -------------------------------------------------------------------


def test_dump_dataset_sql(small, tmp_path, capsys):
    definition, _ = small
    code, out, err = run(["dump-dataset-sql", definition], capsys)
    assert code == 0, err
    assert "SELECT" in out.upper()
    assert "patients" in out and "clinical_events" in out
    assert out.rstrip().endswith(";")

    output = tmp_path / "sql" / "dataset.sql"
    code, out2, err = run(
        command("dump-dataset-sql", definition, output=output), capsys
    )
    assert code == 0, err
    assert out2 == ""
    assert output.read_text() == out


def test_dump_dataset_sql_needs_a_sql_engine(small, capsys):
    definition, _ = small
    code, _, err = run(
        command("dump-dataset-sql", definition, query_engine="in_memory"), capsys
    )
    assert code == 1
    assert "the in_memory query engine does not use SQL; choose one of: duckdb" in err


@pytest.mark.parametrize(
    "backend,expected",
    [
        ("tpp", ["CREATE TABLE #population_", "PatientsWithTypeOneDissent"]),
        (
            "emis",
            [
                'CREATE TABLE "ehrql_tmp_',
                "patient_all_orgs_v2",
                "AS VARCHAR) AS patient_id",
            ],
        ),
    ],
)
def test_dump_dataset_sql_for_a_backend_is_the_sql_of_its_engine(
    small, capsys, backend, expected
):
    definition, _ = small
    code, out, err = run(
        command("dump-dataset-sql", definition, backend=backend), capsys
    )
    assert code == 0, err
    for text in expected:
        assert text in out


@pytest.mark.parametrize("scheme,engine", [("mssql", "mssql"), ("trino", "trino")])
def test_a_server_dsn_is_run_by_its_engine_and_its_password_never_logged(
    small, capsys, scheme, engine
):
    definition, _ = small
    dsn = f"{scheme}://someone:s3cret@nowhere.invalid:1/db/schema"
    code, _, err = run(
        command("generate-dataset", definition, backend="tpp", dsn=dsn), capsys
    )
    # No server can be reached here (nor may a driver be installed): the
    # command fails, but names the engine the DSN asks for. A missing driver
    # is ehrql's error (1); one the database gives is a database error (3-6).
    assert code in (1, 3, 5)
    if code != 1:
        assert "ehrql: note: " in err
    assert (
        f"Connecting the {engine} query engine to {scheme}://someone:***@nowhere.invalid:1/db/schema"
        in err
    )
    assert "s3cret" not in err


# -- errors in the definition -------------------------------------------------------------

DEFINITION_ERRORS = {
    "syntax": ("dataset = create_dataset(\n", 3, "SyntaxError: '(' was never closed"),
    "exception": (
        "dataset = create_dataset()\nx = {}['missing']\n",
        4,
        "KeyError: 'missing'",
    ),
    "no_population": (
        "dataset = create_dataset()\ndataset.sex = patients.sex\n",
        3,
        "the dataset has no population",
    ),
    "unknown_column": (
        "dataset = create_dataset()\ndataset.define_population(patients.exists_for_patient())\n"
        "dataset.x = patients.date_of_brith\n",
        5,
        "date_of_brith",
    ),
    "bad_population": (
        "dataset = create_dataset()\ndataset.define_population(patients.sex)\n",
        4,
        "boolean",
    ),
}


@pytest.mark.parametrize("kind", DEFINITION_ERRORS)
@pytest.mark.parametrize("verb", ["generate-dataset", "dump-dataset-sql"])
def test_definition_errors_name_the_file_and_line_and_leave_no_output(
    tmp_path, capsys, kind, verb
):
    body, line, message = DEFINITION_ERRORS[kind]
    definition = write_definition(tmp_path, body)
    tables = write_tables(tmp_path / "tables")
    output = (
        tmp_path
        / "out"
        / ("dataset.csv" if verb == "generate-dataset" else "dataset.sql")
    )
    argv = [verb, definition, "--output", output]
    if verb == "generate-dataset":
        argv += ["--dummy-tables", tables]
    code, out, err = run(argv, capsys)
    assert code == 10
    assert f"{definition}, line {line}:" in err
    source_line = body.splitlines()[line - 3].strip()
    assert f"    {source_line}" in err
    assert message in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_debug_traceback_shows_the_full_traceback(tmp_path, capsys):
    definition = write_definition(tmp_path, "dataset = create_dataset()\nx = 1 / 0\n")
    code, _, err = run(
        command(
            "generate-dataset", definition, debug_traceback=True, dummy_tables=tmp_path
        ),
        capsys,
    )
    assert code == 10
    assert "Traceback" in err
    assert f"{definition}, line 4:" in err


# -- errors in the command line ---------------------------------------------------------------


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--output", "out.txt"], "must end in one of .csv, .csv.gz, .arrow, .parquet"),
        (
            ["--query-engine", "sqlite"],
            "unknown query engine 'sqlite'; valid query engines: duckdb, in_memory",
        ),
        (["--dummy-tables", "no/such/dir"], "directory not found: no/such/dir"),
        (["--dummy-data-file", "missing.csv"], "file not found: missing.csv"),
        (["--unknown-option"], "unrecognized arguments: --unknown-option"),
    ],
)
def test_usage_errors(small, tmp_path, capsys, extra, message):
    definition, _ = small
    code, _, err = run(["generate-dataset", definition, *extra], capsys)
    assert code == 2
    assert message in err


@pytest.mark.parametrize(
    "user_args,message",
    [
        (["--index"], "user argument '--index' has no value after it"),
        (
            ["index", "2020"],
            "unexpected user argument 'index'; the definition asks for: --index",
        ),
        (
            ["--indx", "2020-01-01"],
            "user argument '--indx' is not used by the definition (did you mean --index?)",
        ),
    ],
)
def test_user_arguments_the_definition_cannot_use(
    small, tmp_path, capsys, user_args, message
):
    # Only the definition knows its arguments, so these are errors in it, found while it loads.
    definition, tables = small
    code, _, err = run(
        ["generate-dataset", definition, "--dummy-tables", tables, "--", *user_args],
        capsys,
    )
    assert code == 10
    assert message in err


def test_missing_definition_file(tmp_path, capsys):
    code, _, err = run(["generate-dataset", tmp_path / "nope.py"], capsys)
    assert code == 2
    assert "definition file not found" in err


@pytest.mark.parametrize("verb", ["generate-dataset", "dump-dataset-sql"])
def test_unknown_backend_lists_the_valid_ones(small, capsys, verb):
    definition, _ = small
    code, _, err = run([verb, definition, "--backend", "nowhere"], capsys)
    assert code == 2
    assert "unknown backend 'nowhere'; valid backends: emis, emisv2, tpp" in err


def test_output_that_cannot_be_written(small, tmp_path, capsys):
    definition, tables = small
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    code, _, err = run(
        command(
            "generate-dataset",
            definition,
            dummy_tables=tables,
            output=blocker / "dataset.csv",
        ),
        capsys,
    )
    assert code == 1
    assert "ehrql: error:" in err
    assert "Traceback" not in err
    assert blocker.read_text() == ""


def test_output_directory_is_refused_as_an_output_file(small, tmp_path, capsys):
    definition, tables = small
    directory = tmp_path / "looks_like.csv"
    directory.mkdir()
    code, _, err = run(
        command("generate-dataset", definition, dummy_tables=tables, output=directory),
        capsys,
    )
    assert code == 2
    assert "is a directory" in err


def test_bad_data_in_table_files_leaves_no_output(small, tmp_path, capsys):
    definition, tables = small
    (tables / "patients.csv").write_text(
        "patient_id,date_of_birth,sex,date_of_death\n1,1970-13-01,female,\n"
    )
    for engine in ENGINES:
        output = tmp_path / engine / "d.csv"
        code, _, err = run(
            command(
                "generate-dataset",
                definition,
                dummy_tables=tables,
                output=output,
                query_engine=engine,
            ),
            capsys,
        )
        assert code != 0
        assert "1970-13-01" in err
        assert "Traceback" not in err
        assert not (tmp_path / engine).exists()


def test_missing_table_file(small, capsys):
    definition, tables = small
    (tables / "clinical_events.csv").unlink()
    for engine in ENGINES:
        code, _, err = run(
            command(
                "generate-dataset", definition, dummy_tables=tables, query_engine=engine
            ),
            capsys,
        )
        assert code == 1
        assert "clinical_events" in err


# -- help and version ---------------------------------------------------------------------------


def test_version(capsys):
    code, out, _ = run(["--version"], capsys)
    assert code == 0
    assert out.startswith("ehrql ")


@pytest.mark.parametrize(
    "verb", ["generate-dataset", "dump-dataset-sql", "create-dummy-tables"]
)
def test_help(capsys, verb):
    code, out, _ = run([verb, "--help"], capsys)
    assert code == 0
    assert f"usage: ehrql {verb}" in out
    assert "DEFINITION" in out


def test_every_option_has_help_text():
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    for verb, subparser in subparsers.choices.items():
        for action in subparser._actions:
            assert action.help, (
                f"{verb} {action.option_strings or action.dest} has no help"
            )


def test_no_command_prints_help(capsys):
    code, _, err = run([], capsys)
    assert code == 2
    assert "generate-dataset" in err


# -- a real database ------------------------------------------------------------------------


def test_dsn_duckdb_database_file(small, tmp_path, capsys):

    definition, tables = small
    database = tmp_path / "records.duckdb"
    write_duckdb_records(
        database,
        patients="(4, DATE '1990-03-01', 'female', NULL), (9, DATE '1960-01-01', 'male', NULL)",
        clinical_events="(9, DATE '2022-02-02', '60621009', 31.5)",
    )
    output = tmp_path / "d.csv"
    # --dsn wins over the dummy tables.
    code, _, err = run(
        command(
            "generate-dataset",
            definition,
            dsn=database,
            dummy_tables=tables,
            output=output,
        ),
        capsys,
    )
    assert code == 0, err
    assert "dummy data options are ignored" in err
    assert output.read_text().splitlines()[1:] == [
        "4,32,female,,F,",
        "9,63,male,31.5,T,",
    ]


# -- the example data ------------------------------------------------------------------------


def load_example_data_generator(monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "example_data_generate", EXAMPLE_DATA / "generate.py"
    )
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules.
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    return module


def test_example_data_is_what_its_generator_makes(tmp_path, monkeypatch):
    counts = load_example_data_generator(monkeypatch).generate(tmp_path)
    assert counts["patients"] == 300
    for name in counts:
        assert (tmp_path / f"{name}.csv").read_bytes() == (
            EXAMPLE_DATA / f"{name}.csv"
        ).read_bytes(), name


def test_example_data_obeys_the_core_schemas():
    from ehrql.file_formats import read_rows, table_column_specs
    from ehrql.tables import core

    for name in core.__all__:
        schema = getattr(core, name)._qm_node.schema
        # Reading parses every value by its type, and checks codes, categories and nulls.
        rows = list(read_rows(EXAMPLE_DATA / f"{name}.csv", table_column_specs(schema)))
        assert rows, name
        for column_name, column in schema.columns:
            position = schema.column_names.index(column_name) + 1
            for constraint in column.constraints:
                assert all(
                    row[position] is None or constraint.validate(row[position])
                    for row in rows
                ), (name, column_name, constraint)


def test_console_script_module_exit_status_and_message_on_error(tmp_path):
    definition = write_definition(
        tmp_path, "dataset = create_dataset()\ndataset.x = patients.nope\n"
    )
    output = tmp_path / "out" / "dataset.csv"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ehrql",
            "generate-dataset",
            str(definition),
            "--output",
            str(output),
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 10
    assert (
        "Error in dataset_definition.py, line 4:\n    dataset.x = patients.nope\n"
        in result.stderr
    )
    assert "Traceback" not in result.stderr
    assert not output.parent.exists()


# -- create-dummy-tables ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "suffix,extension", [("", ".csv"), (":arrow", ".arrow"), (":csv.gz", ".csv.gz")]
)
def test_create_dummy_tables_then_use_them(small, tmp_path, capsys, suffix, extension):
    definition, _ = small
    directory = tmp_path / "dummy_tables"
    code, _, err = run(
        command("create-dummy-tables", definition, f"{directory}{suffix}"), capsys
    )
    assert code == 0, err
    assert sorted(p.name for p in directory.iterdir()) == [
        f"clinical_events{extension}",
        f"patients{extension}",
    ]
    output = tmp_path / "d.csv"
    code, _, err = run(
        command("generate-dataset", definition, dummy_tables=directory, output=output),
        capsys,
    )
    assert code == 0, err
    assert len(output.read_text().splitlines()) == 1 + 10


def test_create_dummy_tables_with_an_unknown_format(small, tmp_path, capsys):
    definition, _ = small
    code, _, err = run(
        command("create-dummy-tables", definition, f"{tmp_path}/t:xlsx"), capsys
    )
    assert code == 2
    assert (
        "unknown file format 'xlsx'; choose one of: csv, csv.gz, arrow, parquet" in err
    )
    assert not (tmp_path / "t").exists()


def test_emis_text_patient_ids_are_written_as_text(tmp_path, capsys):
    from ehrql.backends.emis import EMISBackend
    from tests.lib.raw_databases import RawDatabase

    database = RawDatabase.create(EMISBackend(), tmp_path / "emis.duckdb")
    database.insert(
        "patient_all_orgs_v2",
        dict(
            registration_id="7",
            gender=2,
            date_of_birth=datetime.date(1980, 1, 1),
            hashed_organisation="0f",
        ),
        dict(
            registration_id="10",
            gender=1,
            date_of_birth=datetime.date(1990, 1, 1),
            hashed_organisation="0f",
        ),
    )
    database.dispose()
    definition = write_definition(
        tmp_path,
        """
        dataset = create_dataset()
        dataset.define_population(patients.exists_for_patient())
        dataset.sex = patients.sex
        """,
    )
    output = tmp_path / "out.arrow"
    argv = [
        "generate-dataset",
        definition,
        "--backend",
        "emis",
        "--dsn",
        tmp_path / "emis.duckdb",
        "--output",
        output,
    ]
    code, _, err = run(argv, capsys)
    assert code == 0, err
    table = pyarrow.ipc.open_file(output).read_all()
    assert table.schema.field("patient_id").type == pa.string()
    assert table.to_pylist() == [
        {"patient_id": "10", "sex": "male"},
        {"patient_id": "7", "sex": "female"},
    ]


def test_progress_of_dummy_data_and_rows_written(tmp_path):
    from ehrql.main import generate_dataset
    from ehrql.progress import Progress

    definition = write_definition(tmp_path, SMALL_DEFINITION)
    stream = io.StringIO()
    generate_dataset(
        definition,
        tmp_path / "out.csv",
        log=lambda message: None,
        progress=Progress(stream, bar=False, line_interval=0),
    )
    lines = stream.getvalue().splitlines()
    assert any(
        line.startswith("[ehrql] Dummy data: ") and "patients" in line for line in lines
    )
    assert any(line.startswith("[ehrql] Writing rows: ") for line in lines)


def test_quiet_turns_progress_off(small, tmp_path, capsys, monkeypatch):
    from ehrql import progress

    monkeypatch.setattr(progress, "LINE_INTERVAL", 0.0)
    definition, tables = small
    argv = [
        "generate-dataset",
        definition,
        "--dummy-tables",
        tables,
        "--output",
        tmp_path / "d.arrow",
    ]
    code, _, err = run(argv, capsys)
    assert code == 0
    assert "[ehrql] Writing rows: " in err
    code, _, err = run([*argv, "--quiet"], capsys)
    assert code == 0
    assert "[ehrql] Writing rows: " not in err


def test_output_dash_writes_csv_to_standard_output(small, tmp_path, capsys):
    definition, tables = small
    code, out, err = run(
        command("generate-dataset", definition, dummy_tables=tables, output="-"),
        capsys,
    )
    assert code == 0, err
    assert out.splitlines() == [
        "patient_id,age,sex,bmi,has_events,died",
        "1,52,female,29.0,T,",
        "2,22,male,,T,2022-05-06",
        "3,82,unknown,,F,",
    ]
    assert "Wrote 3 rows to standard output" in err


# -- table files holding only the columns a definition reads ------------------------------


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("extension", [".csv", ".parquet"])
def test_table_files_need_only_the_columns_the_definition_reads(
    tmp_path, capsys, engine, extension
):
    # Public ehrQL's create-dummy-tables writes only the columns a definition uses.
    tables = tmp_path / "tables"
    tables.mkdir()
    rows = pa.table({"patient_id": [1, 2], "sex": ["female", "male"]})
    if extension == ".csv":
        (tables / "patients.csv").write_text("patient_id,sex\n1,female\n2,male\n")
    else:
        pyarrow.parquet.write_table(rows, tables / "patients.parquet")
    definition = write_definition(
        tmp_path,
        """
        dataset = create_dataset()
        dataset.define_population(patients.exists_for_patient())
        dataset.sex = patients.sex
        """,
    )
    output = tmp_path / "out.csv"
    code, _, err = run(
        command(
            "generate-dataset",
            definition,
            dsn=tables,
            query_engine=engine,
            output=output,
        ),
        capsys,
    )
    assert code == 0, err
    assert output.read_text() == "patient_id,sex\n1,female\n2,male\n"

    # A column the definition does read must be there.
    definition.write_text(
        definition.read_text() + "dataset.born = patients.date_of_birth\n"
    )
    code, _, err = run(
        command("generate-dataset", definition, dsn=tables, query_engine=engine),
        capsys,
    )
    assert code != 0
    assert "patients" in err and "column" in err and "date_of_birth" in err
