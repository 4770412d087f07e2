"""Hostile definitions: each tries to reach data, secrets or the machine, and
must fail or have no effect on the result.

The study is a directory holding the definition and, to make it harder, the
raw TPP database itself (patients 1, 2 and 3; patient 2 opted out). A secret
sits in the directory above, and in ehrql's environment. Runs that look at
ehrql's own process (its command line, environment, /proc entries) start
ehrql as a real process, as the platform does; the others call the CLI here.
"""

from __future__ import annotations

import csv
import datetime
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ehrql.__main__ import entrypoint
from ehrql.backends.tpp import TPPBackend
from ehrql.isolation import landlock, seccomp
from ehrql.isolation import run as isolation_run
from tests.lib.raw_databases import RawDatabase

REPO = Path(__file__).resolve().parents[2]
SECRET = "hunter2-not-for-user-code"

pytestmark = pytest.mark.skipif(
    landlock.abi_version() < 4 or not seccomp.available(),
    reason="needs Landlock ABI 4+ and libseccomp (the unsandboxed path is tested below)",
)

NORMAL_DATASET = """
from ehrql import create_dataset, case, when
from ehrql.tables.core import patients
dataset = create_dataset()
dataset.define_population(patients.exists_for_patient())
dataset.sex = patients.sex
"""


@pytest.fixture
def study(tmp_path, monkeypatch):
    directory = tmp_path / "study"
    directory.mkdir()
    database = RawDatabase.create(TPPBackend(), directory / "tpp.duckdb")
    database.insert(
        "Patient",
        *(
            dict(Patient_ID=i, DateOfBirth=datetime.datetime(1980, 1, 1), Sex="F")
            for i in (1, 2, 3)
        ),
    )
    # Every patient passes the other access rules (national data opt-outs, GP
    # activation), so patient 2 is left out by the type-1 opt-out alone.
    database.insert(
        "RegistrationHistory",
        *(
            dict(
                Patient_ID=i,
                Registration_ID=i,
                Organisation_ID=1,
                StartDate=datetime.datetime(2000, 1, 1),
                EndDate=datetime.datetime(9999, 12, 31),
            )
            for i in (1, 2, 3)
        ),
    )
    database.insert("DirectionsAcknowledged", dict(Organisation_ID=1))
    database.insert("PatientsWithoutNDOO", *(dict(Patient_ID=i) for i in (1, 2, 3)))
    database.insert("PatientsWithTypeOneDissent", dict(Patient_ID=2))
    database.dispose()
    (tmp_path / "secret.txt").write_text(SECRET)
    monkeypatch.chdir(directory)
    monkeypatch.setenv("EHRQL_TEST_SECRET", SECRET)
    return directory


def hostile(directory: Path, attack: str, name: str = "dataset_definition.py") -> Path:
    """A definition that runs `attack` (which sets `result`), prints what came of it, and defines a normal dataset."""
    body = (
        "import os, sys\n"
        "try:\n"
        + textwrap.indent(textwrap.dedent(attack).strip() + "\n", "    ")
        + "    print('ATTEMPT-SUCCEEDED', repr(result))\n"
        "except BaseException as error:\n"
        "    print('ATTEMPT-DENIED', type(error).__name__, error)\n" + NORMAL_DATASET
    )
    path = directory / name
    path.write_text(body)
    return path


def run_here(argv, capsys):
    code = entrypoint([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_process(argv, directory: Path, **env):
    """Run `python -m ehrql` as its own process, as the platform does, with a secret in its environment."""
    environment = dict(
        os.environ, PYTHONPATH=str(REPO), EHRQL_TEST_SECRET=SECRET, **env
    )
    result = subprocess.run(
        [sys.executable, "-m", "ehrql", *map(str, argv)],
        cwd=directory,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result.returncode, result.stdout, result.stderr


def patient_ids(path: Path) -> list[int]:
    with path.open() as f:
        return [int(row["patient_id"]) for row in csv.DictReader(f)]


def generate(study: Path, definition: Path, capsys, output_name="out.csv"):
    """Run the definition on the raw TPP database inside the study; the output goes outside the study."""
    output = study.parent / output_name
    code, out, err = run_here(
        [
            "generate-dataset",
            definition,
            "--dsn",
            study / "tpp.duckdb",
            "--backend",
            "tpp",
            "--output",
            output,
        ],
        capsys,
    )
    return code, out, err, output


def assert_denied_and_harmless(code, out, err, output):
    assert code == 0, err
    assert "ATTEMPT-DENIED" in out, out
    assert "ATTEMPT-SUCCEEDED" not in out
    assert SECRET not in out + err
    assert patient_ids(output) == [1, 3]


# -- ehrql itself ----------------------------------------------------------------------------


def test_monkeypatching_the_backend_has_no_effect(study, capsys):
    definition = study / "dataset_definition.py"
    definition.write_text(
        "import ehrql.backends.tpp\n"
        "ehrql.backends.tpp.TPPBackend.patient_exclusions = lambda self, *a, **k: None\n"
        + NORMAL_DATASET
    )
    code, _, err, output = generate(study, definition, capsys)
    assert code == 0, err
    assert patient_ids(output) == [1, 3]


def test_monkeypatching_any_part_of_ehrql_has_no_effect(study, capsys):
    definition = study / "dataset_definition.py"
    definition.write_text(
        "import ehrql.backends.base, ehrql.main, ehrql.query_engines.base_sql, ehrql.serializer\n"
        "import ehrql.isolation.definitions, ehrql.loaders\n"
        "ehrql.backends.base.Backend.inclusion_condition = lambda self, *a, **k: None\n"
        "ehrql.query_engines.base_sql.BaseSQLQueryEngine.patient_filter = lambda *a, **k: None\n"
        "ehrql.main.get_backend = lambda name: None\n"
        "ehrql.isolation.definitions.load_dataset_definition = None\n"
        "ehrql.serializer.deserialize_document = lambda text: None\n" + NORMAL_DATASET
    )
    code, _, err, output = generate(study, definition, capsys)
    assert code == 0, err
    assert patient_ids(output) == [1, 3]


# -- secrets in ehrql's process --------------------------------------------------------------


def test_the_environment_holds_nothing_of_ehrqls(study):
    definition = hostile(
        study, "result = dict(os.environ)\nassert 'EHRQL_TEST_SECRET' in result"
    )
    code, out, err = run_process(
        [
            "generate-dataset",
            definition,
            "--dsn",
            "tpp.duckdb",
            "--backend",
            "tpp",
            "--output",
            "../out.csv",
        ],
        study,
    )
    assert code == 0, err
    assert "ATTEMPT-DENIED AssertionError" in out
    assert SECRET not in out + err


def test_the_command_line_holds_none_of_ehrqls_options(study):
    definition = hostile(
        study,
        "result = sys.argv\nassert not any('dsn' in a or 'tpp' in a or 'backend' in a for a in sys.argv[1:]), sys.argv",
    )
    code, out, err = run_process(
        [
            "generate-dataset",
            definition,
            "--dsn",
            "tpp.duckdb",
            "--backend",
            "tpp",
            "--output",
            "../out.csv",
        ],
        study,
    )
    assert code == 0, err
    assert (
        "ATTEMPT-SUCCEEDED ['" in out
    )  # the definition sees only its own path (and user arguments)
    assert "--dsn" not in out


@pytest.mark.parametrize(
    "path",
    [
        "/proc/self/cmdline",
        "/proc/self/environ",
        "/proc/{ppid}/cmdline",
        "/proc/{ppid}/environ",
    ],
)
def test_proc_entries_are_unreadable(study, path):
    definition = hostile(
        study, f"result = open({path!r}.format(ppid=os.getppid()), 'rb').read()"
    )
    code, out, err = run_process(
        [
            "generate-dataset",
            definition,
            "--dsn",
            "tpp.duckdb",
            "--backend",
            "tpp",
            "--output",
            "../out.csv",
        ],
        study,
    )
    assert code == 0, err
    assert "ATTEMPT-DENIED PermissionError" in out
    assert SECRET not in out + err
    assert "tpp.duckdb" not in out


# -- the data -------------------------------------------------------------------------------


def test_the_database_file_cannot_be_opened_with_duckdb(study, capsys):
    definition = hostile(
        study,
        """
        import duckdb
        connection = duckdb.connect("tpp.duckdb", read_only=True)
        result = connection.execute("SELECT * FROM PatientsWithTypeOneDissent").fetchall()
        """,
    )
    assert_denied_and_harmless(*generate(study, definition, capsys))


def test_the_database_file_cannot_be_read_as_bytes(study, capsys):
    definition = hostile(study, "result = open('tpp.duckdb', 'rb').read(16)")
    assert_denied_and_harmless(*generate(study, definition, capsys))


def test_a_data_file_outside_the_study_is_refused_clearly(study, capsys):
    (study.parent / "cohort.csv").write_text("patient_id,label\n2,x\n")
    definition = study / "dataset_definition.py"
    definition.write_text(
        NORMAL_DATASET
        + "from ehrql.tables import table_from_file, PatientFrame, Series\n"
        "@table_from_file('../cohort.csv')\n"
        "class cohort(PatientFrame):\n"
        "    label = Series(str)\n"
    )
    code, _, err, output = generate(study, definition, capsys)
    assert code == 10
    assert "dataset_definition.py, line 8:" in err
    assert "outside the study directory" in err
    assert not output.exists()


# -- the machine ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/etc/hostname", "../secret.txt", "/etc/passwd"])
def test_files_outside_the_study_are_unreadable(study, capsys, path):
    definition = hostile(study, f"result = open({path!r}).read()")
    assert_denied_and_harmless(*generate(study, definition, capsys))


@pytest.mark.parametrize("where", ["study", "parent", "tmp"])
def test_nothing_can_be_written_outside_the_private_temporary_directory(
    study, capsys, where
):
    target = {
        "study": study / "evil.txt",
        "parent": study.parent / "evil.txt",
        "tmp": Path("/tmp/ehrql-evil.txt"),
    }[where]
    target.unlink(missing_ok=True)
    definition = hostile(study, f"result = open({str(target)!r}, 'w').write('pwned')")
    assert_denied_and_harmless(*generate(study, definition, capsys))
    assert not target.exists()


def test_the_private_temporary_directory_is_writable_and_removed(study, capsys):
    definition = hostile(
        study,
        """
        import tempfile
        with open(os.path.join(tempfile.gettempdir(), "scratch"), "w") as f:
            f.write("fine")
        raise PermissionError(tempfile.gettempdir())
        """,
    )
    code, out, err, output = generate(study, definition, capsys)
    assert_denied_and_harmless(code, out, err, output)
    scratch = out.split("ATTEMPT-DENIED PermissionError ")[1].split()[0]
    assert "ehrql-definition-" in scratch
    assert not Path(scratch).exists()


def test_no_network(study, capsys):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.settimeout(0.5)
        port = server.getsockname()[1]
        definition = hostile(
            study,
            f"""
            import socket
            result = socket.create_connection(("127.0.0.1", {port}), timeout=2)
            """,
        )
        assert_denied_and_harmless(*generate(study, definition, capsys))
        with pytest.raises(TimeoutError):
            server.accept()


@pytest.mark.parametrize(
    "attack",
    [
        "import subprocess\nresult = subprocess.run(['/bin/sh', '-c', 'echo pwned > {marker}'])",
        "result = os.system('echo pwned > {marker}')\nassert result == 0",
        "result = os.execv('/bin/sh', ['/bin/sh', '-c', 'echo pwned > {marker}'])",
        "result = os.fork()",
        "import multiprocessing\nresult = multiprocessing.Process(target=print).start()",
    ],
    ids=["subprocess", "system", "exec", "fork", "multiprocessing"],
)
def test_no_new_processes(study, capsys, attack, tmp_path):
    marker = study / "pwned"
    definition = hostile(study, attack.format(marker=marker))
    assert_denied_and_harmless(*generate(study, definition, capsys))
    assert not marker.exists()


def test_ehrqls_process_cannot_be_signalled(study, capsys):
    definition = hostile(
        study, "import signal\nresult = os.kill(os.getppid(), signal.SIGSTOP)"
    )
    assert_denied_and_harmless(*generate(study, definition, capsys))


def test_a_definition_that_never_finishes_is_stopped(study, capsys, monkeypatch):
    monkeypatch.setenv(isolation_run.TIMEOUT_VARIABLE, "2")
    definition = study / "dataset_definition.py"
    definition.write_text(
        "import time\nwhile True:\n    time.sleep(60)\n" + NORMAL_DATASET
    )
    code, _, err, output = generate(study, definition, capsys)
    assert code == 10
    assert "did not finish loading within 2 seconds" in err
    assert not output.exists()


def test_a_definition_that_exits_is_an_error(study, capsys):
    definition = study / "dataset_definition.py"
    definition.write_text("import os\nos._exit(0)\n")
    code, _, err, output = generate(study, definition, capsys)
    assert code == 10
    assert "ended (exit status 0) without sending back a dataset" in err


def test_the_platforms_environment_never_reaches_the_definition(study):
    """On the platform the database and permissions come as DATABASE_URL,
    OPENSAFELY_BACKEND and EHRQL_PERMISSIONS: none of them reach user code."""
    definition = hostile(
        study,
        "names = ('DATABASE_URL', 'OPENSAFELY_BACKEND', 'EHRQL_PERMISSIONS')\n"
        "result = {k: v for k, v in os.environ.items() if k in names}\n"
        "assert result, 'nothing to see'",
    )
    code, out, err = run_process(
        ["generate-dataset", definition, "--output", "../out.csv"],
        study,
        DATABASE_URL=str(study / "tpp.duckdb"),
        OPENSAFELY_BACKEND="tpp",
        EHRQL_PERMISSIONS="[]",
    )
    assert code == 0, err
    assert "ATTEMPT-DENIED AssertionError nothing to see" in out
    assert patient_ids(study.parent / "out.csv") == [1, 3]
