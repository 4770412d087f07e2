"""The Trino dialect: the SQL it writes, and what that SQL means.

Meaning is checked by translating to DuckDB with sqlglot and comparing with
`ehrql.query_model.semantics` (see `transpiled.py` for the limits of that).
"""

from __future__ import annotations

import datetime

import pytest
import sqlalchemy as sa
import sqlglot

import ehrql.tables.core
from ehrql.backends import get_backend
from ehrql.query_engines.base_sql import compile_dataset, default_table
from ehrql.query_engines.trino import (
    ScratchSchemaError,
    TrinoDialect,
    TrinoQueryEngine,
    split_scratch_schema,
    sqlalchemy_url,
)
from ehrql.query_model import nodes as qm
from ehrql.query_model.semantics import apply_function
from tests.unit.query_engines.transpiled import (
    check_against_semantics,
    constant,
    run_translated,
    series_dataset,
)

Fn = qm.Function
DIALECT = TrinoDialect(table_prefix="ehrql_tmp_test_")
run = run_translated(DIALECT, "trino")


def compiled(series: qm.Series):
    return compile_dataset(series_dataset(series), DIALECT, default_table)


def check(node_class, *values, types=()):
    check_against_semantics(run, node_class, *values, types=types)


AWKWARD_DATES = [
    datetime.date(2021, 1, 31), datetime.date(2020, 2, 29), datetime.date(2021, 3, 31),
    datetime.date(2019, 12, 31), datetime.date(1, 1, 1), datetime.date(9999, 12, 31),
]  # fmt: skip


@pytest.mark.parametrize("date", AWKWARD_DATES)
@pytest.mark.parametrize("months", [-13, -1, 1, 12, 25, 120_000, -200_000])
def test_date_add_months_rolls_forward_and_nulls_out_of_range(date, months):
    check(Fn.DateAddMonths, date, months)


@pytest.mark.parametrize("date", AWKWARD_DATES)
@pytest.mark.parametrize("years", [-1, 1, 4, 10_000, -(2**62)])
def test_date_add_years(date, years):
    check(Fn.DateAddYears, date, years)


@pytest.mark.parametrize("date", AWKWARD_DATES)
@pytest.mark.parametrize("days", [-1, 366, -3_000_000, 3_000_000])
def test_date_add_days(date, days):
    check(Fn.DateAddDays, date, days)


@pytest.mark.parametrize("end", AWKWARD_DATES)
@pytest.mark.parametrize(
    "start", [datetime.date(2020, 2, 29), datetime.date(2021, 1, 31)]
)
def test_date_differences_are_floored(end, start):
    check(Fn.DateDifferenceInMonths, end, start)
    check(Fn.DateDifferenceInYears, end, start)
    check(Fn.DateDifferenceInDays, end, start)


@pytest.mark.parametrize("date", AWKWARD_DATES)
def test_date_parts_and_truncation(date):
    for node_class in (
        Fn.YearFromDate,
        Fn.MonthFromDate,
        Fn.DayFromDate,
        Fn.ToFirstOfMonth,
        Fn.ToFirstOfYear,
    ):
        check(node_class, date)


@pytest.mark.parametrize("lhs", [-7, -1, 0, 6, 7])
@pytest.mark.parametrize("rhs", [-3, 0, 2, 3])
def test_integer_division(lhs, rhs):
    check(Fn.FloorDivide, lhs, rhs)
    check(Fn.TrueDivide, lhs, rhs)


@pytest.mark.parametrize("lhs", [-7.5, -0.5, 2.25])
@pytest.mark.parametrize("rhs", [-2.0, 0.0, 0.5])
def test_float_division(lhs, rhs):
    check(Fn.FloorDivide, lhs, rhs)
    check(Fn.TrueDivide, lhs, rhs)


@pytest.mark.parametrize("value", [-2.7, -0.5, 0.5, 2.7])
def test_float_to_int_truncates_towards_zero(value):
    check(Fn.CastToInt, value)


@pytest.mark.parametrize(
    "text", ["12", " 12 ", "+5", "-3", "1_000", "1__0", "1.5", "1e3", "", "abc"]
)
def test_string_to_int_accepts_what_python_int_accepts(text):
    check(Fn.CastToInt, text)


@pytest.mark.parametrize("text", ["1.5", " -2 ", "1e3", "abc"])
def test_string_to_float(text):
    check(Fn.CastToFloat, text)


@pytest.mark.parametrize(
    "haystack,needle",
    [("abc", "b"), ("abc", "B"), ("abc", ""), ("a%c", "%"), ("abc", "_"), ("", "a")],
)
def test_contains_is_case_sensitive_and_has_no_wildcards(haystack, needle):
    check(Fn.StringContains, haystack, needle)


@pytest.mark.parametrize("values", [(1, None, 3), (None, None), (None, -2), (-1, -7)])
def test_greatest_and_least_ignore_nulls(values):
    for node_class in (Fn.MaximumOf, Fn.MinimumOf):
        node = node_class(tuple(constant(v, int) for v in values))
        assert run(node) == apply_function(node, *values), values


@pytest.mark.parametrize("lhs", [True, False, None])
def test_booleans(lhs):
    check(Fn.And, lhs, None, types=(bool, bool))
    check(Fn.Not, lhs, types=(bool,))
    check(Fn.CastToStr, lhs, types=(bool,))


def test_large_in_list_goes_through_a_scratch_table():
    values = frozenset(range(DIALECT.max_in_list_size + 5))
    assert run(Fn.In(qm.Value(7), qm.Value(values))) is True


# -- SQL fragments ---------------------------------------------------------------


def test_intermediate_tables_are_prefixed_in_the_scratch_schema():
    dialect = TrinoDialect(
        scratch_schema='"memory"."scratch"', table_prefix="ehrql_tmp_abc_"
    )
    compiled = compile_dataset(series_dataset(qm.Value(1)), dialect, default_table)
    name = '"memory"."scratch"."ehrql_tmp_abc_population_1"'
    assert compiled.setup[0].startswith(f"CREATE TABLE {name} AS SELECT CAST(")
    # Columns are qualified by the compiler's name for the table.
    assert f"FROM {name} AS population_1" in compiled.select
    assert compiled.cleanup == (f"DROP TABLE IF EXISTS {name}",)


def test_date_arithmetic_spellings():
    sql = compiled(
        Fn.DateAddMonths(qm.Value(datetime.date(2021, 1, 31)), qm.Value(1))
    ).select
    assert "date_add('month'" in sql
    sql = compiled(Fn.ToFirstOfYear(qm.Value(datetime.date(2021, 1, 31)))).select
    assert "date_trunc('year'" in sql


def test_greatest_fills_nulls_from_the_other_values():
    sql = DIALECT.render(
        DIALECT.greatest_ignoring_nulls([sa.column("a"), sa.column("b")])
    )
    assert sql == "greatest(coalesce(a, a, b), coalesce(b, a, b))"


def test_each_engine_has_its_own_table_prefix():
    first, second = TrinoQueryEngine(None), TrinoQueryEngine(None)
    dataset = series_dataset(qm.Value(1))
    assert first.get_queries(dataset)[0] != second.get_queries(dataset)[0]


def test_dsn():
    assert sqlalchemy_url("trino://user@host:8080/cat/sch").drivername == "trino"
    assert split_scratch_schema("trino://user@host:8080/cat/sch") == (
        "trino://user@host:8080/cat/sch",
        '"cat"."sch"',
    )
    with pytest.raises(ValueError):
        sqlalchemy_url("mssql://h/db")


def test_emis_queries_need_no_server_and_parse():
    patients = ehrql.tables.core.patients._qm_node
    dataset = qm.Dataset(
        population=qm.AggregateByPatient.Exists(patients),
        variables=qm.FrozenDict({"v": qm.SelectColumn(patients, "date_of_birth")}),
    )
    engine = TrinoQueryEngine(
        "trino://u@nowhere:1/cat/sch", backend=get_backend("emis"), table_prefix="t_"
    )
    statements = engine.get_queries(dataset)
    assert "patient_all_orgs_v2" in "\n".join(statements)
    for statement in statements:
        sqlglot.parse_one(statement, read="trino")


def test_registered_as_trino():
    from ehrql.query_engines import get_engine_class

    assert get_engine_class("trino") is TrinoQueryEngine


# -- where intermediate tables go ------------------------------------------------


def test_scratch_schema_parameter_overrides_the_dsn_schema_and_is_taken_off():
    dsn, scratch = split_scratch_schema(
        "trino://u@h:1/data/readonly?ehrql_scratch_schema=work.ehrql&source=x"
    )
    assert scratch == '"work"."ehrql"'
    assert dsn == "trino://u@h:1/data/readonly?source=x"
    # With no schema in the DSN's path, the parameter alone will do.
    assert (
        split_scratch_schema("trino://u@h:1/data?ehrql_scratch_schema=work.ehrql")[1]
        == '"work"."ehrql"'
    )


@pytest.mark.parametrize(
    "dsn,message",
    [
        ("trino://u@h:1/data", "names no schema for ehrQL's intermediate tables"),
        ("trino://u@h:1", "names no schema"),
        ("trino://u@h:1/c/s?ehrql_scratch_schema=work", "must be catalog.schema"),
        ("trino://u@h:1/c/s?ehrql_scratch_schema=a.b.c", "must be catalog.schema"),
        ("trino://u@h:1/c/s?ehrql_scratch_schema=.b", "must be catalog.schema"),
        (
            "trino://u@h:1/c/s?ehrql_scratch_schema=a.b&ehrql_scratch_schema=c.d",
            "more than once",
        ),
    ],
)
def test_an_unusable_scratch_schema_is_refused_before_connecting(dsn, message):
    with pytest.raises(ScratchSchemaError, match=message):
        TrinoQueryEngine(dsn)


@pytest.fixture
def duckdb_for_trino(tmp_path, monkeypatch):
    """Trino statements sent to a DuckDB database instead: a stand-in server for what is tried."""
    import ehrql.query_engines.server_sql

    engine = sa.create_engine(f"duckdb:///{tmp_path / 'server.duckdb'}")
    monkeypatch.setattr(
        ehrql.query_engines.server_sql, "server_engine", lambda url: engine
    )
    yield engine
    engine.dispose()


def test_connection_check_creates_and_drops_a_scratch_table(duckdb_for_trino):
    # DuckDB's own database is catalog "server", schema "main".
    TrinoQueryEngine("trino://u@h:1/server/main", table_prefix="t_").test_connection()
    with duckdb_for_trino.connect() as connection:
        assert (
            connection.exec_driver_sql(
                "SELECT count(*) FROM information_schema.tables"
            ).scalar()
            == 0
        )


def test_a_scratch_schema_without_create_rights_is_reported_with_what_to_do(
    duckdb_for_trino,
):
    engine = TrinoQueryEngine(
        "trino://u@h:1/server/main?ehrql_scratch_schema=elsewhere.readonly",
        table_prefix="t_",
    )
    with pytest.raises(ScratchSchemaError) as caught:
        engine.test_connection()
    message = str(caught.value)
    assert (
        'cannot create ehrQL\'s intermediate tables in "elsewhere"."readonly"'
        in message
    )
    assert "?ehrql_scratch_schema=catalog.schema" in message
    with pytest.raises(ScratchSchemaError):
        list(engine.get_results(series_dataset(qm.Value(1))))


@pytest.mark.parametrize(
    "lhs, rhs",
    [
        (2, 10),
        (2, -1),
        (-2, 3),
        (0, 0),
        (0, -1),
        (0, 2),
        (10, 400),
        (-2.0, 0.5),
        (4.0, 0.5),
        (0.5, 2.0),
        (-8.0, -1.0),
    ],
)
def test_power(lhs, rhs):
    check(Fn.Power, lhs, rhs)


@pytest.mark.parametrize("value", [-3, 0, 3, -2.5, 2.5])
def test_absolute(value):
    check(Fn.Absolute, value)
