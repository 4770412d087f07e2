"""Every mapping of every backend, for every public table it claims, on every dialect."""

import datetime

import pytest
import sqlalchemy as sa
import sqlglot
from sqlalchemy.dialects import mssql
from trino.sqlalchemy.dialect import TrinoDialect

# The SQL dialects spell the backends' per-dialect constructs (`construct_spellings`).
import ehrql.query_engines.duckdb
import ehrql.query_engines.mssql  # noqa: F401
import ehrql.query_engines.trino  # noqa: F401
from ehrql.backends import BACKENDS
from ehrql.query_model.nodes import is_code_type

#: SQLAlchemy dialect and sqlglot reader for each engine a mapping must run on.
DIALECTS = {
    "mssql": (mssql.dialect(), "tsql"),
    "trino": (TrinoDialect(), "trino"),
    "duckdb": (ehrql.query_engines.duckdb.DuckDBDialect.sqlalchemy_dialect, "duckdb"),
}

#: The SQLAlchemy type class a public column of each series type must have.
SQL_TYPES = {
    bool: sa.Boolean,
    int: sa.Integer,
    float: sa.Float,
    str: sa.String,
    datetime.date: sa.Date,
}


def claimed_tables():
    for backend_class in BACKENDS.values():
        for module in backend_class.implements:
            for attribute in module.__all__:
                frame = getattr(module, attribute)
                yield pytest.param(
                    backend_class,
                    frame._qm_node,
                    id=f"{backend_class.name}-{module.__name__.rsplit('.', 1)[-1]}.{attribute}",
                )


TABLES = list(claimed_tables())


def compile_sql(selectable, dialect) -> str:
    return str(
        sa.select(selectable).compile(
            dialect=dialect, compile_kwargs={"literal_binds": True}
        )
    )


@pytest.mark.parametrize("backend_class,table", TABLES)
def test_mapping_columns_are_patient_id_and_the_public_columns(backend_class, table):
    expression = backend_class().table_expression(table.name, table.schema)
    assert list(expression.c.keys()) == ["patient_id", *table.schema.column_names]


@pytest.mark.parametrize("backend_class,table", TABLES)
def test_mapping_column_types_match_the_public_schema(backend_class, table):
    expression = backend_class().table_expression(table.name, table.schema)
    for name, type_ in table.schema.column_types:
        expected = sa.String if is_code_type(type_) else SQL_TYPES[type_]
        assert isinstance(expression.c[name].type, expected), (
            name,
            expression.c[name].type,
        )


@pytest.mark.parametrize("dialect_name", DIALECTS)
@pytest.mark.parametrize("backend_class,table", TABLES)
def test_mapping_compiles_and_parses(backend_class, table, dialect_name):
    dialect, reader = DIALECTS[dialect_name]
    sql = compile_sql(
        backend_class().table_expression(table.name, table.schema), dialect
    )
    parsed = sqlglot.parse_one(sql, read=reader)
    assert isinstance(parsed, sqlglot.exp.Select)


@pytest.mark.parametrize("dialect_name", DIALECTS)
def test_tpp_patient_exclusions_compile_and_parse(dialect_name):
    exclusions = BACKENDS["tpp"]().patient_exclusions()
    dialect, reader = DIALECTS[dialect_name]
    sql = str(
        exclusions.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
    )
    assert isinstance(sqlglot.parse_one(sql, read=reader), sqlglot.exp.Select)


def test_dates_are_cast_to_date_on_mssql_without_a_server_version():
    # SQLAlchemy would render a generic Date cast as DATETIME here, keeping the time.
    table = next(
        p.values[1] for p in TABLES if p.id == "tpp-tpp.practice_registrations"
    )
    sql = compile_sql(
        BACKENDS["tpp"]().table_expression(table.name, table.schema),
        DIALECTS["mssql"][0],
    )
    assert "AS DATE)" in sql
    assert "AS DATETIME)" not in sql.replace("CAST('9999-12-31' AS DATETIME)", "")


@pytest.mark.parametrize(
    "dialect_name,expected",
    [
        ("mssql", "[EC_Diagnosis_01] COLLATE Latin1_General_BIN"),
        ("trino", '"EC_Diagnosis_01" AS diagnosis_01'),
        ("duckdb", '"EC_Diagnosis_01" AS diagnosis_01'),
    ],
)
def test_case_insensitive_raw_codes_compare_exactly_on_mssql_only(
    dialect_name, expected
):
    table = next(
        p.values[1] for p in TABLES if p.id == "tpp-tpp.emergency_care_attendances"
    )
    sql = compile_sql(
        BACKENDS["tpp"]().table_expression(table.name, table.schema),
        DIALECTS[dialect_name][0],
    )
    assert expected in sql
    assert ("COLLATE" in sql) == (dialect_name == "mssql")
