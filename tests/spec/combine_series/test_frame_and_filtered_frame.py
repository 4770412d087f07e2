from tests.spec.tables import e

title = "Combining series from an event frame and a filtered version of it"

table_data = {
    e: """
      |  i1 |  i2 | b1
    --+-----+-----+----
    1 | 101 | 111 | T
    1 | 102 | 112 | F
    1 | 103 | 113 |
    2 | 201 | 211 | F
    """,
}


def test_series_from_a_frame_and_its_filtered_child(spec_test):
    """A column of the parent frame is read on the rows the filter kept."""
    spec_test(
        table_data, (e.where(e.b1).i1 + e.i2).sum_for_patient(), {1: 212, 2: None}
    )


def test_filter_on_a_filtered_frame_using_the_parent_frame(spec_test):
    """A filtered frame can be filtered again with a condition on the parent's columns."""
    spec_test(
        table_data,
        e.where(e.i1 > 101).where(e.i2 < 113).i1.sum_for_patient(),
        {1: 102, 2: None},
    )


def test_series_from_nested_filters(spec_test):
    """Filtering twice keeps the rows both conditions keep."""
    spec_test(
        table_data,
        (
            e.where(e.i1 > 101).where(e.i2 > 112).i1 + e.where(e.i1 > 101).i2 + e.i1
        ).sum_for_patient(),
        {1: 319, 2: 613},
    )
