from ehrql import case, when
from tests.spec.tables import e, p

title = "Choosing a value by conditions: case() and when()"

table_data = {
    p: """
      |  i1 |  f1 | b1 | s1
    --+-----+-----+----+----
    1 |   6 | 0.5 | T  | a
    2 |   7 | 1.5 | F  | b
    3 |   9 |     |    | c
    4 |     | 2.5 | T  |
    """,
}


def test_case_with_otherwise(spec_test):
    """Patients matching no condition get the otherwise value."""
    spec_test(
        table_data,
        case(
            when(p.i1 < 7).then("low"),
            when(p.i1 < 9).then("mid"),
            otherwise="high",
        ),
        {1: "low", 2: "mid", 3: "high", 4: "high"},
    )


def test_case_without_otherwise(spec_test):
    """Without otherwise, patients matching no condition get null."""
    spec_test(
        table_data,
        case(when(p.i1 < 7).then("low"), when(p.i1 < 9).then("mid")),
        {1: "low", 2: "mid", 3: None, 4: None},
    )


def test_case_uses_the_first_condition_that_is_true(spec_test):
    """When several conditions are true, the first one written wins."""
    spec_test(
        table_data,
        case(
            when(p.i1 > 5).then(1),
            when(p.i1 > 6).then(2),
            otherwise=0,
        ),
        {1: 1, 2: 1, 3: 1, 4: 0},
    )


def test_case_treats_a_null_condition_as_not_true(spec_test):
    """A condition that is null moves on to the next one, and then to otherwise."""
    spec_test(
        table_data,
        case(
            when(p.b1).then("yes"),
            when(~p.b1).then("no"),
            otherwise="unknown",
        ),
        {1: "yes", 2: "no", 3: "unknown", 4: "yes"},
    )


def test_case_with_series_values(spec_test):
    """The values may be series as well as constants."""
    spec_test(
        table_data,
        case(when(p.b1).then(p.i1), otherwise=p.i1 * 10),
        {1: 6, 2: 70, 3: 90, 4: None},
    )


def test_case_with_a_null_value(spec_test):
    """then(None) gives null where its condition is the first true one."""
    spec_test(
        table_data,
        case(when(p.i1 == 6).then(None), when(p.i1 > 0).then(p.s1)),
        {1: None, 2: "b", 3: "c", 4: None},
    )


def test_case_mixing_int_and_float_values_gives_floats(spec_test):
    """An int value alongside float values is turned into a float."""
    spec_test(
        table_data,
        case(when(p.i1 < 7).then(1), when(p.i1 < 9).then(p.f1), otherwise=2.5),
        {1: 1.0, 2: 1.5, 3: 2.5, 4: 2.5},
    )


def test_when_then_otherwise(spec_test):
    """A single condition can be written as when(...).then(...).otherwise(...)."""
    spec_test(
        table_data,
        when(p.b1).then(p.s1).otherwise("none"),
        {1: "a", 2: "none", 3: "none", 4: None},
    )


def test_case_giving_booleans(spec_test):
    """A case can give booleans, and they can be combined further."""
    spec_test(
        table_data,
        case(when(p.i1 > 8).then(True), when(p.i1 > 6).then(False)) | p.b1,
        {1: True, 2: False, 3: True, 4: True},
    )


def test_case_on_event_rows_then_aggregated(spec_test):
    """A case over an event frame gives one value per row, which can be aggregated."""
    table_data = {
        e: """
          |  i1
        --+-----
        1 |   1
        1 |   5
        1 |
        2 |  10
        """,
    }
    spec_test(
        table_data,
        case(when(e.i1 >= 5).then(100), otherwise=1).sum_for_patient(),
        {1: 102, 2: 100},
    )


def test_case_values_keep_their_type_next_to_equal_constants_of_another_type(spec_test):
    """The constants 1 and True are different values: each keeps its own type."""
    spec_test(
        table_data,
        case(when(p.b1 == True).then(1), when(p.b1 == False).then(0)),  # noqa: E712
        {1: 1, 2: 0, 3: None, 4: 1},
    )
