from tests.spec.tables import e, p

title = "Combining an event series with a patient series"

table_data = {
    p: """
      |  i1
    --+-----
    1 |  10
    2 |
    3 |  30
    """,
    e: """
      |  i1
    --+-----
    1 | 101
    1 | 102
    2 | 201
    4 | 401
    """,
}


def test_event_series_and_patient_series(spec_test):
    """The patient's value is used on every one of their rows."""
    spec_test(
        table_data,
        (e.i1 + p.i1).sum_for_patient(),
        {1: 223, 2: None, 3: None, 4: None},
    )


def test_patient_series_and_event_series(spec_test):
    """The patient series can be on either side."""
    spec_test(
        table_data,
        (p.i1 - e.i1).minimum_for_patient(),
        {1: -92, 2: None, 3: None, 4: None},
    )
