from tests.spec.tables import e, p

title = "Testing for membership of a list of values: is_in() and is_not_in()"

table_data = {
    p: """
      |  i1 | s1  |     d1
    --+-----+-----+------------
    1 | 101 | a   | 2020-01-01
    2 | 201 | b   | 2020-02-01
    3 | 301 | abc | 2020-03-01
    4 |     |     |
    """,
}


def test_is_in_with_ints(spec_test):
    """A null value gives null."""
    spec_test(table_data, p.i1.is_in([101, 301]), {1: True, 2: False, 3: True, 4: None})


def test_is_not_in_with_ints(spec_test):
    """The opposite of is_in(); a null value still gives null."""
    spec_test(
        table_data, p.i1.is_not_in([101, 301]), {1: False, 2: True, 3: False, 4: None}
    )


def test_is_in_with_strings(spec_test):
    """Strings must match in full: "a" is not in ["abc"]."""
    spec_test(
        table_data, p.s1.is_in(["abc", "b"]), {1: False, 2: True, 3: True, 4: None}
    )


def test_is_in_with_date_strings(spec_test):
    """Dates can be written as strings."""
    spec_test(
        table_data,
        p.d1.is_in(["2020-01-01", "2020-03-01"]),
        {1: True, 2: False, 3: True, 4: None},
    )


def test_is_in_with_a_set_or_tuple(spec_test):
    """Any collection works: a list, a set, a tuple."""
    spec_test(
        table_data,
        p.i1.is_in({201}) | p.i1.is_in((301,)),
        {1: False, 2: True, 3: True, 4: None},
    )


def test_is_in_an_empty_list(spec_test):
    """Nothing is in an empty list, not even a null value: the result is never null."""
    spec_test(table_data, p.i1.is_in([]), {1: False, 2: False, 3: False, 4: False})


def test_is_not_in_an_empty_list(spec_test):
    """Everything is not in an empty list, a null value too: the result is never null."""
    spec_test(table_data, p.i1.is_not_in([]), {1: True, 2: True, 3: True, 4: True})


def test_is_in_on_event_rows(spec_test):
    """Used in a filter, a row whose value is null is dropped."""
    table_data = {
        e: """
          |  i1
        --+-----
        1 | 101
        1 | 102
        1 |
        2 | 201
        """,
    }
    spec_test(
        table_data, e.where(e.i1.is_not_in([101])).count_for_patient(), {1: 1, 2: 1}
    )
