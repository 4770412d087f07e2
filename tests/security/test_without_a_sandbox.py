"""Where the OS offers no sandbox: the child still runs scrubbed; database
runs are refused unless EHRQL_ISOLATE_USER_CODE=never; dummy-data runs go
ahead with a one-line warning."""

import pytest

from ehrql.isolation import run as isolation_run
from tests.lib.cli import command, run

DEFINITION = """
import os
print("ENVIRONMENT", sorted(os.environ))
from ehrql import create_dataset
from ehrql.tables.core import patients
dataset = create_dataset()
dataset.define_population(patients.exists_for_patient())
dataset.sex = patients.sex
"""


@pytest.fixture
def study(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(isolation_run, "sandbox_requested", lambda: False)
    monkeypatch.setenv("EHRQL_TEST_SECRET", "s3cret")
    (tmp_path / "dataset_definition.py").write_text(DEFINITION)
    tables = tmp_path / "tables"
    tables.mkdir()
    (tables / "patients.csv").write_text(
        "patient_id,date_of_birth,sex,date_of_death\n1,1980-01-01,female,\n"
    )
    return tmp_path


def test_a_database_run_is_refused(study, capsys):
    code, out, err = run(
        command("generate-dataset", "dataset_definition.py", dsn="tables"), capsys
    )
    assert code == 1
    assert "cannot sandbox the definition" in err
    assert "EHRQL_ISOLATE_USER_CODE=never" in err
    assert "sex" not in out


def test_a_database_run_goes_ahead_when_isolation_is_turned_off(
    study, capsys, monkeypatch
):
    monkeypatch.setenv("EHRQL_ISOLATE_USER_CODE", "never")
    code, out, err = run(
        command("generate-dataset", "dataset_definition.py", dsn="tables"), capsys
    )
    assert code == 0, err
    assert "female" in out
    # Still a scrubbed child process.
    assert "ENVIRONMENT ['HOME', 'LANG', 'LC_ALL', 'TMPDIR']" in out
    assert "s3cret" not in out + err


def test_a_dummy_data_run_goes_ahead_with_a_one_line_warning(study, capsys):
    code, out, err = run(
        command("generate-dataset", "dataset_definition.py", dummy_tables="tables"),
        capsys,
    )
    assert code == 0, err
    assert "female" in out
    warnings = [
        line for line in err.splitlines() if "without a complete OS sandbox" in line
    ]
    assert len(warnings) == 1


def test_always_refuses_even_dummy_data(study, capsys, monkeypatch):
    monkeypatch.setenv("EHRQL_ISOLATE_USER_CODE", "always")
    code, _, err = run(
        command("generate-dataset", "dataset_definition.py", dummy_tables="tables"),
        capsys,
    )
    assert code == 1
    assert "EHRQL_ISOLATE_USER_CODE=always" in err


def test_an_unknown_isolation_setting_is_refused(study, capsys, monkeypatch):
    monkeypatch.setenv("EHRQL_ISOLATE_USER_CODE", "sometimes")
    code, _, err = run(
        command("generate-dataset", "dataset_definition.py", dummy_tables="tables"),
        capsys,
    )
    assert code == 1
    assert (
        "EHRQL_ISOLATE_USER_CODE='sometimes' is not one of: auto, always, never" in err
    )


def test_isolation_report_says_what_is_not_blocked(study, capsys):
    code, out, _ = run(["isolation-report"], capsys)
    assert code == 1
    assert "files NOT confined" in out
    assert "FAIL read /etc/hostname" in out
    assert "User code is NOT fully isolated" in out


def test_an_error_in_a_helper_module_points_at_its_line_through_the_isolated_process(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "analysis").mkdir()
    (tmp_path / "analysis" / "helpers.py").write_text(
        "def age_band(x):\n    return x.nonexistent\n"
    )
    (tmp_path / "analysis" / "dataset_definition.py").write_text(
        "from ehrql import create_dataset\n"
        "from ehrql.tables.core import patients\n"
        "from helpers import age_band\n"
        "dataset = create_dataset()\n"
        "dataset.band = age_band(patients.sex)\n"
    )
    code, _, err = run(["dump-dataset-sql", "analysis/dataset_definition.py"], capsys)
    assert code == 10
    assert "Error in analysis/helpers.py, line 2:" in err
    assert "(called from analysis/dataset_definition.py line 5)" in err
    assert "    return x.nonexistent" in err
