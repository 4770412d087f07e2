"""The parent's own work while a definition loads in its child process."""

import threading

from ehrql.isolation.definitions import load_dataset_definition

DATASET = """
from ehrql import create_dataset
from ehrql.tables.core import patients
dataset = create_dataset()
dataset.define_population(patients.exists_for_patient())
"""


def test_the_work_is_done_on_another_thread_before_the_definition_comes_back(
    tmp_path,
):
    definition = tmp_path / "dataset_definition.py"
    definition.write_text(DATASET)
    done = []
    loaded = load_dataset_definition(
        definition,
        meanwhile=lambda: done.append(threading.current_thread().name),
    )
    assert loaded.query_model.population is not None
    assert done == ["ehrql-meanwhile"]


def test_work_that_fails_does_not_stop_the_load(tmp_path):
    definition = tmp_path / "dataset_definition.py"
    definition.write_text(DATASET)

    def fails():
        raise ImportError("no such module")

    loaded = load_dataset_definition(definition, meanwhile=fails)
    assert loaded.query_model.population is not None


def test_a_run_on_dummy_data_imports_the_generator_and_its_engine_meanwhile(
    monkeypatch,
):
    import importlib

    from ehrql import main

    imported = []
    monkeypatch.setattr(importlib, "import_module", imported.append)
    main._imports_while_loading(None, None, None, None)()
    assert imported == ["ehrql.dummy.generator", "ehrql.query_engines.duckdb"]
    imported.clear()
    main._imports_while_loading(None, None, None, None, measures=True)()
    assert imported == [
        "ehrql.dummy.generator",
        "ehrql.measures.dummy_data",
        "ehrql.query_engines.duckdb",
        "pyarrow",
    ]
    imported.clear()
    main._imports_while_loading(None, "tables", None, "in_memory")()
    assert imported == []
    # Against a database, or with the output given, nothing is known to be needed.
    assert main._imports_while_loading("db.duckdb", None, None, None) is None
    assert main._imports_while_loading(None, None, "out.csv", None) is None
