"""Every spec test's dataset compiles for MS SQL Server and Trino to SQL that parses.

No server runs here, so each spec test function is called with a stand-in for
the `spec_test` fixture that records the dataset it builds (instead of running
it), and the dataset is compiled with each dialect, over plain tables named
after the spec tables. Every statement must parse with sqlglot in the
database's own grammar.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest
import sqlglot

import tests.spec
from ehrql.query_engines.base_sql import compile_dataset, default_table
from ehrql.query_engines.mssql import MSSQLDialect
from ehrql.query_engines.trino import TrinoDialect
from tests.spec.conftest import build_spec_dataset

#: The fixtures a spec test may ask for that this module can provide.
PROVIDED = {"spec_test", "tmp_path"}

DIALECTS = {"tsql": MSSQLDialect(), "trino": TrinoDialect(table_prefix="ehrql_tmp_")}


def _spec_tests():
    """(id, function) for each spec test function that needs only PROVIDED fixtures."""
    found = []
    for info in pkgutil.walk_packages(tests.spec.__path__, "tests.spec."):
        if not info.name.rsplit(".", 1)[-1].startswith("test_") or info.name == __name__:
            continue
        module = importlib.import_module(info.name)
        for name, function in vars(module).items():
            if name.startswith("test_") and inspect.isfunction(function):
                parameters = set(inspect.signature(function).parameters)
                if "spec_test" in parameters and parameters <= PROVIDED:
                    found.append((f"{info.name.removeprefix('tests.spec.')}.{name}", function))
    return found


SPEC_TESTS = _spec_tests()


def recorded_datasets(function, tmp_path: Path) -> list:
    """The datasets a spec test function builds, by calling it with a recording `spec_test`."""
    datasets = []

    def record(table_data, series, expected, population=None):
        datasets.append(build_spec_dataset(table_data, series, population))

    arguments = {"spec_test": record, "tmp_path": tmp_path}
    function(**{name: arguments[name] for name in inspect.signature(function).parameters})
    return datasets


def test_nearly_every_spec_test_is_covered():
    # A spec test needing another fixture is left out; there should be few.
    assert len(SPEC_TESTS) >= 250


@pytest.mark.parametrize("function", [f for _, f in SPEC_TESTS], ids=[i for i, _ in SPEC_TESTS])
def test_spec_dataset_sql_parses(function, tmp_path):
    datasets = recorded_datasets(function, tmp_path)
    assert datasets, "the spec test built no dataset"
    for dataset in datasets:
        for read, dialect in DIALECTS.items():
            for statement in compile_dataset(dataset, dialect, default_table).all_statements():
                try:
                    sqlglot.parse_one(statement, read=read)
                except sqlglot.errors.ParseError as error:
                    pytest.fail(f"{read} did not parse: {error}\n{statement}")
