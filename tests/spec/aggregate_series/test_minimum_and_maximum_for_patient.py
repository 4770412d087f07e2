import datetime

from tests.spec.tables import e, p

title = "The smallest and largest of each patient's values"

table_data = {
    p: """
      |  i1
    --+-----
    1 |
    2 |
    3 |
    """,
    e: """
      |  i1 |  f1  |     d1     | s1
    --+-----+------+------------+-----
    1 |  -5 |  2.5 | 2020-02-29 | b
    1 |  12 | -1.5 | 2019-12-31 | ab
    1 |     |      |            |
    2 |   7 |  0.0 | 2021-01-01 | B
    2 |     |      |            |
    """,
}


def test_minimum_for_patient_of_ints(spec_test):
    """Nulls are skipped; a patient with no rows gets null."""
    spec_test(table_data, e.i1.minimum_for_patient(), {1: -5, 2: 7, 3: None})


def test_maximum_for_patient_of_ints(spec_test):
    """The largest non-null value."""
    spec_test(table_data, e.i1.maximum_for_patient(), {1: 12, 2: 7, 3: None})


def test_minimum_for_patient_of_floats(spec_test):
    """Floats, including negative values."""
    spec_test(table_data, e.f1.minimum_for_patient(), {1: -1.5, 2: 0.0, 3: None})


def test_maximum_for_patient_of_floats(spec_test):
    """Floats, including zero."""
    spec_test(table_data, e.f1.maximum_for_patient(), {1: 2.5, 2: 0.0, 3: None})


def test_minimum_for_patient_of_dates(spec_test):
    """The earliest date."""
    spec_test(
        table_data,
        e.d1.minimum_for_patient(),
        {1: datetime.date(2019, 12, 31), 2: datetime.date(2021, 1, 1), 3: None},
    )


def test_maximum_for_patient_of_dates(spec_test):
    """The latest date."""
    spec_test(
        table_data,
        e.d1.maximum_for_patient(),
        {1: datetime.date(2020, 2, 29), 2: datetime.date(2021, 1, 1), 3: None},
    )


def test_minimum_for_patient_of_strings(spec_test):
    """Strings compare character by character: "ab" comes before "b"."""
    spec_test(table_data, e.s1.minimum_for_patient(), {1: "ab", 2: "B", 3: None})


def test_maximum_for_patient_of_strings(spec_test):
    """The string that comes last."""
    spec_test(table_data, e.s1.maximum_for_patient(), {1: "b", 2: "B", 3: None})
