from tests.spec.tables import p

title = "Converting integers: as_float() and as_int()"

table_data = {
    p: """
      |  i1 |  f1
    --+-----+-----
    1 | 101 | 0.5
    2 |  -7 | 1.5
    3 |     | 2.0
    """,
}


def test_int_as_float(spec_test):
    """An int as a float; null stays null."""
    spec_test(table_data, p.i1.as_float(), {1: 101.0, 2: -7.0, 3: None})


def test_int_as_int(spec_test):
    """as_int() on an int series changes nothing."""
    spec_test(table_data, p.i1.as_int(), {1: 101, 2: -7, 3: None})


def test_adding_an_int_series_to_a_float_series(spec_test):
    """An int series and a float series combine as floats."""
    spec_test(table_data, p.i1 + p.f1, {1: 101.5, 2: -5.5, 3: None})
