from tests.spec.tables import p

title = "Combining boolean series: & (and), | (or), ~ (not)"

# Every pair of True, False and null, as SQL's three-valued logic sees them.
table_data = {
    p: """
      | b1 | b2
    --+----+----
    1 | T  | T
    2 | T  | F
    3 | T  |
    4 | F  | T
    5 | F  | F
    6 | F  |
    7 |    | T
    8 |    | F
    9 |    |
    """,
}


def test_and(spec_test):
    """False & null is False; True & null is null."""
    spec_test(
        table_data,
        p.b1 & p.b2,
        {
            1: True,
            2: False,
            3: None,
            4: False,
            5: False,
            6: False,
            7: None,
            8: False,
            9: None,
        },
    )


def test_or(spec_test):
    """True | null is True; False | null is null."""
    spec_test(
        table_data,
        p.b1 | p.b2,
        {
            1: True,
            2: True,
            3: True,
            4: True,
            5: False,
            6: None,
            7: True,
            8: None,
            9: None,
        },
    )


def test_not(spec_test):
    """~null is null."""
    spec_test(
        table_data,
        ~p.b1,
        {
            1: False,
            2: False,
            3: False,
            4: True,
            5: True,
            6: True,
            7: None,
            8: None,
            9: None,
        },
    )


def test_and_with_a_constant(spec_test):
    """A Python bool on either side of & is a constant for every patient."""
    spec_test(
        table_data,
        (p.b1 & True) | (False & p.b2),
        {
            1: True,
            2: True,
            3: True,
            4: False,
            5: False,
            6: False,
            7: None,
            8: None,
            9: None,
        },
    )


def test_or_with_a_constant(spec_test):
    """True | anything is True, even null."""
    spec_test(
        table_data,
        True | p.b1,
        {
            1: True,
            2: True,
            3: True,
            4: True,
            5: True,
            6: True,
            7: True,
            8: True,
            9: True,
        },
    )


def test_de_morgan_holds_with_nulls(spec_test):
    """~(a & b) is the same as ~a | ~b, nulls included."""
    spec_test(
        table_data,
        ~(p.b1 & p.b2) == (~p.b1 | ~p.b2),
        {
            1: True,
            2: True,
            3: None,
            4: True,
            5: True,
            6: True,
            7: None,
            8: True,
            9: None,
        },
    )
