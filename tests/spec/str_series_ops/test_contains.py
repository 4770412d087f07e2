from tests.spec.tables import e, p

title = "Testing whether strings contain other strings: contains()"

table_data = {
    p: """
      | s1      | s2
    --+---------+-----
    1 | ab12cd  | 12
    2 | AB12CD  | cd
    3 | abc     |
    4 |         | a
    5 | 100%_x  | %
    """,
}


def test_contains_a_constant(spec_test):
    """The match is case-sensitive; a null string gives null."""
    spec_test(
        table_data,
        p.s1.contains("cd"),
        {1: True, 2: False, 3: False, 4: None, 5: False},
    )


def test_contains_a_series(spec_test):
    """The string looked for can be a series; a null on either side gives null."""
    spec_test(
        table_data, p.s1.contains(p.s2), {1: True, 2: False, 3: None, 4: None, 5: True}
    )


def test_contains_characters_that_are_wildcards_in_sql(spec_test):
    """% and _ are ordinary characters, not patterns."""
    spec_test(
        table_data,
        p.s1.contains("%_"),
        {1: False, 2: False, 3: False, 4: None, 5: True},
    )


def test_contains_an_underscore(spec_test):
    """_ matches only an underscore, not any one character."""
    spec_test(
        table_data, p.s1.contains("_"), {1: False, 2: False, 3: False, 4: None, 5: True}
    )


def test_contains_the_empty_string(spec_test):
    """Every string contains the empty string."""
    spec_test(
        table_data, p.s1.contains(""), {1: True, 2: True, 3: True, 4: None, 5: True}
    )


def test_contains_on_event_rows(spec_test):
    """Used to filter rows whose text mentions something."""
    table_data = {
        e: """
          | s1
        --+-----------
        1 | left knee
        1 | right hip
        2 | knee
        3 |
        """,
    }
    spec_test(
        table_data,
        e.where(e.s1.contains("knee")).count_for_patient(),
        {1: 1, 2: 1, 3: 0},
    )
