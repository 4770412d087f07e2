from tests.spec.tables import p

title = "Comparing strings"

table_data = {
    p: """
      | s1  | s2
    --+-----+-----
    1 | a   | b
    2 | ab  | a
    3 | b   | b
    4 |     | a
    """,
}


def test_less_than(spec_test):
    """Strings are ordered character by character: "a" before "ab" before "b"."""
    spec_test(table_data, p.s1 < p.s2, {1: True, 2: False, 3: False, 4: None})


def test_greater_than_or_equal(spec_test):
    """Equal strings are >= each other."""
    spec_test(table_data, p.s1 >= p.s2, {1: False, 2: True, 3: True, 4: None})


def test_string_comparison_with_a_constant(spec_test):
    """A null string gives null."""
    spec_test(table_data, p.s1 > "a", {1: False, 2: True, 3: True, 4: None})
