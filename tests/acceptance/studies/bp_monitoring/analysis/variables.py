"""Pieces shared by the study's measures definitions."""

from analysis.codelists import bp_reading_codes, hypertension_codes

from ehrql import INTERVAL, case, when
from ehrql.tables.core import clinical_events, patients, practice_registrations

registered = practice_registrations.for_patient_on(
    INTERVAL.start_date
).exists_for_patient()

hypertensive = (
    clinical_events.where(clinical_events.snomedct_code.is_in(hypertension_codes))
    .where(clinical_events.date < INTERVAL.start_date)
    .exists_for_patient()
)

bp_checked = (
    clinical_events.where(clinical_events.snomedct_code.is_in(bp_reading_codes))
    .where(clinical_events.date.is_during(INTERVAL))
    .exists_for_patient()
)

age = patients.age_on(INTERVAL.start_date)
age_band = case(
    when(age < 40).then("0-39"),
    when(age < 65).then("40-64"),
    otherwise="65+",
)
