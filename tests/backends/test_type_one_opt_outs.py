"""Patients with a type-1 opt-out never appear in any result from the TPP backend.

The exclusion is injected by the compiler into the population, which every
output (dataset rows, event tables, measures) is joined to. These tests run
random definitions over random raw data, and try the other ways a definition
might reach an opted-out patient.
"""

import datetime
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ehrql import INTERVAL, create_dataset, create_measures, table_from_rows
from ehrql.backends.base import PermissionNotGrantedError, UnknownTableError
from ehrql.backends.emis import EMISBackend
from ehrql.backends.tpp import TPPBackend
from ehrql.measures import get_measure_results
from ehrql.query_engines import ENGINE_CLASSES, get_engine_class
from ehrql.query_engines.duckdb import DuckDBQueryEngine
from ehrql.query_model import nodes as qm
from ehrql.tables import EventFrame, PatientFrame, Series, table
from ehrql.tables.core import clinical_events, patients, practice_registrations
from tests.lib.raw_databases import RawDatabase

d = datetime.date
dt = datetime.datetime
PATIENT_IDS = range(1, 9)
CODES = ["22298006", "195967001", "73211009"]
DATES = [d(2019, 6, 1), d(2020, 1, 1), d(2021, 3, 15)]


# -- random raw data -------------------------------------------------------

raw_patient = st.fixed_dictionaries(
    {
        "DateOfBirth": st.sampled_from([d(1950, 1, 1), d(1985, 6, 1), d(2010, 3, 1)]),
        "Sex": st.sampled_from(["F", "M", "U"]),
        "DateOfDeath": st.sampled_from([None, d(9999, 12, 31), d(2020, 6, 1)]),
    }
)
raw_event = st.fixed_dictionaries(
    {
        "ConceptId": st.sampled_from(CODES),
        "ConsultationDate": st.sampled_from([dt(2019, 1, 1), dt(2020, 5, 5, 10), dt(2022, 2, 2)]),
        "NumericValue": st.sampled_from([0.0, 1.5, 40.0]),
    }
)
raw_registration = st.fixed_dictionaries(
    {
        "Organisation_ID": st.sampled_from([1, 2]),
        "StartDate": st.sampled_from([dt(2000, 1, 1), dt(2020, 6, 1)]),
        "EndDate": st.sampled_from([dt(9999, 12, 31), dt(2021, 1, 1)]),
    }
)


@st.composite
def raw_data(draw):
    """Raw TPP rows for up to 8 patients, and which of them opted out."""
    ids = draw(st.sets(st.sampled_from(PATIENT_IDS), min_size=1))
    rows = {"Patient": [], "CodedEvent_SNOMED": [], "RegistrationHistory": []}
    event_id = 0
    for pid in sorted(ids):
        if draw(st.booleans()):
            rows["Patient"].append({"Patient_ID": pid, **draw(raw_patient)})
        for event in draw(st.lists(raw_event, max_size=3)):
            event_id += 1
            rows["CodedEvent_SNOMED"].append({"Patient_ID": pid, "CodedEvent_ID": event_id, **event})
        for index, registration in enumerate(draw(st.lists(raw_registration, max_size=2))):
            rows["RegistrationHistory"].append(
                {"Patient_ID": pid, "Registration_ID": pid * 10 + index, **registration}
            )
    opted_out = draw(st.sets(st.sampled_from(sorted(ids))))
    rows["PatientsWithTypeOneDissent"] = [{"Patient_ID": pid} for pid in sorted(opted_out)]
    return rows, opted_out


# -- random definitions ----------------------------------------------------

def _coded(codes):
    return clinical_events.where(clinical_events.snomedct_code.is_in(codes))


anchors = st.sampled_from(
    [
        lambda: patients.exists_for_patient(),
        lambda: clinical_events.exists_for_patient(),
        lambda: practice_registrations.exists_for_patient_on("2020-07-01"),
        lambda: _coded(CODES[:2]).exists_for_patient(),
    ]
)
conditions = st.sampled_from(
    [
        lambda: patients.sex == "female",
        lambda: patients.age_on("2020-01-01") >= 30,
        lambda: patients.is_alive_on("2020-12-31"),
        lambda: clinical_events.where(clinical_events.date.is_after("2020-01-01")).count_for_patient() >= 1,
        lambda: _coded(CODES[2:]).exists_for_patient(),
        lambda: clinical_events.numeric_value.maximum_for_patient() > 10,
    ]
)


@st.composite
def definitions(draw):
    """A dataset over the core tables: an anchored population and a few columns."""
    population = draw(anchors)()
    for _ in range(draw(st.integers(0, 2))):
        condition = draw(conditions)()
        if draw(st.booleans()):
            condition = ~condition
        population = population & condition if draw(st.booleans()) else population | (
            population & condition
        )
    dataset = create_dataset()
    dataset.define_population(population)
    dataset.sex = patients.sex
    dataset.events = clinical_events.count_for_patient()
    dataset.last_code = clinical_events.sort_by(clinical_events.date).last_for_patient().snomedct_code
    if draw(st.booleans()):
        dataset.add_event_table(
            "event_rows", date=clinical_events.date, code=clinical_events.snomedct_code
        )
    return dataset._compile()


# -- running ---------------------------------------------------------------

@pytest.fixture(scope="module")
def raw_directory():
    with tempfile.TemporaryDirectory() as directory:
        yield Path(directory)


def load(path: Path, rows: dict) -> None:
    if path.exists():
        path.unlink()
    database = RawDatabase.create(TPPBackend(), path)
    for table_name, table_rows in rows.items():
        if table_rows:
            database.insert(table_name, *table_rows)
    database.dispose()


def results(path: Path, dataset: qm.Dataset, include_opted_out=False):
    dsn = str(path) + ("?opensafely_include_t1oo=true" if include_opted_out else "")
    engine = DuckDBQueryEngine(dsn, backend=TPPBackend())
    rows = list(engine.get_results(dataset))
    events = engine.get_event_results(dataset) if dataset.events else {}
    return rows, events


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=raw_data(), dataset=definitions())
def test_opted_out_patients_never_appear(raw_directory, data, dataset):
    rows, opted_out = data
    path = raw_directory / "tpp.duckdb"
    load(path, rows)
    dataset_rows, event_rows = results(path, dataset)
    everyone_rows, everyone_events = results(path, dataset, include_opted_out=True)

    assert not {row[0] for row in dataset_rows} & opted_out
    for rows_of_table in event_rows.values():
        assert not {row[0] for row in rows_of_table} & opted_out
    # Leaving them out changes nothing else.
    assert dataset_rows == [row for row in everyone_rows if row[0] not in opted_out]
    for name, rows_of_table in everyone_events.items():
        assert event_rows[name] == [row for row in rows_of_table if row[0] not in opted_out]


# -- other paths to a patient ----------------------------------------------

@pytest.fixture
def opted_out_db(tpp_db):
    tpp_db.insert(
        "Patient",
        dict(Patient_ID=1, DateOfBirth=d(1980, 1, 1), Sex="F"),
        dict(Patient_ID=2, DateOfBirth=d(1980, 1, 1), Sex="F"),
    )
    tpp_db.insert(
        "CodedEvent_SNOMED",
        dict(Patient_ID=1, CodedEvent_ID=1, ConceptId=CODES[0], ConsultationDate=dt(2020, 1, 5), NumericValue=0),
        dict(Patient_ID=2, CodedEvent_ID=2, ConceptId=CODES[0], ConsultationDate=dt(2020, 1, 6), NumericValue=0),
    )
    tpp_db.insert("PatientsWithTypeOneDissent", dict(Patient_ID=2))
    tpp_db.dispose()
    return str(tpp_db.engine.url.database)


def test_inline_table_cannot_bring_an_opted_out_patient_back(opted_out_db):
    @table_from_rows([(1, "a"), (2, "b"), (3, "c")])
    class cohort(PatientFrame):
        label = Series(str)

    dataset = create_dataset()
    dataset.define_population(cohort.exists_for_patient())
    dataset.label = cohort.label
    rows = list(DuckDBQueryEngine(opted_out_db, backend=TPPBackend()).get_results(dataset._compile()))
    assert rows == [(1, "a"), (3, "c")]


def test_measures_leave_out_opted_out_patients(opted_out_db):
    measures = create_measures()
    measures.configure_disclosure_control(enabled=False)
    measures.define_measure(
        "coded",
        numerator=clinical_events.where(clinical_events.date.is_during(INTERVAL)).exists_for_patient(),
        denominator=patients.exists_for_patient(),
        group_by={},
        intervals=[(d(2020, 1, 1), d(2020, 1, 31))],
    )
    engine = DuckDBQueryEngine(opted_out_db, backend=TPPBackend())
    assert list(get_measure_results(engine, measures)) == [
        ("coded", d(2020, 1, 1), d(2020, 1, 31), 1.0, 1, 1)
    ]


@pytest.mark.parametrize("raw_name", ["PatientsWithTypeOneDissent", "Patient", "CodedEvent_SNOMED"])
def test_a_definition_cannot_name_a_raw_table(opted_out_db, raw_name):
    # A table class named after a raw table is still looked up as a public table.
    raw = type(raw_name, (EventFrame,), {"Patient_ID": Series(int)})
    frame = table(raw)
    dataset = create_dataset()
    dataset.define_population(frame.exists_for_patient())
    with pytest.raises(UnknownTableError):
        list(DuckDBQueryEngine(opted_out_db, backend=TPPBackend()).get_results(dataset._compile()))


def test_an_unknown_permission_is_refused(opted_out_db):
    with pytest.raises(PermissionNotGrantedError):
        DuckDBQueryEngine(opted_out_db + "?opensafely_include_everything=true", backend=TPPBackend())


def test_emis_has_no_opt_out_list():
    assert EMISBackend().patient_exclusions() is None


@pytest.mark.parametrize("engine_name", sorted(set(ENGINE_CLASSES) - {"in_memory"}))
def test_every_sql_engine_puts_the_exclusion_in_the_population(engine_name):
    dataset = create_dataset()
    dataset.define_population(patients.exists_for_patient())
    engine = get_engine_class(engine_name)(None, backend=TPPBackend())
    sql = "\n".join(engine.get_queries(dataset._compile()))
    assert "PatientsWithTypeOneDissent" in sql


SERVER_DSNS = {"mssql": "mssql://u:p@nowhere.invalid:1/db", "trino": "trino://u@nowhere.invalid:1/catalog/schema"}


@pytest.mark.parametrize("engine_name", sorted(SERVER_DSNS))
def test_server_engines_refuse_a_permission_the_backend_cannot_grant(engine_name):
    # No server is reachable: the refusal must come before any connection.
    engine_class = get_engine_class(engine_name)
    dsn = SERVER_DSNS[engine_name]
    with pytest.raises(PermissionNotGrantedError, match="everything"):
        engine_class(dsn + "?opensafely_include_everything=true", backend=TPPBackend())
    with pytest.raises(PermissionNotGrantedError, match="t1oo"):
        engine_class(dsn + "?opensafely_include_t1oo=true", backend=EMISBackend())


@pytest.mark.parametrize("engine_name", sorted(SERVER_DSNS))
def test_server_engines_grant_what_the_backend_grants(engine_name):
    engine = get_engine_class(engine_name)(
        SERVER_DSNS[engine_name] + "?opensafely_include_t1oo=true", backend=TPPBackend()
    )
    assert engine.permissions == {"t1oo"}
    assert "opensafely_include" not in engine.dsn
    dataset = create_dataset()
    dataset.define_population(patients.exists_for_patient())
    assert "PatientsWithTypeOneDissent" not in "\n".join(engine.get_queries(dataset._compile()))


def test_opted_out_patients_never_appear_in_written_event_tables(opted_out_db, tmp_path, capsys):
    from ehrql.__main__ import entrypoint

    definition = tmp_path / "definition.py"
    definition.write_text(
        "from ehrql import create_dataset\n"
        "from ehrql.tables.core import clinical_events, patients\n"
        "dataset = create_dataset()\n"
        "dataset.define_population(patients.exists_for_patient())\n"
        "dataset.add_event_table('coded', date=clinical_events.date, code=clinical_events.snomedct_code)\n"
    )
    output = tmp_path / "out"
    code = entrypoint(
        ["generate-dataset", str(definition), "--dsn", opted_out_db, "--backend", "tpp", "--output", f"{output}/:csv"]
    )
    assert code == 0, capsys.readouterr().err
    assert (output / "dataset.csv").read_text().splitlines() == ["patient_id", "1"]
    assert (output / "coded.csv").read_text().splitlines() == ["patient_id,date,code", f"1,2020-01-05,{CODES[0]}"]
