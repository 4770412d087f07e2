"""Backend tables as the FROM sources of the SQL compiler, run on DuckDB.

The compiler is handed `backend.resolve_table` in place of its default of
reading tables by their public names, which is how an engine uses a backend.
"""

import datetime

import duckdb

from ehrql.backends.emis import EMISBackend
from ehrql.backends.tpp import TPPBackend
from ehrql.query_engines.base_sql import compile_dataset
from ehrql.query_engines.duckdb import DuckDBQueryEngine
from ehrql.query_language import create_dataset
from ehrql.tables import core, emis, tpp

d = datetime.date
dt = datetime.datetime


def run(path, backend, dataset):
    # The mappings, not the access rules (every rule lifted), are under test here.
    compiled = compile_dataset(
        dataset._compile(),
        DuckDBQueryEngine.dialect,
        lambda t: backend.resolve_table(t, backend.permissions),
    )
    connection = duckdb.connect(str(path))
    try:
        for statement in compiled.setup:
            connection.execute(statement)
        rows = connection.execute(compiled.select).fetchall()
        for statement in compiled.cleanup:
            connection.execute(statement)
    finally:
        connection.close()
    return rows


def test_dataset_over_tpp_raw_tables(tpp_db, tmp_path):
    tpp_db.insert(
        "Patient",
        dict(
            Patient_ID=1,
            DateOfBirth=d(1980, 1, 1),
            Sex="F",
            DateOfDeath=d(9999, 12, 31),
        ),
        dict(
            Patient_ID=2, DateOfBirth=d(1990, 1, 1), Sex="M", DateOfDeath=d(2021, 5, 1)
        ),
        dict(Patient_ID=3, DateOfBirth=d(2000, 1, 1), Sex="F"),
    )
    tpp_db.insert(
        "RegistrationHistory",
        dict(
            Patient_ID=1,
            Organisation_ID=7,
            StartDate=dt(2000, 1, 1),
            EndDate=dt(9999, 12, 31),
        ),
        dict(
            Patient_ID=2,
            Organisation_ID=8,
            StartDate=dt(2000, 1, 1),
            EndDate=dt(2019, 1, 1),
        ),
    )
    tpp_db.insert(
        "CodedEvent",
        dict(
            Patient_ID=1,
            CodedEvent_ID=1,
            CTV3Code="XaIJm",
            ConsultationDate=dt(2020, 1, 1, 5),
            NumericValue=0,
        ),
        dict(
            Patient_ID=1,
            CodedEvent_ID=2,
            CTV3Code="XaIJm",
            ConsultationDate=dt(2021, 3, 4, 6),
            NumericValue=0,
        ),
    )
    tpp_db.insert(
        "CodedEvent_SNOMED",
        dict(
            Patient_ID=2,
            CodedEvent_ID=3,
            ConceptId="22298006",
            ConsultationDate=dt(2019, 2, 3),
            NumericValue=0,
        ),
    )
    tpp_db.dispose()

    registered = core.practice_registrations.for_patient_on("2020-01-01")
    dataset = create_dataset()
    dataset.define_population(tpp.patients.exists_for_patient())
    dataset.sex = tpp.patients.sex
    dataset.died = tpp.patients.date_of_death
    dataset.practice = registered.practice_pseudo_id
    dataset.latest_event = (
        tpp.clinical_events.sort_by(tpp.clinical_events.date).last_for_patient().date
    )
    dataset.snomed_events = core.clinical_events.where(
        core.clinical_events.snomedct_code.is_not_null()
    ).count_for_patient()

    assert run(tpp_db.engine.url.database, TPPBackend(), dataset) == [
        (1, "female", None, 7, d(2021, 3, 4), 0),
        (2, "male", d(2021, 5, 1), None, d(2019, 2, 3), 1),
        (3, "female", None, None, None, 0),
    ]


def test_dataset_over_emis_raw_tables(emis_db):
    emis_db.insert(
        "patient_all_orgs_v2",
        dict(registration_id="a1", gender=2, date_of_birth=d(1980, 1, 1), hashed_organisation="0f",
             registered_date=d(2000, 1, 1)),
        dict(registration_id="b2", gender=1, date_of_birth=d(1990, 1, 1), hashed_organisation="10",
             registered_date=d(2015, 1, 1)),
    )  # fmt: skip
    emis_db.insert(
        "observation_all_orgs_v2",
        dict(
            registration_id="a1",
            snomed_concept_id=22298006,
            effective_date=dt(2021, 1, 2, 3),
            value_pq_1=1.5,
        ),
    )
    emis_db.dispose()

    dataset = create_dataset()
    dataset.define_population(
        emis.patients.has_practice_registration_spanning("2010-01-01", "2020-01-01")
    )
    dataset.sex = emis.patients.sex
    dataset.practice = core.practice_registrations.for_patient_on(
        "2010-01-01"
    ).practice_pseudo_id
    dataset.value = (
        core.clinical_events.sort_by(core.clinical_events.date)
        .last_for_patient()
        .numeric_value
    )

    assert run(emis_db.engine.url.database, EMISBackend(), dataset) == [
        ("a1", "female", 15, 1.5)
    ]


# -- the backend's patient id type ------------------------------------------


def _population_create_statement(engine):
    dataset = create_dataset()
    dataset.define_population(core.patients.exists_for_patient())
    [statement] = [
        s
        for s in engine.get_queries(dataset._compile())
        if s.startswith("CREATE TABLE") and "population" in s
    ]
    return statement


def test_emis_intermediate_tables_key_patients_by_text_on_trino():
    from ehrql.query_engines.trino import TrinoQueryEngine

    statement = _population_create_statement(
        TrinoQueryEngine(None, backend=EMISBackend(), table_prefix="t_")
    )
    assert "CAST(source.patient_id AS VARCHAR) AS patient_id" in statement
    assert "BIGINT" not in statement


def test_tpp_intermediate_tables_key_patients_by_bigint_on_mssql():
    from ehrql.query_engines.mssql import MSSQLQueryEngine

    statement = _population_create_statement(
        MSSQLQueryEngine(None, backend=TPPBackend())
    )
    assert statement.startswith("CREATE TABLE #population_1 (patient_id BIGINT)")


def test_inline_table_ids_become_text_for_a_backend_keyed_by_text(emis_db):
    from ehrql import table_from_rows
    from ehrql.tables import PatientFrame, Series

    emis_db.insert(
        "patient_all_orgs_v2",
        dict(
            registration_id="7",
            gender=2,
            date_of_birth=d(1980, 1, 1),
            hashed_organisation="0f",
        ),
        dict(
            registration_id="10",
            gender=1,
            date_of_birth=d(1990, 1, 1),
            hashed_organisation="0f",
        ),
    )
    emis_db.dispose()

    @table_from_rows([(7, "seven"), (10, "ten"), (11, "eleven")])
    class cohort(PatientFrame):
        label = Series(str)

    dataset = create_dataset()
    dataset.define_population(emis.patients.exists_for_patient())
    dataset.label = cohort.label
    engine = DuckDBQueryEngine(str(emis_db.engine.url.database), backend=EMISBackend())
    statements = "\n".join(engine.get_queries(dataset._compile()))
    assert "patient_id VARCHAR" in statements
    # Text ids sort as text: "10" before "7".
    assert list(engine.get_results(dataset._compile())) == [
        ("10", "ten"),
        ("7", "seven"),
    ]
