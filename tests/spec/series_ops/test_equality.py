from tests.spec.tables import p

title = "Testing for equality: == and !="

table_data = {
    p: """
      |  i1 |  i2 | s1 | s2 | b1 | b2
    --+-----+-----+----+----+----+----
    1 | 101 | 101 | a  | a  | T  | T
    2 | 201 | 202 | a  | A  | T  | F
    3 | 301 |     | c  |    |    |
    4 |     |     |    |    |    |
    """,
}


def test_equal_ints(spec_test):
    """Null is not equal to anything, not even null: the result is null."""
    spec_test(table_data, p.i1 == p.i2, {1: True, 2: False, 3: None, 4: None})


def test_not_equal_ints(spec_test):
    """!= is null wherever == is."""
    spec_test(table_data, p.i1 != p.i2, {1: False, 2: True, 3: None, 4: None})


def test_equal_strings_are_case_sensitive(spec_test):
    """ "a" and "A" are different."""
    spec_test(table_data, p.s1 == p.s2, {1: True, 2: False, 3: None, 4: None})


def test_equal_booleans(spec_test):
    """Booleans compare like any other value."""
    spec_test(table_data, p.b1 == p.b2, {1: True, 2: False, 3: None, 4: None})


def test_equal_to_a_constant(spec_test):
    """The constant can be on either side."""
    spec_test(table_data, "a" == p.s1, {1: True, 2: True, 3: False, 4: None})
