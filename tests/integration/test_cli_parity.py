"""Options public ehrQL's command line has, which studies and tools call us with."""

import json
import shutil

import pytest

from tests.integration.test_cli_measures_and_debugging import MEASURES, write
from tests.lib.cli import (
    EXAMPLE_DATA,
    command,
    run,
    write_definition,
)

# -- create-dummy-tables --------------------------------------------------------


def test_create_dummy_tables_without_a_directory_prints_them(small, tmp_path, capsys):
    definition, _ = small
    code, out, err = run(["create-dummy-tables", definition], capsys)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "# clinical_events"
    assert "# patients" in lines
    assert lines[lines.index("# patients") + 1].split(" | ")[0].strip() == "patient_id"
    assert sorted(tmp_path.iterdir()) == sorted([definition, tmp_path / "tables"])


def test_create_dummy_tables_for_a_measures_definition(tmp_path, capsys):
    definition = write(tmp_path, MEASURES)
    directory = tmp_path / "dummy"
    code, _, err = run(command("create-dummy-tables", definition, directory), capsys)
    assert code == 0, err
    assert sorted(p.name for p in directory.iterdir()) == [
        "clinical_events.csv",
        "patients.csv",
        "practice_registrations.csv",
    ]
    # ... and generate-measures runs on them.
    code, out, err = run(
        command("generate-measures", definition, dummy_tables=directory), capsys
    )
    assert code == 0, err
    assert "events_per_patient" in out


def test_create_dummy_tables_for_a_file_defining_neither(tmp_path, capsys):
    definition = write(tmp_path, "x = 1\n")
    code, _, err = run(["create-dummy-tables", definition], capsys)
    assert code == 10
    assert "neither `dataset` nor `measures` was defined" in err


# -- dump-example-data ------------------------------------------------------------


@pytest.mark.parametrize("option", ["-d", "--dst-dir"])
def test_dump_example_data_dst_dir(tmp_path, capsys, option):
    code, _, err = run(command("dump-example-data", option, tmp_path / "data"), capsys)
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == sorted(
        p.name for p in EXAMPLE_DATA.glob("*.csv")
    )


def test_dump_example_data_refuses_two_directories(tmp_path, capsys):
    code, _, err = run(
        ["dump-example-data", tmp_path / "a", "-d", tmp_path / "b"], capsys
    )
    assert code == 2
    assert "give the directory once" in err
    assert list(tmp_path.iterdir()) == []


# -- debug --display-format -------------------------------------------------------

SHOWN = """
from ehrql import create_dataset, show
from ehrql.tables.core import patients
show(patients.sex, label="sex <of> patients")
dataset = create_dataset()
dataset.define_population(patients.exists_for_patient())
"""


def test_debug_ascii_is_the_default(tmp_path, capsys):
    code, _, err = run(
        command("debug", write(tmp_path, SHOWN), dummy_tables=EXAMPLE_DATA), capsys
    )
    assert code == 0, err
    assert "Show line 4: sex <of> patients" in err
    assert "patient_id | value" in err


def test_debug_html(tmp_path, capsys):
    code, _, err = run(
        command(
            "debug",
            write(tmp_path, SHOWN),
            dummy_tables=EXAMPLE_DATA,
            display_format="html",
        ),
        capsys,
    )
    assert code == 0, err
    assert "<h4>Show line 4: sex &lt;of&gt; patients</h4>" in err
    assert "<th>patient_id</th><th>value</th>" in err
    assert "<tr><td>1</td><td>male</td></tr>" in err


def test_debug_unknown_display_format(tmp_path, capsys):
    code, _, err = run(
        command("debug", write(tmp_path, SHOWN), display_format="xml"), capsys
    )
    assert code == 2
    assert "invalid choice: 'xml'" in err


# -- serialize-definition -o, test-connection's DATABASE_URL -----------------------


def test_serialize_definition_short_output_option(small, tmp_path, capsys):
    definition, _ = small
    output = tmp_path / "model.json"
    code, _, err = run(["serialize-definition", definition, "-o", output], capsys)
    assert code == 0, err
    assert json.loads(output.read_text())["version"] == 1


def test_test_connection_url_defaults_to_database_url(tmp_path, capsys, monkeypatch):
    import duckdb

    database = tmp_path / "db.duckdb"
    duckdb.connect(str(database)).close()
    monkeypatch.setenv("DATABASE_URL", str(database))
    code, _, err = run(["test-connection"], capsys)
    assert code == 0, err
    assert "Connection OK" in err


def test_test_connection_without_url_or_database_url(capsys, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    code, _, err = run(["test-connection"], capsys)
    assert code != 0
    assert "give --url, or set DATABASE_URL" in err


# -- graph-query ------------------------------------------------------------------


def test_graph_query_writes_dot(small, tmp_path, capsys):
    definition, _ = small
    output = tmp_path / "graph" / "query.dot"
    code, _, err = run(command("graph-query", definition, output=output), capsys)
    assert code == 0, err
    dot = output.read_text()
    assert dot.startswith('digraph "dataset_definition" {')
    assert '[label="SelectPatientTable\\nname: patients"]' in dot
    assert '[label="variables[age]"]' in dot
    assert dot.rstrip().endswith("}")


def test_graph_query_shares_subtrees(tmp_path, capsys):
    definition = write_definition(
        tmp_path,
        """
        dataset = create_dataset()
        dataset.define_population(patients.exists_for_patient())
        dataset.a = patients.sex
        dataset.b = patients.sex
    """,
    )
    output = tmp_path / "q.gv"
    assert run(command("graph-query", definition, output=output), capsys)[0] == 0
    dot = output.read_text()
    assert dot.count("SelectColumn\\nname: sex") == 1
    assert '[label="variables[a]"]' in dot and '[label="variables[b]"]' in dot


def test_graph_query_image_needs_graphviz(small, tmp_path, capsys, monkeypatch):
    definition, _ = small
    monkeypatch.setattr(shutil, "which", lambda name: None)
    code, _, err = run(
        command("graph-query", definition, output=tmp_path / "q.svg"), capsys
    )
    assert code == 1
    assert "needs Graphviz's `dot` program" in err
    assert not (tmp_path / "q.svg").exists()


@pytest.mark.skipif(
    shutil.which("dot") is None, reason="Graphviz's dot program is not installed"
)
def test_graph_query_svg(small, tmp_path, capsys):
    definition, _ = small
    code, _, err = run(
        command("graph-query", definition, output=tmp_path / "q.svg"), capsys
    )
    assert code == 0, err
    assert "<svg" in (tmp_path / "q.svg").read_text()


def test_graph_query_unknown_format(small, tmp_path, capsys):
    definition, _ = small
    code, _, err = run(
        command("graph-query", definition, output=tmp_path / "q.txt"), capsys
    )
    assert code == 1
    assert "end its name in one of .dot, .gv, .svg, .png, .pdf" in err
