from tests.spec.tables import e, p

title = "Whether each patient has any rows: exists_for_patient()"

table_data = {
    p: """
      |  i1
    --+-----
    1 |  10
    2 |  20
    3 |
    """,
    e: """
      |  i1 | b1
    --+-----+----
    1 | 101 | T
    1 | 102 | F
    2 | 201 | F
    4 | 401 |
    """,
}


def test_exists_for_patient_on_an_event_frame(spec_test):
    """A patient with no rows gets False, never null."""
    spec_test(table_data, e.exists_for_patient(), {1: True, 2: True, 3: False, 4: True})


def test_exists_for_patient_on_a_filtered_frame(spec_test):
    """Only rows kept by the filter count; a null condition keeps no row."""
    spec_test(
        table_data,
        e.where(e.b1).exists_for_patient(),
        {1: True, 2: False, 3: False, 4: False},
    )


def test_exists_for_patient_on_a_patient_frame(spec_test):
    """A patient table has a row for some patients, even when its values are null."""
    spec_test(table_data, p.exists_for_patient(), {1: True, 2: True, 3: True, 4: False})


def test_exists_for_patient_on_a_picked_row(spec_test):
    """The row picked by first_for_patient() exists exactly when the frame had rows."""
    spec_test(
        table_data,
        e.where(e.i1 > 150).sort_by(e.i1).first_for_patient().exists_for_patient(),
        {1: False, 2: True, 3: False, 4: True},
    )
