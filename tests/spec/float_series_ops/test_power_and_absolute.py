from tests.spec.tables import p

title = "Powers and absolute values of floats"

table_data = {
    p: """
      |  f1   |  f2
    --+-------+--------
    1 |   2.5 |  11.5
    2 | 120.4 |  -2.5
    3 |-101.3 |  10.3
    4 | -10.3 |  -1.5
    5 | -10.3 |
    6 |       | -10.3
    7 |   0.0 | -20.3
    8 | -20.3 |   0.0
    9 |  -2.0 |   3.0
    """,
}


def test_power(spec_test):
    """A negative number to a fractional power has no real value: null. So has zero to a negative power."""
    spec_test(
        table_data,
        p.f1**p.f2,
        {
            1: 2.5**11.5,
            2: 120.4**-2.5,
            3: None,
            4: None,
            5: None,
            6: None,
            7: None,
            8: 1.0,
            9: -8.0,
        },
    )


def test_power_with_an_integer_constant(spec_test):
    """An integer constant works as a float."""
    spec_test(
        table_data,
        p.f1**2,
        {
            1: 6.25,
            2: 120.4**2,
            3: 101.3**2,
            4: 10.3**2,
            5: 10.3**2,
            6: None,
            7: 0.0,
            8: 20.3**2,
            9: 4.0,
        },
    )


def test_constant_to_a_power(spec_test):
    """The constant can be the base."""
    spec_test(
        table_data,
        10.0**p.f1,
        {
            1: 10**2.5,
            2: 10**120.4,
            3: 10**-101.3,
            4: 10**-10.3,
            5: 10**-10.3,
            6: None,
            7: 1.0,
            8: 10**-20.3,
            9: 0.01,
        },
    )


def test_absolute(spec_test):
    """Negative values are made positive."""
    spec_test(
        table_data,
        p.f1.absolute(),
        {
            1: 2.5,
            2: 120.4,
            3: 101.3,
            4: 10.3,
            5: 10.3,
            6: None,
            7: 0.0,
            8: 20.3,
            9: 2.0,
        },
    )
