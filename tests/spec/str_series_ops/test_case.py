from tests.spec.tables import e, p

title = "Upper and lower case letters are different characters"

table_data = {
    p: """
      | s1  | s2
    --+-----+-----
    1 | a   | A
    2 | B   | a
    3 | abc | abc
    """,
    e: """
      |  i1 | s1
    --+-----+-----
    1 |   1 | a
    1 |   2 | A
    1 |   3 | B
    2 |   4 | b
    """,
}


def test_equality_is_case_sensitive(spec_test):
    """ "a" and "A" are different strings, whatever a database's collation says."""
    spec_test(table_data, p.s1 == p.s2, {1: False, 2: False, 3: True})


def test_comparing_with_a_constant_is_case_sensitive(spec_test):
    """A constant matches only text with the same case."""
    spec_test(table_data, p.s1 == "ABC", {1: False, 2: False, 3: False})


def test_is_in_is_case_sensitive(spec_test):
    """is_in() matches only values with the same case."""
    spec_test(table_data, p.s1.is_in(["A", "b"]), {1: False, 2: False, 3: False})


def test_upper_case_sorts_before_lower_case(spec_test):
    """Strings are ordered by character code, and every upper case letter comes before every lower case one."""
    spec_test(table_data, p.s1 < p.s2, {1: False, 2: True, 3: False})


def test_maximum_and_minimum_follow_character_codes(spec_test):
    """The largest of "a", "A" and "B" is "a"."""
    spec_test(table_data, e.s1.maximum_for_patient(), {1: "a", 2: "b", 3: None})


def test_minimum_follows_character_codes(spec_test):
    """The smallest of "a", "A" and "B" is "A"."""
    spec_test(table_data, e.s1.minimum_for_patient(), {1: "A", 2: "b", 3: None})


def test_count_distinct_counts_each_case(spec_test):
    """ "a" and "A" are two distinct values."""
    spec_test(table_data, e.s1.count_distinct_for_patient(), {1: 3, 2: 1, 3: 0})


def test_sorting_follows_character_codes(spec_test):
    """Sorted by a string, "A" comes first and "a" last."""
    spec_test(table_data, e.sort_by(e.s1).first_for_patient().i1, {1: 2, 2: 4, 3: None})
    spec_test(table_data, e.sort_by(e.s1).last_for_patient().i1, {1: 1, 2: 4, 3: None})
