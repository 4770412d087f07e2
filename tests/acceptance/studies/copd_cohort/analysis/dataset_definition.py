"""Respiratory history of a cohort chosen by an earlier action (output/cohort.csv),
up to each patient's own index date."""

from datetime import date

from analysis.codelists import respiratory_categories, respiratory_codes

from ehrql import claim_permissions, create_dataset
from ehrql.query_language import table_from_file
from ehrql.tables.core import clinical_events

# Event-level rows need this permission; claiming it lets the study run on dummy data.
claim_permissions("event_level_data")

cohort = table_from_file(
    "output/cohort.csv", columns={"index_date": date, "region": str}
)

prior = clinical_events.where(clinical_events.date <= cohort.index_date)
categorised = prior.where(prior.snomedct_code.is_in(respiratory_categories))
respiratory = prior.where(prior.snomedct_code.is_in(respiratory_codes))

dataset = create_dataset()
dataset.define_population(cohort.exists_for_patient())
dataset.region = cohort.region
dataset.index_date = cohort.index_date
dataset.latest_category = (
    categorised.sort_by(categorised.date)
    .last_for_patient()
    .snomedct_code.to_category(respiratory_categories)
)
dataset.has_respiratory_code = respiratory.exists_for_patient()
dataset.add_event_table(
    "respiratory_records", date=respiratory.date, code=respiratory.snomedct_code
)
