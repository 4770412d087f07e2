"""The MS SQL Server dialect: the T-SQL it writes, and what that T-SQL means.

Meaning is checked by translating the T-SQL to DuckDB with sqlglot and
comparing with `ehrql.query_model.semantics` (see `transpiled.py` for what
that can and cannot show). Fragment tests pin the T-SQL constructs whose
meaning sqlglot would paper over: guards that stop DATEADD raising an error,
predicates never used as values, NULLS FIRST never written.
"""

from __future__ import annotations

import datetime
import re

import pytest
import sqlalchemy as sa
import sqlglot

from ehrql.backends import get_backend
from ehrql.query_engines.base_sql import compile_dataset, default_table
from ehrql.query_engines.mssql import (
    MSSQLDialect,
    MSSQLQueryEngine,
    as_predicate,
    as_value,
    is_predicate,
    sqlalchemy_url,
)
from ehrql.query_model import nodes as qm
from ehrql.query_model.semantics import apply_function
from ehrql.query_model.table_schema import Column, TableSchema
from tests.unit.query_engines.transpiled import (
    NULLS,
    check_against_semantics,
    constant,
    run_translated,
    series_dataset,
)

Fn = qm.Function
DIALECT = MSSQLDialect()
run = run_translated(DIALECT, "tsql")


def compiled(series: qm.Series):
    return compile_dataset(series_dataset(series), DIALECT, default_table)


def check(node_class, *values, types=()):
    check_against_semantics(run, node_class, *values, types=types)


def check_extremum(node_class, values, type_):
    node = node_class(tuple(constant(v, type_) for v in values))
    expected = apply_function(node, *values)
    assert run(node) == expected, values


# -- meaning, through translation to DuckDB ------------------------------------

AWKWARD_DATES = [
    datetime.date(2021, 1, 31), datetime.date(2020, 2, 29), datetime.date(2021, 3, 31),
    datetime.date(2019, 12, 31), datetime.date(1, 1, 1), datetime.date(9999, 12, 31), datetime.date(2020, 1, 15),
]  # fmt: skip


@pytest.mark.parametrize("date", AWKWARD_DATES)
@pytest.mark.parametrize("months", [-13, -1, 1, 11, 12, 25, 120_000, -200_000])
def test_date_add_months_rolls_forward_and_nulls_out_of_range(date, months):
    check(Fn.DateAddMonths, date, months)


@pytest.mark.parametrize("date", AWKWARD_DATES)
@pytest.mark.parametrize("years", [-1, 1, 3, 4, 10_000, -(2**62)])
def test_date_add_years(date, years):
    check(Fn.DateAddYears, date, years)


@pytest.mark.parametrize("date", AWKWARD_DATES)
@pytest.mark.parametrize("days", [-1, 1, 366, -3_000_000, 3_000_000])
def test_date_add_days(date, days):
    check(Fn.DateAddDays, date, days)


@pytest.mark.parametrize("end", AWKWARD_DATES)
@pytest.mark.parametrize(
    "start",
    [
        datetime.date(2020, 2, 29),
        datetime.date(2021, 1, 31),
        datetime.date(2019, 12, 31),
    ],
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


@pytest.mark.parametrize("lhs", [-7, -6, -1, 0, 1, 6, 7])
@pytest.mark.parametrize("rhs", [-3, -1, 0, 2, 3])
def test_integer_division(lhs, rhs):
    check(Fn.FloorDivide, lhs, rhs)
    check(Fn.TrueDivide, lhs, rhs)


@pytest.mark.parametrize("lhs", [-7.5, -0.5, 0.0, 2.25])
@pytest.mark.parametrize("rhs", [-2.0, 0.0, 0.5, 3.0])
def test_float_division(lhs, rhs):
    check(Fn.FloorDivide, lhs, rhs)
    check(Fn.TrueDivide, lhs, rhs)


def test_division_by_null():
    check(Fn.FloorDivide, 7, None, types=(int, int))
    check(Fn.TrueDivide, None, 2, types=(int, int))


@pytest.mark.parametrize("value", [-2.7, -0.5, 0.0, 0.5, 2.7])
def test_float_to_int_truncates_towards_zero(value):
    check(Fn.CastToInt, value)


@pytest.mark.parametrize("text", ["12", "+5", "-3", "", "abc", "12abc"])
def test_string_to_int(text):
    check(Fn.CastToInt, text)


@pytest.mark.xfail(
    strict=True,
    reason="cannot be checked by translation: DuckDB's TRY_CAST reads '1.5' and '1e3' as "
    "integers (rounding), where T-SQL's TRY_CAST gives null; check on a real server",
)
@pytest.mark.parametrize("text", ["1.5", "1e3"])
def test_string_to_int_refuses_decimals(text):
    check(Fn.CastToInt, text)


@pytest.mark.parametrize("text", ["1.5", "-2", "1e3", "abc", ""])
def test_string_to_float(text):
    check(Fn.CastToFloat, text)


@pytest.mark.parametrize(
    "value", [True, False, 0, -12, "text", datetime.date(2020, 12, 31)]
)
def test_cast_to_str(value):
    check(Fn.CastToStr, value)


@pytest.mark.parametrize(
    "haystack,needle",
    [
        ("abc", "b"),
        ("abc", "B"),
        ("abc", ""),
        ("a%c", "%"),
        ("abc", "%"),
        ("abc", "_"),
        ("", "a"),
        ("", ""),
    ],
)
def test_contains_is_case_sensitive_and_has_no_wildcards(haystack, needle):
    check(Fn.StringContains, haystack, needle)


@pytest.mark.parametrize("haystack,needle", [(None, ""), (None, "a"), ("abc", None)])
def test_contains_with_null_is_null(haystack, needle):
    check(Fn.StringContains, haystack, needle, types=(str, str))


@pytest.mark.parametrize(
    "values", [(1, None, 3), (None, None), (None, -2), (5, 5), (-1, -7)]
)
def test_maximum_and_minimum_ignore_nulls(values):
    check_extremum(Fn.MaximumOf, values, int)
    check_extremum(Fn.MinimumOf, values, int)


def test_maximum_of_dates():
    check_extremum(
        Fn.MaximumOf,
        (datetime.date(2020, 1, 1), None, datetime.date(2021, 1, 1)),
        datetime.date,
    )


@pytest.mark.parametrize("lhs", [True, False, None])
@pytest.mark.parametrize("rhs", [True, False, None])
def test_booleans_as_values_keep_three_valued_logic(lhs, rhs):
    # Each result is a predicate selected as a value: CASE turns it into a BIT.
    check(Fn.And, lhs, rhs, types=(bool, bool))
    check(Fn.Or, lhs, rhs, types=(bool, bool))
    check(Fn.EQ, lhs, rhs, types=(bool, bool))
    check(Fn.Not, lhs, types=(bool,))
    check(Fn.IsNull, lhs, types=(bool,))


def test_comparison_of_two_comparisons():
    node = Fn.EQ(Fn.LT(qm.Value(1), qm.Value(2)), Fn.GT(qm.Value(1), qm.Value(2)))
    assert run(node) is False


def test_case_on_a_boolean_value():
    node = qm.Case(qm.FrozenDict({qm.Value(True): qm.Value(1)}), default=qm.Value(2))
    assert run(node) == 1
    node = qm.Case(qm.FrozenDict({NULLS[bool]: qm.Value(1)}), default=qm.Value(2))
    assert run(node) == 2


def test_large_integers_do_not_overflow_32_bits():
    check(Fn.Add, 2_000_000_000, 2_000_000_000)
    check(Fn.Multiply, 3_000_000, 3_000_000)


def test_large_in_list_goes_through_a_session_table():
    values = frozenset(range(DIALECT.max_in_list_size + 5))
    assert run(Fn.In(qm.Value(7), qm.Value(values))) is True
    assert run(Fn.In(qm.Value(-7), qm.Value(values))) is False


# -- T-SQL fragments -----------------------------------------------------------


def test_session_tables_are_hash_named_typed_and_collated():
    inline = qm.InlinePatientTable(
        rows=((1, "a", True),), schema=TableSchema(s=Column(str), b=Column(bool))
    )
    statements = compiled(qm.SelectColumn(inline, "s")).all_statements()
    create = next(s for s in statements if s.startswith("CREATE TABLE #inline_"))
    assert "s VARCHAR(max) COLLATE Latin1_General_CI_AS" in create
    assert "b BIT" in create
    assert any(
        s.startswith("INSERT INTO #inline_") and "CAST(1 AS BIT)" in s
        for s in statements
    )
    assert any(s.startswith("DROP TABLE IF EXISTS #population_") for s in statements)
    assert not any("TEMPORARY" in s for s in statements)
    # T-SQL binds a column qualified by `population_1` only to a FROM item of that name.
    select = compiled(qm.SelectColumn(inline, "s")).select
    assert re.search(r"FROM #population_(\d+) AS population_\1\b", select)


def test_filled_session_table_puts_ctes_before_insert():
    events = qm.SelectTable("events", TableSchema(x=Column(int)))
    rows = qm.Filter(events, Fn.GT(qm.SelectColumn(events, "x"), qm.Value(1)))
    population = qm.AggregateByPatient.Exists(rows)
    dataset = qm.Dataset(
        population=population,
        variables=qm.FrozenDict({"v": qm.AggregateByPatient.Count(rows)}),
    )
    setup = compile_dataset(dataset, DIALECT, default_table).setup
    insert = next(s for s in setup if "INSERT INTO #" in s)
    assert insert.startswith("WITH ")
    sqlglot.parse_one(insert, read="tsql")


def test_inserts_are_batched_at_a_thousand_rows():
    rows = [(i,) for i in range(2500)]
    table = sa.Table("values_1", sa.MetaData(), sa.Column("value", sa.BigInteger()))
    statements = DIALECT.create_temp_table_from_rows(table, rows)
    assert [s.count("),") + 1 for s in statements[1:]] == [1000, 1000, 500]


def test_predicates_are_never_selected_as_values():
    select = compiled(Fn.GT(qm.Value(2), qm.Value(1))).select
    assert "CASE WHEN" in select and "THEN CAST(1 AS BIT)" in select


def test_bit_values_are_compared_with_one_where_a_condition_is_needed():
    patients = qm.SelectPatientTable("p", TableSchema(b=Column(bool)))
    dataset = qm.Dataset(
        population=qm.SelectColumn(patients, "b"),
        variables=qm.FrozenDict({"v": qm.Value(1)}),
    )
    setup = "\n".join(compile_dataset(dataset, DIALECT, default_table).setup)
    assert "WHERE (p.b) = 1" in setup


def test_between_bounds_stay_values():
    sql = DIALECT.render(sa.select(sa.column("x").between(1, 2)))
    assert "BETWEEN 1 AND 2" in sql


def test_no_nulls_first_in_tsql():
    events = qm.SelectTable("events", TableSchema(x=Column(int)))
    for position in qm.Position:
        pick = qm.PickOneRowPerPatient(
            qm.Sort(events, qm.SelectColumn(events, "x")), position
        )
        sql = "\n".join(compiled(qm.SelectColumn(pick, "x")).all_statements())
        assert "NULLS" not in sql
        assert "ROW_NUMBER() OVER" in sql or "max(" in sql or "min(" in sql


def test_null_ordering_that_tsql_lacks_is_spelt_out():
    sql = DIALECT.render(
        sa.select(sa.column("x")).order_by(sa.column("x").desc().nulls_first())
    )
    assert "ORDER BY CASE WHEN (x IS NULL) THEN 0 ELSE 1 END, x DESC" in sql


def test_date_arithmetic_uses_dateadd_behind_a_range_guard():
    sql = compiled(
        Fn.DateAddMonths(qm.Value(datetime.date(2021, 1, 31)), qm.Value(1))
    ).select
    assert "dateadd(month" in sql
    # The out-of-range tests come before any DATEADD.
    assert sql.index("BETWEEN") < sql.index("dateadd(")


def test_greatest_is_a_values_subquery():
    sql = compiled(Fn.MaximumOf((qm.Value(1), qm.Value(2)))).select
    assert (
        "(SELECT MAX(v) FROM (VALUES (CAST(1 AS BIGINT)), (CAST(2 AS BIGINT))) AS extremum_values(v))"
        in sql
    )


def test_contains_uses_charindex_under_a_binary_collation():
    sql = compiled(Fn.StringContains(qm.Value("abc"), qm.Value("b"))).select
    assert (
        "charindex('b' COLLATE Latin1_General_BIN2, 'abc' COLLATE Latin1_General_BIN2)"
        in sql
    )


def test_non_ascii_text_is_national():
    assert DIALECT.render(DIALECT.literal("café")) == "N'café'"
    assert DIALECT.render(DIALECT.literal("it's")) == "'it''s'"


def test_predicate_classification():
    x = sa.column("x")
    assert (
        is_predicate(x == 1)
        and is_predicate(sa.and_(x == 1, x == 2))
        and is_predicate(~(x == 1))
    )
    assert (
        not is_predicate(x)
        and not is_predicate(x + 1)
        and not is_predicate(sa.func.f(x))
    )
    assert as_value(x) is x and as_predicate(x == 1) is not None


# -- the engine ----------------------------------------------------------------


def test_dsn_becomes_a_pyodbc_url():
    url = sqlalchemy_url(
        "mssql://user:p%40ss@db.example:1433/TPP?TrustServerCertificate=yes"
    )
    assert url.drivername == "mssql+pyodbc"
    assert (url.username, url.password, url.host, url.port, url.database) == (
        "user",
        "p@ss",
        "db.example",
        1433,
        "TPP",
    )
    assert url.query == {
        "TrustServerCertificate": "yes",
        "driver": "ODBC Driver 18 for SQL Server",
    }


def test_other_schemes_are_refused():
    with pytest.raises(ValueError):
        sqlalchemy_url("postgresql://h/db")


def test_queries_need_no_server_and_exclude_type_1_opt_outs():
    backend = get_backend("tpp")
    patients = backend_table("patients")
    dataset = qm.Dataset(
        population=qm.AggregateByPatient.Exists(patients),
        variables=qm.FrozenDict({"v": qm.SelectColumn(patients, "sex")}),
    )
    without = MSSQLQueryEngine("mssql://u:p@nowhere:1/db", backend=backend).get_queries(
        dataset
    )
    assert "PatientsWithTypeOneDissent" in "\n".join(without)
    granted = MSSQLQueryEngine(
        "mssql://u:p@nowhere:1/db?opensafely_include_t1oo=true", backend=backend
    )
    assert "PatientsWithTypeOneDissent" not in "\n".join(granted.get_queries(dataset))
    for statement in without:
        sqlglot.parse_one(statement, read="tsql")


def backend_table(name: str) -> qm.SelectPatientTable:
    import ehrql.tables.core

    return getattr(ehrql.tables.core, name)._qm_node


def test_registered_as_mssql():
    from ehrql.query_engines import get_engine_class

    assert get_engine_class("mssql") is MSSQLQueryEngine


# -- aggregates over BIT, and text compared exactly ------------------------------

EVENTS = qm.SelectTable(
    "events", TableSchema(b=Column(bool), s=Column(str), i=Column(int))
)


def event_dataset(series: qm.Series) -> qm.Dataset:
    return qm.Dataset(
        population=qm.AggregateByPatient.Exists(EVENTS),
        variables=qm.FrozenDict({"v": series}),
    )


def dataset_sql(series: qm.Series) -> str:
    statements = compile_dataset(
        event_dataset(series), DIALECT, default_table
    ).all_statements()
    for statement in statements:
        sqlglot.parse_one(statement, read="tsql")
    return "\n".join(statements)


@pytest.mark.parametrize("position", [qm.Position.FIRST, qm.Position.LAST])
def test_min_and_max_of_a_bit_go_through_an_integer(position):
    # Only the sort key is read, so the pick is a MIN or MAX of the BIT column,
    # which SQL Server refuses: it must be aggregated as an integer.
    picked = qm.PickOneRowPerPatient(
        qm.Sort(EVENTS, qm.SelectColumn(EVENTS, "b")), position
    )
    sql = dataset_sql(qm.SelectColumn(picked, "b"))
    function = "max" if position is qm.Position.LAST else "min"
    assert f"CAST({function}(CAST(events.b AS INTEGER)) AS BIT)" in sql
    assert f"{function}(events.b)" not in sql


def test_boolean_aggregate_hook_leaves_other_types_alone():
    column = sa.column("x")
    assert (
        str(
            DIALECT.maximum_aggregate(column, int).compile(
                dialect=DIALECT.sqlalchemy_dialect
            )
        )
        == "max(x)"
    )
    bit = DIALECT.minimum_aggregate(column, bool).compile(
        dialect=DIALECT.sqlalchemy_dialect
    )
    assert str(bit) == "CAST(min(CAST(x AS INTEGER)) AS BIT)"


@pytest.mark.parametrize(
    "series",
    [
        Fn.EQ(qm.SelectColumn(EVENTS, "s"), qm.Value("A")),
        Fn.LT(qm.SelectColumn(EVENTS, "s"), qm.Value("A")),
        Fn.In(qm.SelectColumn(EVENTS, "s"), qm.Value(frozenset({"A", "b"}))),
    ],
    ids=["eq", "lt", "in"],
)
def test_text_is_compared_under_a_binary_collation(series):
    sql = dataset_sql(qm.AggregateByPatient.Exists(qm.Filter(EVENTS, series)))
    assert "events.s COLLATE Latin1_General_BIN2" in sql


def test_text_aggregates_and_sorts_use_a_binary_collation():
    s = qm.SelectColumn(EVENTS, "s")
    assert "max(events.s COLLATE Latin1_General_BIN2)" in dataset_sql(
        qm.AggregateByPatient.Max(s)
    )
    assert "count(DISTINCT (events.s COLLATE Latin1_General_BIN2))" in dataset_sql(
        qm.AggregateByPatient.CountDistinct(s)
    )
    picked = qm.PickOneRowPerPatient(qm.Sort(EVENTS, s), qm.Position.FIRST)
    assert "ORDER BY events.s COLLATE Latin1_General_BIN2 ASC" in dataset_sql(
        qm.SelectColumn(picked, "i")
    )


def test_null_text_is_not_collated():
    # COLLATE on an untyped NULL is an error in T-SQL; a comparison with null is null anyway.
    assert DIALECT.comparable(sa.null(), str) is not None
    assert "COLLATE" not in str(
        DIALECT.comparable(sa.null(), str).compile(dialect=DIALECT.sqlalchemy_dialect)
    )


@pytest.mark.parametrize(
    "series,index_friendly",
    [
        (Fn.EQ(qm.SelectColumn(EVENTS, "s"), qm.Value("A")), "(events.s = 'A') AND"),
        (
            Fn.In(qm.SelectColumn(EVENTS, "s"), qm.Value(frozenset({"A", "b"}))),
            "(events.s IN ('A', 'b')) AND",
        ),
    ],
    ids=["eq", "in"],
)
def test_text_equality_also_tests_the_bare_column_so_an_index_can_be_used(
    series, index_friendly
):
    # The bare test (under the column's own collation) is what SQL Server can
    # seek an index with; the collated one then decides.
    assert index_friendly in dataset_sql(
        qm.AggregateByPatient.Exists(qm.Filter(EVENTS, series))
    )


@pytest.mark.parametrize("lhs", ["a", "A", None])
def test_text_equality_and_membership_keep_their_meaning(lhs):
    check(Fn.EQ, lhs, "a", types=(str, str))
    check(Fn.NE, lhs, "a", types=(str, str))
    node = Fn.In(constant(lhs, str), qm.Value(frozenset({"a", "b"})))
    assert run(node) == apply_function(node, lhs, frozenset({"a", "b"}))
    assert run(Fn.Not(node)) == apply_function(
        Fn.Not(node), apply_function(node, lhs, frozenset({"a", "b"}))
    )


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
