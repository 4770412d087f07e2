from tests.spec.tables import p

title = "Dividing floats"

table_data = {
    p: """
      |   f1  |  f2
    --+-------+------
    1 | 101.5 |  2.0
    2 | -1.25 |  0.5
    3 | -10.5 |  4.0
    4 | -10.5 | -4.0
    5 |       |  1.0
    6 |   3.0 |  0.0
    """,
}


def test_truedivide(spec_test):
    """Dividing by zero gives null."""
    spec_test(
        table_data,
        p.f1 / p.f2,
        {1: 50.75, 2: -2.5, 3: -2.625, 4: 2.625, 5: None, 6: None},
    )


def test_floordivide_gives_an_int_rounded_down(spec_test):
    """// rounds towards minus infinity and gives an int: -10.5 // 4.0 is -3."""
    spec_test(table_data, p.f1 // p.f2, {1: 50, 2: -3, 3: -3, 4: 2, 5: None, 6: None})


def test_truedivide_by_an_int_constant(spec_test):
    """An int divisor is used as a float."""
    spec_test(
        table_data,
        p.f1 / 4,
        {1: 25.375, 2: -0.3125, 3: -2.625, 4: -2.625, 5: None, 6: 0.75},
    )


def test_truedivide_a_constant_by_a_series(spec_test):
    """A constant divided by a series."""
    spec_test(
        table_data, 1.0 / p.f2, {1: 0.5, 2: 2.0, 3: 0.25, 4: -0.25, 5: 1.0, 6: None}
    )


def test_truedivide_by_zero_gives_null(spec_test):
    """Dividing by the constant 0.0 gives null for every patient."""
    spec_test(
        table_data, p.f1 / 0.0, {1: None, 2: None, 3: None, 4: None, 5: None, 6: None}
    )


def test_floordivide_by_zero_gives_null(spec_test):
    """// by 0.0 gives null too."""
    spec_test(
        table_data, p.f1 // 0.0, {1: None, 2: None, 3: None, 4: None, 5: None, 6: None}
    )
