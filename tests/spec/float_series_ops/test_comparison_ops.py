from tests.spec.tables import p

title = "Comparing floats"

table_data = {
    p: """
      |   f1  |  f2  | i1
    --+-------+------+----
    1 | 101.5 |  2.0 | 101
    2 | -1.25 | -1.25|  -1
    3 |   3.0 |  4.0 |   3
    4 |       |  1.0 |   1
    """,
}


def test_greater_than(spec_test):
    """A null on either side gives null."""
    spec_test(table_data, p.f1 > p.f2, {1: True, 2: False, 3: False, 4: None})


def test_equal(spec_test):
    """Floats that are exactly equal."""
    spec_test(table_data, p.f1 == p.f2, {1: False, 2: True, 3: False, 4: None})


def test_comparing_with_an_int_constant(spec_test):
    """3.0 equals 3."""
    spec_test(table_data, p.f1 == 3, {1: False, 2: False, 3: True, 4: None})


def test_comparing_with_an_int_series(spec_test):
    """An int series is compared as floats: -1.25 < -1, and 3.0 <= 3."""
    spec_test(table_data, p.f1 <= p.i1, {1: False, 2: True, 3: True, 4: None})
