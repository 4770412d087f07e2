"""One test per rule that rejects a definition, checking the error and its message.

A definition that cannot work must fail on the line that wrote it, with an
exception a researcher can read. Each test names the rule, builds the smallest
definition breaking it, and checks the exception type and a key phrase.
"""

import dataclasses
import datetime

import pytest

from ehrql import (
    case,
    create_dataset,
    days,
    get_parameter,
    maximum_of,
    minimum_of,
    months,
    table_from_file,
    table_from_rows,
    when,
)
from ehrql.codes import CodelistError, CTV3Code
from ehrql.errors import DefinitionError, ParameterError
from ehrql.query_model import nodes as qm
from ehrql.query_model.nodes import (
    DomainMismatchError,
    PopulationValidationError,
    TypeValidationError,
    ValidationError,
)
from ehrql.tables import EventFrame, PatientFrame, Series, table
from tests.spec.tables import e, p


@table
class other(EventFrame):
    i1 = Series(int)
    b1 = Series(bool)


def dataset_with_population():
    dataset = create_dataset()
    dataset.define_population(p.exists_for_patient())
    return dataset


# ---------------------------------------------------------------------------
# Types
# ---------------------------------------------------------------------------


def test_comparing_series_of_different_types():
    with pytest.raises(
        TypeValidationError,
        match="cannot compare an integer series with a string series",
    ):
        p.i1 == p.s1


def test_comparing_a_series_with_a_constant_of_another_type():
    with pytest.raises(
        TypeValidationError, match="cannot compare an integer series with a date series"
    ):
        p.i1 < datetime.date(2020, 1, 1)


def test_comparing_a_float_series_with_a_date_string():
    with pytest.raises(
        TypeValidationError, match="cannot compare a float series with a string series"
    ):
        p.f1 < "2020-01-01"


def test_ordering_booleans():
    with pytest.raises(TypeError, match="'<' not supported"):
        p.b1 < p.b2


def test_ordering_booleans_in_the_query_model():
    with pytest.raises(
        TypeValidationError,
        match="Function.LT needs an ordered series as its lhs, not a boolean series",
    ):
        qm.Function.LT(p.b1._qm_node, p.b2._qm_node)


def test_arithmetic_on_two_dates():
    with pytest.raises(DefinitionError, match="cannot add a date series to a date"):
        p.d1 + p.d2


def test_adding_a_number_to_a_date():
    with pytest.raises(DefinitionError, match="only durations such as days"):
        p.d1 + 1


def test_subtracting_a_number_from_a_date():
    with pytest.raises(DefinitionError, match="cannot subtract 1 from a date"):
        p.d1 - 1


def test_subtracting_a_date_from_a_number():
    with pytest.raises(DefinitionError, match="cannot subtract a date from 1"):
        1 - p.d1


def test_multiplying_a_date():
    with pytest.raises(TypeError, match="unsupported operand"):
        p.d1 * 2


def test_negating_a_date():
    with pytest.raises(TypeError, match="bad operand type for unary -"):
        -p.d1


def test_adding_dates_in_the_query_model():
    with pytest.raises(
        TypeValidationError,
        match="Function.Add needs an integer or float series as its lhs, not a date series",
    ):
        qm.Function.Add(p.d1._qm_node, p.d2._qm_node)


def test_arithmetic_on_strings():
    with pytest.raises(TypeError, match="unsupported operand"):
        p.s1 + "x"


def test_arithmetic_between_an_int_and_a_string():
    with pytest.raises(
        TypeValidationError,
        match=r"cannot combine an integer series with a string series \(in \+\)",
    ):
        p.i1 + "a"


def test_floor_division_by_a_string():
    with pytest.raises(
        TypeValidationError, match="cannot combine a float series with a string series"
    ):
        p.f1 // "a"


def test_logic_on_a_non_boolean():
    with pytest.raises(
        TypeValidationError, match="& needs a boolean series, not an integer series"
    ):
        p.b1 & p.i1


def test_not_on_a_non_boolean():
    with pytest.raises(TypeError, match="bad operand type for unary ~"):
        ~p.i1


def test_filter_with_a_non_boolean_condition():
    with pytest.raises(
        TypeValidationError,
        match="the condition of a filter needs a boolean series, not an integer series",
    ):
        e.where(e.i1)


def test_sum_of_strings():
    with pytest.raises(AttributeError, match="sum_for_patient"):
        e.s1.sum_for_patient()


def test_sum_of_strings_in_the_query_model():
    with pytest.raises(
        TypeValidationError,
        match="AggregateByPatient.Sum needs an integer or float series as its source, not a string series",
    ):
        qm.AggregateByPatient.Sum(e.s1._qm_node)


def test_mean_of_strings():
    with pytest.raises(AttributeError, match="mean_for_patient"):
        e.s1.mean_for_patient()


def test_date_parts_of_a_non_date():
    with pytest.raises(AttributeError, match="year"):
        p.i1.year


def test_date_parts_of_a_non_date_in_the_query_model():
    with pytest.raises(
        TypeValidationError,
        match="Function.YearFromDate needs a date series as its source, not an integer series",
    ):
        qm.Function.YearFromDate(p.i1._qm_node)


def test_date_difference_of_a_non_date_in_the_query_model():
    with pytest.raises(
        TypeValidationError,
        match="Function.DateDifferenceInDays needs a date series as its rhs",
    ):
        qm.Function.DateDifferenceInDays(p.d1._qm_node, p.i1._qm_node)


def test_adding_a_float_number_of_days_in_the_query_model():
    with pytest.raises(
        TypeValidationError,
        match="Function.DateAddDays needs an integer series as its rhs, not a float series",
    ):
        qm.Function.DateAddDays(p.d1._qm_node, p.f1._qm_node)


def test_as_int_of_a_date():
    with pytest.raises(
        TypeValidationError,
        match="Function.CastToInt needs a boolean or integer or float or string series as its source",
    ):
        qm.Function.CastToInt(p.d1._qm_node)


def test_contains_with_a_number():
    with pytest.raises(
        TypeValidationError,
        match="contains\\(\\) needs a string series, not an integer series",
    ):
        p.s1.contains(1)


def test_contains_on_a_non_string_in_the_query_model():
    with pytest.raises(
        TypeValidationError,
        match="Function.StringContains needs a string series as its lhs, not an integer series",
    ):
        qm.Function.StringContains(p.i1._qm_node, qm.Value("a"))


def test_sort_by_a_set_in_the_query_model():
    with pytest.raises(
        TypeValidationError,
        match="Sort needs a sortable series as its sort_by, not a set of integer series",
    ):
        qm.Sort(e._qm_node, qm.Value(frozenset([1])))


def test_when_null_then_with_another_type():
    with pytest.raises(
        TypeValidationError,
        match="when_null_then\\(\\) cannot replace the nulls of an integer series with a string value",
    ):
        p.i1.when_null_then("a")


# ---------------------------------------------------------------------------
# Case expressions
# ---------------------------------------------------------------------------


def test_case_with_values_of_different_types():
    with pytest.raises(
        TypeValidationError,
        match=r"cannot combine an integer series with a string series \(in case\(\)\)",
    ):
        case(when(p.b1).then(1), otherwise="a")


def test_case_with_a_non_boolean_condition():
    with pytest.raises(
        DefinitionError,
        match="when\\(\\) needs a boolean condition, not an integer series",
    ):
        when(p.i1)


def test_case_with_no_conditions():
    with pytest.raises(DefinitionError, match="case\\(\\) needs at least one when"):
        case()


def test_case_with_something_other_than_when_then():
    with pytest.raises(
        DefinitionError,
        match="case\\(\\) takes when\\(condition\\).then\\(value\\) pairs",
    ):
        case(when(p.b1))


def test_case_whose_values_are_all_none():
    with pytest.raises(
        ValidationError, match="needs at least one value that is not None"
    ):
        case(when(p.b1).then(None))


def test_case_with_no_cases_in_the_query_model():
    with pytest.raises(ValidationError, match="Case needs at least one case"):
        qm.Case(qm.FrozenDict({}))


def test_if_on_a_series():
    with pytest.raises(TypeError, match="a series has no single True or False value"):
        if p.b1:
            pass


def test_and_keyword_on_series():
    with pytest.raises(TypeError, match="instead of `and`, `or`, `not`"):
        p.b1 and p.b2


def test_looping_over_a_series():
    with pytest.raises(TypeError, match="a series cannot be looped over"):
        list(p.i1)


def test_if_on_a_date_difference():
    with pytest.raises(TypeError, match="a date difference has no True/False value"):
        bool(p.d1 - p.d2)


# ---------------------------------------------------------------------------
# Frames and domains
# ---------------------------------------------------------------------------


def test_combining_series_from_unrelated_frames():
    with pytest.raises(
        DomainMismatchError, match="cannot combine series drawn from different frames"
    ):
        e.i1 + other.i1


def test_combining_series_from_sibling_filters():
    with pytest.raises(
        DomainMismatchError,
        match="a filtered version of 'e' and a filtered version of 'e'",
    ):
        e.where(e.b1).i1 + e.where(e.b2).i1


def test_filter_with_a_condition_from_another_table():
    with pytest.raises(
        DomainMismatchError,
        match="cannot filter the table 'e' using a series drawn from the table 'other'",
    ):
        e.where(other.b1)


def test_filter_with_a_condition_from_a_sibling_filter():
    with pytest.raises(
        DomainMismatchError, match="cannot filter a filtered version of 'e'"
    ):
        e.where(e.b1).where(e.where(e.b2).b1)


def test_sort_by_a_series_from_another_table():
    with pytest.raises(
        DomainMismatchError,
        match="cannot sort the table 'e' using a series drawn from the table 'other'",
    ):
        e.sort_by(other.i1)


def test_sort_by_nothing():
    with pytest.raises(
        DefinitionError, match="sort_by\\(\\) needs at least one series"
    ):
        e.sort_by()


def test_first_for_patient_without_sort():
    with pytest.raises(
        AttributeError,
        match="first_for_patient\\(\\) needs sorted rows: sort them first",
    ):
        e.first_for_patient()


def test_last_for_patient_on_a_filtered_frame_without_sort():
    with pytest.raises(
        AttributeError, match="last_for_patient\\(\\) needs sorted rows"
    ):
        e.where(e.b1).last_for_patient()


def test_pick_without_sort_in_the_query_model():
    with pytest.raises(
        ValidationError, match="PickOneRowPerPatient needs a sorted frame"
    ):
        qm.PickOneRowPerPatient(e._qm_node, qm.Position.FIRST)


def test_picking_from_a_picked_row():
    with pytest.raises(AttributeError, match="already has one row per patient"):
        e.sort_by(e.i1).first_for_patient().first_for_patient()


def test_filtering_a_patient_frame():
    with pytest.raises(AttributeError, match="where\\(\\) works on event frames"):
        p.where(p.b1)


def test_sorting_a_patient_frame():
    with pytest.raises(AttributeError, match="sort_by\\(\\) works on event frames"):
        p.sort_by(p.i1)


def test_filtering_a_patient_frame_in_the_query_model():
    with pytest.raises(
        ValidationError,
        match="Filter.source must be a ManyRowsPerPatientFrame, not SelectPatientTable",
    ):
        qm.Filter(p._qm_node, p.b1._qm_node)


def test_counting_a_patient_frame_in_the_query_model():
    with pytest.raises(
        ValidationError,
        match="AggregateByPatient.Count.source must be a ManyRowsPerPatientFrame",
    ):
        qm.AggregateByPatient.Count(p._qm_node)


def test_aggregating_a_patient_level_series():
    with pytest.raises(AttributeError, match="sum_for_patient"):
        p.i1.sum_for_patient()


def test_aggregating_a_patient_level_series_in_the_query_model():
    with pytest.raises(
        ValidationError,
        match="AggregateByPatient.Sum needs an event-level series as its source",
    ):
        qm.AggregateByPatient.Sum(p.i1._qm_node)


def test_unknown_column_on_a_table():
    with pytest.raises(
        AttributeError,
        match="table 'p' has no column or method 'nonexistent'; its columns are: i1",
    ):
        p.nonexistent


def test_unknown_column_in_the_query_model():
    with pytest.raises(ValidationError, match="table 'p' has no column 'zz'"):
        qm.SelectColumn(p._qm_node, "zz")


def test_using_a_frame_as_a_value():
    with pytest.raises(
        DefinitionError, match="got the frame 'e': did you mean to select a column"
    ):
        p.i1 + e


# ---------------------------------------------------------------------------
# Constant values
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad_date",
    ["2020-13-01", "2020-02-30", "2020/01/01", "2020-1-1", "20200101", "today"],
)
def test_bad_date_strings(bad_date):
    with pytest.raises(
        DefinitionError, match="is not a date: write dates as 'YYYY-MM-DD'"
    ):
        p.d1 < bad_date


def test_is_in_with_none():
    with pytest.raises(
        DefinitionError,
        match="is_in\\(\\) cannot look for None: use is_null\\(\\) instead",
    ):
        p.i1.is_in([1, None])


def test_is_in_with_a_single_string():
    with pytest.raises(
        DefinitionError, match="is_in\\(\\) needs a list, set, tuple or codelist"
    ):
        p.s1.is_in("abc")


def test_is_in_with_values_of_another_type():
    with pytest.raises(
        TypeValidationError,
        match="cannot look for an integer series in a collection of string values",
    ):
        p.i1.is_in(["a"])


def test_is_in_without_a_set_in_the_query_model():
    with pytest.raises(
        TypeValidationError, match="Function.In needs a set of values as its rhs"
    ):
        qm.Function.In(p.i1._qm_node, qm.Value(1))


def test_a_list_as_a_query_model_value():
    with pytest.raises(
        TypeValidationError, match="use a frozenset for a set of values"
    ):
        qm.Value([1, 2])


def test_an_unusable_python_object_as_a_value():
    with pytest.raises(TypeValidationError, match="is not a value ehrQL can use"):
        qm.Value(object())


def test_a_set_of_mixed_types():
    with pytest.raises(
        TypeValidationError, match="a set of values must all be of one type"
    ):
        qm.Value(frozenset([1, "a"]))


def test_an_invalid_code_string():
    with pytest.raises(CodelistError, match="'abc' is not a valid snomedct code"):
        p.c1 == "abc"


def test_is_in_with_codes_of_another_system():
    with pytest.raises(CodelistError, match="'J45' is not a valid snomedct code"):
        p.c1.is_in(["J45"])


def test_comparing_with_a_code_object_of_another_system():
    with pytest.raises(
        TypeValidationError,
        match="cannot compare a snomedct code series with a ctv3 code series",
    ):
        p.c1 == CTV3Code("Xa1..")


def test_map_values_with_an_empty_mapping():
    with pytest.raises(
        DefinitionError, match="map_values\\(\\) needs a non-empty dict"
    ):
        p.i1.map_values({})


def test_to_category_with_an_empty_mapping():
    with pytest.raises(
        DefinitionError, match="to_category\\(\\) needs a codelist with categories"
    ):
        p.c1.to_category({})


def test_is_during_without_an_interval():
    with pytest.raises(DefinitionError, match="is_during\\(\\) needs an interval"):
        p.d1.is_during("2020-01-01")


# ---------------------------------------------------------------------------
# Durations
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["1", 1.5, None, True])
def test_duration_of_a_non_integer(bad):
    with pytest.raises(DefinitionError, match="days\\(\\) needs an integer"):
        days(bad)


def test_duration_of_a_non_integer_series():
    with pytest.raises(
        DefinitionError, match="months\\(\\) needs an integer or an integer series"
    ):
        months(p.s1)


def test_adding_durations_of_different_units():
    with pytest.raises(DefinitionError, match="cannot add months to days"):
        days(1) + months(1)


def test_adding_a_duration_to_a_number():
    with pytest.raises(
        DefinitionError, match="durations can only be added to or subtracted from dates"
    ):
        p.i1 + days(1)


def test_adding_a_number_to_a_date_difference():
    with pytest.raises(TypeError, match="unsupported operand"):
        (p.d1 - p.d2) + 1


# ---------------------------------------------------------------------------
# maximum_of and minimum_of
# ---------------------------------------------------------------------------


def test_minimum_of_mixed_types():
    with pytest.raises(
        TypeValidationError,
        match="cannot combine an integer series with a string series",
    ):
        minimum_of(p.i1, p.s1)


def test_maximum_of_booleans():
    with pytest.raises(TypeValidationError, match="its values have no order"):
        maximum_of(p.b1, p.b2)


def test_maximum_of_a_single_series_in_the_query_model():
    with pytest.raises(
        ValidationError, match="Function.MaximumOf needs at least two sources"
    ):
        qm.Function.MaximumOf((p.i1._qm_node,))


# ---------------------------------------------------------------------------
# The population
# ---------------------------------------------------------------------------


def test_population_not_boolean():
    with pytest.raises(
        PopulationValidationError,
        match="the population must be a boolean series, not an integer series",
    ):
        create_dataset().define_population(p.i1)


def test_population_not_a_series():
    with pytest.raises(
        DefinitionError, match="define_population\\(\\) needs a boolean series"
    ):
        create_dataset().define_population(True)


def test_population_event_level():
    with pytest.raises(
        PopulationValidationError,
        match="the population must have one value per patient",
    ):
        create_dataset().define_population(e.b1)


@pytest.mark.parametrize(
    "population",
    [
        pytest.param(lambda: ~e.exists_for_patient(), id="not exists"),
        pytest.param(lambda: e.count_for_patient() == 0, id="count is zero"),
        pytest.param(lambda: p.i1.is_null(), id="is null"),
        pytest.param(lambda: p.exists_for_patient() | True, id="or true"),
        pytest.param(lambda: p.b1.when_null_then(True), id="when null then true"),
        pytest.param(
            lambda: case(when(p.b1).then(False), otherwise=True),
            id="case otherwise true",
        ),
    ],
)
def test_population_true_for_patients_with_no_records(population):
    with pytest.raises(
        PopulationValidationError,
        match="would include patients who have no records at all",
    ):
        create_dataset().define_population(population())


def test_population_needing_a_record_is_accepted():
    dataset = create_dataset()
    dataset.define_population(p.exists_for_patient() & ~e.exists_for_patient())


def test_population_defined_twice():
    dataset = dataset_with_population()
    with pytest.raises(
        DefinitionError, match="the population has already been defined"
    ):
        dataset.define_population(e.exists_for_patient())


def test_dataset_without_population():
    dataset = create_dataset()
    dataset.age = p.i1
    with pytest.raises(DefinitionError, match="the dataset has no population"):
        dataset._compile()


# ---------------------------------------------------------------------------
# Dataset columns
# ---------------------------------------------------------------------------


def test_dataset_column_not_patient_level():
    dataset = dataset_with_population()
    with pytest.raises(DefinitionError, match="dataset.x has many values per patient"):
        dataset.x = e.i1


def test_dataset_column_not_patient_level_in_the_query_model():
    with pytest.raises(
        ValidationError, match="dataset column 'v' must have one value per patient"
    ):
        qm.Dataset(
            population=p.exists_for_patient()._qm_node,
            variables=qm.FrozenDict({"v": e.i1._qm_node}),
        )


@pytest.mark.parametrize("value", [None, 1, "a"])
def test_dataset_column_not_a_series(value):
    dataset = dataset_with_population()
    with pytest.raises(
        DefinitionError, match="must be a series with one value per patient"
    ):
        dataset.x = value


def test_dataset_column_is_a_frame():
    dataset = dataset_with_population()
    with pytest.raises(DefinitionError, match="not the frame 'e'"):
        dataset.x = e


@pytest.mark.parametrize("name", ["patient_id", "population", "class", "None"])
def test_dataset_column_with_a_reserved_name(name):
    dataset = dataset_with_population()
    with pytest.raises(DefinitionError, match="is a reserved name"):
        dataset.add_column(name, p.i1)


@pytest.mark.parametrize("name", ["1abc", "a b", "_x", "a-b", "", "é"])
def test_dataset_column_with_an_invalid_name(name):
    dataset = dataset_with_population()
    with pytest.raises(DefinitionError, match="is not a valid column name"):
        dataset.add_column(name, p.i1)


def test_dataset_column_with_a_name_too_long():
    dataset = dataset_with_population()
    with pytest.raises(DefinitionError, match="is longer than 100 characters"):
        dataset.add_column("a" * 101, p.i1)


@pytest.mark.parametrize(
    "name", ["add_column", "define_population", "configure_dummy_data"]
)
def test_dataset_column_named_like_a_method(name):
    dataset = dataset_with_population()
    with pytest.raises(DefinitionError, match="is a Dataset method"):
        dataset.add_column(name, p.i1)


def test_dataset_column_defined_twice():
    dataset = dataset_with_population()
    dataset.x = p.i1
    with pytest.raises(DefinitionError, match="dataset.x has already been defined"):
        dataset.x = p.i2


def test_reading_an_undefined_dataset_column():
    dataset = dataset_with_population()
    with pytest.raises(AttributeError, match="dataset has no column 'missing'"):
        dataset.missing


def test_event_table_with_only_patient_level_columns():
    dataset = dataset_with_population()
    with pytest.raises(DefinitionError, match="needs at least one event series"):
        dataset.add_event_table("events", x=p.i1)


def test_event_table_patient_level_columns_repeat_beside_event_columns():
    dataset = dataset_with_population()
    dataset.add_event_table("events", x=e.i1, y=p.i1)
    assert list(dataset._compile().events["events"]) == ["x", "y"]


def test_event_table_column_not_a_series():
    dataset = dataset_with_population()
    with pytest.raises(DefinitionError, match="must be a series, not"):
        dataset.add_event_table("events", x=e.i1, y=3)


def test_event_table_named_dataset():
    dataset = dataset_with_population()
    with pytest.raises(
        DefinitionError, match="'dataset' is the name of the patient-level output table"
    ):
        dataset.add_event_table("dataset", x=e.i1)


def test_event_table_columns_from_unrelated_frames():
    dataset = dataset_with_population()
    with pytest.raises(
        DomainMismatchError, match="cannot combine series drawn from different frames"
    ):
        dataset.add_event_table("events", x=e.i1, y=other.i1)


def test_dummy_data_population_size_not_positive():
    with pytest.raises(
        DefinitionError, match="population_size must be a positive integer"
    ):
        create_dataset().configure_dummy_data(population_size=0)


def test_dummy_data_constraint_not_boolean():
    with pytest.raises(
        DefinitionError,
        match="additional_population_constraint must be a boolean patient series",
    ):
        create_dataset().configure_dummy_data(additional_population_constraint=p.i1)


# ---------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------


def test_table_declaring_patient_id():
    with pytest.raises(DefinitionError, match="'patient_id' is present in every table"):

        @table
        class t(PatientFrame):
            patient_id = Series(int)


def test_table_with_no_columns():
    with pytest.raises(DefinitionError, match="declares no columns"):

        @table
        class t(PatientFrame):
            pass


def test_table_that_is_not_a_frame():
    with pytest.raises(
        DefinitionError, match="must subclass PatientFrame or EventFrame"
    ):

        @table
        class t:
            n = Series(int)


def test_column_of_an_unsupported_type():
    with pytest.raises(DefinitionError, match="is not a type a column can have"):
        Series(list)


def test_inline_table_with_a_repeated_patient():
    with pytest.raises(ValidationError, match="patient_id 1 appears more than once"):

        @table_from_rows([(1, 1), (1, 2)])
        class t(PatientFrame):
            n = Series(int)


def test_inline_table_with_a_row_of_the_wrong_width():
    with pytest.raises(
        ValidationError, match="each row of an inline table needs 2 values"
    ):

        @table_from_rows([(1, 1, 2)])
        class t(PatientFrame):
            n = Series(int)


def test_inline_table_with_a_value_of_the_wrong_type():
    with pytest.raises(
        DefinitionError, match="value 'x' in column 'n' is not a valid integer"
    ):

        @table_from_rows([(1, "x")])
        class t(PatientFrame):
            n = Series(int)


def test_inline_table_without_an_integer_patient_id():
    with pytest.raises(
        DefinitionError, match="each row must start with an integer patient_id"
    ):

        @table_from_rows([("a", 1)])
        class t(PatientFrame):
            n = Series(int)


def test_inline_event_table():
    with pytest.raises(
        DefinitionError, match="inline tables must be PatientFrame tables"
    ):

        @table_from_rows([(1, 1)])
        class t(EventFrame):
            n = Series(int)


def test_table_from_a_missing_file(tmp_path):
    with pytest.raises(DefinitionError, match="table file not found"):

        @table_from_file(tmp_path / "missing.csv")
        class t(PatientFrame):
            n = Series(int)


def test_table_from_a_file_missing_a_column(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("patient_id,m\n1,2\n")
    with pytest.raises(DefinitionError, match="is missing columns: n"):

        @table_from_file(path)
        class t(PatientFrame):
            n = Series(int)


def test_table_from_a_file_of_an_unknown_format(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("patient_id,n\n1,2\n")
    with pytest.raises(DefinitionError, match="must be .csv, .csv.gz or .arrow"):

        @table_from_file(path)
        class t(PatientFrame):
            n = Series(int)


# ---------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------


def test_missing_parameter():
    with pytest.raises(ParameterError, match="parameter 'nope' was not given"):
        get_parameter("nope")


# ---------------------------------------------------------------------------
# The model's errors, and the DSL's wording of them
# ---------------------------------------------------------------------------


def test_a_reworded_error_keeps_the_models_facts():
    with pytest.raises(TypeValidationError) as caught:
        p.i1 + "a"
    error = caught.value
    assert (error.node, error.operand, error.actual, error.other) == (
        qm.Function.Add,
        "rhs",
        int,
        str,
    )
    assert str(error) == "cannot combine an integer series with a string series (in +)"


def test_the_model_names_nodes_and_fields_not_dsl_methods():
    with pytest.raises(TypeValidationError) as caught:
        qm.AggregateByPatient.Mean(e.s1._qm_node)
    assert str(caught.value) == (
        "AggregateByPatient.Mean needs an integer or float series as its source, not a string series"
    )
    assert caught.value.expected is qm.NUMERIC


def test_except_where_with_a_non_boolean_condition():
    with pytest.raises(
        TypeValidationError,
        match="the condition of a filter needs a boolean series, not an integer series",
    ):
        e.except_where(e.i1)


def test_map_values_to_values_of_different_types_names_map_values():
    with pytest.raises(
        TypeValidationError,
        match=r"cannot combine a string series with an integer series \(in map_values\(\)\)",
    ):
        p.i1.map_values({1: "a", 2: 3})


def _declaring_operand_types():
    for namespace in (qm.Function, qm.AggregateByPatient):
        for name, cls in vars(namespace).items():
            if not name.startswith("_") and cls.operand_types is not None:
                yield cls


@pytest.mark.parametrize(
    "cls", list(_declaring_operand_types()), ids=lambda cls: cls.__qualname__
)
def test_the_dsl_has_words_for_every_operation_that_checks_its_operand_types(cls):
    from ehrql.query_language import _OPERATION_NAMES

    fields = [f.name for f in dataclasses.fields(cls)]
    assert cls in _OPERATION_NAMES or all(
        (cls, name) in _OPERATION_NAMES for name in fields
    )


def test_logic_with_a_bare_none_says_none():
    with pytest.raises(
        TypeValidationError, match="& needs a boolean series, not None$"
    ):
        p.b1 & None


def test_series_from_unrelated_frames_are_named_in_a_fixed_order():
    with pytest.raises(
        DomainMismatchError, match="the table 'e' and the table 'other'$"
    ):
        other.i1 + e.i1
