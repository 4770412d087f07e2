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


def test_first_by_date(spec_test):
    """A null date sorts before every date."""
    spec_test(table_data, e.sort_by(e.d1).first_for_patient().i1, {1: 3, 2: 4})


def test_last_by_date(spec_test):
    """The latest date is last."""
    spec_test(table_data, e.sort_by(e.d1).last_for_patient().i1, {1: 1, 2: 4})


def test_first_by_string(spec_test):
    """A null string sorts before every string."""
    spec_test(table_data, e.sort_by(e.s1).first_for_patient().i1, {1: 3, 2: 4})


def test_last_by_string(spec_test):
    """Strings sort alphabetically."""
    spec_test(table_data, e.sort_by(e.s1).last_for_patient().i1, {1: 2, 2: 4})


def test_first_by_bool(spec_test):
    """Null sorts before False, which sorts before True."""
    spec_test(table_data, e.sort_by(e.b1).first_for_patient().i1, {1: 3, 2: 4})


def test_last_by_bool(spec_test):
    """True is last."""
    spec_test(table_data, e.sort_by(e.b1).last_for_patient().i1, {1: 1, 2: 4})


def test_reading_the_bool_sort_key(spec_test):
    """The first row's key is null if any row's is; the last row's is True if any row's is."""
    spec_test(table_data, e.sort_by(e.b1).first_for_patient().b1, {1: None, 2: True})
    spec_test(table_data, e.sort_by(e.b1).last_for_patient().b1, {1: True, 2: True})


def test_first_by_code(spec_test):
    """Codes sort as their strings: "195967001" before "38341003"."""
    spec_test(table_data, e.sort_by(e.c1).first_for_patient().i1, {1: 2, 2: 4})


def test_last_by_code(spec_test):
    """ "73211009" is the last of the three codes as strings."""
    spec_test(table_data, e.sort_by(e.c1).last_for_patient().i1, {1: 1, 2: 4})


def test_picked_row_gives_every_column(spec_test):
    """Every column of the picked row can be read."""
    spec_test(
        table_data,
        e.sort_by(e.i1).last_for_patient().d1,
        {1: None, 2: date(2021, 1, 1)},
    )
