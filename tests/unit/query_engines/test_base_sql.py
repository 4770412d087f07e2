"""The shape of what the SQL compiler emits (its results are tested by the spec tests)."""

from __future__ import annotations

import datetime

import pytest

from ehrql.query_engines import get_engine_class
from ehrql.query_engines.base_sql import (
    UnfilledParameterError,
    compile_dataset,
    default_table,
)
from ehrql.query_engines.duckdb import DuckDBDialect, DuckDBQueryEngine
from ehrql.query_model import nodes as qm
from ehrql.query_model.table_schema import Column, TableSchema

EVENTS = qm.SelectTable(
    "events", TableSchema(date=Column(datetime.date), value=Column(int))
)
PATIENTS = qm.SelectPatientTable("patients", TableSchema(sex=Column(str)))
Agg = qm.AggregateByPatient
Fn = qm.Function


def dataset(**variables) -> qm.Dataset:
    return qm.Dataset(
        population=Agg.Exists(PATIENTS), variables=qm.FrozenDict(variables)
    )


def compile_(ds):
    return compile_dataset(ds, DuckDBDialect(), default_table)


def test_a_frame_used_by_several_variables_is_computed_once():
    latest = qm.PickOneRowPerPatient(
        qm.Sort(EVENTS, qm.SelectColumn(EVENTS, "date")), qm.Position.LAST
    )
    compiled = compile_(
        dataset(
            date=qm.SelectColumn(latest, "date"),
            value=qm.SelectColumn(latest, "value"),
            doubled=Fn.Add(
                qm.SelectColumn(latest, "value"), qm.SelectColumn(latest, "value")
            ),
        )
    )
    assert compiled.select.count("arg_max(") == 1


def test_population_is_a_temporary_table_that_is_dropped():
    compiled = compile_(dataset(sex=qm.SelectColumn(PATIENTS, "sex")))
    assert len(compiled.setup) == 1 and compiled.setup[0].startswith(
        "CREATE TEMPORARY TABLE population_"
    )
    assert compiled.cleanup == (
        compiled.setup[0]
        .replace("CREATE TEMPORARY TABLE", "DROP TABLE IF EXISTS")
        .split(" AS ")[0],
    )
    assert compiled.select.rstrip().endswith(
        "ORDER BY " + compiled.setup[0].split()[3] + ".patient_id"
    )


def test_large_sets_go_through_a_temporary_table():
    values = frozenset(range(1000))
    compiled = compile_(
        dataset(
            has=Agg.Exists(
                qm.Filter(
                    EVENTS, Fn.In(qm.SelectColumn(EVENTS, "value"), qm.Value(values))
                )
            )
        )
    )
    assert any(s.startswith("CREATE TEMPORARY TABLE values_") for s in compiled.setup)
    assert "999" not in compiled.select


def test_small_sets_are_written_inline():
    compiled = compile_(
        dataset(
            has=Agg.Exists(
                qm.Filter(
                    EVENTS,
                    Fn.In(
                        qm.SelectColumn(EVENTS, "value"), qm.Value(frozenset({4, 5}))
                    ),
                )
            )
        )
    )
    assert "IN (CAST(4 AS BIGINT), CAST(5 AS BIGINT))" in compiled.select


def test_contains_does_not_use_like():
    ds = dataset(
        has=Fn.StringContains(qm.SelectColumn(PATIENTS, "sex"), qm.Value("%_"))
    )
    assert "LIKE" not in compile_(ds).select.upper()


def test_unfilled_parameters_are_reported_by_name():
    ds = dataset(
        before=Fn.LT(qm.SelectColumn(PATIENTS, "sex"), qm.Parameter("cutoff", str))
    )
    with pytest.raises(UnfilledParameterError, match="cutoff"):
        compile_(ds)


def test_get_queries_lists_every_statement_in_order():
    queries = DuckDBQueryEngine("unused.duckdb").get_queries(
        dataset(sex=qm.SelectColumn(PATIENTS, "sex"))
    )
    assert [q.split()[0] for q in queries] == ["CREATE", "SELECT", "DROP"]


def test_engine_registry():
    assert get_engine_class("duckdb") is DuckDBQueryEngine
    with pytest.raises(ValueError, match="unknown query engine 'nosuch'.*duckdb"):
        get_engine_class("nosuch")


def test_reading_only_the_sort_key_of_a_picked_row_needs_no_pick():
    first = qm.PickOneRowPerPatient(
        qm.Sort(EVENTS, qm.SelectColumn(EVENTS, "date")), qm.Position.FIRST
    )
    compiled = compile_(dataset(first_date=qm.SelectColumn(first, "date")))
    assert "arg_min(" not in compiled.select and "min(events.date)" in compiled.select
    # Once another column is read, the row is picked.
    compiled = compile_(
        dataset(
            first_date=qm.SelectColumn(first, "date"),
            value=qm.SelectColumn(first, "value"),
        )
    )
    assert "arg_min(" in compiled.select


def test_aggregations_over_the_same_rows_share_one_group_by():
    recent = qm.Filter(EVENTS, Fn.GT(qm.SelectColumn(EVENTS, "value"), qm.Value(3)))
    first = qm.PickOneRowPerPatient(
        qm.Sort(recent, qm.SelectColumn(recent, "date")), qm.Position.FIRST
    )
    compiled = compile_(
        dataset(
            has=Agg.Exists(recent),
            count=Agg.Count(recent),
            total=Agg.Sum(qm.SelectColumn(recent, "value")),
            first_date=qm.SelectColumn(first, "date"),
        )
    )
    assert compiled.select.count("GROUP BY") == 1


def test_an_aggregation_reading_another_is_not_grouped_with_it():
    # The sum's value needs the maximum first, so they cannot share a query.
    maximum = Agg.Max(qm.SelectColumn(EVENTS, "value"))
    gap = Agg.Sum(Fn.Subtract(maximum, qm.SelectColumn(EVENTS, "value")))
    compiled = compile_(dataset(maximum=maximum, gap=gap))
    assert compiled.select.count("GROUP BY") == 2


def test_a_population_needing_a_picked_row_is_drawn_from_the_picked_rows():
    from tests.lib.engines import ENGINES, run_in_memory

    latest = qm.PickOneRowPerPatient(
        qm.Sort(EVENTS, qm.SelectColumn(EVENTS, "date")), qm.Position.LAST
    )
    population = Fn.And(
        Fn.Or(
            Agg.Exists(PATIENTS), Fn.GT(qm.SelectColumn(latest, "value"), qm.Value(2))
        ),
        Agg.Exists(latest),
    )
    ds = qm.Dataset(
        population=population,
        variables=qm.FrozenDict({"value": qm.SelectColumn(latest, "value")}),
    )
    setup = compile_(ds).setup
    assert not any("UNION" in s for s in setup)
    data = {
        PATIENTS: [{"patient_id": 1, "sex": "F"}, {"patient_id": 2, "sex": "M"}],
        EVENTS: [
            {"patient_id": 2, "date": datetime.date(2020, 1, 1), "value": 1},
            {"patient_id": 3, "date": datetime.date(2020, 1, 1), "value": 5},
            {"patient_id": 4, "date": datetime.date(2020, 1, 1), "value": 1},
        ],
    }
    assert ENGINES["duckdb"](data, ds) == run_in_memory(data, ds) == [(2, 1), (3, 5)]


def _public_series_classes(namespace) -> list[type]:
    return [
        value
        for name, value in vars(namespace).items()
        if not name.startswith("_")
        and isinstance(value, type)
        and issubclass(value, qm.Series)
    ]


def test_every_node_class_has_a_compiler_handler():
    from ehrql.query_engines.base_sql import _HANDLERS

    # CombineAsSet is only ever the right-hand side of is_in(), which compiles it.
    series = [
        c
        for c in _public_series_classes(Fn) + _public_series_classes(Agg)
        if c is not Agg.CombineAsSet
    ]
    series += [qm.SelectColumn, qm.Value, qm.Parameter, qm.Case]
    frames = [
        qm.SelectTable,
        qm.Filter,
        qm.SelectPatientTable,
        qm.InlinePatientTable,
        qm.PickOneRowPerPatient,
    ]
    grouped = [
        Agg.Sum,
        Agg.Mean,
        Agg.Min,
        Agg.Max,
        Agg.CountDistinct,
        Agg.Count,
        Agg.Exists,
        qm.PickOneRowPerPatient,
    ]
    expected = (
        {("series", c) for c in series}
        | {("frame", c) for c in frames}
        | {("aggregate", c) for c in grouped}
    )
    assert set(_HANDLERS) == expected


def test_a_node_with_no_handler_is_reported_by_name():
    with pytest.raises(
        TypeError, match="cannot compile CombineAsSet nodes as a series"
    ):
        compile_(dataset(v=Agg.CombineAsSet(qm.SelectColumn(EVENTS, "value"))))


def test_every_building_block_the_compiler_names_is_a_dialect_method():
    from ehrql.query_engines.base_sql import _CASTS, _DIALECT_FUNCTIONS
    from ehrql.query_engines.sql_dialect import SQLDialect

    names = {*_DIALECT_FUNCTIONS.values(), *_CASTS.values()}
    assert {n for n in names if not callable(getattr(SQLDialect, n, None))} == set()
