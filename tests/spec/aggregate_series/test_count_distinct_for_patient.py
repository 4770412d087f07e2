from tests.spec.tables import e, p

title = "Counting each patient's different values: count_distinct_for_patient()"

table_data = {
    p: """
      |  i1
    --+-----
    1 |
    2 |
    3 |
    4 |
    """,
    e: """
      |  i1 |  f1 | s1 |     d1     |    c1
    --+-----+-----+----+------------+----------
    1 | 101 | 1.5 | a  | 2020-01-01 | 73211009
    1 | 102 | 1.5 | b  | 2020-01-01 | 38341003
    1 | 103 | 2.5 | A  | 2020-01-02 | 73211009
    2 | 201 | 2.0 | a  | 2020-02-01 | 38341003
    2 | 201 | 2.0 | a  | 2020-02-01 | 38341003
    3 |     |     |    |            |
    3 |     |     |    |            |
    """,
}


def test_count_distinct_for_patient_of_ints(spec_test):
    """Repeated values count once; nulls are not counted; no values gives 0."""
    spec_test(table_data, e.i1.count_distinct_for_patient(), {1: 3, 2: 1, 3: 0, 4: 0})


def test_count_distinct_for_patient_of_floats(spec_test):
    """Floats that are equal count once."""
    spec_test(table_data, e.f1.count_distinct_for_patient(), {1: 2, 2: 1, 3: 0, 4: 0})


def test_count_distinct_for_patient_of_strings(spec_test):
    """Strings are case-sensitive: "a" and "A" are different values."""
    spec_test(table_data, e.s1.count_distinct_for_patient(), {1: 3, 2: 1, 3: 0, 4: 0})


def test_count_distinct_for_patient_of_dates(spec_test):
    """Dates that are equal count once."""
    spec_test(table_data, e.d1.count_distinct_for_patient(), {1: 2, 2: 1, 3: 0, 4: 0})


def test_count_distinct_for_patient_of_codes(spec_test):
    """Codes that are equal count once."""
    spec_test(table_data, e.c1.count_distinct_for_patient(), {1: 2, 2: 1, 3: 0, 4: 0})


def test_count_distinct_for_patient_of_an_expression(spec_test):
    """Distinct values of a row-wise expression."""
    spec_test(
        table_data,
        (e.i1 // 2).count_distinct_for_patient(),
        {1: 2, 2: 1, 3: 0, 4: 0},
    )
