from ehrql import days
from ehrql.dummy.describe import MAX_LENGTH, describe
from ehrql.tables.core import clinical_events, patients


def test_conditions_read_like_the_ehrql_that_made_them():
    events = clinical_events.where(clinical_events.date.is_on_or_after("2020-01-01"))
    condition = events.count_for_patient() >= 2
    assert describe(condition._qm_node) == (
        '(clinical_events.where((clinical_events.date >= "2020-01-01")).count_for_patient() >= 2)'
    )
    last = clinical_events.sort_by(clinical_events.date).last_for_patient().date
    assert describe((last + days(3) < "2021-01-01")._qm_node) == (
        '((clinical_events.last_for_patient().date + days(3)) < "2021-01-01")'
    )


def test_long_codelists_and_long_conditions_are_cut():
    condition = patients.date_of_birth.is_in([f"19{i:02d}-01-01" for i in range(50)])
    text = describe(condition._qm_node)
    assert "(50 in all)" in text
    big = patients.sex == "female"
    for _ in range(20):
        big = big | (patients.sex == "male")
    assert len(describe(big._qm_node)) == MAX_LENGTH
