"""Our own small studies, run through the command line as researchers run theirs.

Expected outputs are worked out by hand from each study's dummy tables; the
comments say how. See README.md beside this file.
"""

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
STUDIES = Path(__file__).resolve().parent / "studies"


@pytest.fixture
def study(tmp_path):
    """A fresh copy of a study, to run in as its root folder."""

    def copy(name):
        root = tmp_path / name
        shutil.copytree(STUDIES / name, root)
        return root

    return copy


def ehrql(root, *args):
    """Run `python -m ehrql *args` in the study's root; the completed process."""
    result = subprocess.run(
        [sys.executable, "-m", "ehrql", *map(str, args)],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result


def rows(path):
    with open(path, newline="") as f:
        return [tuple(row) for row in csv.reader(f)]


# -- bp_monitoring: argparse-driven measures --------------------------------------
#
# Denominator: registered at the interval's start, and hypertension coded before it.
# January 2021: patients 1-4 (5 registers in February). February: 1 and 2 (3 and 4 left
# in January). A BP reading in January: 1 and 3; in February: 1 and 2.
# Ages on 2021-01-01: 1 is 70 (65+), 2 is 45 and 4 is 60 (40-64), 3 is 31 (0-39).

BP_HEADER = (
    "measure",
    "interval_start",
    "interval_end",
    "ratio",
    "numerator",
    "denominator",
    "sex",
    "age_band",
)
JAN = ("2021-01-01", "2021-01-31")
FEB = ("2021-02-01", "2021-02-28")
BP_BY_SEX = [
    ("bp_checked_by_sex", *JAN, "1.0", "2", "2", "female", ""),
    ("bp_checked_by_sex", *JAN, "0.0", "0", "2", "male", ""),
    ("bp_checked_by_sex", *FEB, "1.0", "1", "1", "female", ""),
    ("bp_checked_by_sex", *FEB, "1.0", "1", "1", "male", ""),
]
BP_BY_AGE = [
    ("bp_checked_by_age", *JAN, "1.0", "1", "1", "", "0-39"),
    ("bp_checked_by_age", *JAN, "0.0", "0", "2", "", "40-64"),
    ("bp_checked_by_age", *JAN, "1.0", "1", "1", "", "65+"),
    ("bp_checked_by_age", *FEB, "1.0", "1", "1", "", "40-64"),
    ("bp_checked_by_age", *FEB, "1.0", "1", "1", "", "65+"),
]


def test_bp_measures_read_their_own_arguments(study):
    root = study("bp_monitoring")
    ehrql(
        root,
        "generate-measures",
        "analysis/measures_definition.py",
        "--dummy-tables",
        "dummy_tables",
        "--output",
        "output/measures.csv",
        "--",
        "--start-date",
        "2021-01-01",
        "--months",
        "2",
    )
    assert rows(root / "output" / "measures.csv") == [BP_HEADER, *BP_BY_SEX, *BP_BY_AGE]


def test_bp_a_flag_without_a_value_reaches_the_study_parser(study):
    root = study("bp_monitoring")
    ehrql(
        root,
        "generate-measures",
        "analysis/measures_definition.py",
        "--dummy-tables",
        "dummy_tables",
        "--output",
        "output/light.csv",
        "--",
        "--months",
        "1",
        "--light",
    )
    assert rows(root / "output" / "light.csv") == [
        BP_HEADER[:7],
        *(r[:7] for r in BP_BY_SEX[:2]),
    ]


def test_bp_one_file_per_measure(study):
    root = study("bp_monitoring")
    ehrql(
        root,
        "generate-measures",
        "analysis/measures_definition.py",
        "--dummy-tables",
        "dummy_tables",
        "--output",
        "output/measures/:csv",
        "--",
        "--months",
        "2",
    )
    directory = root / "output" / "measures"
    assert sorted(p.name for p in directory.iterdir()) == [
        "bp_checked_by_age.csv",
        "bp_checked_by_sex.csv",
    ]
    assert rows(directory / "bp_checked_by_sex.csv") == [
        ("interval_start", "interval_end", "ratio", "numerator", "denominator", "sex"),
        *(r[1:7] for r in BP_BY_SEX),
    ]
    assert rows(directory / "bp_checked_by_age.csv")[1:] == [
        (*r[1:6], r[7]) for r in BP_BY_AGE
    ]


def test_bp_runs_on_generated_dummy_data(study):
    root = study("bp_monitoring")
    ehrql(
        root,
        "generate-measures",
        "analysis/measures_definition.py",
        "--output",
        "output/m.csv",
        "--",
        "--months",
        "2",
    )
    found = rows(root / "output" / "m.csv")
    assert found[0] == BP_HEADER
    assert {r[0] for r in found[1:]} <= {"bp_checked_by_sex", "bp_checked_by_age"}


def test_bp_an_ungrouped_measure(study):
    root = study("bp_monitoring")
    ehrql(
        root,
        "generate-measures",
        "analysis/measures_overall.py",
        "--dummy-tables",
        "dummy_tables",
        "--output",
        "output/overall.csv",
        "--",
        "--months",
        "2",
    )
    # Overall: 2 of 4 in January, 2 of 2 in February; no group, so the sex column is empty.
    assert rows(root / "output" / "overall.csv") == [
        BP_HEADER[:7],
        ("bp_checked", *JAN, "0.5", "2", "4", ""),
        ("bp_checked", *FEB, "1.0", "2", "2", ""),
        *(r[:7] for r in BP_BY_SEX),
    ]


# -- diabetes_bmi: a dataset with event tables ------------------------------------
#
# Population: registered on the index date, type 2 diabetes coded by then, aged 18 or
# over. Patient 3 is a child, 4 has no diabetes, 5 left the practice in 2019: only 1
# and 2 are in. The year before 2022-01-01 holds two of patient 1's three BMI readings
# and both of its metformin issues; patient 2's reading is after the index date and its
# issue is on 2020-12-31, a day early.


def test_diabetes_dataset_and_its_event_tables(study):
    root = study("diabetes_bmi")
    ehrql(
        root,
        "generate-dataset",
        "analysis/dataset_definition.py",
        "--dummy-tables",
        "dummy_tables",
        "--output",
        "output/diabetes/:csv",
    )
    out = root / "output" / "diabetes"
    assert sorted(p.name for p in out.iterdir()) == [
        "bmi_readings.csv",
        "dataset.csv",
        "metformin_issues.csv",
    ]
    assert rows(out / "dataset.csv") == [
        ("patient_id", "sex", "age", "diabetes_date", "latest_bmi", "metformin_count"),
        ("1", "female", "62", "2010-05-05", "30.0", "2"),
        ("2", "male", "36", "2018-02-02", "", "0"),
    ]
    assert rows(out / "bmi_readings.csv") == [
        ("patient_id", "date", "bmi"),
        ("1", "2021-03-01", "31.5"),
        ("1", "2021-09-01", "30.0"),
    ]
    assert rows(out / "metformin_issues.csv") == [
        ("patient_id", "date", "code"),
        ("1", "2021-01-15", "325278007"),
        ("1", "2021-07-15", "39113611000001102"),
    ]


def test_diabetes_with_another_index_date(study):
    # From 2020-06-30 to 2021-06-29: patient 1's March reading and January issue, and
    # patient 2's issue of 2020-12-31. Patient 1 is 61 on 2021-06-30.
    root = study("diabetes_bmi")
    ehrql(
        root,
        "generate-dataset",
        "analysis/dataset_definition.py",
        "--dummy-tables",
        "dummy_tables",
        "--output",
        "output/d:arrow",
        "--",
        "--index-date",
        "2021-06-30",
    )
    ehrql(
        root,
        "generate-dataset",
        "analysis/dataset_definition.py",
        "--dummy-data-file",
        "output/d",
        "--output",
        "output/again/:csv",
    )
    out = root / "output" / "again"
    assert rows(out / "dataset.csv")[1:] == [
        ("1", "female", "61", "2010-05-05", "31.5", "1"),
        ("2", "male", "36", "2018-02-02", "", "1"),
    ]
    assert rows(out / "bmi_readings.csv")[1:] == [("1", "2021-03-01", "31.5")]
    assert rows(out / "metformin_issues.csv")[1:] == [
        ("1", "2021-01-15", "325278007"),
        ("2", "2020-12-31", "325278007"),
    ]


def test_diabetes_passes_its_own_test_data(study):
    root = study("diabetes_bmi")
    result = ehrql(root, "assure", "analysis/dataset_definition.py")
    assert "2 of 2 test patients passed" in result.stdout
    assert "ok   event table bmi_readings" in result.stdout


def test_diabetes_on_generated_dummy_data(study):
    root = study("diabetes_bmi")
    ehrql(
        root,
        "generate-dataset",
        "analysis/dataset_definition.py",
        "--output",
        "output/dummy/:csv",
    )
    out = root / "output" / "dummy"
    ids = {r[0] for r in rows(out / "dataset.csv")[1:]}
    assert len(ids) == 20
    for table in ("bmi_readings.csv", "metformin_issues.csv"):
        assert {r[0] for r in rows(out / table)[1:]} <= ids


# -- copd_cohort: a cohort from an earlier action, joined codelists ---------------
#
# The cohort file lists patients 1-3 with their own index dates. By 2021-03-01 patient 1
# has COPD (2020) then asthma (2021) coded, so its latest category is asthma; patient 2's
# only code is after its index date; patient 3's code is on the local extra list only, so
# it is a respiratory code with no category. Patient 4 is not in the cohort.


def test_copd_cohort_from_an_earlier_action(study):
    root = study("copd_cohort")
    ehrql(
        root,
        "generate-dataset",
        "analysis/dataset_definition.py",
        "--dummy-tables",
        "dummy_tables",
        "--output",
        "output/copd/:csv",
    )
    out = root / "output" / "copd"
    assert rows(out / "dataset.csv") == [
        (
            "patient_id",
            "region",
            "index_date",
            "latest_category",
            "has_respiratory_code",
        ),
        ("1", "North East", "2021-03-01", "asthma", "T"),
        ("2", "London", "2021-06-15", "", "F"),
        ("3", "London", "2021-09-01", "", "T"),
    ]
    assert rows(out / "respiratory_records.csv") == [
        ("patient_id", "date", "code"),
        ("1", "2020-01-01", "13645005"),
        ("1", "2021-01-01", "195967001"),
        ("3", "2021-08-01", "230690007"),
    ]
