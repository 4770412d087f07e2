"""TPP's access rules: no result ever holds a patient or a row a rule keeps back.

The rules (type 1 opt-outs, national data opt-outs, GP activation) are
injected by the compiler: the population, which every output (dataset rows,
event tables, measures) is joined to, leaves out excluded patients, and each
GP-recorded table is read without the rows after the patient's GP activation
cut-off. These tests run random definitions over random raw data under every
combination of the permissions that lift the rules, check each result against
an oracle written here in Python, and try the other ways a definition might
reach an excluded patient.
"""

import datetime
import itertools

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ehrql import INTERVAL, create_dataset, create_measures, table_from_rows
from ehrql.backends.base import PermissionNotGrantedError, UnknownTableError
from ehrql.backends.emis import EMISBackend
from ehrql.backends.tpp import GP_RECORD_DATE_COLUMNS, TPPBackend
from ehrql.measures import get_measure_results
from ehrql.query_engines import ENGINE_CLASSES, get_engine_class
from ehrql.query_engines.duckdb import DuckDBQueryEngine
from ehrql.query_model import nodes as qm
from ehrql.tables import EventFrame, PatientFrame, Series, table, tpp
from ehrql.tables.core import clinical_events, patients, practice_registrations
from tests.lib.spec_backends import create_raw_tables, insert_raw_rows

d = datetime.date
dt = datetime.datetime
PATIENT_IDS = range(1, 9)
CODES = ["22298006", "195967001", "73211009"]
PRACTICES = (1, 2, 3)
T1OO, NDOO, GP = "include_t1oo", "include_ndoo", "include_gp_unactivated"
#: Every combination of the permissions lifting TPP's rules.
PERMISSION_SETS = [
    frozenset(combination)
    for size in range(4)
    for combination in itertools.combinations((T1OO, NDOO, GP), size)
]


# -- random raw data -------------------------------------------------------

raw_patient = st.fixed_dictionaries(
    {
        "DateOfBirth": st.sampled_from([d(1950, 1, 1), d(1985, 6, 1), d(2010, 3, 1)]),
        "Sex": st.sampled_from(["F", "M", "U"]),
        "DateOfDeath": st.sampled_from([None, d(9999, 12, 31), d(2020, 6, 1)]),
    }
)
# Event dates either side of, and on, the registration end dates below.
raw_event = st.fixed_dictionaries(
    {
        "ConceptId": st.sampled_from(CODES),
        "ConsultationDate": st.sampled_from(
            [
                dt(2019, 1, 1),
                dt(2019, 6, 1, 17),
                dt(2020, 5, 5, 10),
                dt(2022, 2, 2),
                dt(9999, 12, 31),
                None,
            ]
        ),
        "NumericValue": st.sampled_from([0.0, 1.5, 40.0]),
    }
)
raw_registration = st.fixed_dictionaries(
    {
        "Organisation_ID": st.sampled_from(PRACTICES),
        "StartDate": st.sampled_from([dt(2000, 1, 1), dt(2020, 6, 1)]),
        "EndDate": st.sampled_from(
            [dt(9999, 12, 31), dt(2021, 1, 1), dt(2019, 6, 1, 9), None]
        ),
    }
)
raw_appointment = st.fixed_dictionaries(
    {
        "BookedDate": st.sampled_from(
            [dt(2019, 1, 1), dt(2020, 5, 5, 10), dt(2022, 2, 2), None]
        ),
        "Status": st.sampled_from([1, 4]),
    }
)


@st.composite
def raw_data(draw):
    """Raw TPP rows for up to 8 patients, and the lists the rules read."""
    ids = draw(st.sets(st.sampled_from(PATIENT_IDS), min_size=1))
    rows = {
        "Patient": [],
        "CodedEvent_SNOMED": [],
        "RegistrationHistory": [],
        "Appointment": [],
    }
    event_id = 0
    for pid in sorted(ids):
        if draw(st.booleans()):
            rows["Patient"].append({"Patient_ID": pid, **draw(raw_patient)})
        for event in draw(st.lists(raw_event, max_size=3)):
            event_id += 1
            rows["CodedEvent_SNOMED"].append(
                {"Patient_ID": pid, "CodedEvent_ID": event_id, **event}
            )
        for index, registration in enumerate(
            draw(st.lists(raw_registration, max_size=3))
        ):
            rows["RegistrationHistory"].append(
                {"Patient_ID": pid, "Registration_ID": pid * 10 + index, **registration}
            )
        for index, appointment in enumerate(
            draw(st.lists(raw_appointment, max_size=2))
        ):
            rows["Appointment"].append(
                {"Patient_ID": pid, "Appointment_ID": pid * 10 + index, **appointment}
            )
    lists = {
        "opted_out": draw(st.sets(st.sampled_from(sorted(ids)))),
        "without_ndoo": draw(st.sets(st.sampled_from(sorted(ids)))),
        "acknowledged": draw(st.sets(st.sampled_from(PRACTICES))),
    }
    rows["PatientsWithTypeOneDissent"] = [
        {"Patient_ID": pid} for pid in sorted(lists["opted_out"])
    ]
    rows["PatientsWithoutNDOO"] = [
        {"Patient_ID": pid} for pid in sorted(lists["without_ndoo"])
    ]
    rows["DirectionsAcknowledged"] = [
        {"Organisation_ID": org} for org in sorted(lists["acknowledged"])
    ]
    return rows, lists


# -- the oracle ------------------------------------------------------------

FAR_FUTURE = dt(9999, 12, 31)


def excluded_patients(rows, lists, permissions) -> set:
    """The patients the rules not lifted by `permissions` exclude, worked out in Python."""
    everyone = set(PATIENT_IDS)
    excluded = set()
    if T1OO not in permissions:
        excluded |= lists["opted_out"]
    if NDOO not in permissions:
        excluded |= everyone - lists["without_ndoo"]
    if GP not in permissions:
        activated = {
            r["Patient_ID"]
            for r in rows["RegistrationHistory"]
            if r["Organisation_ID"] in lists["acknowledged"]
        }
        excluded |= everyone - activated
    return excluded


def cutoffs(rows, lists) -> dict:
    """Patient -> GP activation cut-off date, for patients who have one."""
    ends: dict = {}
    for r in rows["RegistrationHistory"]:
        kind = r["Organisation_ID"] in lists["acknowledged"]
        end = r["EndDate"] or FAR_FUTURE
        ends.setdefault(r["Patient_ID"], {}).setdefault(kind, []).append(end)
    result = {}
    for pid, by_kind in ends.items():
        if (
            True in by_kind
            and False in by_kind
            and max(by_kind[False]) > max(by_kind[True])
        ):
            result[pid] = max(by_kind[True]).date()
    return result


# -- random definitions ----------------------------------------------------


def _coded(codes):
    return clinical_events.where(clinical_events.snomedct_code.is_in(codes))


anchors = st.sampled_from(
    [
        lambda: patients.exists_for_patient(),
        lambda: clinical_events.exists_for_patient(),
        lambda: practice_registrations.exists_for_patient_on("2020-07-01"),
        lambda: _coded(CODES[:2]).exists_for_patient(),
        lambda: tpp.appointments.exists_for_patient(),
    ]
)
conditions = st.sampled_from(
    [
        lambda: patients.sex == "female",
        lambda: patients.age_on("2020-01-01") >= 30,
        lambda: patients.is_alive_on("2020-12-31"),
        lambda: (
            clinical_events.where(
                clinical_events.date.is_after("2020-01-01")
            ).count_for_patient()
            >= 1
        ),
        lambda: _coded(CODES[2:]).exists_for_patient(),
        lambda: clinical_events.numeric_value.maximum_for_patient() > 10,
        lambda: tpp.appointments.booked_date.maximum_for_patient() > "2020-01-01",
    ]
)


@st.composite
def definitions(draw):
    """A dataset over core and TPP tables: an anchored population, a few columns
    and an event table of clinical events."""
    population = draw(anchors)()
    for _ in range(draw(st.integers(0, 2))):
        condition = draw(conditions)()
        if draw(st.booleans()):
            condition = ~condition
        population = (
            population & condition
            if draw(st.booleans())
            else population | (population & condition)
        )
    dataset = create_dataset()
    dataset.define_population(population)
    dataset.sex = patients.sex
    dataset.events = clinical_events.count_for_patient()
    dataset.last_event = clinical_events.date.maximum_for_patient()
    dataset.last_booked = tpp.appointments.booked_date.maximum_for_patient()
    dataset.last_code = (
        clinical_events.sort_by(clinical_events.date).last_for_patient().snomedct_code
    )
    dataset.add_event_table(
        "event_rows", date=clinical_events.date, code=clinical_events.snomedct_code
    )
    if draw(st.booleans()):
        dataset.add_event_table("appointment_rows", booked=tpp.appointments.booked_date)
    return dataset._compile()


# -- running ---------------------------------------------------------------


@pytest.fixture(scope="module")
def raw_connection():
    """One in-memory database with TPP's raw tables, refilled for each example."""
    connection = duckdb.connect()
    create_raw_tables(connection, TPPBackend())
    yield connection
    connection.close()


def load(connection, rows: dict) -> None:
    for table_name in rows:
        connection.execute(f'DELETE FROM "{table_name}"')
    insert_raw_rows(connection, TPPBackend(), rows)


def results(database, dataset: qm.Dataset, permissions=frozenset()):
    engine = DuckDBQueryEngine(database, backend=TPPBackend())
    engine.grant(permissions)
    return list(engine.get_results(dataset)), engine.get_event_results(dataset)


# Each example runs under two of the eight permission sets (a run costs about
# 0.2s), so each rule is in force in about half the runs.
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    data=raw_data(),
    dataset=definitions(),
    permission_sets=st.lists(
        st.sampled_from(PERMISSION_SETS), min_size=2, max_size=2, unique=True
    ),
)
def test_no_result_holds_what_a_rule_keeps_back(
    raw_connection, data, dataset, permission_sets
):
    rows, lists = data
    path = raw_connection
    load(raw_connection, rows)
    cutoff = cutoffs(rows, lists)
    everyone_rows, everyone_events = results(path, dataset, {T1OO, NDOO, GP})
    for permissions in permission_sets:
        excluded = excluded_patients(rows, lists, permissions)
        dataset_rows, event_rows = results(path, dataset, permissions)

        assert not {row[0] for row in dataset_rows} & excluded, permissions
        for name, rows_of_table in event_rows.items():
            assert not {row[0] for row in rows_of_table} & excluded, (permissions, name)
        if GP in permissions:
            # The population rules only leave patients out; nothing else changes.
            assert dataset_rows == [
                row for row in everyone_rows if row[0] not in excluded
            ]
            for name, rows_of_table in everyone_events.items():
                assert event_rows[name] == [
                    row for row in rows_of_table if row[0] not in excluded
                ]
            continue
        # No GP row after a patient's cut-off, nor an undated one, is read.
        for patient_id, *_, last_event, last_booked, _code in dataset_rows:
            if patient_id in cutoff:
                assert last_event is None or last_event <= cutoff[patient_id]
                assert last_booked is None or last_booked <= cutoff[patient_id]
        for name, rows_of_table in event_rows.items():
            for patient_id, date, *_ in rows_of_table:
                if patient_id in cutoff:
                    assert date is not None and date <= cutoff[patient_id], (
                        name,
                        patient_id,
                        date,
                    )
        # Patients without a cut-off keep their whole record.
        kept = [r for r in dataset_rows if r[0] not in cutoff]
        assert kept == [
            r for r in everyone_rows if r[0] not in excluded and r[0] not in cutoff
        ]


# -- other paths to a patient ----------------------------------------------


@pytest.fixture
def opted_out_db(tpp_db):
    """Patients 1-5 with an event each, at activated practice 1 unless said:
    2 has a type 1 opt-out, 4 a national data opt-out (not in
    PatientsWithoutNDOO), and 5 is registered only at practice 9, which has not
    acknowledged the directions."""
    tpp_db.insert(
        "Patient",
        *(
            dict(Patient_ID=pid, DateOfBirth=d(1980, 1, 1), Sex="F")
            for pid in range(1, 6)
        ),
    )
    tpp_db.insert(
        "CodedEvent_SNOMED",
        *(
            dict(
                Patient_ID=pid,
                CodedEvent_ID=pid,
                ConceptId=CODES[0],
                ConsultationDate=dt(2020, 1, 5),
                NumericValue=0,
            )
            for pid in range(1, 6)
        ),
    )
    tpp_db.insert(
        "RegistrationHistory",
        *(
            dict(
                Patient_ID=pid,
                Organisation_ID=9 if pid == 5 else 1,
                StartDate=dt(2000, 1, 1),
                EndDate=dt(9999, 12, 31),
            )
            for pid in range(1, 6)
        ),
    )
    tpp_db.insert("DirectionsAcknowledged", dict(Organisation_ID=1))
    tpp_db.insert("PatientsWithTypeOneDissent", dict(Patient_ID=2))
    tpp_db.insert(
        "PatientsWithoutNDOO", *(dict(Patient_ID=pid) for pid in (1, 2, 3, 5))
    )
    tpp_db.dispose()
    return str(tpp_db.engine.url.database)


@pytest.mark.parametrize(
    "permissions,expected",
    [
        (set(), [1, 3]),
        ({T1OO}, [1, 2, 3]),
        ({NDOO}, [1, 3, 4]),
        ({GP}, [1, 3, 5]),
        ({T1OO, NDOO, GP}, [1, 2, 3, 4, 5, 6]),
    ],
)
def test_inline_table_cannot_bring_an_excluded_patient_back(
    opted_out_db, permissions, expected
):
    # Patient 6 exists only in the definition's own rows, so is in no list.
    @table_from_rows([(pid, str(pid)) for pid in range(1, 7)])
    class cohort(PatientFrame):
        label = Series(str)

    dataset = create_dataset()
    dataset.define_population(cohort.exists_for_patient())
    dataset.label = cohort.label
    engine = DuckDBQueryEngine(opted_out_db, backend=TPPBackend())
    engine.grant(permissions)
    assert list(engine.get_results(dataset._compile())) == [
        (pid, str(pid)) for pid in expected
    ]


def test_measures_leave_out_excluded_patients(opted_out_db):
    measures = create_measures()
    measures.configure_disclosure_control(enabled=False)
    measures.define_measure(
        "coded",
        numerator=clinical_events.where(
            clinical_events.date.is_during(INTERVAL)
        ).exists_for_patient(),
        denominator=patients.exists_for_patient(),
        group_by={},
        intervals=[(d(2020, 1, 1), d(2020, 1, 31))],
    )
    engine = DuckDBQueryEngine(opted_out_db, backend=TPPBackend())
    assert list(get_measure_results(engine, measures)) == [
        ("coded", d(2020, 1, 1), d(2020, 1, 31), 1.0, 2, 2)
    ]


def test_gp_records_stop_at_the_cut_off(tpp_db):
    # Patient 1 left activated practice 1 on 2020-03-01 for practice 9, which
    # has not acknowledged the directions: their GP record stops that day.
    # Patient 2 moved the other way, so has no cut-off.
    tpp_db.insert(
        "Patient",
        *(dict(Patient_ID=pid, DateOfBirth=d(1980, 1, 1), Sex="F") for pid in (1, 2)),
    )
    tpp_db.insert(
        "RegistrationHistory",
        dict(
            Patient_ID=1,
            Organisation_ID=1,
            StartDate=dt(2000, 1, 1),
            EndDate=dt(2020, 3, 1, 12),
        ),
        dict(
            Patient_ID=1,
            Organisation_ID=9,
            StartDate=dt(2020, 3, 1),
            EndDate=dt(9999, 12, 31),
        ),
        dict(
            Patient_ID=2,
            Organisation_ID=9,
            StartDate=dt(2000, 1, 1),
            EndDate=dt(2020, 3, 1),
        ),
        dict(Patient_ID=2, Organisation_ID=1, StartDate=dt(2020, 3, 1), EndDate=None),
    )
    tpp_db.insert("DirectionsAcknowledged", dict(Organisation_ID=1))
    tpp_db.insert("PatientsWithoutNDOO", dict(Patient_ID=1), dict(Patient_ID=2))
    dates = [dt(2020, 2, 1), dt(2020, 3, 1, 18), dt(2020, 3, 2), None]
    tpp_db.insert(
        "CodedEvent_SNOMED",
        *(
            dict(
                Patient_ID=pid,
                CodedEvent_ID=pid * 10 + i,
                ConceptId=CODES[0],
                ConsultationDate=date,
            )
            for pid in (1, 2)
            for i, date in enumerate(dates)
        ),
    )
    tpp_db.insert(
        "Appointment",
        *(
            dict(Patient_ID=pid, Appointment_ID=pid * 10 + i, BookedDate=date, Status=4)
            for pid in (1, 2)
            for i, date in enumerate(dates)
        ),
    )
    tpp_db.dispose()
    dataset = create_dataset()
    dataset.define_population(patients.exists_for_patient())
    dataset.events = clinical_events.count_for_patient()
    dataset.appointments = tpp.appointments.count_for_patient()
    dataset.registrations = practice_registrations.count_for_patient()
    path = str(tpp_db.engine.url.database)
    # Dated on or before 2020-03-01 only; registrations at practice 1 only.
    assert list(
        DuckDBQueryEngine(path, backend=TPPBackend()).get_results(dataset._compile())
    ) == [
        (1, 2, 2, 1),
        (2, 4, 4, 1),
    ]
    lifted = DuckDBQueryEngine(path, backend=TPPBackend())
    lifted.grant({GP})
    assert list(lifted.get_results(dataset._compile())) == [(1, 4, 4, 2), (2, 4, 4, 2)]


def test_every_gp_recorded_table_is_cut_off():
    backend = TPPBackend()
    for name, column in GP_RECORD_DATE_COLUMNS.items():
        schema = next(t for t in _tpp_tables() if t.name == name).schema
        restricted = str(backend.restricted_table(name, schema).compile())
        assert "DirectionsAcknowledged" in restricted and column in restricted, name
        assert "DirectionsAcknowledged" not in str(
            backend.restricted_table(name, schema, {GP}).compile()
        )


def _tpp_tables():
    from ehrql.query_language import BaseFrame

    for module in TPPBackend.implements:
        for attribute in module.__all__:
            frame = getattr(module, attribute)
            if isinstance(frame, BaseFrame):
                yield frame._qm_node


@pytest.mark.parametrize(
    "raw_name", ["PatientsWithTypeOneDissent", "Patient", "CodedEvent_SNOMED"]
)
def test_a_definition_cannot_name_a_raw_table(opted_out_db, raw_name):
    # A table class named after a raw table is still looked up as a public table.
    raw = type(raw_name, (EventFrame,), {"Patient_ID": Series(int)})
    frame = table(raw)
    dataset = create_dataset()
    dataset.define_population(frame.exists_for_patient())
    with pytest.raises(UnknownTableError):
        list(
            DuckDBQueryEngine(opted_out_db, backend=TPPBackend()).get_results(
                dataset._compile()
            )
        )


def test_an_unknown_permission_is_refused(opted_out_db):
    with pytest.raises(PermissionNotGrantedError):
        DuckDBQueryEngine(
            opted_out_db + "?opensafely_include_everything=true", backend=TPPBackend()
        )


def test_emis_has_no_opt_out_list():
    assert EMISBackend().patient_exclusions() is None


@pytest.mark.parametrize("engine_name", sorted(set(ENGINE_CLASSES) - {"in_memory"}))
def test_every_sql_engine_applies_every_rule(engine_name):
    dataset = create_dataset()
    dataset.define_population(patients.exists_for_patient())
    dataset.events = clinical_events.count_for_patient()
    engine = get_engine_class(engine_name)(None, backend=TPPBackend())
    sql = "\n".join(engine.get_queries(dataset._compile()))
    for raw_table in (
        "PatientsWithTypeOneDissent",
        "PatientsWithoutNDOO",
        "DirectionsAcknowledged",
    ):
        assert raw_table in sql
    assert "gp_record_cutoffs" in sql


SERVER_DSNS = {
    "mssql": "mssql://u:p@nowhere.invalid:1/db",
    "trino": "trino://u@nowhere.invalid:1/catalog/schema",
}


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
    assert engine.permissions == {"include_t1oo"}
    assert "opensafely_include" not in engine.dsn
    dataset = create_dataset()
    dataset.define_population(patients.exists_for_patient())
    sql = "\n".join(engine.get_queries(dataset._compile()))
    assert "PatientsWithTypeOneDissent" not in sql
    assert "PatientsWithoutNDOO" in sql


def test_excluded_patients_never_appear_in_written_event_tables(
    opted_out_db, tmp_path, capsys, monkeypatch
):
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
        [
            "generate-dataset",
            str(definition),
            "--dsn",
            opted_out_db,
            "--backend",
            "tpp",
            "--output",
            f"{output}/:csv",
        ]
    )
    assert code != 0, "an event table needs the event_level_data permission"
    capsys.readouterr()
    monkeypatch.setenv("EHRQL_PERMISSIONS", '["event_level_data"]')
    code = entrypoint(
        [
            "generate-dataset",
            str(definition),
            "--dsn",
            opted_out_db,
            "--backend",
            "tpp",
            "--output",
            f"{output}/:csv",
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert (output / "dataset.csv").read_text().splitlines() == ["patient_id", "1", "3"]
    assert (output / "coded.csv").read_text().splitlines() == [
        "patient_id,date,code",
        f"1,2020-01-05,{CODES[0]}",
        f"3,2020-01-05,{CODES[0]}",
    ]
