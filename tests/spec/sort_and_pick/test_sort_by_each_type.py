from datetime import date

from tests.spec.tables import e

title = "Sorting by dates, strings, booleans and codes"

table_data = {
    e: """
      |  i1 |     d1     | s1 | b1 |    c1
    --+-----+------------+----+----+-----------
    1 |   1 | 2020-01-01 | b  | T  | 73211009
    1 |   2 | 2019-06-01 | c  | F  | 195967001
    1 |   3 |            | a  |    | 38341003
    2 |   4 | 2021-01-01 |    | T  |
    """,
}


def test_sort_by_date(spec_test):
    """Earliest first; a null date sorts before every date."""
    spec_test(table_data, e.sort_by(e.d1).first_for_patient().i1, {1: 3, 2: 4})
    spec_test(table_data, e.sort_by(e.d1).last_for_patient().i1, {1: 1, 2: 4})


def test_sort_by_string(spec_test):
    """Alphabetical order; a null string sorts first."""
    spec_test(table_data, e.sort_by(e.s1).first_for_patient().i1, {1: 3, 2: 4})
    spec_test(table_data, e.sort_by(e.s1).last_for_patient().i1, {1: 2, 2: 4})


def test_sort_by_bool(spec_test):
    """Null, then False, then True."""
    spec_test(table_data, e.sort_by(e.b1).first_for_patient().i1, {1: 3, 2: 4})
    spec_test(table_data, e.sort_by(e.b1).last_for_patient().i1, {1: 1, 2: 4})


def test_sort_by_code(spec_test):
    """Codes sort as their strings: "195967001" before "38341003"."""
    spec_test(table_data, e.sort_by(e.c1).first_for_patient().i1, {1: 2, 2: 4})
    spec_test(table_data, e.sort_by(e.c1).last_for_patient().i1, {1: 1, 2: 4})


def test_picked_row_gives_every_column(spec_test):
    """Every column of the picked row can be read."""
    spec_test(
        table_data,
        e.sort_by(e.i1).last_for_patient().d1,
        {1: None, 2: date(2021, 1, 1)},
    )
