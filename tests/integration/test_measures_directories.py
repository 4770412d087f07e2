"""`generate-measures --output DIR/:FORMAT`: one file per measure; and such a
directory given back as `--dummy-data-file`."""

import datetime

import pytest

from tests.integration.test_cli_measures_and_debugging import write
from tests.lib.cli import EXAMPLE_DATA, command, run

d = datetime.date

TWO_MEASURES = """
from ehrql import INTERVAL, create_measures, months
from ehrql.tables.core import clinical_events, patients, practice_registrations

measures = create_measures()
measures.configure_disclosure_control(enabled=False)
registered = practice_registrations.for_patient_on(INTERVAL.start_date).exists_for_patient()
events = clinical_events.where(clinical_events.date.is_during(INTERVAL))
measures.define_defaults(denominator=registered, intervals=months(2).starting_on("2021-01-01"))
measures.define_measure("by_sex", numerator=events.exists_for_patient(), group_by={"sex": patients.sex})
measures.define_measure(
    "by_age",
    numerator=events.count_for_patient(),
    group_by={"old": patients.age_on(INTERVAL.start_date) >= 65},
)
"""


def lines(path):
    return path.read_text().splitlines()


@pytest.mark.parametrize("engine", ["duckdb", "in_memory"])
def test_one_file_per_measure(tmp_path, capsys, engine):
    definition = write(tmp_path, TWO_MEASURES)
    combined = tmp_path / "all.csv"
    assert (
        run(
            command(
                "generate-measures",
                definition,
                dummy_tables=EXAMPLE_DATA,
                output=combined,
                query_engine=engine,
            ),
            capsys,
        )[0]
        == 0
    )
    code, _, err = run(
        command(
            "generate-measures",
            definition,
            dummy_tables=EXAMPLE_DATA,
            output=f"{tmp_path / 'measures'}/:csv",
            query_engine=engine,
        ),
        capsys,
    )
    assert code == 0, err
    directory = tmp_path / "measures"
    assert sorted(p.name for p in directory.iterdir()) == ["by_age.csv", "by_sex.csv"]
    by_sex = lines(directory / "by_sex.csv")
    assert by_sex[0] == "interval_start,interval_end,ratio,numerator,denominator,sex"
    by_age = lines(directory / "by_age.csv")
    assert by_age[0] == "interval_start,interval_end,ratio,numerator,denominator,old"
    # The same rows as the combined file, less the measure column and other measures' groups.
    combined_rows = [line.split(",") for line in lines(combined)[1:]]
    assert by_sex[1:] == [",".join(r[1:7]) for r in combined_rows if r[0] == "by_sex"]
    assert by_age[1:] == [
        ",".join(r[1:6] + r[7:8]) for r in combined_rows if r[0] == "by_age"
    ]


def test_a_directory_of_dummy_measures_is_output_combined(tmp_path, capsys):
    definition = write(tmp_path, TWO_MEASURES)
    dummy = tmp_path / "dummy"
    dummy.mkdir()
    (dummy / "by_sex.csv").write_text(
        "interval_start,interval_end,ratio,numerator,denominator,sex\n2021-01-01,2021-01-31,0.5,1,2,female\n"
    )
    (dummy / "by_age.csv").write_text(
        "interval_start,interval_end,ratio,numerator,denominator,old\n2021-01-01,2021-01-31,1.0,3,3,T\n"
    )
    output = tmp_path / "out.csv"
    code, _, err = run(
        command("generate-measures", definition, dummy_data_file=dummy, output=output),
        capsys,
    )
    assert code == 0, err
    assert lines(output) == [
        "measure,interval_start,interval_end,ratio,numerator,denominator,sex,old",
        "by_sex,2021-01-01,2021-01-31,0.5,1,2,female,",
        "by_age,2021-01-01,2021-01-31,1.0,3,3,,T",
    ]
    # And split again into a directory.
    code, _, err = run(
        command(
            "generate-measures",
            definition,
            dummy_data_file=dummy,
            output=f"{tmp_path / 'again'}:csv",
        ),
        capsys,
    )
    assert code == 0, err
    assert lines(tmp_path / "again" / "by_sex.csv") == lines(dummy / "by_sex.csv")


def test_a_dummy_measures_directory_missing_a_measure_is_named(tmp_path, capsys):
    definition = write(tmp_path, TWO_MEASURES)
    dummy = tmp_path / "dummy"
    dummy.mkdir()
    (dummy / "by_sex.csv").write_text(
        "interval_start,interval_end,ratio,numerator,denominator,sex\n"
    )
    code, _, err = run(
        command("generate-measures", definition, dummy_data_file=dummy), capsys
    )
    assert code == 11
    assert "missing by_age.csv" in err
