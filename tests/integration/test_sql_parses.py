"""Every spec test's dataset compiles for MS SQL Server and Trino to SQL that parses,
and, translated to DuckDB by sqlglot, gives the spec's expected results. The
same datasets compiled through the TPP and EMIS backends' mappings of the spec
tables (tests/lib/spec_backends.py) parse too, and the TPP backend's T-SQL and
the EMIS backend's Trino SQL, translated and run over their raw tables, give
the spec's results.

No server runs here, so each spec test function is called with a stand-in for
the `spec_test` fixture that records what it asks for (instead of running
it), and the dataset is compiled with each dialect, over plain tables named
after the spec tables. Every statement must parse with sqlglot in the
database's own grammar; then the statements are translated to DuckDB (see
`tests/unit/query_engines/transpiled.py` for what that translation can and
cannot show) and run over the spec's table data.
"""

from __future__ import annotations

import datetime
import importlib
import inspect
import pkgutil
from pathlib import Path

import duckdb
import pytest
import sqlglot

import tests.spec
from ehrql.query_engines.base_sql import compile_dataset, default_table
from ehrql.query_engines.mssql import MSSQLDialect
from ehrql.query_engines.trino import TrinoDialect
from tests.lib.approx import approx_floats
from tests.lib.engines import load_duckdb_tables
from tests.lib.table_text import parse_table
from tests.spec.conftest import build_spec_dataset
from tests.unit.query_engines.transpiled import DUCKDB_MACROS, sqlglot_schema, translate

#: The fixtures a spec test may ask for that this module can provide.
PROVIDED = {"spec_test", "tmp_path"}

DIALECTS = {"tsql": MSSQLDialect(), "trino": TrinoDialect(table_prefix="ehrql_tmp_")}


def _spec_tests():
    """(id, function) for each spec test function that needs only PROVIDED fixtures."""
    found = []
    for info in pkgutil.walk_packages(tests.spec.__path__, "tests.spec."):
        if (
            not info.name.rsplit(".", 1)[-1].startswith("test_")
            or info.name == __name__
        ):
            continue
        module = importlib.import_module(info.name)
        for name, function in vars(module).items():
            if name.startswith("test_") and inspect.isfunction(function):
                parameters = set(inspect.signature(function).parameters)
                if "spec_test" in parameters and parameters <= PROVIDED:
                    found.append(
                        (f"{info.name.removeprefix('tests.spec.')}.{name}", function)
                    )
    return found


SPEC_TESTS = _spec_tests()


def recorded_cases(function, tmp_path: Path) -> list[tuple]:
    """(table data, dataset, expected) for each check a spec test function makes.

    Found by calling the function with a recording `spec_test`.
    """
    cases = []

    def record(table_data, series, expected, population=None):
        cases.append(
            (table_data, build_spec_dataset(table_data, series, population), expected)
        )

    arguments = {"spec_test": record, "tmp_path": tmp_path}
    function(
        **{name: arguments[name] for name in inspect.signature(function).parameters}
    )
    return cases


def recorded_datasets(function, tmp_path: Path) -> list:
    """The datasets a spec test function builds."""
    return [dataset for _, dataset, _ in recorded_cases(function, tmp_path)]


def results_through_translation(dialect, read: str, table_data, dataset) -> dict:
    """{patient_id: value} from running the dataset's SQL, translated to DuckDB."""
    typed = {
        frame._qm_node: parse_table(text, frame._qm_node.schema)
        for frame, text in table_data.items()
    }
    schema = sqlglot_schema(typed)
    compiled = compile_dataset(dataset, dialect, default_table)
    with duckdb.connect() as connection:
        for macro in DUCKDB_MACROS:
            connection.execute(macro)
        load_duckdb_tables(connection, typed)
        for statement in [*compiled.setup, compiled.select]:
            for translated in translate(statement, read, schema):
                rows = connection.execute(translated).fetchall()
    # Translated date arithmetic gives DuckDB timestamps (see transpiled.py).
    return {
        row[0]: row[1].date() if isinstance(row[1], datetime.datetime) else row[1]
        for row in rows
    }


def test_nearly_every_spec_test_is_covered():
    # A spec test needing another fixture is left out; there should be few.
    assert len(SPEC_TESTS) >= 250


@pytest.mark.parametrize(
    "function", [f for _, f in SPEC_TESTS], ids=[i for i, _ in SPEC_TESTS]
)
def test_spec_dataset_sql_parses(function, tmp_path):
    datasets = recorded_datasets(function, tmp_path)
    assert datasets, "the spec test built no dataset"
    for dataset in datasets:
        for read, dialect in DIALECTS.items():
            for statement in compile_dataset(
                dataset, dialect, default_table
            ).all_statements():
                try:
                    sqlglot.parse_one(statement, read=read)
                except sqlglot.errors.ParseError as error:
                    pytest.fail(f"{read} did not parse: {error}\n{statement}")


def _backend_engines():
    """(name, sqlglot dialect, engine) for each backend on each server engine.

    A backend's own engine first (TPP on MS SQL Server, EMIS on Trino); the
    other pairs show that a mapping renders on any engine.
    """
    from ehrql.query_engines.mssql import MSSQLQueryEngine
    from ehrql.query_engines.trino import TrinoQueryEngine
    from tests.lib.spec_backends import SpecEMISBackend, SpecTPPBackend

    def trino(backend):
        return TrinoQueryEngine(None, backend=backend, table_prefix="ehrql_tmp_")

    return [
        ("tpp_on_mssql", "tsql", MSSQLQueryEngine(None, backend=SpecTPPBackend())),
        ("emis_on_trino", "trino", trino(SpecEMISBackend())),
        ("tpp_on_trino", "trino", trino(SpecTPPBackend())),
        ("emis_on_mssql", "tsql", MSSQLQueryEngine(None, backend=SpecEMISBackend())),
    ]


BACKEND_ENGINES = _backend_engines()


@pytest.mark.parametrize(
    "function", [f for _, f in SPEC_TESTS], ids=[i for i, _ in SPEC_TESTS]
)
def test_spec_dataset_sql_through_each_backend_parses(function, tmp_path):
    for dataset in recorded_datasets(function, tmp_path):
        for name, read, engine in BACKEND_ENGINES:
            statements = engine.get_queries(dataset)
            for statement in statements:
                try:
                    sqlglot.parse_one(statement, read=read)
                except sqlglot.errors.ParseError as error:
                    pytest.fail(f"{name}: {read} did not parse: {error}\n{statement}")
            if name.startswith("tpp"):
                # The opt-out exclusion is in every TPP compilation.
                assert any("PatientsWithTypeOneDissent" in s for s in statements), name


def raw_sqlglot_schema(backend) -> dict:
    """Column types of a backend's raw tables, for sqlglot's type annotation."""
    from tests.lib.spec_backends import duckdb_type_sql

    return {
        table.name: {
            c.name: sqlglot.exp.DataType.build(
                duckdb_type_sql(c.type), dialect="duckdb"
            )
            for c in table.columns
        }
        for table in backend.raw_metadata.sorted_tables
    }


def results_through_backend_translation(
    spec_backend: str, read: str, engine, table_data, dataset
) -> dict:
    """{spec patient_id: value} from the dataset's SQL for a spec backend, translated to DuckDB
    and run over the backend's raw tables."""
    from tests.lib.spec_backends import SPEC_BACKENDS, load_spec_data

    backend, _, spec_patient_id = SPEC_BACKENDS[spec_backend]
    typed = {
        frame._qm_node: parse_table(text, frame._qm_node.schema)
        for frame, text in table_data.items()
    }
    compiled = engine.compile(dataset)
    schema = raw_sqlglot_schema(backend)
    with duckdb.connect() as connection:
        for macro in DUCKDB_MACROS:
            connection.execute(macro)
        load_spec_data(connection, spec_backend, typed, dataset)
        for statement in [*compiled.setup, compiled.select]:
            for translated in translate(statement, read, schema):
                rows = connection.execute(translated).fetchall()
    return {
        spec_patient_id(row[0]): row[1].date()
        if isinstance(row[1], datetime.datetime)
        else row[1]
        for row in rows
    }


@pytest.mark.parametrize(
    "spec_backend,read,engine",
    [
        (
            "tpp_backend",
            *[(r, e) for n, r, e in BACKEND_ENGINES if n == "tpp_on_mssql"][0],
        ),
        (
            "emis_backend",
            *[(r, e) for n, r, e in BACKEND_ENGINES if n == "emis_on_trino"][0],
        ),
    ],
    ids=["tpp_on_mssql", "emis_on_trino"],
)
@pytest.mark.parametrize(
    "function", [f for _, f in SPEC_TESTS], ids=[i for i, _ in SPEC_TESTS]
)
def test_spec_results_through_each_backend_translated_to_duckdb(
    function, spec_backend, read, engine, tmp_path
):
    # The backend's SQL for its own engine, opt-out exclusion and twins
    # included (see tests/lib/spec_backends.py), means what the spec says.
    for table_data, dataset, expected in recorded_cases(function, tmp_path):
        results = results_through_backend_translation(
            spec_backend, read, engine, table_data, dataset
        )
        if dataset.variables["v"].type is float:
            assert results == approx_floats(expected)
        else:
            assert results == expected


@pytest.mark.parametrize("read", list(DIALECTS))
@pytest.mark.parametrize(
    "function", [f for _, f in SPEC_TESTS], ids=[i for i, _ in SPEC_TESTS]
)
def test_spec_results_through_translation_to_duckdb(function, read, tmp_path):
    for table_data, dataset, expected in recorded_cases(function, tmp_path):
        results = results_through_translation(DIALECTS[read], read, table_data, dataset)
        if dataset.variables["v"].type is float:
            assert results == approx_floats(expected)
        else:
            assert results == expected


@pytest.fixture(scope="module")
def example_dataset():
    from ehrql.loaders import load_dataset

    return load_dataset(
        Path(__file__).parents[2] / "examples" / "dataset_definition.py"
    )


@pytest.mark.parametrize(
    "engine_name,backend_name,read",
    [("mssql", "tpp", "tsql"), ("trino", "emis", "trino")],
)
def test_example_study_compiles_through_its_backend_and_parses(
    example_dataset, engine_name, backend_name, read
):
    from ehrql.backends import get_backend
    from ehrql.query_engines.mssql import MSSQLQueryEngine
    from ehrql.query_engines.trino import TrinoQueryEngine

    engine_class = {"mssql": MSSQLQueryEngine, "trino": TrinoQueryEngine}[engine_name]
    backend = get_backend(backend_name)
    assert backend.query_engine == engine_name
    statements = engine_class(None, backend=backend).get_queries(example_dataset)
    # At least: create and fill the population table, the results, a cleanup.
    assert len(statements) >= 3
    for statement in statements:
        sqlglot.parse_one(statement, read=read)
