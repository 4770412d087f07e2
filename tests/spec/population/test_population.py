from ehrql import case, when
from tests.spec.tables import e, p

title = "Choosing which patients a dataset includes: define_population()"

table_data = {
    p: """
      |  i1 | b1
    --+-----+----
    1 |  10 | F
    2 |  20 | T
    3 |   0 |
    4 |     | F
    """,
    e: """
      |  i1
    --+-----
    1 | 101
    1 | 102
    3 | 301
    5 | 501
    """,
}


def test_population_from_a_patient_table_column(spec_test):
    """Only patients for whom the population condition is True are included."""
    spec_test(table_data, p.i1, {1: 10, 4: None}, population=~p.b1)


def test_patients_whose_population_condition_is_null_are_left_out(spec_test):
    """A null condition does not include the patient: only True does."""
    spec_test(table_data, p.i1, {1: 10, 2: 20}, population=p.i1 > 0)


def test_population_from_rows_in_an_event_table(spec_test):
    """Patients with rows in the event table, including one missing from the patient table."""
    spec_test(
        table_data,
        p.i1,
        {1: 10, 3: 0, 5: None},
        population=e.exists_for_patient(),
    )


def test_population_from_a_filtered_event_table(spec_test):
    """Only patients with a row that the filter keeps."""
    spec_test(
        table_data,
        e.count_for_patient(),
        {3: 1, 5: 1},
        population=e.where(e.i1 > 200).exists_for_patient(),
    )


def test_population_combining_two_tables(spec_test):
    """Conditions on different tables combine with & and |."""
    spec_test(
        table_data,
        e.count_for_patient(),
        {1: 2, 3: 1},
        population=p.exists_for_patient() & e.exists_for_patient(),
    )


def test_population_with_a_negated_condition_needs_a_record(spec_test):
    """Patients in the patient table without event rows: the negation is paired with a record."""
    spec_test(
        table_data,
        p.i1,
        {2: 20, 4: None},
        population=p.exists_for_patient() & ~e.exists_for_patient(),
    )


def test_population_from_a_case_expression(spec_test):
    """A case expression can define the population; patients where it is null are left out."""
    spec_test(
        table_data,
        p.i1,
        {1: 10, 3: 0},
        population=case(when(p.i1 <= 10).then(True), when(p.i1 > 10).then(False)),
    )
