"""An example study: adults registered with a practice on an index date.

Run it on the bundled example data:

    ehrql generate-dataset examples/dataset_definition.py \
        --dummy-tables ehrql/example-data --output output/dataset.csv

The index date can be changed on the command line, after `--`:

    ehrql generate-dataset examples/dataset_definition.py \
        --dummy-tables ehrql/example-data -- --index-date 2022-01-01
"""

from pathlib import Path

from ehrql import case, codelist_from_csv, create_dataset, get_parameter, when, years
from ehrql.tables.core import (
    clinical_events,
    medications,
    ons_deaths,
    patients,
    practice_registrations,
)

CODELISTS = Path(__file__).parent / "codelists"

diabetes_codes = codelist_from_csv(CODELISTS / "diabetes.csv", column="code")
hypertension_codes = codelist_from_csv(CODELISTS / "hypertension.csv", column="code")
asthma_codes = codelist_from_csv(CODELISTS / "asthma.csv", column="code")
copd_codes = codelist_from_csv(CODELISTS / "copd.csv", column="code")
cvd_codes = codelist_from_csv(
    CODELISTS / "cardiovascular_disease.csv", column="code", category_column="category"
)
smoking_codes = codelist_from_csv(
    CODELISTS / "smoking_status.csv", column="code", category_column="category"
)
asthma_inhaler_codes = codelist_from_csv(
    CODELISTS / "asthma_inhalers.csv", column="code"
)

BMI_CODE = "60621009"

index_date = get_parameter("index-date", default="2023-04-01")

age = patients.age_on(index_date)
registration = practice_registrations.for_patient_on(index_date)

dataset = create_dataset()
dataset.configure_dummy_data(population_size=300)
dataset.define_population(
    practice_registrations.exists_for_patient_on(index_date)
    & patients.is_alive_on(index_date)
    & (age >= 18)
    & (age <= 100)
)

dataset.age = age
dataset.age_band = case(
    when(age < 40).then("18-39"),
    when(age < 65).then("40-64"),
    when(age < 80).then("65-79"),
    otherwise="80+",
)
dataset.sex = patients.sex
dataset.practice = registration.practice_pseudo_id

# Only what was known on the index date counts.
history = clinical_events.where(clinical_events.date.is_on_or_before(index_date))


def has_ever(codelist):
    """True for patients with any event coded from `codelist` up to the index date."""
    return history.where(history.snomedct_code.is_in(codelist)).exists_for_patient()


dataset.has_diabetes = has_ever(diabetes_codes)
dataset.has_hypertension = has_ever(hypertension_codes)
dataset.has_asthma = has_ever(asthma_codes)
dataset.has_copd = has_ever(copd_codes)

latest_cvd = (
    history.where(history.snomedct_code.is_in(cvd_codes))
    .sort_by(history.date)
    .last_for_patient()
)
dataset.latest_cvd_event = latest_cvd.snomedct_code.to_category(cvd_codes)
dataset.latest_cvd_event_date = latest_cvd.date

latest_smoking = (
    history.where(history.snomedct_code.is_in(smoking_codes))
    .sort_by(history.date)
    .last_for_patient()
)
dataset.smoking_status = latest_smoking.snomedct_code.to_category(
    smoking_codes, default="unknown"
)

# BMI recorded in the five years before the index date; implausible values are ignored.
bmi_records = history.where(
    (history.snomedct_code == BMI_CODE)
    & history.date.is_after(index_date - years(5))
    & (history.numeric_value >= 12)
    & (history.numeric_value <= 70)
)
latest_bmi = bmi_records.sort_by(bmi_records.date).last_for_patient()
dataset.bmi = latest_bmi.numeric_value
dataset.bmi_date = latest_bmi.date

last_year = clinical_events.where(
    clinical_events.date.is_on_or_between(index_date - years(1), index_date)
)
dataset.events_in_last_year = last_year.count_for_patient()

inhalers = medications.where(
    medications.dmd_code.is_in(asthma_inhaler_codes)
    & medications.date.is_on_or_between(index_date - years(1), index_date)
)
dataset.asthma_inhalers_in_last_year = inhalers.count_for_patient()

dataset.date_of_death = ons_deaths.date
dataset.died_of_cvd = ons_deaths.cause_of_death_is_in(
    ["I21", "I219", "I64", "I489", "I509"]
)

# Test patients, checked with `ehrql assure examples/dataset_definition.py`
# (dates are for the default index date, 2023-04-01).
test_data = {
    # Registered, 60 on the index date, with type 2 diabetes and a recent heart attack.
    1: {
        "patients": {"date_of_birth": "1963-01-01", "sex": "female"},
        "practice_registrations": [
            {"start_date": "2010-05-01", "practice_pseudo_id": 7}
        ],
        "clinical_events": [
            {"date": "2015-06-01", "snomedct_code": "44054006"},
            {"date": "2022-11-20", "snomedct_code": "22298006"},
            {"date": "2022-12-01", "snomedct_code": "60621009", "numeric_value": 31.5},
            {"date": "2023-01-15", "snomedct_code": "77176002"},
        ],
        "expected_in_population": True,
        "expected_columns": {
            "age": 60,
            "age_band": "40-64",
            "sex": "female",
            "practice": 7,
            "has_diabetes": True,
            "has_hypertension": False,
            "latest_cvd_event": "myocardial_infarction",
            "latest_cvd_event_date": "2022-11-20",
            "smoking_status": "current",
            "bmi": 31.5,
            "events_in_last_year": 3,
            "date_of_death": None,
        },
    },
    # Left the practice before the index date: not in the population.
    2: {
        "patients": {"date_of_birth": "1970-01-01", "sex": "male"},
        "practice_registrations": [
            {
                "start_date": "2000-01-01",
                "end_date": "2020-01-01",
                "practice_pseudo_id": 3,
            }
        ],
        "expected_in_population": False,
    },
    # Registered but only 17 on the index date: not in the population.
    3: {
        "patients": {"date_of_birth": "2006-01-01", "sex": "male"},
        "practice_registrations": [
            {"start_date": "2006-02-01", "practice_pseudo_id": 3}
        ],
        "expected_in_population": False,
    },
}
