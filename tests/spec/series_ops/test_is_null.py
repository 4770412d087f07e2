from tests.spec.tables import e, p

title = "Testing for null values: is_null() and is_not_null()"

table_data = {
    p: """
      |  i1 |     d1     | s1 | b1 |    c1
    --+-----+------------+----+----+----------
    1 | 101 | 2020-01-01 | a  | F  | 73211009
    2 |     |            |    |    |
    """,
    e: """
      |  i1
    --+-----
    1 | 101
    1 |
    1 |
    3 |
    """,
}


def test_is_null(spec_test):
    """True where the value is null; never null itself."""
    spec_test(table_data, p.i1.is_null(), {1: False, 2: True, 3: True})


def test_is_not_null(spec_test):
    """True where the value is present; never null itself."""
    spec_test(table_data, p.i1.is_not_null(), {1: True, 2: False, 3: False})


def test_is_null_on_every_type(spec_test):
    """Dates, strings, booleans and codes can all be null; False is not null."""
    spec_test(
        table_data,
        p.d1.is_null() & p.s1.is_null() & p.b1.is_null() & p.c1.is_null(),
        {1: False, 2: True, 3: True},
    )


def test_is_null_on_event_rows(spec_test):
    """Counting the rows whose value is missing."""
    spec_test(
        table_data, e.where(e.i1.is_null()).count_for_patient(), {1: 2, 2: 0, 3: 1}
    )
