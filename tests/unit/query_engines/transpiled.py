"""Running another database's SQL on DuckDB, through sqlglot, to check what it means.

No SQL Server or Trino server runs in the tests. sqlglot can translate their
SQL into DuckDB's, so a compiled dataset can be run and its results compared
with `ehrql.query_model.semantics`. The translation is sqlglot's, not the
database's, so a pass shows that the SQL means what we intend *as sqlglot
reads it*; where sqlglot's translation is known to be imperfect the
substitutions below say so, and anything relying on them still needs checking
on a real server.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Sequence

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types

from ehrql.query_engines.base_sql import compile_dataset, default_table
from ehrql.query_engines.duckdb import duckdb_type_name
from ehrql.query_engines.sql_dialect import SQLDialect
from ehrql.query_model import nodes as qm
from ehrql.query_model.semantics import apply_function
from ehrql.query_model.table_schema import Column, TableSchema
from tests.lib.engines import load_duckdb_tables

#: One patient, with a null of each type to build null inputs from.
PATIENTS = qm.SelectPatientTable(
    "patients",
    TableSchema(
        i=Column(int),
        f=Column(float),
        b=Column(bool),
        s=Column(str),
        d=Column(datetime.date),
    ),
)
NULLS = {
    int: qm.SelectColumn(PATIENTS, "i"),
    float: qm.SelectColumn(PATIENTS, "f"),
    bool: qm.SelectColumn(PATIENTS, "b"),
    str: qm.SelectColumn(PATIENTS, "s"),
    datetime.date: qm.SelectColumn(PATIENTS, "d"),
}

#: (pattern, replacement) applied to the source SQL before translation. Each is
#: a gap in sqlglot's translation, not a change of meaning:
SOURCE_SUBSTITUTIONS: Sequence[tuple[str, str]] = (
    # DuckDB knows no SQL Server collation names; its own comparison is binary
    # (case-sensitive), which is what Latin1_General_BIN(2) asks for.
    (r" COLLATE Latin1_General_BIN2?\b", ""),
    (r" COLLATE Latin1_General_CI_AS", ""),
)

#: DuckDB macros standing in for functions sqlglot passes through untranslated.
DUCKDB_MACROS = (
    # T-SQL DATALENGTH: bytes, which for the ASCII text tested is characters.
    "CREATE MACRO datalength(x) AS strlen(x)",
)


def series_dataset(series: qm.Series) -> qm.Dataset:
    """A dataset giving `series` as variable `v` for the one patient."""
    return qm.Dataset(
        population=qm.AggregateByPatient.Exists(PATIENTS),
        variables=qm.FrozenDict({"v": series}),
    )


def sqlglot_schema(tables) -> dict:
    """Column types of table nodes, for sqlglot's type annotation."""
    return {
        table.name: {
            name: exp.DataType.build(duckdb_type_name(type_), dialect="duckdb")
            for name, type_ in [("patient_id", int), *table.schema.column_types]
        }
        for table in tables
    }


def translate(sql: str, read: str, schema: dict | None = None) -> list[str]:
    """`sql` in `read`'s dialect as DuckDB statements (see SOURCE_SUBSTITUTIONS).

    `schema` (see `sqlglot_schema`) tells sqlglot the types of table columns.
    """
    for pattern, replacement in SOURCE_SUBSTITUTIONS:
        sql = re.sub(pattern, replacement, sql)
    # Type annotation lets sqlglot see that `/` on two integers is integer
    # division (truncating in T-SQL and Trino, a float division in DuckDB).
    statements = [
        annotate_types(e, schema=schema, dialect=read)
        for e in sqlglot.parse(sql, read=read)
    ]
    if read == "tsql":
        statements = [e.transform(_tsql_meaning) for e in statements]
    return [e.sql("duckdb") for e in statements]


def _tsql_meaning(node: exp.Expression) -> exp.Expression:
    """T-SQL rules sqlglot does not carry over to DuckDB.

    * BIT is T-SQL's boolean (0, 1 or null); in DuckDB BIT is a bit string.
    * VARCHAR(MAX) means unbounded text; DuckDB cannot read the MAX.
    * Converting a FLOAT to an integer truncates in T-SQL; in DuckDB it rounds.
    """
    if isinstance(node, exp.DataType) and node.this == exp.DataType.Type.BIT:
        return exp.DataType.build("BOOLEAN")
    if (
        isinstance(node, exp.DataType)
        and node.is_type("varchar", "nvarchar")
        and node.expressions
    ):
        # VARCHAR(MAX) is unbounded text, as DuckDB's VARCHAR always is.
        return exp.DataType.build("VARCHAR")
    if (
        isinstance(node, exp.Cast)
        and not isinstance(node, exp.TryCast)
        and node.to.is_type(*exp.DataType.INTEGER_TYPES)
        and node.this.type is not None
        and node.this.type.is_type(*exp.DataType.REAL_TYPES)
    ):
        return exp.Cast(this=exp.func("TRUNC", node.this), to=node.to)
    return node


def run_translated(dialect: SQLDialect, read: str) -> Callable[[qm.Series], object]:
    """A function giving the value of a series, compiled for `dialect` and run translated on DuckDB."""

    def run(series: qm.Series):
        compiled = compile_dataset(series_dataset(series), dialect, default_table)
        with duckdb.connect() as connection:
            for macro in DUCKDB_MACROS:
                connection.execute(macro)
            load_duckdb_tables(connection, {PATIENTS: [{"patient_id": 1}]})
            for statement in [*compiled.setup, compiled.select]:
                for translated in translate(
                    statement, read, sqlglot_schema([PATIENTS])
                ):
                    rows = connection.execute(translated).fetchall()
        [(patient_id, value)] = rows
        # sqlglot turns date arithmetic into DuckDB interval arithmetic,
        # which gives timestamps where the source database gives dates.
        if isinstance(value, datetime.datetime):
            assert value.time() == datetime.time(0), value
            value = value.date()
        return value

    return run


def constant(value, type_=None) -> qm.Series:
    """A Value node, or for None a null of `type_` read from the table."""
    return NULLS[type_] if value is None else qm.Value(value)


def check_against_semantics(
    run: Callable[[qm.Series], object], node_class, *values, types=()
) -> None:
    """`node_class` applied to `values` (nulls typed by `types`) gives, through
    `run`, exactly the value and type the semantics module gives."""
    node = node_class(
        *(constant(v, t) for v, t in zip(values, [*types, *[None] * len(values)]))
    )
    expected = apply_function(node, *values)
    actual = run(node)
    assert actual == expected and type(actual) is type(expected), (
        values,
        actual,
        expected,
    )
