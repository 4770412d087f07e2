"""The CLI verbs for measures, assurance tests, debugging and the query model."""

import csv
import datetime
import json
import textwrap
from pathlib import Path

import pytest

from ehrql.file_formats import ColumnSpec, read_rows
from ehrql.measures.calculate import FIXED_COLUMNS
from ehrql.serializer import deserialize
from tests.lib.cli import EXAMPLE_DATA, EXAMPLE_DEFINITION, command, run

MEASURES = """
from ehrql import INTERVAL, create_measures, months
from ehrql.tables.core import clinical_events, patients, practice_registrations

measures = create_measures()
measures.configure_dummy_data(population_size=20)
registered = practice_registrations.for_patient_on(INTERVAL.start_date).exists_for_patient()
events = clinical_events.where(clinical_events.date.is_during(INTERVAL))
measures.define_measure(
    "events_per_patient",
    numerator=events.count_for_patient(),
    denominator=registered,
    group_by={"sex": patients.sex},
    intervals=months(3).starting_on("2021-01-01"),
)
"""


def write(directory, text, name="definition.py"):
    path = directory / name
    path.write_text(textwrap.dedent(text))
    return path


@pytest.mark.parametrize("engine", ["duckdb", "in_memory"])
def test_generate_measures_on_example_data(tmp_path, capsys, engine):
    output = tmp_path / "measures.csv"
    code, _, err = run(
        command(
            "generate-measures",
            write(tmp_path, MEASURES),
            dummy_tables=EXAMPLE_DATA,
            query_engine=engine,
            output=output,
        ),
        capsys,
    )
    assert code == 0, err
    rows = list(csv.DictReader(output.open()))
    assert list(rows[0]) == [
        "measure",
        "interval_start",
        "interval_end",
        "ratio",
        "numerator",
        "denominator",
        "sex",
    ]
    assert {r["interval_start"] for r in rows} == {
        "2021-01-01",
        "2021-02-01",
        "2021-03-01",
    }
    for row in rows:
        # Disclosure control: every count is 0 or a multiple of 5 above 7.
        for column in ("numerator", "denominator"):
            assert int(row[column]) % 5 == 0
    assert any(int(r["denominator"]) > 0 for r in rows)


def test_both_engines_give_the_same_measures(tmp_path, capsys):
    definition = write(tmp_path, MEASURES)
    outputs = []
    for engine in ("duckdb", "in_memory"):
        output = tmp_path / f"{engine}.csv"
        assert (
            run(
                command(
                    "generate-measures",
                    definition,
                    dummy_tables=EXAMPLE_DATA,
                    query_engine=engine,
                    output=output,
                ),
                capsys,
            )[0]
            == 0
        )
        outputs.append(output.read_text())
    assert outputs[0] == outputs[1]


def test_generate_measures_on_generated_dummy_data(tmp_path, capsys):
    code, out, err = run(["generate-measures", write(tmp_path, MEASURES)], capsys)
    assert code == 0, err
    assert "events_per_patient" in out


def test_generate_measures_outputs_a_checked_dummy_data_file(tmp_path, capsys):
    dummy = tmp_path / "dummy.csv"
    dummy.write_text(
        "measure,interval_start,interval_end,ratio,numerator,denominator,sex\n"
        "events_per_patient,2021-01-01,2021-01-31,0.5,10,20,female\n"
    )
    output = tmp_path / "measures.arrow"
    code, _, err = run(
        command(
            "generate-measures",
            write(tmp_path, MEASURES),
            dummy_data_file=dummy,
            output=output,
        ),
        capsys,
    )
    assert code == 0, err
    assert "Using the dummy measures" in err
    specs = [ColumnSpec(n, t) for n, t in [*FIXED_COLUMNS, ("sex", str)]]
    assert list(read_rows(output, specs)) == [
        (
            "events_per_patient",
            datetime.date(2021, 1, 1),
            datetime.date(2021, 1, 31),
            0.5,
            10,
            20,
            "female",
        )
    ]


def test_generate_measures_refuses_a_dummy_data_file_with_other_columns(
    tmp_path, capsys
):
    dummy = tmp_path / "dummy.csv"
    dummy.write_text(
        "measure,interval_start,interval_end,ratio,numerator,denominator,region\n"
    )
    code, _, err = run(
        command("generate-measures", write(tmp_path, MEASURES), dummy_data_file=dummy),
        capsys,
    )
    assert code != 0
    assert "sex" in err and "region" in err


def test_generate_measures_without_measures_is_a_clear_error(tmp_path, capsys):
    definition = write(
        tmp_path, "from ehrql import create_measures\nmeasures = create_measures()\n"
    )
    code, _, err = run(["generate-measures", definition], capsys)
    assert code == 10
    assert "no measures were defined" in err
    assert "definition.py" in err


ASSURED = """
import datetime
from ehrql import create_dataset
from ehrql.tables.core import clinical_events, patients

dataset = create_dataset()
dataset.define_population(patients.exists_for_patient() & (patients.sex == "female"))
dataset.events = clinical_events.count_for_patient()

test_data = {
    1: {
        "patients": {"date_of_birth": datetime.date(1980, 1, 1), "sex": "female"},
        "clinical_events": [{"date": datetime.date(2020, 1, 1)}, {"date": datetime.date(2021, 1, 1)}],
        "expected_columns": {"events": EXPECTED},
    },
    2: {"patients": {"date_of_birth": datetime.date(1980, 1, 1), "sex": "male"}, "expected_in_population": False},
}
"""


def test_assure_passes(tmp_path, capsys):
    code, out, _ = run(
        ["assure", write(tmp_path, ASSURED.replace("EXPECTED", "2"))], capsys
    )
    assert code == 0
    assert "2 of 2 test patients passed" in out


def test_assure_fails_with_a_report(tmp_path, capsys):
    code, out, _ = run(
        ["assure", write(tmp_path, ASSURED.replace("EXPECTED", "3"))], capsys
    )
    assert code == 1
    assert "FAIL events: expected 3, got 2" in out


def test_assure_without_test_data(tmp_path, capsys):
    code, _, err = run(
        ["assure", write(tmp_path, ASSURED.split("test_data =")[0])], capsys
    )
    assert code == 10
    assert "no variable named `test_data`" in err


def test_the_example_study_passes_its_own_test_data(capsys):
    code, out, _ = run(["assure", EXAMPLE_DEFINITION], capsys)
    assert code == 0, out
    assert "3 of 3 test patients passed" in out


SHOWN = """
from ehrql import create_dataset, show
from ehrql.tables.core import patients

dataset = create_dataset()
dataset.define_population(patients.exists_for_patient())
show(patients.sex, label="sexes", head=3)
"""


def test_debug_prints_shown_values(tmp_path, capsys):
    code, _, err = run(
        command("debug", write(tmp_path, SHOWN), dummy_tables=EXAMPLE_DATA), capsys
    )
    assert code == 0, err
    lines = err.splitlines()
    title = next(
        i for i, line in enumerate(lines) if line.startswith("Show line 7: sexes")
    )
    assert lines[title + 1].split() == ["patient_id", "|", "value"]
    assert len([line for line in lines[title + 3 :] if "|" in line][:4]) == 3


def test_debug_on_generated_data(tmp_path, capsys):
    code, _, err = run(["debug", write(tmp_path, SHOWN)], capsys)
    assert code == 0, err
    assert "Show line 7: sexes" in err


def test_show_is_silent_in_generate_dataset(tmp_path, capsys):
    code, out, err = run(
        command("generate-dataset", write(tmp_path, SHOWN), dummy_tables=EXAMPLE_DATA),
        capsys,
    )
    assert code == 0
    assert "Show line" not in out + err


def test_serialize_definition_round_trips(tmp_path, capsys):
    from ehrql.loaders import load_dataset

    output = tmp_path / "model.json"
    code, _, err = run(
        command("serialize-definition", EXAMPLE_DEFINITION, output=output), capsys
    )
    assert code == 0, err
    assert json.loads(output.read_text())["version"] == 1
    assert deserialize(output.read_text()) == load_dataset(EXAMPLE_DEFINITION)


def test_dump_example_data(tmp_path, capsys):
    target = tmp_path / "data"
    assert run(["dump-example-data", target], capsys)[0] == 0
    names = sorted(p.name for p in target.iterdir())
    assert names == sorted(p.name for p in Path(EXAMPLE_DATA).glob("*.csv"))
    assert (target / "patients.csv").read_bytes() == (
        Path(EXAMPLE_DATA) / "patients.csv"
    ).read_bytes()
    code, _, err = run(["dump-example-data", target], capsys)
    assert code == 1
    assert "not overwriting existing files" in err


TEST_DATA_FILE = """
import datetime

test_data = {
    1: {
        "patients": {"date_of_birth": datetime.date(1980, 1, 1), "sex": "female"},
        "clinical_events": [{"date": datetime.date(2020, 1, 1)}],
        "expected_columns": {"events": EXPECTED},
    },
}
"""


def test_generate_dataset_checks_test_data_file_first(tmp_path, capsys):
    definition = write(tmp_path, ASSURED.split("test_data =")[0])
    good = write(tmp_path, TEST_DATA_FILE.replace("EXPECTED", "1"), "good_tests.py")
    bad = write(tmp_path, TEST_DATA_FILE.replace("EXPECTED", "5"), "bad_tests.py")
    output = tmp_path / "out.csv"
    code, _, err = run(
        command(
            "generate-dataset",
            definition,
            dummy_tables=EXAMPLE_DATA,
            test_data_file=good,
            output=output,
        ),
        capsys,
    )
    assert code == 0, err
    assert "All 1 test patients passed" in err
    output.unlink()
    code, out, err = run(
        command(
            "generate-dataset",
            definition,
            dummy_tables=EXAMPLE_DATA,
            test_data_file=bad,
            output=output,
        ),
        capsys,
    )
    assert code == 1
    assert "FAIL events: expected 5, got 1" in out
    assert "no dataset was generated" in err
    assert not output.exists()


def test_test_connection_to_a_duckdb_file(tmp_path, capsys):
    import duckdb

    path = tmp_path / "db.duckdb"
    duckdb.connect(str(path)).close()
    code, _, err = run(command("test-connection", url=path), capsys)
    assert code == 0, err
    assert "Connection OK" in err


def test_test_connection_to_a_missing_file(tmp_path, capsys):
    code, _, err = run(command("test-connection", url=tmp_path / "nope.duckdb"), capsys)
    assert code == 1
    assert "does not exist" in err


def test_test_connection_to_an_unreachable_server(capsys):
    # No SQL Server runs here: the failure must be one clear line, not a traceback.
    code, _, err = run(
        command(
            "test-connection", backend="tpp", url="mssql://user:pass@127.0.0.1:1/db"
        ),
        capsys,
    )
    assert code == 1
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("ehrql: error:")


STRICT_ASSURE = """
from ehrql import create_dataset
from ehrql.tables.core import patients
dataset = create_dataset()
dataset.define_population(patients.exists_for_patient())
dataset.sex = patients.sex
test_data = TEST_DATA
"""


@pytest.mark.parametrize(
    "test_data,message",
    [
        (
            '{1: {"patients": {"sex": "bogus"}, "expected_columns": {"sex": "bogus"}}}',
            "has 'bogus', which breaks",
        ),
        (
            '{1: {"patients": {"sex": "male"}, "expected_in_populaton": False}}',
            "did you mean 'expected_in_population'",
        ),
        ("{}", "test_data holds no test patients"),
    ],
)
def test_assure_fails_bad_test_data(tmp_path, capsys, test_data, message):
    code, out, err = run(
        ["assure", write(tmp_path, STRICT_ASSURE.replace("TEST_DATA", test_data))],
        capsys,
    )
    assert code != 0
    assert message in out + err
