"""EMISv2 mappings run on raw EMIS rows in DuckDB."""

import datetime

import pytest

from ehrql.backends.emisv2 import EMISv2Backend
from ehrql.query_engines.in_memory import InMemoryDatabase, InMemoryQueryEngine
from ehrql.query_model import nodes as qm
from ehrql.tables import emisv2
from tests.lib.raw_databases import RawDatabase, public_schema

d = datetime.date


@pytest.fixture
def emisv2_db(tmp_path):
    database = RawDatabase.create(EMISv2Backend(), tmp_path / "emisv2.duckdb")
    yield database
    database.dispose()


def patient(registration_id, **columns):
    return dict(registration_id=registration_id, hashed_organisation="0a1f", gender=1,
                date_of_birth=d(1980, 1, 1), **columns)  # fmt: skip


def test_registrations_and_addresses_come_from_the_patient_table(emisv2_db):
    emisv2_db.insert(
        "patient_all_orgs_v2",
        patient("r1", registered_date=d(2010, 1, 1), imd_rank=1200),
        patient(
            "r2", registered_date=d(2011, 1, 1), registration_end_date=d(2021, 1, 1)
        ),
        patient("dup", registered_date=d(2000, 1, 1)),
        patient("dup", registered_date=d(2001, 1, 1)),
    )
    assert emisv2_db.table(*public_schema(emisv2.practice_registrations)) == [
        dict(patient_id="r1", start_date=d(2010, 1, 1), end_date=None),
        dict(patient_id="r2", start_date=d(2011, 1, 1), end_date=d(2021, 1, 1)),
    ]
    [r1, r2] = emisv2_db.table(*public_schema(emisv2.addresses))
    assert (r1["patient_id"], r1["start_date"], r1["imd_rounded_2019"]) == (
        "r1",
        d(2010, 1, 1),
        1200,
    )
    assert (r2["end_date"], r2["imd_rounded_2019"], r2["msoa_code_2011"]) == (
        d(2021, 1, 1),
        None,
        None,
    )


def test_core_tables_are_the_emisv2_ones():
    from ehrql.tables import core

    assert emisv2.patients is core.patients
    assert emisv2.clinical_events is core.clinical_events
    assert emisv2.medications is core.medications


def test_registration_on_a_date_includes_its_last_day():
    database = InMemoryDatabase(
        {
            "practice_registrations": [
                {
                    "patient_id": 1,
                    "start_date": d(2010, 1, 1),
                    "end_date": d(2020, 1, 1),
                },
                {
                    "patient_id": 2,
                    "start_date": d(2010, 1, 1),
                    "end_date": d(2019, 12, 31),
                },
                {"patient_id": 3, "start_date": d(2020, 1, 2), "end_date": None},
            ],
        }
    )
    registrations = emisv2.practice_registrations
    dataset = qm.Dataset(
        population=qm.AggregateByPatient.Exists(registrations._qm_node),
        variables=qm.FrozenDict(
            {
                "on": registrations.exists_for_patient_on("2020-01-01")._qm_node,
                "start": registrations.for_patient_on("2020-01-01").start_date._qm_node,
            }
        ),
    )
    results = InMemoryQueryEngine(database).get_results(dataset)
    assert list(results) == [
        (1, True, d(2010, 1, 1)),
        (2, False, None),
        (3, False, None),
    ]
