"""Adults with type 2 diabetes: their BMI readings and metformin issues in the
year before the index date, as event-level tables beside the patient-level dataset.

    ehrql generate-dataset analysis/dataset_definition.py --output output/diabetes/:csv -- --index-date 2022-01-01
"""

from datetime import date

from analysis.codelists import bmi_codes, diabetes_codes, metformin_codes

from ehrql import claim_permissions, create_dataset, days, get_parameter, years
from ehrql.tables.core import (
    clinical_events,
    medications,
    patients,
    practice_registrations,
)

# Event-level rows need this permission; claiming it lets the study run on dummy data.
claim_permissions("event_level_data")

index_date = date.fromisoformat(get_parameter("index-date", default="2022-01-01"))
year_start = index_date - years(1)
year_end = index_date - days(1)

diabetes = clinical_events.where(
    clinical_events.snomedct_code.is_in(diabetes_codes)
).where(clinical_events.date <= index_date)
bmi = clinical_events.where(clinical_events.snomedct_code.is_in(bmi_codes)).where(
    clinical_events.date.is_on_or_between(year_start, year_end)
)
metformin = medications.where(medications.dmd_code.is_in(metformin_codes)).where(
    medications.date.is_on_or_between(year_start, year_end)
)

dataset = create_dataset()
dataset.configure_dummy_data(population_size=20)
dataset.define_population(
    practice_registrations.for_patient_on(index_date).exists_for_patient()
    & diabetes.exists_for_patient()
    & (patients.age_on(index_date) >= 18)
)
dataset.sex = patients.sex
dataset.age = patients.age_on(index_date)
dataset.diabetes_date = diabetes.sort_by(diabetes.date).first_for_patient().date
dataset.latest_bmi = bmi.sort_by(bmi.date).last_for_patient().numeric_value
dataset.metformin_count = metformin.count_for_patient()

dataset.add_event_table("bmi_readings", date=bmi.date, bmi=bmi.numeric_value)
dataset.add_event_table(
    "metformin_issues", date=metformin.date, code=metformin.dmd_code
)

test_data = {
    # In the population: two BMI readings and two issues in the year, one older reading.
    1: {
        "patients": {"date_of_birth": date(1960, 1, 1), "sex": "female"},
        "practice_registrations": [{"start_date": date(2000, 1, 1)}],
        "clinical_events": [
            {"date": date(2010, 5, 5), "snomedct_code": "44054006"},
            {
                "date": date(2020, 6, 1),
                "snomedct_code": "60621009",
                "numeric_value": 33.0,
            },
            {
                "date": date(2021, 3, 1),
                "snomedct_code": "60621009",
                "numeric_value": 31.5,
            },
            {
                "date": date(2021, 9, 1),
                "snomedct_code": "60621009",
                "numeric_value": 30.0,
            },
        ],
        "medications": [
            {"date": date(2021, 1, 15), "dmd_code": "325278007"},
            {"date": date(2021, 7, 15), "dmd_code": "39113611000001102"},
        ],
        "expected_in_population": True,
        "expected_columns": {
            "sex": "female",
            "age": 62,
            "diabetes_date": date(2010, 5, 5),
            "latest_bmi": 30.0,
            "metformin_count": 2,
        },
        "expected_events": {
            "bmi_readings": [
                {"date": date(2021, 3, 1), "bmi": 31.5},
                {"date": date(2021, 9, 1), "bmi": 30.0},
            ],
            "metformin_issues": [
                {"date": date(2021, 1, 15), "code": "325278007"},
                {"date": date(2021, 7, 15), "code": "39113611000001102"},
            ],
        },
    },
    # A child with diabetes is not in the population.
    2: {
        "patients": {"date_of_birth": date(2010, 1, 1), "sex": "male"},
        "practice_registrations": [{"start_date": date(2010, 1, 1)}],
        "clinical_events": [{"date": date(2019, 1, 1), "snomedct_code": "44054006"}],
        "expected_in_population": False,
    },
}
