"""Dummy patients tell one consistent story across tables (issue 17)."""

import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ehrql import create_dataset, days, years
from ehrql.dummy import generate_dummy_data
from ehrql.dummy.consistency import inconsistencies, realigned_versions
from ehrql.tables.core import (
    clinical_events,
    medications,
    ons_deaths,
    patients,
    practice_registrations,
)
from tests.unit.dummy.checks import run


def by_patient(tables: dict) -> dict:
    patients_rows: dict = {}
    for table, rows in tables.items():
        for row in rows:
            patients_rows.setdefault(row["patient_id"], {t: [] for t in tables})[
                table
            ].append(row)
    return patients_rows


def assert_consistent(tables: dict):
    for patient_id, rows in by_patient(tables).items():
        assert inconsistencies(rows) == [], (patient_id, rows)


def window_registered_aged(index):
    events = clinical_events.where(
        clinical_events.date.is_on_or_between(index, index + days(13))
    )
    age = patients.age_on(index)
    ds = create_dataset()
    ds.define_population(
        events.exists_for_patient()
        & practice_registrations.for_patient_on(index).exists_for_patient()
        & (age >= 40)
        & (age < 50)
    )
    ds.n = clinical_events.count_for_patient()
    ds.meds = medications.count_for_patient()
    ds.died = ons_deaths.date
    ds.gp_died = patients.date_of_death
    return ds._compile()


def died_in_window(index):
    ds = create_dataset()
    ds.define_population(
        ons_deaths.date.is_on_or_between(index, index + years(1))
        & clinical_events.exists_for_patient()
        & medications.exists_for_patient()
    )
    ds.last_event = (
        clinical_events.sort_by(clinical_events.date).last_for_patient().date
    )
    ds.registrations = practice_registrations.count_for_patient()
    ds.gp_died = patients.date_of_death
    return ds._compile()


def anyone(index):
    ds = create_dataset()
    ds.define_population(patients.exists_for_patient())
    ds.events = clinical_events.count_for_patient()
    ds.died = ons_deaths.date
    ds.gp_died = patients.date_of_death
    ds.registered = practice_registrations.for_patient_on(index).exists_for_patient()
    ds.meds = medications.count_for_patient()
    return ds._compile()


@settings(max_examples=8, deadline=None)
@given(
    definition=st.sampled_from([window_registered_aged, died_in_window, anyone]),
    index=st.dates(datetime.date(2005, 1, 1), datetime.date(2024, 1, 1)),
    seed=st.integers(0, 1000),
)
def test_no_event_outside_life_and_gp_events_fall_in_registrations(
    definition, index, seed
):
    dataset = definition(index)
    data = generate_dummy_data(dataset, population_size=40, seed=seed)
    assert data.report.complete
    assert len(run(data.tables, dataset)) == 40
    assert_consistent(data.tables)


def test_gp_and_ons_death_dates_agree_and_follow_the_last_activity():
    data = generate_dummy_data(
        died_in_window(datetime.date(2021, 1, 1)), population_size=60, seed=5
    )
    for rows in by_patient(data.tables).values():
        ons = [
            r["date"] for t, rs in rows.items() if t.name == "ons_deaths" for r in rs
        ]
        gp = [
            r["date_of_death"]
            for t, rs in rows.items()
            if t.name == "patients"
            for r in rs
        ]
        assert ons and ons[0] is not None
        assert gp[0] in (None, ons[0])
        activity = [
            r["date"]
            for t, rs in rows.items()
            if t.name in ("clinical_events", "medications")
            for r in rs
        ]
        assert all(d is None or d <= ons[0] for d in activity)


def test_death_dates_both_read_by_the_population_still_agree():
    # Neither date is free to change afterwards: the second is drawn as the
    # first, which its condition allows.
    ds = create_dataset()
    ds.define_population(
        ons_deaths.date.is_after("2015-01-01")
        & patients.date_of_death.is_after("2010-01-01")
    )
    ds.ons = ons_deaths.date
    ds.gp = patients.date_of_death
    dataset = ds._compile()
    data = generate_dummy_data(dataset, population_size=40, seed=2)
    results = run(data.tables, dataset)
    assert len(results) == 40
    assert all(ons == gp for _, ons, gp in results)


def test_gp_events_the_population_leaves_free_move_into_the_registration():
    # Registrations start when the population says: they cannot stretch back
    # to earlier events, so the events move into them instead.
    ds = create_dataset()
    registration = practice_registrations.sort_by(
        practice_registrations.start_date
    ).first_for_patient()
    ds.define_population(
        registration.start_date.is_after("2012-01-01")
        & registration.end_date.is_not_null()
    )
    ds.events = clinical_events.count_for_patient()
    dataset = ds._compile()
    data = generate_dummy_data(dataset, population_size=40, seed=3)
    assert len(run(data.tables, dataset)) == 40
    events = 0
    for rows in by_patient(data.tables).values():
        registrations = [
            r
            for t, rs in rows.items()
            if t.name == "practice_registrations"
            for r in rs
        ]
        for t, rs in rows.items():
            if t.name == "clinical_events":
                for r in rs:
                    events += r["date"] is not None
                    assert r["date"] is None or any(
                        g["start_date"] <= r["date"]
                        and (g["end_date"] is None or r["date"] <= g["end_date"])
                        for g in registrations
                    )
    assert events > 20


def event_after_death():
    died = ons_deaths.date
    ds = create_dataset()
    ds.define_population(
        died.is_not_null()
        & clinical_events.where(clinical_events.date > died).exists_for_patient()
    )
    return ds._compile()


def test_a_population_that_asks_for_an_event_after_death_still_gets_it():
    dataset = event_after_death()
    data = generate_dummy_data(dataset, population_size=20, seed=2)
    assert data.report.complete
    assert len(run(data.tables, dataset)) == 20


@pytest.mark.parametrize(
    "rows, problem",
    [
        ({"clinical_events": [{"date": datetime.date(1990, 1, 1)}]}, "before birth"),
        ({"clinical_events": [{"date": datetime.date(2021, 1, 1)}]}, "after death"),
    ],
)
def test_inconsistencies_are_named(rows, problem):
    tables = {
        patients._qm_node: [
            {
                "date_of_birth": datetime.date(2000, 1, 1),
                "sex": "male",
                "date_of_death": datetime.date(2020, 1, 1),
            }
        ],
        clinical_events._qm_node: [
            {"date": d["date"], "snomedct_code": None, "numeric_value": None}
            for d in rows["clinical_events"]
        ],
    }
    (found,) = inconsistencies(tables)
    assert problem in found


def test_gp_and_ons_death_dates_that_disagree_are_named():
    tables = {
        patients._qm_node: [
            {
                "date_of_birth": datetime.date(2000, 1, 1),
                "sex": "male",
                "date_of_death": datetime.date(2020, 1, 1),
            }
        ],
        ons_deaths._qm_node: [
            {"date": datetime.date(2020, 2, 1), "underlying_cause_of_death": None}
        ],
    }
    assert inconsistencies(tables) == ["death dates disagree"]
    tables[ons_deaths._qm_node][0]["date"] = datetime.date(2020, 1, 1)
    assert inconsistencies(tables) == []


def test_an_event_the_population_forces_before_a_birth_it_leaves_free_moves_the_birth():
    ds = create_dataset()
    ds.define_population(
        clinical_events.where(clinical_events.date < "1940-01-01").exists_for_patient()
        & patients.exists_for_patient()
    )
    ds.age = patients.age_on("2020-01-01")
    dataset = ds._compile()
    data = generate_dummy_data(dataset, population_size=60, seed=1)
    assert len(run(data.tables, dataset)) == 60
    assert_consistent(data.tables)


def infant_with_an_event_before_a_date():
    # Age and the event window both bound the birth: neither the birth alone
    # nor the event alone can move, so both move to meet in between.
    ds = create_dataset()
    ds.define_population(
        practice_registrations.for_patient_on("2020-01-01").exists_for_patient()
        & (patients.age_on("2020-01-01") < 2)
        & clinical_events.where(
            clinical_events.date < "2019-01-01"
        ).exists_for_patient()
    )
    return ds._compile()


def test_an_infant_with_an_event_before_a_date_gets_a_birth_and_event_that_meet():
    dataset = infant_with_an_event_before_a_date()
    data = generate_dummy_data(dataset, population_size=100, seed=1)
    assert len(run(data.tables, dataset)) == 100
    assert_consistent(data.tables)


def test_an_infants_birth_and_event_meet_whatever_the_seed():
    # The birth can lie only in the 11 months between 2018 and 2019, between
    # the fixed distances it is first moved back by, and the event was often
    # drawn years earlier: about 1 patient in 100 needs a meeting point
    # spread between the two.
    dataset = infant_with_an_event_before_a_date()
    for seed in range(20):
        data = generate_dummy_data(dataset, population_size=60, seed=seed)
        assert len(run(data.tables, dataset)) == 60
        assert_consistent(data.tables)


def a_patient(born, registrations, events):
    return {
        patients._qm_node: [
            {"date_of_birth": born, "sex": "male", "date_of_death": None}
        ],
        practice_registrations._qm_node: [
            {"start_date": start, "end_date": end, "practice_pseudo_id": 1}
            for start, end in registrations
        ],
        clinical_events._qm_node: [
            {"date": d, "snomedct_code": None, "numeric_value": None} for d in events
        ],
    }


def test_realignments_move_the_birth_back_first_then_the_dates_forward():
    d = datetime.date
    # A registration starting before birth, as a forced row can.
    rows = a_patient(d(2018, 1, 1), [(d(1992, 9, 11), None)], [d(2020, 5, 1)])
    versions = list(realigned_versions(rows))
    assert versions and all(inconsistencies(v) == [] for v in versions)
    births = [v[patients._qm_node][0]["date_of_birth"] for v in versions]
    starts = [v[practice_registrations._qm_node][0]["start_date"] for v in versions]
    assert (births[0], starts[0]) == (d(1992, 9, 1), d(1992, 9, 11))
    assert (d(2018, 1, 1), d(2018, 1, 1)) in zip(births, starts)
    # The original rows are left as they were.
    assert rows[patients._qm_node][0]["date_of_birth"] == d(2018, 1, 1)


def test_realignments_stretch_a_registration_before_moving_gp_events():
    d = datetime.date
    rows = a_patient(
        d(1990, 1, 1), [(d(2023, 4, 1), d(2023, 6, 1))], [d(2020, 5, 8), d(2023, 5, 1)]
    )
    assert inconsistencies(rows) == ["GP events outside every practice registration"]
    first, *others = list(realigned_versions(rows))
    assert first[practice_registrations._qm_node] == [
        {
            "start_date": d(2020, 5, 8),
            "end_date": d(2023, 6, 1),
            "practice_pseudo_id": 1,
        }
    ]
    assert first[clinical_events._qm_node] == rows[clinical_events._qm_node]
    # Last resort: the event moves to the nearest registered day.
    moved = [
        v
        for v in others
        if len(v[practice_registrations._qm_node]) == 1
        and v[practice_registrations._qm_node][0]["start_date"] == d(2023, 4, 1)
    ]
    assert moved[0][clinical_events._qm_node][0]["date"] == d(2023, 4, 1)


def test_consistent_rows_need_no_realignment():
    d = datetime.date
    rows = a_patient(d(1990, 1, 1), [(d(2010, 1, 1), None)], [d(2020, 1, 1)])
    assert list(realigned_versions(rows)) == []


def test_a_registration_the_population_forces_after_a_death_it_leaves_open_moves_the_death():
    ds = create_dataset()
    ds.define_population(
        practice_registrations.where(
            practice_registrations.start_date.is_on_or_after("2022-01-01")
        ).exists_for_patient()
        & ons_deaths.date.is_not_null()
    )
    ds.died = ons_deaths.date
    dataset = ds._compile()
    data = generate_dummy_data(dataset, population_size=60, seed=1)
    assert len(run(data.tables, dataset)) == 60
    assert_consistent(data.tables)


def test_realignments_move_the_death_on_first_then_the_activity_back():
    d = datetime.date
    rows = a_patient(d(2019, 11, 1), [(d(2022, 11, 2), None)], [])
    rows[patients._qm_node][0]["date_of_death"] = d(2021, 6, 15)
    rows[ons_deaths._qm_node] = [
        {"date": d(2021, 6, 15), "underlying_cause_of_death": None}
    ]
    versions = list(realigned_versions(rows))
    assert versions and all(inconsistencies(v) == [] for v in versions)
    deaths = [
        (v[patients._qm_node][0]["date_of_death"], v[ons_deaths._qm_node][0]["date"])
        for v in versions
    ]
    starts = [v[practice_registrations._qm_node][0]["start_date"] for v in versions]
    # The death moves on to the registration, both records of it together...
    assert (deaths[0], starts[0]) == ((d(2022, 11, 2), d(2022, 11, 2)), d(2022, 11, 2))
    # ... or the registration moves back to the death.
    assert ((d(2021, 6, 15), d(2021, 6, 15)), d(2021, 6, 15)) in zip(deaths, starts)


def test_realigning_stops_when_the_population_forces_the_inconsistency(monkeypatch):
    from ehrql.dummy import generator

    offered = []

    def counted(rows):
        versions = list(realigned_versions(rows))
        offered.append(bool(versions))
        return iter(versions)

    monkeypatch.setattr(generator, "realigned_versions", counted)
    data = generate_dummy_data(event_after_death(), population_size=300, seed=2)
    assert data.report.complete
    # No version keeps an event after death: after a trial, none are offered.
    assert 0 < sum(offered) <= generator.REALIGNMENT_TRIAL
