"""The helper methods of the public tables, run on the in-memory engine.

Each test builds a dataset from a helper, runs it over a few hand-made rows
and checks the value each patient gets.
"""

import datetime

import pytest

from ehrql.codes import ICD10Code
from ehrql.query_engines.in_memory import InMemoryDatabase, InMemoryQueryEngine
from ehrql.query_language import years
from ehrql.query_model import nodes as qm
from ehrql.tables import core, emis, tpp

d = datetime.date.fromisoformat


def run(tables, **variables):
    """Each patient's value of each variable, over `tables` ({frame: [partial rows]}).

    Rows name only the columns they need; the rest are null. The population is
    every patient with a row in any of the tables.
    """
    population = None
    database_tables = {}
    for frame, rows in tables.items():
        node = frame._qm_node
        exists = qm.AggregateByPatient.Exists(node)
        population = (
            exists if population is None else qm.Function.Or(population, exists)
        )
        blank = dict.fromkeys(node.schema.column_names)
        database_tables.setdefault(node.name, []).extend(
            {**blank, **row} for row in rows
        )
    dataset = qm.Dataset(
        population=population,
        variables=qm.FrozenDict(
            {name: series._qm_node for name, series in variables.items()}
        ),
    )
    results = InMemoryQueryEngine(InMemoryDatabase(database_tables)).get_results(
        dataset
    )
    if len(variables) == 1:
        return {row[0]: row[1] for row in results}
    return {row[0]: row[1:] for row in results}


def patient(patient_id, born, died=None, sex="female"):
    return dict(
        patient_id=patient_id,
        date_of_birth=d(born),
        sex=sex,
        date_of_death=died and d(died),
    )


# ---------------------------------------------------------------------------
# core.patients
# ---------------------------------------------------------------------------


def test_age_on_counts_whole_years_as_birthdays_do():
    rows = {
        core.patients: [
            patient(1, "1980-06-01"),
            patient(2, "2020-02-01"),
            patient(3, "2000-01-01"),
        ]
    }
    assert run(rows, v=core.patients.age_on("2020-01-01")) == {1: 39, 2: -1, 3: 20}
    assert run(rows, v=core.patients.age_on("2020-06-01")) == {1: 40, 2: 0, 3: 20}


def test_age_on_accepts_a_date_series():
    rows = {core.patients: [patient(1, "1950-03-01", died="2021-02-28")]}
    assert run(rows, v=core.patients.age_on(core.patients.date_of_death)) == {1: 70}


def test_is_alive_on_and_is_dead_on_around_the_date_of_death():
    rows = {
        core.patients: [
            patient(1, "1950-01-01"),
            patient(2, "1950-01-01", died="2020-01-01"),
            patient(3, "1950-01-01", died="2019-12-31"),
            patient(4, "1950-01-01", died="2020-01-02"),
        ]
    }
    results = run(
        rows,
        alive=core.patients.is_alive_on("2020-01-01"),
        dead=core.patients.is_dead_on("2020-01-01"),
    )
    # On the day of death itself a patient is neither alive nor dead: the
    # public definitions compare strictly in both directions.
    assert results == {
        1: (True, False),
        2: (False, False),
        3: (False, True),
        4: (True, False),
    }


# ---------------------------------------------------------------------------
# core.practice_registrations
# ---------------------------------------------------------------------------


def registration(patient_id, start, end, practice):
    return dict(
        patient_id=patient_id,
        start_date=d(start),
        end_date=end and d(end),
        practice_pseudo_id=practice,
    )


REGISTRATIONS = [
    # 1: an old registration, and a later one still open on the date.
    registration(1, "2001-01-01", "2010-01-01", 10),
    registration(1, "2010-01-01", None, 11),
    # 2: two in force on the date; the later start wins.
    registration(2, "2005-01-01", None, 20),
    registration(2, "2015-06-01", "2025-01-01", 21),
    # 3: same start; the closed one ending later sorts after the open one.
    registration(3, "2012-01-01", None, 30),
    registration(3, "2012-01-01", "2022-01-01", 31),
    # 4: same start and end; the higher practice id wins.
    registration(4, "2012-01-01", "2022-01-01", 41),
    registration(4, "2012-01-01", "2022-01-01", 40),
    # 5: ends on the date itself, which still counts as registered.
    registration(5, "2012-01-01", "2020-01-01", 50),
    # 6: starts the day after.
    registration(6, "2020-01-02", None, 60),
    # 7: ended the day before.
    registration(7, "2012-01-01", "2019-12-31", 70),
]


def test_for_patient_on_picks_one_registration_in_force():
    registrations = core.practice_registrations
    results = run(
        {registrations: REGISTRATIONS},
        v=registrations.for_patient_on("2020-01-01").practice_pseudo_id,
    )
    assert results == {1: 11, 2: 21, 3: 31, 4: 41, 5: 50, 6: None, 7: None}


def test_exists_for_patient_on():
    registrations = core.practice_registrations
    results = run(
        {registrations: REGISTRATIONS},
        v=registrations.exists_for_patient_on("2020-01-01"),
    )
    # spanning() includes both ends, as public ehrQL does now, so it agrees
    # with for_patient_on(): patient 5's registration ends on the date.
    assert results == {1: True, 2: True, 3: True, 4: True, 5: True, 6: False, 7: False}


def test_spanning_and_for_patient_on_agree_on_a_registration_ending_on_the_date():
    registrations = core.practice_registrations
    results = run(
        {registrations: REGISTRATIONS},
        spanning=registrations.spanning(
            "2020-01-01", "2020-01-01"
        ).exists_for_patient(),
        on=registrations.for_patient_on("2020-01-01").exists_for_patient(),
    )
    assert all(spanning == on for spanning, on in results.values())


def test_spanning_includes_a_registration_ending_on_the_end_date():
    registrations = core.practice_registrations
    spanning = registrations.spanning("2019-06-01", "2020-01-01")
    results = run({registrations: REGISTRATIONS}, v=spanning.exists_for_patient())
    assert results[5] is True and results[7] is False


def test_spanning_needs_the_whole_period():
    registrations = core.practice_registrations
    spanning = registrations.spanning("2015-01-01", "2021-12-31")
    results = run({registrations: REGISTRATIONS}, v=spanning.count_for_patient())
    assert results == {1: 1, 2: 1, 3: 2, 4: 2, 5: 0, 6: 0, 7: 0}


def test_helpers_work_on_derived_frames():
    registrations = core.practice_registrations
    even_practices = registrations.where(
        registrations.practice_pseudo_id.is_in([20, 30, 40, 50, 60, 70, 10])
    )
    results = run(
        {registrations: REGISTRATIONS},
        v=even_practices.for_patient_on("2020-01-01").practice_pseudo_id,
    )
    assert results == {1: None, 2: 20, 3: 30, 4: 40, 5: 50, 6: None, 7: None}


def test_for_patient_on_accepts_a_date_per_patient():
    # Each patient's 20th birthday, from another table.
    registrations = core.practice_registrations
    rows = {
        core.patients: [patient(1, "1990-01-01"), patient(2, "1995-01-01")],
        registrations: [
            registration(1, "2000-01-01", "2012-01-01", 10),
            registration(1, "2012-01-01", None, 11),
            registration(2, "2000-01-01", "2012-01-01", 20),
            registration(2, "2012-01-01", None, 21),
        ],
    }
    twentieth = core.patients.date_of_birth + years(20)
    assert run(rows, v=registrations.for_patient_on(twentieth).practice_pseudo_id) == {
        1: 10,
        2: 21,
    }


# ---------------------------------------------------------------------------
# core.ons_deaths
# ---------------------------------------------------------------------------


def test_cause_of_death_is_in_looks_at_every_cause_column():
    def death(patient_id, **causes):
        return {
            "patient_id": patient_id,
            "date": d("2021-03-04"),
            **{name: ICD10Code(code) for name, code in causes.items()},
        }

    rows = {
        core.ons_deaths: [
            death(1, underlying_cause_of_death="I219"),
            death(2, underlying_cause_of_death="C349", cause_of_death_07="I219"),
            death(3, underlying_cause_of_death="C349", cause_of_death_15="J189"),
            death(
                4,
                **{f"cause_of_death_{i:02d}": "K700" for i in range(1, 16)},
                underlying_cause_of_death="K703",
            ),
        ]
    }
    # Patient 3's empty columns make the answer unknown rather than False.
    assert run(rows, v=core.ons_deaths.cause_of_death_is_in(["I219", "J189"])) == {
        1: True,
        2: True,
        3: True,
        4: False,
    }
    assert run(rows, v=core.ons_deaths.cause_of_death_is_in(["I219"])) == {
        1: True,
        2: True,
        3: None,
        4: False,
    }


# ---------------------------------------------------------------------------
# tpp.addresses
# ---------------------------------------------------------------------------


def address(patient_id, address_id, start, end, has_postcode, imd=None):
    return dict(
        patient_id=patient_id,
        address_id=address_id,
        start_date=d(start),
        end_date=end and d(end),
        has_postcode=has_postcode,
        imd_rounded=imd,
    )


def test_address_for_patient_on_prefers_a_postcode_then_the_latest_start():
    rows = {
        tpp.addresses: [
            address(1, 100, "2010-01-01", None, True),
            address(1, 101, "2018-01-01", None, False),
            address(2, 200, "2010-01-01", None, True),
            address(2, 201, "2018-01-01", None, True),
            address(3, 300, "2010-01-01", "2019-12-31", True),
            address(3, 301, "2018-01-01", "2021-01-01", None),
            address(4, 401, "2015-01-01", None, True),
            address(4, 400, "2015-01-01", None, True),
        ]
    }
    address_id = tpp.addresses.for_patient_on("2020-01-01").address_id
    assert run(rows, v=address_id) == {1: 100, 2: 201, 3: 301, 4: 401}


@pytest.mark.parametrize(
    "imd,quintile,decile",
    [
        (0, "1 (most deprived)", "1 (most deprived)"),
        (3200, "1 (most deprived)", "1 (most deprived)"),
        (3300, "1 (most deprived)", "2"),
        (6500, "1 (most deprived)", "2"),
        (6600, "2", "3"),
        (16400, "3", "5"),
        (16500, "3", "6"),
        (26200, "4", "8"),
        (26300, "5 (least deprived)", "9"),
        (32800, "5 (least deprived)", "10 (least deprived)"),
        (None, "unknown", "unknown"),
    ],
)
def test_imd_quintile_and_decile(imd, quintile, decile):
    rows = {tpp.addresses: [address(1, 1, "2000-01-01", None, True, imd)]}
    current = tpp.addresses.for_patient_on("2020-01-01")
    assert run(rows, q=current.imd_quintile, d=current.imd_decile) == {
        1: (quintile, decile)
    }


def test_imd_band_bounds_follow_the_published_cut_offs():
    assert tpp.imd_band_upper_bounds(5) == (6568, 13137, 19706, 26275, 32844)
    assert tpp.imd_band_upper_bounds(10)[:3] == (3284, 6568, 9853)
    with pytest.raises(ValueError, match="at least 1"):
        tpp.imd_band_upper_bounds(0)


# ---------------------------------------------------------------------------
# tpp.practice_registrations and tpp.decision_support_values
# ---------------------------------------------------------------------------


def test_spanning_with_systmone_needs_the_practice_on_systmone_from_the_start():
    def reg(patient_id, go_live):
        return dict(
            patient_id=patient_id,
            start_date=d("2000-01-01"),
            end_date=None,
            practice_pseudo_id=patient_id,
            practice_systmone_go_live_date=go_live and d(go_live),
        )

    rows = {
        tpp.practice_registrations: [
            reg(1, "2010-01-01"),
            reg(2, "2019-01-01"),
            reg(3, "2019-01-02"),
            reg(4, None),
        ]
    }
    spanning = tpp.practice_registrations.spanning_with_systmone(
        "2019-01-01", "2020-01-01"
    )
    assert run(rows, v=spanning.exists_for_patient()) == {
        1: True,
        2: True,
        3: False,
        4: False,
    }


def test_tpp_practice_registrations_keep_the_core_helpers():
    rows = {tpp.practice_registrations: [registration(1, "2001-01-01", None, 7)]}
    current = tpp.practice_registrations.for_patient_on("2020-01-01")
    assert run(rows, v=current.practice_pseudo_id) == {1: 7}


def test_electronic_frailty_index_keeps_only_efi_version_1():
    def value(patient_id, when, number, description, version):
        return dict(
            patient_id=patient_id,
            calculation_date=d(when),
            numeric_value=number,
            algorithm_description=description,
            algorithm_version=version,
        )

    efi = "UK Electronic Frailty Index (eFI)"
    rows = {
        tpp.decision_support_values: [
            value(1, "2019-01-01", 0.12, efi, "1.0"),
            value(1, "2019-06-01", 0.25, efi, "1.0"),
            value(1, "2019-09-01", 0.9, efi, "2.0"),
            value(2, "2019-06-01", 0.5, "Another score", "1.0"),
        ]
    }
    frailty = tpp.decision_support_values.electronic_frailty_index()
    assert run(
        rows,
        n=frailty.count_for_patient(),
        top=frailty.numeric_value.maximum_for_patient(),
    ) == {
        1: (2, 0.25),
        2: (0, None),
    }


# ---------------------------------------------------------------------------
# emis.patients
# ---------------------------------------------------------------------------


def test_emis_patients_registration_spanning_and_age():
    def emis_patient(patient_id, start, end):
        return dict(
            patient_id=patient_id,
            date_of_birth=d("1990-09-01"),
            sex="male",
            registration_start_date=d(start),
            registration_end_date=end and d(end),
            practice_pseudo_id="A",
        )

    rows = {
        emis.patients: [
            emis_patient(1, "2010-01-01", None),
            emis_patient(2, "2010-01-01", "2020-12-31"),
            emis_patient(3, "2010-01-01", "2021-01-01"),
            emis_patient(4, "2020-01-02", None),
        ]
    }
    results = run(
        rows,
        spans=emis.patients.has_practice_registration_spanning(
            "2020-01-01", "2020-12-31"
        ),
        age=emis.patients.age_on("2020-09-01"),
    )
    assert results == {1: (True, 30), 2: (False, 30), 3: (True, 30), 4: (False, 30)}
