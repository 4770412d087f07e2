from tests.spec.tables import p

title = "Arithmetic on integers"

table_data = {
    p: """
      |  i1 |  i2
    --+-----+-----
    1 | 101 | 111
    2 |  -1 |   2
    3 |  -7 |   2
    4 |     | 201
    5 |   5 |   0
    6 |   7 |  -2
    """,
}


def test_add(spec_test):
    """A null on either side gives null."""
    spec_test(table_data, p.i1 + p.i2, {1: 212, 2: 1, 3: -5, 4: None, 5: 5, 6: 5})


def test_subtract(spec_test):
    """Subtraction."""
    spec_test(table_data, p.i1 - p.i2, {1: -10, 2: -3, 3: -9, 4: None, 5: 5, 6: 9})


def test_multiply(spec_test):
    """Multiplication."""
    spec_test(table_data, p.i1 * p.i2, {1: 11211, 2: -2, 3: -14, 4: None, 5: 0, 6: -14})


def test_negate(spec_test):
    """Unary minus."""
    spec_test(table_data, -p.i1, {1: -101, 2: 1, 3: 7, 4: None, 5: -5, 6: -7})


def test_arithmetic_with_constants_on_either_side(spec_test):
    """Constants can be on the left or the right."""
    spec_test(table_data, 3 * p.i1 - 1, {1: 302, 2: -4, 3: -22, 4: None, 5: 14, 6: 20})


def test_adding_a_float_gives_a_float(spec_test):
    """Mixing an int with a float computes in floats, as Python does."""
    spec_test(
        table_data, p.i1 + 0.5, {1: 101.5, 2: -0.5, 3: -6.5, 4: None, 5: 5.5, 6: 7.5}
    )


def test_multiplying_by_a_float_gives_a_float(spec_test):
    """The float can be on either side."""
    spec_test(
        table_data, 1.5 * p.i1, {1: 151.5, 2: -1.5, 3: -10.5, 4: None, 5: 7.5, 6: 10.5}
    )
