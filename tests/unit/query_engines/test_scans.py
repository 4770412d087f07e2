"""Aggregations over different filters of one table, computed in one scan (`scans.plan_scans`).

Each engine's answers are compared with the in-memory engine's, on rows with
nulls everywhere, codes in several sets, and patients with no rows or none
that any filter keeps.
"""

from __future__ import annotations

import datetime

import pytest

from ehrql.query_engines.base_sql import compile_dataset, default_table
from ehrql.query_engines.duckdb import DuckDBDialect
from ehrql.query_engines.scans import Scan, plan_scans
from ehrql.query_model import nodes as qm
from ehrql.query_model.table_schema import Column, TableSchema
from tests.lib.engines import ENGINES, run_in_memory

Agg = qm.AggregateByPatient
Fn = qm.Function
d = datetime.date

EVENTS = qm.SelectTable(
    "events", TableSchema(code=Column(str), date=Column(d), value=Column(int))
)
PATIENTS = qm.SelectPatientTable("patients", TableSchema(sex=Column(str)))


def coded(frame, *codes):
    return qm.Filter(
        frame, Fn.In(qm.SelectColumn(frame, "code"), qm.Value(frozenset(codes)))
    )


def after(frame, date):
    return qm.Filter(frame, Fn.GT(qm.SelectColumn(frame, "date"), qm.Value(date)))


def first_date(frame):
    pick = qm.PickOneRowPerPatient(
        qm.Sort(frame, qm.SelectColumn(frame, "date")), qm.Position.FIRST
    )
    return qm.SelectColumn(pick, "date")


RECENT = after(EVENTS, d(2020, 1, 1))
#: Many codes, so that the set is a temporary table, not an IN list.
MANY = [f"M{i}" for i in range(200)]

VARIABLES = {
    "has_ab": Agg.Exists(coded(RECENT, "A", "B")),
    "count_bc": Agg.Count(coded(RECENT, "B", "C")),
    "count_a_later": Agg.Count(after(coded(RECENT, "A"), d(2021, 1, 1))),
    "sum_c": Agg.Sum(qm.SelectColumn(coded(RECENT, "C"), "value")),
    "mean_many": Agg.Mean(qm.SelectColumn(coded(RECENT, *MANY, "A"), "value")),
    "first_ab": first_date(coded(RECENT, "A", "B")),
    "max_later": Agg.Max(qm.SelectColumn(after(RECENT, d(2021, 6, 1)), "value")),
    "distinct_ac": Agg.CountDistinct(qm.SelectColumn(coded(RECENT, "A", "C"), "code")),
    "has_none": Agg.Exists(coded(RECENT, "nobody has this")),
    "has_any_recent": Agg.Exists(RECENT),
    # A condition reading a set of the patient's values is not folded.
    "recent_if_ever_a": Agg.Count(
        qm.Filter(
            RECENT,
            Fn.In(qm.Value("A"), Agg.CombineAsSet(qm.SelectColumn(EVENTS, "code"))),
        )
    ),
}

DATASET = qm.Dataset(
    population=Agg.Exists(PATIENTS), variables=qm.FrozenDict(VARIABLES)
)


def event(patient_id, code, date, value):
    return {"patient_id": patient_id, "code": code, "date": date, "value": value}


TABLE_DATA = {
    PATIENTS: [{"patient_id": i, "sex": "F"} for i in range(1, 7)],
    EVENTS: [
        event(1, "A", d(2021, 3, 1), 1),
        event(1, "A", d(2020, 6, 1), None),
        event(1, "B", d(2022, 1, 1), 5),
        event(1, "C", d(2021, 8, 1), 7),
        event(1, "C", d(2021, 9, 1), 7),
        event(1, "M7", d(2021, 9, 1), 10),
        # Before every filter's date: counted by nothing.
        event(2, "A", d(2019, 1, 1), 3),
        event(2, "B", None, 4),
        event(3, None, d(2021, 7, 1), 8),
        event(3, "Z", d(2021, 7, 1), None),
        event(4, "B", d(2020, 2, 1), 2),
        event(4, "A", None, 9),
        event(4, "M199", d(2022, 2, 1), None),
        # Patient 5 has no events; patient 6 only events no filter keeps.
        event(6, "Z", d(2018, 1, 1), 1),
    ],
}


@pytest.mark.parametrize("engine", [e for e in ENGINES if e != "in_memory"])
def test_every_engine_agrees_with_the_in_memory_engine(engine):
    assert ENGINES[engine](TABLE_DATA, DATASET) == run_in_memory(TABLE_DATA, DATASET)


def test_the_table_is_grouped_once_with_one_lookup_of_codes():
    folded = {name: v for name, v in VARIABLES.items() if name != "recent_if_ever_a"}
    ds = qm.Dataset(population=Agg.Exists(PATIENTS), variables=qm.FrozenDict(folded))
    compiled = compile_dataset(ds, DuckDBDialect(), default_table)
    assert compiled.select.count("GROUP BY") == 1
    lookups = [
        s for s in compiled.setup if s.startswith("CREATE TEMPORARY TABLE lookup_")
    ]
    assert len(lookups) == 1


def test_filters_below_the_shared_one_are_the_scans_rows_and_the_rest_conditions():
    count = Agg.Count(coded(RECENT, "A"))
    later = Agg.Count(after(coded(RECENT, "A"), d(2021, 1, 1)))
    plan = plan_scans(
        {
            (coded(RECENT, "A"), False): [count],
            (after(coded(RECENT, "A"), d(2021, 1, 1)), False): [later],
        },
        lambda f: True,
    )
    assert plan[count] is plan[later]
    assert plan[count].rows == coded(RECENT, "A")
    assert plan[count].conditions_of(count) == ()
    assert plan[count].conditions_of(later) == (
        after(coded(RECENT, "A"), d(2021, 1, 1)).condition,
    )


def test_a_filter_that_cannot_be_folded_keeps_its_rows():
    count = Agg.Count(coded(RECENT, "A"))
    other = Agg.Count(coded(RECENT, "B"))
    plan = plan_scans(
        {(coded(RECENT, "A"), False): [count], (coded(RECENT, "B"), False): [other]},
        lambda f: f is not RECENT and f != RECENT,
    )
    assert plan[count] == Scan(
        RECENT,
        (count, other),
        ((coded(RECENT, "A").condition,), (coded(RECENT, "B").condition,)),
    )


def test_aggregations_varying_by_interval_keep_their_own_rows():
    count = Agg.Count(coded(RECENT, "A"))
    other = Agg.Count(coded(RECENT, "B"))
    plan = plan_scans(
        {(coded(RECENT, "A"), True): [count], (coded(RECENT, "B"), True): [other]},
        lambda f: True,
    )
    assert plan[count] != plan[other]
    assert plan[count].rows == coded(RECENT, "A")


def test_filters_over_rows_varying_by_interval_fold_down_to_them():
    # RECENT stands for rows that already vary by interval (the events in it).
    count = Agg.Count(coded(RECENT, "A"))
    other = Agg.Count(coded(RECENT, "B"))
    plan = plan_scans(
        {(coded(RECENT, "A"), True): [count], (coded(RECENT, "B"), True): [other]},
        lambda f: f != RECENT,
        lambda frame: frame == RECENT,
    )
    assert plan[count] == plan[other]
    assert plan[count].rows == RECENT
