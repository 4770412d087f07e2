from datetime import date

from ehrql import table_from_rows
from ehrql.tables import PatientFrame, Series
from tests.spec.tables import p

title = "Patient tables written in the definition: table_from_rows()"

table_data = {
    p: """
      |  i1
    --+-----
    1 |  10
    2 |  20
    3 |  30
    """,
}


@table_from_rows(
    [
        (1, 101, "a", date(2020, 1, 1)),
        (2, None, "b", date(2021, 6, 30)),
        (4, 401, None, None),
    ]
)
class inline(PatientFrame):
    n = Series(int)
    s = Series(str)
    d = Series(date)


def test_reading_a_column_of_an_inline_table(spec_test):
    """Patients not in the rows get null; None in a row is null."""
    spec_test(table_data, inline.n, {1: 101, 2: None, 3: None})


def test_combining_an_inline_table_with_another_table(spec_test):
    """Its columns combine with other tables' series like any patient series."""
    spec_test(table_data, p.i1 + inline.n, {1: 111, 2: None, 3: None})


def test_dates_in_an_inline_table(spec_test):
    """Date columns hold dates."""
    spec_test(table_data, inline.d.year, {1: 2020, 2: 2021, 3: None})


def test_exists_for_patient_on_an_inline_table(spec_test):
    """A patient is in an inline table when it has a row for them."""
    spec_test(table_data, inline.exists_for_patient(), {1: True, 2: True, 3: False})


def test_an_inline_table_in_the_population(spec_test):
    """Patients only in the inline table can be in the population."""
    spec_test(
        table_data,
        inline.s,
        {1: "a", 2: "b", 4: None},
        population=inline.exists_for_patient(),
    )
