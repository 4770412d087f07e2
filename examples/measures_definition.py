"""An example of measures: how often registered adults had a diabetes or asthma
code recorded, each month of 2022, by sex and age band.

Run it on the bundled example data:

    ehrql generate-measures examples/measures_definition.py \
        --dummy-tables ehrql/example-data --output output/measures.csv
"""

from pathlib import Path

from ehrql import INTERVAL, case, codelist_from_csv, create_measures, months, when
from ehrql.tables.core import clinical_events, patients, practice_registrations

CODELISTS = Path(__file__).parent / "codelists"
diabetes_codes = codelist_from_csv(CODELISTS / "diabetes.csv", column="code")
asthma_codes = codelist_from_csv(CODELISTS / "asthma.csv", column="code")

age = patients.age_on(INTERVAL.start_date)
in_interval = clinical_events.where(clinical_events.date.is_during(INTERVAL))


def coded_in_interval(codelist):
    """True for patients with an event from `codelist` in the interval."""
    return in_interval.where(
        in_interval.snomedct_code.is_in(codelist)
    ).exists_for_patient()


measures = create_measures()
measures.configure_dummy_data(population_size=200)
measures.define_defaults(
    denominator=practice_registrations.exists_for_patient_on(INTERVAL.start_date)
    & (age >= 18)
    & patients.is_alive_on(INTERVAL.start_date),
    group_by={
        "sex": patients.sex,
        "age_band": case(
            when(age < 40).then("18-39"), when(age < 65).then("40-64"), otherwise="65+"
        ),
    },
    intervals=months(12).starting_on("2022-01-01"),
)
measures.define_measure("diabetes_coded", numerator=coded_in_interval(diabetes_codes))
measures.define_measure("asthma_coded", numerator=coded_in_interval(asthma_codes))
