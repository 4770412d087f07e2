import datetime

import pytest

from ehrql import create_dataset
from ehrql.assurance import TestDataError, present, run_assurance
from ehrql.codes import SNOMEDCTCode
from ehrql.tables import EventFrame, PatientFrame, Series, table


@table
class patients(PatientFrame):
    date_of_birth = Series(datetime.date)
    sex = Series(str)


@table
class events(EventFrame):
    date = Series(datetime.date)
    code = Series(SNOMEDCTCode)
    value = Series(float)


def make_dataset():
    dataset = create_dataset()
    dataset.define_population(
        patients.exists_for_patient() & (patients.sex == "female")
    )
    dataset.age = (datetime.date(2020, 1, 1) - patients.date_of_birth).years
    dataset.had_code = events.where(events.code == "22298006").exists_for_patient()
    dataset.mean_value = events.value.mean_for_patient()
    dataset.last_code = events.sort_by(events.date).last_for_patient().code
    return dataset._compile()


GOOD_DATA = {
    1: {
        "patients": {"date_of_birth": "1950-06-01", "sex": "female"},
        "events": [
            {"date": datetime.date(2019, 1, 1), "code": "22298006", "value": 1.5},
            {"date": "2019-02-01", "code": "195967001", "value": 2},
        ],
        "expected_columns": {
            "age": 69,
            "had_code": True,
            "mean_value": 1.75,
            "last_code": "195967001",
        },
    },
    2: {
        "patients": {"date_of_birth": "1980-01-01", "sex": "male"},
        "expected_in_population": False,
    },
}


def test_passing_test_data():
    report = run_assurance(make_dataset(), GOOD_DATA)
    assert report.ok
    assert "2 of 2 test patients passed" in present(report)


def test_failures_are_reported_per_patient_and_column():
    data = {
        1: {**GOOD_DATA[1], "expected_columns": {"age": 70, "had_code": True}},
        2: {**GOOD_DATA[2], "expected_in_population": True},
    }
    report = run_assurance(make_dataset(), data)
    assert not report.ok
    text = present(report)
    assert "Patient 1: FAIL" in text
    assert "FAIL age: expected 70, got 69" in text
    assert "ok   had_code: expected True, got True" in text
    assert "in population: expected True, got False" in text
    assert "0 of 2 test patients passed; 2 failed" in text


def test_unused_tables_are_noted_not_rejected():
    data = {1: {**GOOD_DATA[1], "medications": [{"dmd_code": "x"}]}}
    report = run_assurance(make_dataset(), data)
    assert report.ok
    assert "medications" in present(report)


@pytest.mark.parametrize(
    "data,message",
    [
        ({1: {"patients": {"height": 2}}}, "has no column 'height'"),
        ({1: {"patients": "female"}}, "single dict"),
        ({1: {"events": {"value": 1.0}}}, "list of dicts"),
        ({1: {"events": [{"date": "yesterday"}]}}, "not a valid date"),
        ({"one": {}}, "integer patient ids"),
        (
            {1: {"patients": {"sex": "female"}, "expected_columns": {"nope": 1}}},
            "does not have: nope",
        ),
    ],
)
def test_malformed_test_data_is_a_clear_error(data, message):
    with pytest.raises(TestDataError, match=message):
        run_assurance(make_dataset(), data)


# -- constraints, unknown keys, event tables, empty test data ---------------------


def core_dataset():
    from ehrql.tables.core import clinical_events
    from ehrql.tables.core import patients as core_patients

    dataset = create_dataset()
    dataset.define_population(core_patients.exists_for_patient())
    dataset.sex = core_patients.sex
    coded = clinical_events.where(clinical_events.numeric_value > 0)
    dataset.add_event_table("readings", date=coded.date, value=coded.numeric_value)
    return dataset._compile()


def test_a_value_the_column_constraints_forbid_fails():
    data = {
        1: {
            "patients": {"date_of_birth": "1950-06-01", "sex": "bogus"},
            "expected_columns": {"sex": "bogus"},
        }
    }
    report = run_assurance(core_dataset(), data)
    assert not report.ok
    text = present(report)
    assert (
        "table 'patients', column 'sex' has 'bogus', which breaks its constraint"
        in text
    )
    assert "female" in text  # the allowed values are listed


def test_a_date_of_birth_not_on_the_first_of_a_month_fails():
    data = {1: {"patients": {"date_of_birth": "1950-06-15", "sex": "female"}}}
    report = run_assurance(core_dataset(), data)
    assert not report.ok
    assert "column 'date_of_birth' has datetime.date(1950, 6, 15)" in present(report)


def test_a_patient_table_takes_at_most_one_row():
    data = {1: {"patients": [{"sex": "female"}, {"sex": "male"}]}}
    report = run_assurance(core_dataset(), data)
    assert not report.ok
    assert (
        "table 'patients' has 2 rows, but takes at most one row per patient"
        in present(report)
    )


@pytest.mark.parametrize(
    "key,suggestion",
    [
        ("expected_in_populaton", "expected_in_population"),
        ("expected_column", "expected_columns"),
        ("patient", "patients"),
        ("clinical_event", "clinical_events"),
    ],
)
def test_a_misspelt_key_is_an_error_suggesting_the_right_one(key, suggestion):
    data = {1: {"patients": {"sex": "female"}, key: False}}
    with pytest.raises(
        TestDataError, match=f"unknown key '{key}'; did you mean '{suggestion}'"
    ):
        run_assurance(core_dataset(), data)


def test_an_unknown_key_with_nothing_close_is_an_error_too():
    with pytest.raises(
        TestDataError, match="unknown key 'zzz'.*the keys are: expected_in_population"
    ):
        run_assurance(core_dataset(), {1: {"patients": {"sex": "female"}, "zzz": 1}})


def test_empty_test_data_is_a_failure_not_a_pass():
    with pytest.raises(TestDataError, match="no test patients"):
        run_assurance(core_dataset(), {})


def test_expected_events_are_checked_whatever_their_order():
    events = [
        {"date": "2020-01-01", "snomedct_code": "60621009", "numeric_value": 2.0},
        {"date": "2019-01-01", "snomedct_code": "60621009", "numeric_value": 3.5},
        {"date": "2018-01-01", "snomedct_code": "60621009", "numeric_value": 0.0},
    ]
    good = [{"date": "2020-01-01", "value": 2.0}, {"date": "2019-01-01", "value": 3.5}]
    data = {
        1: {
            "patients": {"sex": "female"},
            "clinical_events": events,
            "expected_events": {"readings": good},
        }
    }
    assert run_assurance(core_dataset(), data).ok
    data[1]["expected_events"] = {"readings": good[:1]}
    report = run_assurance(core_dataset(), data)
    assert not report.ok
    assert "FAIL event table readings" in present(report)


def test_expected_events_for_an_unknown_table_is_an_error():
    data = {1: {"patients": {"sex": "female"}, "expected_events": {"reading": []}}}
    with pytest.raises(TestDataError, match="did you mean 'readings'"):
        run_assurance(core_dataset(), data)
