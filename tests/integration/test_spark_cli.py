"""The `ehrql` command line on the Spark engine: Parquet and CSV directories, spark:// DSNs, a catalog."""

import pyarrow.csv
import pyarrow.parquet
import pytest

from tests.lib.cli import (
    EXAMPLE_DATA,
    EXAMPLE_DEFINITION,
    command,
    run,
)
from tests.lib.engines import spark_session

SMALL_CSV = [
    "patient_id,age,sex,bmi,has_events,died",
    "1,52,female,29.0,T,",
    "2,22,male,,T,2022-05-06",
    "3,82,unknown,,F,",
]


@pytest.fixture
def spark():
    # The tests' own session, started before the CLI would start one with its defaults.
    return spark_session()


def as_parquet(csv_directory, parquet_directory):
    """The CSV tables of a directory written again as Parquet files."""
    parquet_directory.mkdir()
    for path in csv_directory.glob("*.csv"):
        table = pyarrow.csv.read_csv(path)
        pyarrow.parquet.write_table(
            table, parquet_directory / (path.name.removesuffix(".csv") + ".parquet")
        )
    return parquet_directory


def generate(capsys, definition, output, *options):
    code, _, err = run(
        ["generate-dataset", definition, "--output", output, *options], capsys
    )
    assert code == 0, err
    return output.read_text().splitlines()


def test_a_directory_of_parquet_files(spark, small, tmp_path, capsys):
    definition, tables = small
    parquet = as_parquet(tables, tmp_path / "parquet")
    lines = generate(
        capsys,
        definition,
        tmp_path / "out.csv",
        "--query-engine",
        "spark",
        "--dsn",
        parquet,
    )
    assert lines == SMALL_CSV


def test_a_directory_of_csv_files(spark, small, tmp_path, capsys):
    definition, tables = small
    assert (
        generate(
            capsys,
            definition,
            tmp_path / "out.csv",
            "--query-engine",
            "spark",
            "--dsn",
            tables,
        )
        == SMALL_CSV
    )


def test_a_spark_dsn_picks_the_spark_engine(spark, small, tmp_path, capsys):
    definition, tables = small
    parquet = as_parquet(tables, tmp_path / "parquet")
    lines = generate(
        capsys,
        definition,
        tmp_path / "out.csv",
        "--dsn",
        f"spark://local?tables={parquet}",
    )
    assert lines == SMALL_CSV


def test_tables_in_a_catalog_database(spark, small, tmp_path, capsys):
    definition, tables = small
    parquet = as_parquet(tables, tmp_path / "parquet")
    spark.sql(
        f"CREATE DATABASE IF NOT EXISTS ehrql_cli_test LOCATION '{tmp_path / 'warehouse'}'"
    )
    try:
        for name in ["patients", "clinical_events"]:
            spark.sql(
                f"CREATE TABLE ehrql_cli_test.{name} USING parquet LOCATION '{parquet / (name + '.parquet')}'"
            )
        lines = generate(
            capsys,
            definition,
            tmp_path / "out.csv",
            "--dsn",
            "spark://local/ehrql_cli_test",
        )
        assert lines == SMALL_CSV
    finally:
        spark.sql("DROP DATABASE IF EXISTS ehrql_cli_test CASCADE")


def test_the_example_study_gives_duckdbs_answers(spark, tmp_path, capsys):
    on_duckdb = generate(
        capsys,
        EXAMPLE_DEFINITION,
        tmp_path / "duckdb.csv",
        "--dummy-tables",
        EXAMPLE_DATA,
    )
    on_spark = generate(
        capsys,
        EXAMPLE_DEFINITION,
        tmp_path / "spark.csv",
        "--query-engine",
        "spark",
        "--dsn",
        EXAMPLE_DATA,
    )
    assert on_spark == on_duckdb
    assert len(on_spark) > 100


def test_generated_dummy_data_on_spark(spark, small, tmp_path, capsys):
    definition, _ = small
    lines = generate(
        capsys, definition, tmp_path / "out.csv", "--query-engine", "spark"
    )
    assert lines[0] == SMALL_CSV[0]
    assert len(lines) > 1


def test_measures_on_spark(spark, tmp_path, capsys):
    definition = tmp_path / "measures.py"
    definition.write_text(
        "from ehrql import INTERVAL, create_measures, months\n"
        "from ehrql.tables.core import clinical_events, patients\n"
        "measures = create_measures()\n"
        "events = clinical_events.where(clinical_events.date.is_during(INTERVAL))\n"
        "measures.define_measure('events', numerator=events.count_for_patient(),\n"
        "    denominator=patients.exists_for_patient(), group_by={'sex': patients.sex},\n"
        "    intervals=months(3).starting_on('2021-01-01'))\n"
    )
    outputs = {}
    for engine in ["duckdb", "spark"]:
        output = tmp_path / f"{engine}.csv"
        code, _, err = run(
            command(
                "generate-measures",
                definition,
                dsn=EXAMPLE_DATA,
                query_engine=engine,
                output=output,
            ),
            capsys,
        )
        assert code == 0, err
        outputs[engine] = output.read_text()
    assert outputs["spark"] == outputs["duckdb"]


@pytest.mark.parametrize(
    "dsn, message",
    [
        ("spark://host:7077", "reads either table files"),
        ("spark://host:7077/db?tables=/x", "reads either table files"),
        ("spark://local?tabels=/x", "unknown Spark DSN parameter(s) tabels"),
    ],
)
def test_a_bad_spark_dsn_is_named(small, tmp_path, capsys, dsn, message):
    definition, _ = small
    code, _, err = run(command("generate-dataset", definition, dsn=dsn), capsys)
    assert code != 0
    assert message in err
    assert "Traceback" not in err


def test_a_missing_table_file_is_named(spark, small, tmp_path, capsys):
    definition, tables = small
    (tables / "clinical_events.csv").unlink()
    code, _, err = run(
        command("generate-dataset", definition, query_engine="spark", dsn=tables),
        capsys,
    )
    assert code != 0
    assert "no file for table 'clinical_events'" in err
    assert "Traceback" not in err


def test_a_missing_column_is_named(spark, small, tmp_path, capsys):
    definition, tables = small
    (tables / "patients.csv").write_text("patient_id,date_of_birth\n1,1970-07-01\n")
    code, _, err = run(
        command("generate-dataset", definition, query_engine="spark", dsn=tables),
        capsys,
    )
    assert code != 0
    assert "has no column 'sex'" in err
    assert not list(tmp_path.glob("*.csv"))


def test_dump_dataset_sql_for_spark(small, capsys):
    definition, _ = small
    code, out, err = run(
        command("dump-dataset-sql", definition, query_engine="spark"), capsys
    )
    assert code == 0, err
    assert "CACHE LAZY TABLE" in out
    assert "`" in out
