"""Disagreements the generative tests found, kept as plain tests.

Each test is a shrunk counterexample from test_engines_agree.py, run on every
engine against the result the semantics define. Where the bug is in code
these tests do not own, the engines that have it are marked xfail (strict, so
the marker is noticed and removed once the bug is fixed) with the reason, and
known_issues.py keeps the generative test from tripping over it meanwhile.
"""

from __future__ import annotations

import pytest

from ehrql.query_model import nodes as qm
from tests.generative.compare import describe_difference, rows_match
from tests.generative.schemas import patients
from tests.lib.engines import ENGINES

Fn = qm.Function
Agg = qm.AggregateByPatient


def on_every_engine(xfail: dict[str, str] | None = None):
    """Run the test once per engine, as xfail on the engines named in `xfail`
    (engine name -> reason)."""
    xfail = xfail or {}
    params = [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=xfail[name]))
        if name in xfail
        else name
        for name in ENGINES
    ]
    return pytest.mark.parametrize("engine_name", params)


def check(engine_name, data, dataset, expected):
    actual = ENGINES[engine_name](data, dataset)
    assert rows_match(expected, actual), describe_difference(expected, actual)


def patient_dataset(**variables) -> qm.Dataset:
    """Variables for every patient in the patients table."""
    return qm.Dataset(
        population=Agg.Exists(patients), variables=qm.FrozenDict(variables)
    )


def column(name: str) -> qm.SelectColumn:
    return qm.SelectColumn(patients, name)


# Found with both engines returning False for Value(0) and 2.0 for
# Value(1) + Value(1): Value compared by Python value, so 0 == False and
# 1 == 1.0 made them one node to every memo; fixed in the query model since.
@on_every_engine()
def test_constants_of_different_types_are_different_nodes(engine_name):
    dataset = patient_dataset(
        flag=qm.Value(False),
        number=qm.Value(0),
        ratio=qm.Value(1.0),
        total=Fn.Add(qm.Value(1), qm.Value(1)),
    )
    check(
        engine_name, {patients: [{"patient_id": 4}]}, dataset, [(4, False, 0, 1.0, 2)]
    )


# Found with DuckDB's compiler writing `b1 = s1 IS NULL`, which SQL reads as
# `(b1 = s1) IS NULL`; fixed in the engine since.
@on_every_engine()
def test_comparing_with_is_null_keeps_its_operands_together(engine_name):
    dataset = patient_dataset(
        same=Fn.EQ(column("b1"), Fn.IsNull(column("s1"))),
        different=Fn.NE(Fn.IsNull(column("s1")), column("b1")),
    )
    data = {
        patients: [
            {"patient_id": 1},
            {"patient_id": 2, "b1": True, "s1": "a"},
            {"patient_id": 3, "b1": True},
        ]
    }
    check(
        engine_name,
        data,
        dataset,
        [(1, None, None), (2, False, True), (3, True, False)],
    )
