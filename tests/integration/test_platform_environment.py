"""The platform's environment contract, end to end through the command line.

On the OpenSAFELY platform ehrql is run with DATABASE_URL, OPENSAFELY_BACKEND,
OPENSAFELY_QUERY_ENGINE and EHRQL_PERMISSIONS rather than options. These
tests set them to a raw TPP database in a DuckDB file and check which patients
come out under each combination of the permissions lifting TPP's rules, and
how restricted tables and event-level data are refused or allowed.
"""

import csv
import datetime
import itertools
import textwrap

import pytest

from ehrql.__main__ import entrypoint
from ehrql.backends.tpp import TPPBackend
from tests.lib.raw_databases import RawDatabase

d = datetime.date
dt = datetime.datetime

#: Patients 1-6 of the raw database, and the rule each falls foul of.
RULES = {
    "include_t1oo": 2,  # a type 1 opt-out
    "include_ndoo": 4,  # a national data opt-out
    "include_gp_unactivated": 5,  # registered only at a practice that has not acknowledged the directions
}
#: Patient 6 has a national data opt-out and a type 1 opt-out: both must be lifted.
BOTH_OPT_OUTS = 6


@pytest.fixture(scope="module")
def raw_tpp(tmp_path_factory):
    path = tmp_path_factory.mktemp("raw") / "tpp.duckdb"
    database = RawDatabase.create(TPPBackend(), path)
    patients = range(1, 7)
    database.insert(
        "Patient",
        *(dict(Patient_ID=p, DateOfBirth=d(1980, 1, 1), Sex="F") for p in patients),
    )
    database.insert(
        "RegistrationHistory",
        *(
            dict(
                Patient_ID=p,
                Registration_ID=p,
                Organisation_ID=9 if p == 5 else 1,
                StartDate=dt(2000, 1, 1),
                EndDate=dt(9999, 12, 31),
            )
            for p in patients
        ),
    )
    database.insert("DirectionsAcknowledged", dict(Organisation_ID=1))
    database.insert(
        "PatientsWithTypeOneDissent", dict(Patient_ID=2), dict(Patient_ID=BOTH_OPT_OUTS)
    )
    database.insert("PatientsWithoutNDOO", *(dict(Patient_ID=p) for p in (1, 2, 3, 5)))
    database.insert(
        "Appointment",
        dict(
            Patient_ID=1,
            Appointment_ID=1,
            BookedDate=dt(2020, 1, 1),
            StartDate=dt(2020, 1, 2),
            Status=4,
        ),
    )
    database.dispose()
    return path


def write(directory, name, body):
    path = directory / name
    path.write_text(textwrap.dedent(body))
    return path


DEFINITION = """
    from ehrql import create_dataset
    from ehrql.tables.tpp import patients
    dataset = create_dataset()
    dataset.define_population(patients.exists_for_patient())
    dataset.sex = patients.sex
"""

APPOINTMENTS = """
    from ehrql import claim_permissions, create_dataset
    from ehrql.tables.tpp import appointments, patients
    claim_permissions("appointments")
    dataset = create_dataset()
    dataset.define_population(patients.exists_for_patient())
    dataset.appointments = appointments.count_for_patient()
"""

EVENT_TABLE = """
    from ehrql import create_dataset
    from ehrql.tables.tpp import appointments, patients
    dataset = create_dataset()
    dataset.define_population(patients.exists_for_patient())
    dataset.add_event_table("booked", date=appointments.booked_date)
"""


def run(monkeypatch, capsys, argv, **environment):
    for name in (
        "DATABASE_URL",
        "OPENSAFELY_BACKEND",
        "OPENSAFELY_QUERY_ENGINE",
        "EHRQL_PERMISSIONS",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    code = entrypoint([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def patient_ids(path):
    with path.open() as f:
        return [int(row["patient_id"]) for row in csv.DictReader(f)]


def platform(raw_tpp, permissions=None):
    environment = {
        "DATABASE_URL": str(raw_tpp),
        "OPENSAFELY_BACKEND": "tpp",
        "OPENSAFELY_QUERY_ENGINE": "duckdb",
    }
    if permissions is not None:
        environment["EHRQL_PERMISSIONS"] = permissions
    return environment


COMBINATIONS = [
    frozenset(c) for n in range(4) for c in itertools.combinations(sorted(RULES), n)
]


@pytest.mark.parametrize(
    "permissions", COMBINATIONS, ids=lambda p: "+".join(sorted(p)) or "none"
)
def test_the_right_patients_come_out_under_each_combination_of_permissions(
    raw_tpp, tmp_path, monkeypatch, capsys, permissions
):
    definition = write(tmp_path, "dataset_definition.py", DEFINITION)
    output = tmp_path / "dataset.csv"
    held = "[" + ", ".join(f'"{p}"' for p in sorted(permissions)) + "]"
    code, _, err = run(
        monkeypatch,
        capsys,
        ["generate-dataset", definition, "--output", output],
        **platform(raw_tpp, held),
    )
    assert code == 0, err
    expected = {1, 3} | {
        patient for rule, patient in RULES.items() if rule in permissions
    }
    if {"include_t1oo", "include_ndoo"} <= permissions:
        expected.add(BOTH_OPT_OUTS)
    assert patient_ids(output) == sorted(expected)


def test_options_win_over_the_environment(raw_tpp, tmp_path, monkeypatch, capsys):
    definition = write(tmp_path, "dataset_definition.py", DEFINITION)
    output = tmp_path / "dataset.csv"
    environment = {
        "DATABASE_URL": str(tmp_path / "missing.duckdb"),
        "OPENSAFELY_BACKEND": "emis",
        "OPENSAFELY_QUERY_ENGINE": "spark",
    }
    argv = [
        "generate-dataset",
        definition,
        "--dsn",
        raw_tpp,
        "--backend",
        "tpp",
        "--query-engine",
        "duckdb",
        "--output",
        output,
    ]
    code, _, err = run(monkeypatch, capsys, argv, **environment)
    assert code == 0, err
    assert patient_ids(output) == [1, 3]


def test_the_dsn_still_grants_include_t1oo(raw_tpp, tmp_path, monkeypatch, capsys):
    definition = write(tmp_path, "dataset_definition.py", DEFINITION)
    output = tmp_path / "dataset.csv"
    environment = {
        **platform(raw_tpp),
        "DATABASE_URL": f"{raw_tpp}?opensafely_include_t1oo=true",
    }
    code, _, err = run(
        monkeypatch,
        capsys,
        ["generate-dataset", definition, "--output", output],
        **environment,
    )
    assert code == 0, err
    assert patient_ids(output) == [1, 2, 3]


@pytest.mark.parametrize("backend", ["expectations", "test"])
def test_expectations_and_test_backends_mean_no_backend(
    tmp_path, monkeypatch, capsys, backend
):
    # No DATABASE_URL: dummy data, generated for the public tables.
    definition = write(tmp_path, "dataset_definition.py", DEFINITION)
    output = tmp_path / "dataset.csv"
    code, _, err = run(
        monkeypatch,
        capsys,
        ["generate-dataset", definition, "--output", output],
        OPENSAFELY_BACKEND=backend,
    )
    assert code == 0, err
    assert len(patient_ids(output)) == 10


@pytest.mark.parametrize(
    "variable,value,message",
    [
        ("EHRQL_PERMISSIONS", "[include_t1oo", "EHRQL_PERMISSIONS is not valid JSON"),
        (
            "EHRQL_PERMISSIONS",
            '"appointments"',
            "must be a JSON list of permission names",
        ),
        (
            "EHRQL_PERMISSIONS",
            '["include_everyone"]',
            "unknown permission(s) include_everyone",
        ),
        (
            "OPENSAFELY_BACKEND",
            "nowhere",
            "OPENSAFELY_BACKEND: unknown backend 'nowhere'",
        ),
        (
            "OPENSAFELY_QUERY_ENGINE",
            "abacus",
            "OPENSAFELY_QUERY_ENGINE: unknown query engine 'abacus'",
        ),
    ],
)
def test_bad_environment_values_are_clear_errors(
    tmp_path, monkeypatch, capsys, variable, value, message
):
    definition = write(tmp_path, "dataset_definition.py", DEFINITION)
    code, _, err = run(
        monkeypatch, capsys, ["generate-dataset", definition], **{variable: value}
    )
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_a_restricted_table_needs_the_jobs_permission_not_a_claim(
    raw_tpp, tmp_path, monkeypatch, capsys
):
    # The definition claims `appointments`; against a database only the job's permissions count.
    definition = write(tmp_path, "dataset_definition.py", APPOINTMENTS)
    output = tmp_path / "dataset.csv"
    code, _, err = run(
        monkeypatch,
        capsys,
        ["generate-dataset", definition, "--output", output],
        **platform(raw_tpp),
    )
    assert code == 1
    assert "  * appointments: needed for reading `tpp.appointments`" in err
    assert not output.exists()

    held = '["appointments", "include_ndoo", "include_gp_unactivated"]'
    code, _, err = run(
        monkeypatch,
        capsys,
        ["generate-dataset", definition, "--output", output],
        **platform(raw_tpp, held),
    )
    assert code == 0, err
    with output.open() as f:
        assert [(r["patient_id"], r["appointments"]) for r in csv.DictReader(f)] == [
            ("1", "1"), ("3", "0"), ("4", "0"), ("5", "0")
        ]  # fmt: skip


def test_missing_permissions_stop_the_run_before_any_query(
    tmp_path, monkeypatch, capsys
):
    # The database does not exist: had a query been tried, that would be the error.
    definition = write(tmp_path, "dataset_definition.py", EVENT_TABLE)
    environment = {
        "DATABASE_URL": str(tmp_path / "missing.duckdb"),
        "OPENSAFELY_BACKEND": "tpp",
    }
    code, _, err = run(
        monkeypatch, capsys, ["generate-dataset", definition], **environment
    )
    assert code == 1
    assert "  * appointments: needed for reading `tpp.appointments`" in err
    assert (
        "  * event_level_data: needed for writing event-level rows with `dataset.add_event_table()`"
        in err
    )
    assert "does not exist" not in err


def test_on_dummy_data_a_warning_shows_the_claim_to_add(tmp_path, monkeypatch, capsys):
    # A warning, as in public ehrQL: studies written before claim_permissions still run locally.
    definition = write(
        tmp_path,
        "dataset_definition.py",
        'from ehrql import claim_permissions\nclaim_permissions("ukrr")\n'
        + textwrap.dedent(EVENT_TABLE),
    )
    code, _, err = run(monkeypatch, capsys, ["generate-dataset", definition])
    assert code == 0, err
    assert (
        err.count(
            "warning: the definition uses tables or features that need permissions"
        )
        == 1
    )
    assert '    claim_permissions("ukrr", "appointments", "event_level_data")\n' in err

    claimed = write(
        tmp_path,
        "claimed.py",
        'from ehrql import claim_permissions\nclaim_permissions("appointments", "event_level_data")\n'
        + textwrap.dedent(EVENT_TABLE),
    )
    code, _, err = run(monkeypatch, capsys, ["generate-dataset", claimed])
    assert code == 0, err
    assert "need permissions" not in err


MEASURES = """
    from ehrql import INTERVAL, claim_permissions, create_measures, years
    from ehrql.tables.tpp import appointments, patients
    {claim}
    measures = create_measures()
    measures.configure_disclosure_control(enabled=False)
    measures.define_measure(
        "booked",
        numerator=appointments.where(appointments.booked_date.is_during(INTERVAL)).exists_for_patient(),
        denominator=patients.exists_for_patient(),
        group_by={{}},
        intervals=years(1).starting_on("2020-01-01"),
    )
"""


def test_measures_follow_the_same_rules(raw_tpp, tmp_path, monkeypatch, capsys):
    unclaimed = write(tmp_path, "unclaimed.py", MEASURES.format(claim=""))
    code, _, err = run(monkeypatch, capsys, ["generate-measures", unclaimed])
    assert code == 0, err
    assert "warning: " in err and 'claim_permissions("appointments")' in err

    claimed = write(
        tmp_path,
        "claimed.py",
        MEASURES.format(claim='claim_permissions("appointments")'),
    )
    code, _, err = run(monkeypatch, capsys, ["generate-measures", claimed])
    assert code == 0, err

    output = tmp_path / "measures.csv"
    code, _, err = run(
        monkeypatch,
        capsys,
        ["generate-measures", claimed, "--output", output],
        **platform(raw_tpp),
    )
    assert code == 1
    assert "  * appointments: needed for reading `tpp.appointments`" in err

    code, _, err = run(
        monkeypatch,
        capsys,
        ["generate-measures", claimed, "--output", output],
        **platform(raw_tpp, '["appointments"]'),
    )
    assert code == 0, err
    with output.open() as f:
        rows = list(csv.DictReader(f))
    # Patients 1 and 3 pass every rule; only 1 has an appointment.
    assert [(r["numerator"], r["denominator"]) for r in rows] == [("1", "2")]


def test_test_connection_reads_database_url(raw_tpp, monkeypatch, capsys):
    code, _, err = run(
        monkeypatch, capsys, ["test-connection"], DATABASE_URL=str(raw_tpp)
    )
    assert code == 0, err
    assert "Connection OK" in err
    code, _, err = run(monkeypatch, capsys, ["test-connection"])
    assert code == 2
    assert "give --url, or set DATABASE_URL" in err


def test_dump_dataset_sql_is_the_sql_of_the_jobs_permissions(
    tmp_path, monkeypatch, capsys
):
    definition = write(tmp_path, "dataset_definition.py", DEFINITION)
    code, restricted, err = run(
        monkeypatch, capsys, ["dump-dataset-sql", definition], OPENSAFELY_BACKEND="tpp"
    )
    assert code == 0, err
    assert (
        "PatientsWithoutNDOO" in restricted
        and "PatientsWithTypeOneDissent" in restricted
    )
    code, lifted, err = run(
        monkeypatch,
        capsys,
        ["dump-dataset-sql", definition],
        OPENSAFELY_BACKEND="tpp",
        EHRQL_PERMISSIONS='["include_ndoo"]',
    )
    assert code == 0, err
    assert (
        "PatientsWithoutNDOO" not in lifted and "PatientsWithTypeOneDissent" in lifted
    )
