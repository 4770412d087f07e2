from tests.spec.tables import p

title = "Comparing integers"

table_data = {
    p: """
      |  i1 |  i2
    --+-----+-----
    1 | 101 | 111
    2 |  -1 |  -1
    3 |   5 |   2
    4 |     |   2
    5 |   5 |
    """,
}


def test_equal(spec_test):
    """A null on either side gives null."""
    spec_test(table_data, p.i1 == p.i2, {1: False, 2: True, 3: False, 4: None, 5: None})


def test_not_equal(spec_test):
    """!= is null where == is null."""
    spec_test(table_data, p.i1 != p.i2, {1: True, 2: False, 3: True, 4: None, 5: None})


def test_less_than(spec_test):
    """<"""
    spec_test(table_data, p.i1 < p.i2, {1: True, 2: False, 3: False, 4: None, 5: None})


def test_less_than_or_equal(spec_test):
    """<="""
    spec_test(table_data, p.i1 <= p.i2, {1: True, 2: True, 3: False, 4: None, 5: None})


def test_greater_than(spec_test):
    """>"""
    spec_test(table_data, p.i1 > p.i2, {1: False, 2: False, 3: True, 4: None, 5: None})


def test_greater_than_or_equal(spec_test):
    """>="""
    spec_test(table_data, p.i1 >= p.i2, {1: False, 2: True, 3: True, 4: None, 5: None})


def test_comparison_with_a_constant(spec_test):
    """The constant can be on either side."""
    spec_test(table_data, 5 <= p.i1, {1: True, 2: False, 3: True, 4: None, 5: True})


def test_comparison_with_a_float(spec_test):
    """An int compared with a float is compared as a float: 5 < 5.5."""
    spec_test(table_data, p.i1 < 5.5, {1: False, 2: True, 3: True, 4: None, 5: True})


def test_equality_with_an_equal_float(spec_test):
    """5 == 5.0, as in Python."""
    spec_test(table_data, p.i1 == 5.0, {1: False, 2: False, 3: True, 4: None, 5: True})
