"""Unit tests for the query model: node identity, types, domains, traversal.

The validation rules each have their own test in test_validation_errors.py.
"""

import datetime

import pytest

from ehrql.codes import CTV3Code, SNOMEDCTCode
from ehrql.query_model import nodes as qm
from tests.spec.tables import e, p

# ---------------------------------------------------------------------------
# Constants
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "a, b",
    [
        (1, True),
        (0, False),
        (1, 1.0),
        (frozenset([1]), frozenset([1.0])),
        (frozenset([1]), frozenset([True])),
    ],
)
def test_constants_of_different_types_are_different_nodes(a, b):
    # Python has 1 == 1.0 == True with equal hashes; engines memoise results
    # by node, so ehrQL must not treat these constants as one.
    assert qm.Value(a) != qm.Value(b)
    assert len({qm.Value(a): "a", qm.Value(b): "b"}) == 2


def test_constants_of_the_same_type_and_value_are_equal():
    assert qm.Value(1) == qm.Value(1)
    assert hash(qm.Value(1.5)) == hash(qm.Value(1.5))
    assert qm.Value(SNOMEDCTCode("73211009")) == qm.Value(SNOMEDCTCode("73211009"))
    assert qm.Value(None) == qm.Value(None)


def test_nodes_built_from_constants_of_different_types_differ():
    one = qm.Function.Add(qm.Value(1), qm.Value(1))
    assert one == qm.Function.Add(qm.Value(1), qm.Value(1))
    assert one != qm.Function.Add(qm.Value(1.0), qm.Value(1.0))


def test_codes_of_different_systems_are_different_constants():
    assert qm.Value(frozenset([SNOMEDCTCode("73211009")])).type == qm.Set(SNOMEDCTCode)
    assert qm.Value(CTV3Code("Xa1..")).type is CTV3Code


# ---------------------------------------------------------------------------
# Types
# ---------------------------------------------------------------------------


def col(frame, name):
    return qm.SelectColumn(frame._qm_node, name)


@pytest.mark.parametrize(
    "node, expected",
    [
        (qm.Function.TrueDivide(col(p, "i1"), col(p, "i2")), float),
        (qm.Function.FloorDivide(col(p, "f1"), col(p, "f2")), int),
        (qm.Function.Add(col(p, "f1"), col(p, "f2")), float),
        (qm.Function.Negate(col(p, "i1")), int),
        (qm.Function.CastToInt(col(p, "b1")), int),
        (qm.Function.CastToStr(col(p, "d1")), str),
        (qm.Function.EQ(col(p, "s1"), qm.Value(None)), bool),
        (qm.Function.DateDifferenceInMonths(col(p, "d1"), col(p, "d2")), int),
        (qm.Function.DateAddYears(col(p, "d1"), qm.Value(1)), datetime.date),
        (qm.Function.MaximumOf((col(p, "d1"), col(p, "d2"))), datetime.date),
        (qm.AggregateByPatient.Mean(col(e, "i1")), float),
        (qm.AggregateByPatient.Sum(col(e, "i1")), int),
        (qm.AggregateByPatient.CountDistinct(col(e, "s1")), int),
        (qm.AggregateByPatient.Min(col(e, "c1")), SNOMEDCTCode),
        (qm.Case(qm.FrozenDict({col(p, "b1"): None}), default=qm.Value("x")), str),
        (qm.Value(frozenset()), qm.Set(None)),
    ],
)
def test_node_types(node, expected):
    assert node.type == expected


def test_type_names():
    assert qm.type_name(int) == "integer"
    assert qm.type_name(SNOMEDCTCode) == "snomedct code"
    assert qm.type_name(qm.Set(str)) == "set of string"
    assert qm.a_type_name(int) == "an integer"
    assert qm.a_type_name(datetime.date) == "a date"


def test_bool_constants_are_not_ints():
    assert qm.type_of_value(True) is bool
    assert qm.type_of_value(1) is int
    assert qm.type_of_value(datetime.date(2020, 1, 1)) is datetime.date


# ---------------------------------------------------------------------------
# Domains
# ---------------------------------------------------------------------------


def test_patient_level_series_have_the_patient_domain():
    assert col(p, "i1").domain.is_patient
    assert qm.AggregateByPatient.Sum(col(e, "i1")).domain.is_patient
    assert qm.Value(1).domain.is_patient


def test_event_series_have_their_frames_domain():
    assert qm.Function.Add(col(e, "i1"), qm.Value(1)).domain.source == e._qm_node


def test_sorting_does_not_change_the_domain():
    sorted_ = qm.Sort(e._qm_node, col(e, "i1"))
    assert qm.SelectColumn(sorted_, "i2").domain.source == e._qm_node


def test_combining_a_frame_with_its_filtered_child_gives_the_child():
    filtered = qm.Filter(e._qm_node, col(e, "b1"))
    both = qm.Function.Add(qm.SelectColumn(filtered, "i1"), col(e, "i2"))
    assert both.domain.source == filtered


def test_combining_sibling_filters_is_refused():
    one = qm.Filter(e._qm_node, col(e, "b1"))
    two = qm.Filter(e._qm_node, col(e, "b2"))
    with pytest.raises(qm.DomainMismatchError):
        qm.Function.Add(qm.SelectColumn(one, "i1"), qm.SelectColumn(two, "i1"))


# ---------------------------------------------------------------------------
# Sorting
# ---------------------------------------------------------------------------


def test_sort_keys_are_most_significant_first():
    a, b = col(e, "i1"), col(e, "i2")
    frame = qm.Sort(qm.Filter(qm.Sort(e._qm_node, b), col(e, "b1")), a)
    assert qm.sort_keys(frame) == (a, b)


def test_the_dsl_sorts_by_its_first_argument_first():
    frame = e.sort_by(e.i1, e.i2)._qm_node
    assert qm.sort_keys(frame) == (e.i1._qm_node, e.i2._qm_node)


# ---------------------------------------------------------------------------
# Nodes as values
# ---------------------------------------------------------------------------


def test_nodes_are_hashable_and_compare_by_value():
    assert col(p, "i1") == col(p, "i1")
    assert hash(qm.Function.Add(col(p, "i1"), qm.Value(1))) == hash(
        qm.Function.Add(col(p, "i1"), qm.Value(1))
    )


def test_nodes_are_immutable():
    node = qm.Value(1)
    with pytest.raises(AttributeError):
        node.value = 2


def test_frozen_dict_keeps_order_and_compares_by_items():
    a = qm.FrozenDict({"x": 1, "y": 2})
    assert list(a) == ["x", "y"]
    assert a == qm.FrozenDict({"x": 1, "y": 2})
    assert a != qm.FrozenDict({"y": 2, "x": 1})
    assert hash(a) == hash(qm.FrozenDict({"x": 1, "y": 2}))


def test_all_nodes_lists_children_before_parents_once_each():
    i1 = col(p, "i1")
    root = qm.Function.Add(i1, i1)
    nodes = qm.all_nodes(root)
    assert nodes[-1] == root
    assert nodes.count(i1) == 1
    assert nodes.index(p._qm_node) < nodes.index(i1)


def test_get_table_nodes():
    series = qm.Function.Add(col(p, "i1"), qm.AggregateByPatient.Sum(col(e, "i1")))
    assert qm.get_table_nodes(series) == {p._qm_node, e._qm_node}


def test_columns_read_names_each_column_with_its_root_table():
    filtered = qm.Filter(e._qm_node, col(e, "b1"))
    picked = qm.AggregateByPatient.Sum(qm.SelectColumn(filtered, "i1"))
    series = qm.Function.Add(col(p, "i1"), picked)
    assert qm.columns_read(series) == {
        (p._qm_node, "i1"),
        (e._qm_node, "i1"),
        (e._qm_node, "b1"),
    }


def test_filter_and_sort_keep_their_sources_schema():
    filtered = qm.Filter(e._qm_node, col(e, "b1"))
    assert filtered.schema == e._qm_node.schema
    assert qm.Sort(filtered, col(e, "i1")).schema == e._qm_node.schema


# ---------------------------------------------------------------------------
# What a patient with no records gets, for the population check
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "series, expected",
    [
        (e.exists_for_patient(), False),
        (~e.exists_for_patient(), True),
        (e.count_for_patient(), 0),
        (e.i1.sum_for_patient(), None),
        (p.i1 > 0, None),
        (p.i1.is_null(), True),
        (p.exists_for_patient() | True, True),
        (p.b1 & False, False),
    ],
)
def test_value_for_patient_with_no_records(series, expected):
    from ehrql.query_model.semantics import value_for_patient_with_no_records

    assert value_for_patient_with_no_records(series._qm_node) is expected


def test_value_for_patient_with_no_records_is_unknown_for_parameters():
    from ehrql.query_model.semantics import UNKNOWN, value_for_patient_with_no_records

    node = qm.Function.Or(qm.Parameter("x", bool), qm.Value(False))
    assert value_for_patient_with_no_records(node) is UNKNOWN
