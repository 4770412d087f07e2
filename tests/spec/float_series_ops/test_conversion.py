from tests.spec.tables import p

title = "Converting floats: as_int() and as_float()"

table_data = {
    p: """
      |   f1
    --+-------
    1 |  1.0
    2 | 32.7
    3 |  5.5
    4 | -6.7
    5 | -0.5
    6 |
    """,
}


def test_float_as_int_rounds_towards_zero(spec_test):
    """The fraction is dropped: 32.7 gives 32 and -6.7 gives -6."""
    spec_test(table_data, p.f1.as_int(), {1: 1, 2: 32, 3: 5, 4: -6, 5: 0, 6: None})


def test_float_as_float(spec_test):
    """as_float() on a float series changes nothing."""
    spec_test(
        table_data,
        p.f1.as_float(),
        {1: 1.0, 2: 32.7, 3: 5.5, 4: -6.7, 5: -0.5, 6: None},
    )
