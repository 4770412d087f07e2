from tests.spec.tables import p

title = "Dividing integers"

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


def test_truedivide_gives_a_float(spec_test):
    """/ gives a float, even between integers; dividing by zero gives null."""
    spec_test(
        table_data,
        p.i1 / p.i2,
        {1: 101 / 111, 2: -0.5, 3: -3.5, 4: None, 5: None, 6: -3.5},
    )


def test_floordivide_rounds_down(spec_test):
    """// rounds towards minus infinity, as in Python: -7 // 2 is -4; dividing by zero gives null."""
    spec_test(table_data, p.i1 // p.i2, {1: 0, 2: -1, 3: -4, 4: None, 5: None, 6: -4})


def test_floordivide_by_a_constant(spec_test):
    """A constant divisor."""
    spec_test(table_data, p.i1 // 2, {1: 50, 2: -1, 3: -4, 4: None, 5: 2, 6: 3})


def test_floordivide_a_constant_by_a_series(spec_test):
    """A constant divided by a series."""
    spec_test(table_data, 10 // p.i1, {1: 0, 2: -10, 3: -2, 4: None, 5: 2, 6: 1})


def test_truedivide_a_constant_by_a_series(spec_test):
    """A constant divided by a series, as a float."""
    spec_test(
        table_data,
        10 / p.i1,
        {1: 10 / 101, 2: -10.0, 3: -10 / 7, 4: None, 5: 2.0, 6: 10 / 7},
    )


def test_truedivide_by_a_zero_constant_gives_null(spec_test):
    """Dividing by the constant 0 gives null for every patient."""
    spec_test(
        table_data, p.i1 / 0, {1: None, 2: None, 3: None, 4: None, 5: None, 6: None}
    )


def test_floordivide_by_a_zero_constant_gives_null(spec_test):
    """// by the constant 0 gives null too."""
    spec_test(
        table_data, p.i1 // 0, {1: None, 2: None, 3: None, 4: None, 5: None, 6: None}
    )
