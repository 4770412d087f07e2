from tests.spec.tables import p

title = "Powers and absolute values of integers"

table_data = {
    p: """
      |  i1 |  i2
    --+-----+-----
    1 |   2 |  10
    2 | 120 |  -2
    3 |-101 |   3
    4 | -10 |  -1
    5 | -10 |
    6 |     | -10
    7 |   0 |  -2
    8 | -20 |   0
    9 |   0 |   0
    """,
}


def test_power(spec_test):
    """The result is a float, even for two integers (a negative power gives a fraction);
    zero to a negative power is null."""
    spec_test(
        table_data,
        p.i1**p.i2,
        {
            1: 1024.0,
            2: 120**-2,
            3: -1030301.0,
            4: -0.1,
            5: None,
            6: None,
            7: None,
            8: 1.0,
            9: 1.0,
        },
    )


def test_power_of_a_constant(spec_test):
    """Either side may be a constant."""
    spec_test(
        table_data,
        10**p.i2,
        {
            1: 1e10,
            2: 0.01,
            3: 1000.0,
            4: 0.1,
            5: None,
            6: 1e-10,
            7: 0.01,
            8: 1.0,
            9: 1.0,
        },
    )


def test_power_too_large_for_a_float_is_null(spec_test):
    """10 ** 400 has no float value, so it is null; 2 ** 400 has one."""
    spec_test(
        table_data,
        p.i2**400,
        {
            1: None,
            2: 2.0**400,
            3: 3.0**400,
            4: 1.0,
            5: None,
            6: None,
            7: 2.0**400,
            8: 0.0,
            9: 0.0,
        },
    )


def test_absolute(spec_test):
    """Negative values are made positive; null stays null."""
    spec_test(
        table_data,
        p.i1.absolute(),
        {1: 2, 2: 120, 3: 101, 4: 10, 5: 10, 6: None, 7: 0, 8: 20, 9: 0},
    )
