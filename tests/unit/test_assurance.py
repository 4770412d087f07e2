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
    dataset.define_population(patients.exists_for_patient() & (patients.sex == "female"))
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
        "expected_columns": {"age": 69, "had_code": True, "mean_value": 1.75, "last_code": "195967001"},
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
        ({1: {"patients": [{"sex": "female"}]}}, "single dict"),
        ({1: {"events": {"value": 1.0}}}, "list of dicts"),
        ({1: {"events": [{"date": "yesterday"}]}}, "not a valid date"),
        ({"one": {}}, "integer patient ids"),
        ({1: {"patients": {"sex": "female"}, "expected_columns": {"nope": 1}}}, "does not have: nope"),
    ],
)
def test_malformed_test_data_is_a_clear_error(data, message):
    with pytest.raises(TestDataError, match=message):
        run_assurance(make_dataset(), data)
