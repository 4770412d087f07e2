from tests.spec.tables import p

title = "Replacing values by others: map_values()"

table_data = {
    p: """
      |  i1 | s1
    --+-----+----
    1 |   1 | a
    2 |   2 | b
    3 |   3 | c
    4 |     |
    """,
}


def test_map_values(spec_test):
    """Values not in the mapping, and null values, become null."""
    spec_test(
        table_data,
        p.i1.map_values({1: "one", 2: "two"}),
        {1: "one", 2: "two", 3: None, 4: None},
    )


def test_map_values_with_a_default(spec_test):
    """Values not in the mapping, and null values, get the default."""
    spec_test(
        table_data,
        p.s1.map_values({"a": 10, "b": 20}, default=0),
        {1: 10, 2: 20, 3: 0, 4: 0},
    )


def test_map_values_to_booleans(spec_test):
    """The new values may be of any type."""
    spec_test(
        table_data,
        p.s1.map_values({"a": True, "c": False}),
        {1: True, 2: None, 3: False, 4: None},
    )
