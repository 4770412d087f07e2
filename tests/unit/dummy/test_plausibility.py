import datetime

from ehrql import create_dataset
from ehrql.dummy import generate_dummy_tables
from ehrql.dummy.plausibility import plausibility_check
from ehrql.tables import EventFrame, PatientFrame, Series, table

D = datetime.date


@table
class folk(PatientFrame):
    date_of_birth = Series(datetime.date)
    date_of_death = Series(datetime.date)


@table
class stays(EventFrame):
    start_date = Series(datetime.date)
    end_date = Series(datetime.date)
    ward = Series(int)


@table
class tallies(EventFrame):
    count = Series(int)


def test_dates_in_a_row_keep_their_order():
    check = plausibility_check(stays._qm_node)
    assert check(
        {"start_date": D(2020, 1, 1), "end_date": D(2020, 2, 1), "ward": 1}, {}
    )
    assert not check(
        {"start_date": D(2020, 3, 1), "end_date": D(2020, 2, 1), "ward": 1}, {}
    )
    assert check({"start_date": D(2020, 3, 1), "end_date": None, "ward": 1}, {})


def test_event_dates_fall_within_the_patients_life():
    check = plausibility_check(stays._qm_node)
    life = {"folk": {"date_of_birth": D(1990, 1, 1), "date_of_death": D(2010, 1, 1)}}
    inside = {"start_date": D(2000, 1, 1), "end_date": D(2001, 1, 1), "ward": 1}
    before = {"start_date": D(1980, 1, 1), "end_date": D(2001, 1, 1), "ward": 1}
    after = {"start_date": D(2000, 1, 1), "end_date": D(2011, 1, 1), "ward": 1}
    assert check(inside, life)
    assert not check(before, life)
    assert not check(after, life)
    assert check(before, {"folk": None})


def test_death_is_not_before_birth_and_tables_without_dates_have_no_rule():
    check = plausibility_check(folk._qm_node)
    assert not check(
        {"date_of_birth": D(2000, 1, 1), "date_of_death": D(1999, 1, 1)}, {}
    )
    assert plausibility_check(tallies._qm_node) is None


def test_filler_rows_are_plausible_but_required_rows_may_not_be():
    ds = create_dataset()
    # The population asks for a stay ending before it starts: allowed, as the
    # schema does not forbid it, even though filler rows never do that.
    odd = stays.where(stays.end_date < stays.start_date)
    ds.define_population(odd.exists_for_patient() & folk.exists_for_patient())
    ds.wards = stays.count_for_patient()
    tables = generate_dummy_tables(ds._compile(), population_size=30)
    births = {r["patient_id"]: r["date_of_birth"] for r in tables[folk._qm_node]}
    rows = tables[stays._qm_node]
    backwards = [
        r
        for r in rows
        if r["start_date"] and r["end_date"] and r["end_date"] < r["start_date"]
    ]
    assert len({r["patient_id"] for r in backwards}) == 30
    # Everything else is plausible: only the required row per patient is odd.
    assert len(backwards) < len(rows)
    for r in rows:
        if r in backwards:
            continue
        born = births.get(r["patient_id"])
        if born and r["start_date"]:
            assert r["start_date"] >= born
