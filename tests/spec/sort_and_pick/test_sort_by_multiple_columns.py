from tests.spec.tables import e

title = "Sorting by several columns"

table_data = {
    e: """
      |  i1 |  i2 |  f1
    --+-----+-----+-----
    1 |   1 |   2 | 1.5
    1 |   1 |   1 | 2.5
    1 |   0 |   9 | 3.5
    2 |   2 |     | 4.5
    2 |   2 |   0 | 5.5
    2 |   3 |   0 | 6.5
    3 |   7 |   7 | 7.5
    """,
}


def test_first_by_two_columns(spec_test):
    """The first sort value decides; the second breaks its ties (nulls first)."""
    spec_test(
        table_data,
        e.sort_by(e.i1, e.i2).first_for_patient().f1,
        {1: 3.5, 2: 4.5, 3: 7.5},
    )


def test_last_by_two_columns(spec_test):
    """The last row has the largest first value, then the largest second value."""
    spec_test(
        table_data,
        e.sort_by(e.i1, e.i2).last_for_patient().f1,
        {1: 1.5, 2: 6.5, 3: 7.5},
    )


def test_the_order_of_the_sort_values_matters_for_first(spec_test):
    """Swapping the sort values changes which row is first."""
    spec_test(
        table_data,
        e.sort_by(e.i2, e.i1).first_for_patient().f1,
        {1: 2.5, 2: 4.5, 3: 7.5},
    )


def test_the_order_of_the_sort_values_matters_for_last(spec_test):
    """Swapping the sort values changes which row is last."""
    spec_test(
        table_data,
        e.sort_by(e.i2, e.i1).last_for_patient().f1,
        {1: 3.5, 2: 6.5, 3: 7.5},
    )


def test_sort_by_an_expression(spec_test):
    """A sort value can be an expression on the frame's columns."""
    spec_test(
        table_data,
        e.sort_by(e.i2 - e.i1).first_for_patient().f1,
        {1: 2.5, 2: 4.5, 3: 7.5},
    )
