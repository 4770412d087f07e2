"""Respiratory history of a cohort chosen by an earlier action (output/cohort.csv),
up to each patient's own index date."""

from datetime import date

from ehrql import create_dataset
from ehrql.query_language import table_from_file
from ehrql.tables.core import clinical_events

from analysis.codelists import copd_codes, respiratory_categories

cohort = table_from_file("output/cohort.csv", columns={"index_date": date, "region": str})

prior = clinical_events.where(clinical_events.date <= cohort.index_date)
respiratory = prior.where(prior.snomedct_code.is_in(respiratory_categories))
copd = prior.where(prior.snomedct_code.is_in(copd_codes))

dataset = create_dataset()
dataset.define_population(cohort.exists_for_patient())
dataset.region = cohort.region
dataset.index_date = cohort.index_date
dataset.latest_respiratory = (
    respiratory.sort_by(respiratory.date).last_for_patient().snomedct_code.to_category(respiratory_categories)
)
dataset.has_copd = copd.exists_for_patient()
dataset.add_event_table("copd_records", date=copd.date, code=copd.snomedct_code)
