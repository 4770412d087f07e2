"""EMIS mappings run on raw rows in DuckDB."""

import datetime

from ehrql.tables import core, emis
from ehrql.tables.raw import core as raw_core
from tests.lib.raw_databases import public_schema

d = datetime.date
dt = datetime.datetime


def table(db, frame):
    return db.table(*public_schema(frame))


def patient(registration_id, **columns):
    return dict(registration_id=registration_id, hashed_organisation="0a1f", **columns)


def test_patients_leave_out_registration_ids_shared_by_two_rows(emis_db):
    emis_db.insert(
        "patient_all_orgs_v2",
        patient("r1", gender=1, date_of_birth=d(1980, 1, 1), registered_date=d(2010, 1, 1),
                rural_urban=3, imd_rank=1200),
        patient("r2", gender=2, date_of_birth=d(1990, 1, 1), date_of_death=d(2021, 1, 1),
                registered_date=d(2011, 1, 1), registration_end_date=d(2021, 1, 1)),
        patient("r3", gender=9, date_of_birth=d(2000, 1, 1), registered_date=d(2012, 1, 1)),
        patient("dup", gender=1, date_of_birth=d(1970, 1, 1), registered_date=d(2000, 1, 1)),
        patient("dup", gender=2, date_of_birth=d(1971, 1, 1), registered_date=d(2001, 1, 1)),
    )  # fmt: skip
    assert table(emis_db, emis.patients) == [
        dict(patient_id="r1", date_of_birth=d(1980, 1, 1), sex="male", date_of_death=None,
             registration_start_date=d(2010, 1, 1), registration_end_date=None, practice_pseudo_id="0a1f",
             rural_urban_classification=3, imd_rounded=1200),
        dict(patient_id="r2", date_of_birth=d(1990, 1, 1), sex="female", date_of_death=d(2021, 1, 1),
             registration_start_date=d(2011, 1, 1), registration_end_date=d(2021, 1, 1),
             practice_pseudo_id="0a1f", rural_urban_classification=None, imd_rounded=None),
        dict(patient_id="r3", date_of_birth=d(2000, 1, 1), sex="unknown", date_of_death=None,
             registration_start_date=d(2012, 1, 1), registration_end_date=None, practice_pseudo_id="0a1f",
             rural_urban_classification=None, imd_rounded=None),
    ]  # fmt: skip
    assert [row["sex"] for row in table(emis_db, core.patients)] == [
        "male",
        "female",
        "unknown",
    ]


def test_practice_registrations_read_the_practice_digest_as_a_number(emis_db):
    emis_db.insert(
        "patient_all_orgs_v2",
        patient(
            "r1", registered_date=d(2010, 1, 1), registration_end_date=d(2020, 1, 1)
        ),
    )
    assert table(emis_db, emis.practice_registrations) == [
        dict(
            patient_id="r1",
            start_date=d(2010, 1, 1),
            end_date=d(2020, 1, 1),
            practice_pseudo_id=0x0A1F,
        )
    ]


def test_clinical_events_medications_and_vaccinations(emis_db):
    record = dict(
        registration_id="r1",
        hashed_organisation="0a1f",
        effective_date=dt(2020, 2, 3, 14, 5),
    )
    emis_db.insert(
        "observation_all_orgs_v2",
        dict(record, snomed_concept_id=271649006, value_pq_1=123456.78),
    )
    emis_db.insert(
        "medication_all_orgs_v2", dict(record, snomed_concept_id=39113611000001102)
    )
    emis_db.insert(
        "immunisation_all_orgs_v2", dict(record, snomed_concept_id=1324681000000101)
    )
    assert table(emis_db, emis.clinical_events) == [
        dict(
            patient_id="r1",
            date=d(2020, 2, 3),
            snomedct_code="271649006",
            numeric_value=123456.78,
        )
    ]
    assert table(emis_db, emis.medications) == [
        dict(patient_id="r1", date=d(2020, 2, 3), dmd_code="39113611000001102")
    ]
    assert table(emis_db, emis.vaccinations) == [
        dict(patient_id="r1", date=d(2020, 2, 3), procedure_code="1324681000000101")
    ]


def test_ons_deaths_latest_upload_linked_by_nhs_number_earliest_death(emis_db):
    emis_db.insert(
        "patient_all_orgs_v2",
        patient("r1", nhs_no="n1"),
        patient("r2", nhs_no="n2"),
        patient("r3", nhs_no="n3"),
    )
    emis_db.insert(
        "ons_view",
        # An older upload, superseded in full by the latest one.
        dict(pseudonhsnumber="n3", reg_stat_dod="20200101", icd10u="X01", upload_date="20230101"),
        dict(pseudonhsnumber="n1", reg_stat_dod="20210315", icd10u="I21", icd10001="I21",
             icd10015="E11", upload_date="20240101"),
        dict(pseudonhsnumber="n2", reg_stat_dod="20221201", icd10u="J18", upload_date="20240101"),
        dict(pseudonhsnumber="n2", reg_stat_dod="20221130", icd10u="U071", upload_date="20240101"),
        dict(pseudonhsnumber="unknown", reg_stat_dod="20221130", icd10u="C34", upload_date="20240101"),
    )  # fmt: skip
    rows = table(emis_db, emis.ons_deaths)
    assert [
        (r["patient_id"], r["date"], r["underlying_cause_of_death"]) for r in rows
    ] == [
        ("r1", d(2021, 3, 15), "I21"),
        ("r2", d(2022, 11, 30), "U071"),
    ]
    assert (rows[0]["cause_of_death_01"], rows[0]["cause_of_death_02"], rows[0]["cause_of_death_15"]) == (
        "I21", None, "E11",
    )  # fmt: skip


def test_emis_excludes_no_patients(emis_db):
    assert emis_db.backend.patient_exclusions() is None


def test_raw_core_tables(emis_db):
    emis_db.insert("patient_all_orgs_v2", patient("r1", nhs_no="n1"))
    emis_db.insert(
        "ons_view",
        dict(
            pseudonhsnumber="n1",
            reg_stat_dod="20210315",
            icd10u="I21",
            upload_date="20240101",
        ),
        dict(
            pseudonhsnumber="n1",
            reg_stat_dod="20210101",
            icd10u="J18",
            upload_date="20240101",
        ),
    )
    emis_db.insert(
        "medication_all_orgs_v2",
        dict(
            registration_id="r1",
            snomed_concept_id=123,
            effective_date=dt(2020, 1, 1, 9),
        ),
    )
    assert [r["date"] for r in table(emis_db, raw_core.ons_deaths)] == [
        d(2021, 1, 1),
        d(2021, 3, 15),
    ]
    assert table(emis_db, raw_core.medications) == [
        dict(patient_id="r1", date=d(2020, 1, 1), dmd_code="123")
    ]
