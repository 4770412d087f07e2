"""Dummy data for randomly built definitions: it never crashes, never breaks a
column's rules and never lets a patient outside the population through."""

from hypothesis import HealthCheck, given, settings

from ehrql.dummy import generate_dummy_data
from tests.generative.queries import datasets
from tests.unit.dummy.checks import assert_schema_respected, patient_ids, run


@settings(
    max_examples=15,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(dataset=datasets())
def test_random_definitions(dataset):
    data = generate_dummy_data(dataset, population_size=4, timeout=0.3)
    assert_schema_respected(data.tables)
    assert data.report.generated <= 4
    if data.report.generated:
        # Patients of inline tables in the definition may be in it as well.
        assert patient_ids(data.tables) <= {row[0] for row in run(data.tables, dataset)}
    else:
        assert all(rows == [] for rows in data.tables.values())
        # None made is said, and why: no patient can exist, or time ran out.
        assert data.report.reason
        assert data.report.impossible or data.report.timed_out
