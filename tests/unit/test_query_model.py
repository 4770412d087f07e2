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
