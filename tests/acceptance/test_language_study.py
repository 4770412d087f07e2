"""A small study written as researchers write for public ehrQL, run through the CLI.

It uses the public language's features together: codelists read from CSV and
joined with `+`, a categorised codelist, containment in another event series,
episodes, absolute gaps, powers, a cohort from `table_from_file(columns=...)`,
an ungrouped measure over intervals given as ISO strings, and `ending_on`.
"""

import csv
import textwrap

import pytest

from ehrql.__main__ import entrypoint

CODELISTS = {
    "asthma.csv": "code,term\n195967001,Asthma\n",
    "copd.csv": "code,term\n13645005,COPD\n",
    "smoking.csv": "code,category\n77176002,smoker\n8517006,ex-smoker\n",
}

TABLES = {
    "patients.csv": (
        "patient_id,date_of_birth,sex,date_of_death\n"
        "1,1970-07-01,female,\n"
        "2,1980-01-01,male,\n"
        "3,1990-03-01,female,\n"
    ),
    "clinical_events.csv": (
        "patient_id,date,snomedct_code,numeric_value\n"
        "1,2020-01-01,195967001,\n"
        "1,2020-01-05,195967001,\n"
        "1,2020-03-01,13645005,\n"
        "1,2020-03-02,77176002,\n"
        "2,2020-02-10,13645005,\n"
        "2,2020-02-01,8517006,\n"
        "3,2021-06-01,22298006,2.5\n"
    ),
}

DATASET = """
    import datetime

    from ehrql import codelist_from_csv, create_dataset, days
    from ehrql.tables.core import clinical_events, patients
    from ehrql.tables import table_from_file

    respiratory = codelist_from_csv("codelists/asthma.csv", column="code") + codelist_from_csv(
        "codelists/copd.csv", column="code"
    )
    smoking = codelist_from_csv("codelists/smoking.csv", column="code", category_column="category")
    cohort = table_from_file("cohort.csv", columns={"index_date": datetime.date})
    assert len(respiratory) == 2 and respiratory[0] == "195967001" and "13645005" in respiratory

    events = clinical_events.where(clinical_events.snomedct_code.is_in(respiratory))
    first = events.sort_by(events.date).first_for_patient()
    latest_smoking = clinical_events.where(clinical_events.snomedct_code.is_in(smoking)).sort_by(
        clinical_events.date
    ).last_for_patient()

    dataset = create_dataset()
    dataset.define_population(cohort.exists_for_patient())
    dataset.episodes = events.date.count_episodes_for_patient(days(7))
    dataset.gap = (first.date - cohort.index_date).days.absolute()
    dataset.squared = dataset.gap ** 2
    dataset.smoking = latest_smoking.snomedct_code.to_category(smoking)
    dataset.smoking_code_is_respiratory = latest_smoking.snomedct_code.is_in(events.snomedct_code)
    dataset.no_codes = patients.sex.is_in([])
"""

MEASURES = """
    from ehrql import INTERVAL, Measures, codelist_from_csv, months
    from ehrql.tables.core import clinical_events, patients

    respiratory = codelist_from_csv("codelists/asthma.csv", column="code") + codelist_from_csv(
        "codelists/copd.csv", column="code"
    )
    in_interval = clinical_events.where(clinical_events.date.is_during(INTERVAL))
    measures = Measures()
    measures.configure_disclosure_control(enabled=False)
    measures.define_measure(
        "respiratory",
        numerator=in_interval.where(in_interval.snomedct_code.is_in(respiratory)).exists_for_patient(),
        denominator=patients.exists_for_patient(),
        intervals=[("2020-01-01", "2020-01-31"), ("2020-02-01", "2020-02-29")],
    )
    measures.define_measure(
        "ending_on",
        numerator=in_interval.exists_for_patient(),
        denominator=patients.exists_for_patient(),
        intervals=months(3).ending_on("2020-03-31"),
    )
"""


@pytest.fixture
def study(tmp_path, monkeypatch):
    (tmp_path / "codelists").mkdir()
    for name, text in CODELISTS.items():
        (tmp_path / "codelists" / name).write_text(text)
    tables = tmp_path / "tables"
    tables.mkdir()
    for name, text in TABLES.items():
        (tables / name).write_text(text)
    (tmp_path / "cohort.csv").write_text(
        "patient_id,index_date\n1,2020-01-10\n2,2020-02-01\n"
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_dataset_uses_the_public_language_together(study):
    (study / "dataset_definition.py").write_text(textwrap.dedent(DATASET))
    code = entrypoint(
        [
            "generate-dataset",
            "dataset_definition.py",
            "--dummy-tables",
            "tables",
            "--output",
            "out.csv",
        ]
    )
    assert code == 0
    assert read(study / "out.csv") == [
        {"patient_id": "1", "episodes": "2", "gap": "9", "squared": "81.0",
         "smoking": "smoker", "smoking_code_is_respiratory": "F", "no_codes": "F"},
        {"patient_id": "2", "episodes": "1", "gap": "9", "squared": "81.0",
         "smoking": "ex-smoker", "smoking_code_is_respiratory": "F", "no_codes": "F"},
    ]  # fmt: skip


def test_measures_as_a_class_ungrouped_with_iso_intervals(study):
    (study / "measure_definition.py").write_text(textwrap.dedent(MEASURES))
    code = entrypoint(
        [
            "generate-measures",
            "measure_definition.py",
            "--dummy-tables",
            "tables",
            "--output",
            "out.csv",
        ]
    )
    assert code == 0
    rows = [
        (
            r["measure"],
            r["interval_start"],
            r["interval_end"],
            r["numerator"],
            r["denominator"],
        )
        for r in read(study / "out.csv")
    ]
    assert rows == [
        ("respiratory", "2020-01-01", "2020-01-31", "1", "3"),
        ("respiratory", "2020-02-01", "2020-02-29", "1", "3"),
        # Stepping back from 31 March: 31 February rolls forward to 1 March.
        ("ending_on", "2020-01-01", "2020-01-31", "1", "3"),
        ("ending_on", "2020-02-01", "2020-03-01", "2", "3"),
        ("ending_on", "2020-03-02", "2020-03-31", "1", "3"),
    ]


@pytest.mark.parametrize(
    "command, name, body",
    [
        ("generate-dataset", "dataset_definition.py", DATASET),
        ("generate-measures", "measure_definition.py", MEASURES),
    ],
)
def test_the_study_runs_on_generated_dummy_data(study, command, name, body):
    (study / name).write_text(textwrap.dedent(body))
    assert entrypoint([command, name, "--output", "own.csv"]) == 0
    assert read(study / "own.csv")
