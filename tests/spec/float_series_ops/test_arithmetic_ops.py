from tests.spec.tables import p

title = "Arithmetic on floats"

table_data = {
    p: """
      |   f1  |  f2  | i1
    --+-------+------+----
    1 | 101.5 |  2.0 |  1
    2 | -1.25 |  0.5 |  2
    3 | -10.5 |  4.0 | -3
    4 | -10.5 | -4.0 |
    5 |       |  1.0 |  5
    6 |   3.0 |  0.0 |  0
    """,
}


def test_add(spec_test):
    """A null on either side gives null."""
    spec_test(
        table_data,
        p.f1 + p.f2,
        {1: 103.5, 2: -0.75, 3: -6.5, 4: -14.5, 5: None, 6: 3.0},
    )


def test_subtract(spec_test):
    """Subtraction."""
    spec_test(
        table_data, p.f1 - p.f2, {1: 99.5, 2: -1.75, 3: -14.5, 4: -6.5, 5: None, 6: 3.0}
    )


def test_multiply(spec_test):
    """Multiplication."""
    spec_test(
        table_data,
        p.f1 * p.f2,
        {1: 203.0, 2: -0.625, 3: -42.0, 4: 42.0, 5: None, 6: 0.0},
    )


def test_negate(spec_test):
    """Unary minus."""
    spec_test(
        table_data, -p.f1, {1: -101.5, 2: 1.25, 3: 10.5, 4: 10.5, 5: None, 6: -3.0}
    )


def test_add_an_int_constant(spec_test):
    """An int constant is used as a float."""
    spec_test(
        table_data, p.f1 + 1, {1: 102.5, 2: -0.25, 3: -9.5, 4: -9.5, 5: None, 6: 4.0}
    )


def test_add_an_int_series(spec_test):
    """An int series is used as a float; a null on either side gives null."""
    spec_test(
        table_data, p.f1 + p.i1, {1: 102.5, 2: 0.75, 3: -13.5, 4: None, 5: None, 6: 3.0}
    )


def test_subtract_from_a_constant(spec_test):
    """The constant can be on the left."""
    spec_test(
        table_data, 1 - p.f1, {1: -100.5, 2: 2.25, 3: 11.5, 4: 11.5, 5: None, 6: -2.0}
    )
