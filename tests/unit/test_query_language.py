"""Unit tests for the language: which query model nodes each construct builds.

What the nodes mean is tested by the spec tests; here we check the translation,
the series classes, durations and intervals, datasets and parameters.
"""

import contextlib
import datetime
from datetime import date

import pytest

from ehrql import case, create_dataset, days, maximum_of, months, weeks, when, years
from ehrql.codes import SNOMEDCTCode
from ehrql.errors import DefinitionError, ParameterError
from ehrql.query_language import BaseSeries, get_parameter
from ehrql.query_model import nodes as qm
from ehrql.tables import EventFrame, PatientFrame, Series, table
from ehrql.user_args import user_arguments
from tests.spec.tables import e, p

Fn = qm.Function


def node(series):
    return series._qm_node


# ---------------------------------------------------------------------------
# Series classes
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "series, name",
    [
        (p.i1, "IntPatientSeries"),
        (e.i1, "IntEventSeries"),
        (p.f1, "FloatPatientSeries"),
        (e.b1, "BoolEventSeries"),
        (p.d1, "DatePatientSeries"),
        (e.s1, "StrEventSeries"),
        (p.c1, "CodePatientSeries"),
        (p.i1 / 2, "FloatPatientSeries"),
        (e.i1.sum_for_patient(), "IntPatientSeries"),
        (e.i1.mean_for_patient(), "FloatPatientSeries"),
        (e.d1 > "2020-01-01", "BoolEventSeries"),
        ((p.d1 - p.d2).days, "IntPatientSeries"),
    ],
)
def test_series_class_follows_type_and_domain(series, name):
    assert type(series).__name__ == name


def test_only_event_series_aggregate():
    assert hasattr(e.i1, "sum_for_patient")
    assert not hasattr(p.i1, "sum_for_patient")
    assert not hasattr(e.b1, "sum_for_patient")
    assert hasattr(e.s1, "minimum_for_patient")


def test_series_are_hashable():
    assert hash(p.i1) == hash(p.i1)


# ---------------------------------------------------------------------------
# Constants and mixing types
# ---------------------------------------------------------------------------


def test_date_strings_become_dates():
    assert node(p.d1 < "2020-02-29") == Fn.LT(node(p.d1), qm.Value(date(2020, 2, 29)))


def test_code_strings_become_codes_of_the_series_system():
    assert node(p.c1 == "73211009") == Fn.EQ(
        node(p.c1), qm.Value(SNOMEDCTCode("73211009"))
    )


def test_int_constants_become_floats_next_to_float_series():
    assert node(p.f1 + 1) == Fn.Add(node(p.f1), qm.Value(1.0))


def test_int_series_are_cast_next_to_floats():
    assert node(p.i1 + 0.5) == Fn.Add(Fn.CastToFloat(node(p.i1)), qm.Value(0.5))
    assert node(p.i1 < p.f1) == Fn.LT(Fn.CastToFloat(node(p.i1)), node(p.f1))


def test_reflected_operators_keep_the_order():
    assert node(10 - p.i1) == Fn.Subtract(qm.Value(10), node(p.i1))
    assert node(True & p.b1) == Fn.And(qm.Value(True), node(p.b1))


def test_is_in_builds_a_constant_set():
    assert node(p.i1.is_in([1, 2, 2])) == Fn.In(node(p.i1), qm.Value(frozenset([1, 2])))


def test_is_in_with_a_dict_uses_its_keys():
    assert node(p.s1.is_in({"a": 1})) == Fn.In(node(p.s1), qm.Value(frozenset(["a"])))


def test_is_not_in_negates_is_in():
    assert node(p.i1.is_not_in([1])) == Fn.Not(node(p.i1.is_in([1])))


def test_is_not_null_negates_is_null():
    assert node(p.i1.is_not_null()) == Fn.Not(Fn.IsNull(node(p.i1)))


# ---------------------------------------------------------------------------
# Frames
# ---------------------------------------------------------------------------


def test_where_builds_a_filter():
    assert node(e.where(e.b1)) == qm.Filter(node(e), node(e.b1))


def test_except_where_keeps_false_and_null():
    expected = qm.Filter(node(e), Fn.Or(Fn.Not(node(e.b1)), Fn.IsNull(node(e.b1))))
    assert node(e.except_where(e.b1)) == expected


def test_sort_by_several_values_nests_sorts_with_the_first_outermost():
    expected = qm.Sort(qm.Sort(node(e), node(e.i2)), node(e.i1))
    assert node(e.sort_by(e.i1, e.i2)) == expected


def test_count_for_patient_of_a_patient_frame_counts_zero_or_one():
    assert node(p.count_for_patient()) == Fn.CastToInt(
        qm.AggregateByPatient.Exists(node(p))
    )


@table
class events(EventFrame):
    i = Series(int)
    flag = Series(bool)

    def flagged(self):
        return self.where(self.flag)

    def value_doubled(self):
        return self.i * 2


def test_table_helper_methods_carry_over_to_derived_frames():
    assert node(events.flagged().value_doubled()) == Fn.Multiply(
        qm.SelectColumn(node(events.flagged()), "i"), qm.Value(2)
    )
    sorted_ = events.flagged().sort_by(events.i)
    assert hasattr(sorted_, "flagged")
    picked = sorted_.first_for_patient()
    assert isinstance(picked, PatientFrame)
    assert node(picked.value_doubled()).type is int
    assert not hasattr(picked, "where")


def test_tables_are_named_after_their_class():
    assert node(events) == qm.SelectTable("events", node(events).schema)
    assert node(events).schema.column_names == ["i", "flag"]


# ---------------------------------------------------------------------------
# Case expressions and combining series
# ---------------------------------------------------------------------------


def test_case_builds_one_case_node():
    expected = qm.Case(
        qm.FrozenDict({node(p.b1): qm.Value("yes")}), default=qm.Value("no")
    )
    assert node(case(when(p.b1).then("yes"), otherwise="no")) == expected
    assert node(when(p.b1).then("yes").otherwise("no")) == expected


def test_case_keeps_the_first_of_repeated_conditions():
    result = case(when(p.b1).then(1), when(p.b1).then(2))
    assert node(result) == qm.Case(qm.FrozenDict({node(p.b1): qm.Value(1)}))


def test_when_null_then_is_a_case():
    expected = qm.Case(
        qm.FrozenDict({Fn.Not(Fn.IsNull(node(p.i1))): node(p.i1)}), default=qm.Value(0)
    )
    assert node(p.i1.when_null_then(0)) == expected


def test_map_values_compares_with_each_key():
    result = p.i1.map_values({1: "a", 2: "b"}, default="c")
    expected = qm.Case(
        qm.FrozenDict(
            {
                Fn.EQ(node(p.i1), qm.Value(1)): qm.Value("a"),
                Fn.EQ(node(p.i1), qm.Value(2)): qm.Value("b"),
            }
        ),
        default=qm.Value("c"),
    )
    assert node(result) == expected


def test_maximum_of_promotes_ints_to_floats():
    assert node(maximum_of(p.i1, p.f1)) == Fn.MaximumOf(
        (Fn.CastToFloat(node(p.i1)), node(p.f1))
    )
    assert node(maximum_of(p.f1, 1)) == Fn.MaximumOf((node(p.f1), qm.Value(1.0)))


# ---------------------------------------------------------------------------
# Durations
# ---------------------------------------------------------------------------


def test_adding_durations_builds_date_arithmetic():
    assert node(p.d1 + days(3)) == Fn.DateAddDays(node(p.d1), qm.Value(3))
    assert node(p.d1 - months(p.i1)) == Fn.DateAddMonths(
        node(p.d1), Fn.Negate(node(p.i1))
    )
    assert node(p.d1 + years(1)) == Fn.DateAddYears(node(p.d1), qm.Value(1))


def test_weeks_are_seven_days():
    assert node(p.d1 + weeks(2)) == Fn.DateAddDays(
        node(p.d1), Fn.Multiply(qm.Value(2), qm.Value(7))
    )


def test_date_differences():
    difference = p.d1 - "2020-01-01"
    start = qm.Value(date(2020, 1, 1))
    assert node(difference.days) == Fn.DateDifferenceInDays(node(p.d1), start)
    assert node(difference.weeks) == Fn.FloorDivide(
        Fn.DateDifferenceInDays(node(p.d1), start), qm.Value(7)
    )
    assert node(difference.months) == Fn.DateDifferenceInMonths(node(p.d1), start)
    assert node(difference.years) == Fn.DateDifferenceInYears(node(p.d1), start)


def test_durations_of_one_unit_add_up():
    assert days(2) + days(3) == days(5)
    assert months(2) - months(3) == months(-1)
    assert -years(2) == years(-2)


@pytest.mark.parametrize(
    "duration, start, expected",
    [
        (
            weeks(2),
            "2020-02-20",
            [
                (date(2020, 2, 20), date(2020, 2, 26)),
                (date(2020, 2, 27), date(2020, 3, 4)),
            ],
        ),
        (
            months(3),
            "2020-11-01",
            [
                (date(2020, 11, 1), date(2020, 11, 30)),
                (date(2020, 12, 1), date(2020, 12, 31)),
                (date(2021, 1, 1), date(2021, 1, 31)),
            ],
        ),
        (
            years(2),
            date(2020, 3, 1),
            [
                (date(2020, 3, 1), date(2021, 2, 28)),
                (date(2021, 3, 1), date(2022, 2, 28)),
            ],
        ),
        (days(2), "2020-02-28", [(date(2020, 2, 28),) * 2, (date(2020, 2, 29),) * 2]),
    ],
)
def test_starting_on(duration, start, expected):
    assert duration.starting_on(start) == expected


@pytest.mark.parametrize(
    "duration, end, expected",
    [
        (
            weeks(3),
            "2000-01-21",
            [
                (date(2000, 1, 1), date(2000, 1, 7)),
                (date(2000, 1, 8), date(2000, 1, 14)),
                (date(2000, 1, 15), date(2000, 1, 21)),
            ],
        ),
        (
            # Stepping back from the end, as public ehrQL does: 31 February
            # rolls forward to 1 March, so the last interval starts on the 2nd.
            months(2),
            "2020-03-31",
            [
                (date(2020, 2, 1), date(2020, 3, 1)),
                (date(2020, 3, 2), date(2020, 3, 31)),
            ],
        ),
        (
            months(3),
            "2020-12-31",
            [
                (date(2020, 10, 2), date(2020, 10, 31)),
                (date(2020, 11, 1), date(2020, 12, 1)),
                (date(2020, 12, 2), date(2020, 12, 31)),
            ],
        ),
        (
            months(2),
            "2021-02-28",
            [
                (date(2020, 12, 29), date(2021, 1, 28)),
                (date(2021, 1, 29), date(2021, 2, 28)),
            ],
        ),
        (
            years(2),
            "2020-12-31",
            [
                (date(2019, 1, 1), date(2019, 12, 31)),
                (date(2020, 1, 1), date(2020, 12, 31)),
            ],
        ),
    ],
)
def test_ending_on(duration, end, expected):
    assert duration.ending_on(end) == expected


def test_intervals_need_a_fixed_count_and_date():
    with pytest.raises(DefinitionError, match="need a fixed number"):
        days(p.i1).starting_on("2020-01-01")
    with pytest.raises(DefinitionError, match="0 or more"):
        days(-1).starting_on("2020-01-01")
    assert days(0).starting_on("2020-01-01") == days(0).ending_on("2020-01-01") == []
    with pytest.raises(
        DefinitionError, match="a fixed date such as .2020-01-01. is needed here"
    ):
        days(1).ending_on(p.d1)


# ---------------------------------------------------------------------------
# Datasets
# ---------------------------------------------------------------------------


def test_dataset_compiles_to_a_query_model_dataset_in_definition_order():
    dataset = create_dataset()
    dataset.define_population(p.exists_for_patient())
    dataset.b = p.i2
    dataset.add_column("a", p.i1)
    compiled = dataset._compile()
    assert compiled.population == node(p.exists_for_patient())
    assert list(compiled.variables) == ["b", "a"]
    assert compiled.variables["a"] == node(p.i1)


def test_dataset_columns_can_be_read_back():
    dataset = create_dataset()
    dataset.age = p.i1
    assert node(dataset.age + 1) == Fn.Add(node(p.i1), qm.Value(1))


# ---------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------


@pytest.fixture
def parameters():
    with contextlib.ExitStack() as stack:

        def set_parameters(*args, **values):
            pairs = [
                item for name, value in values.items() for item in (f"--{name}", value)
            ]
            stack.enter_context(user_arguments("definition.py", [*args, *pairs]))

        yield set_parameters


def test_get_parameter_converts_the_value(parameters):
    parameters(n="3", start="2020-01-01", flag="yes")
    assert get_parameter("n", type=int) == 3
    assert get_parameter("start") == "2020-01-01"
    assert get_parameter("start", type=datetime.date.fromisoformat) == date(2020, 1, 1)
    assert get_parameter("flag", type=bool) is True


def test_get_parameter_default(parameters):
    parameters()
    assert get_parameter("missing", default=5) == 5
    assert get_parameter("missing", default=None) is None
    with pytest.raises(ParameterError, match="parameter 'missing' was not given"):
        get_parameter("missing")


def test_get_parameter_with_several_values_gives_a_list(parameters):
    parameters("--sex", "male", "female", "--n", "1", "--n", "2", "--flag", "--one=x")
    assert get_parameter("sex") == ["male", "female"]
    assert get_parameter("n", type=int) == [1, 2]
    assert get_parameter("flag", type=bool) is True
    assert get_parameter("one") == "x"
    with pytest.raises(ParameterError, match="'--flag' has no value after it"):
        get_parameter("flag")


def test_get_parameter_of_the_wrong_type(parameters):
    parameters(n="x", flag="maybe")
    with pytest.raises(
        ParameterError, match="parameter 'n' must be an integer, got 'x'"
    ):
        get_parameter("n", type=int)
    with pytest.raises(ParameterError, match="must be a number"):
        get_parameter("n", type=float)
    with pytest.raises(ParameterError, match=r"must be readable by fromisoformat\(\)"):
        get_parameter("n", type=datetime.date.fromisoformat)
    with pytest.raises(ParameterError, match="must be true or false"):
        get_parameter("flag", type=bool)


def test_a_constant_date_moved_by_a_fixed_duration_is_a_constant_date():
    # So that, as in public ehrQL, it can be used where a fixed date is needed.
    assert "2018-10-01" - days(1) == date(2018, 9, 30)
    assert date(2020, 1, 31) + months(1) == date(2020, 3, 1)
    assert days(2).ending_on("2018-10-01" - days(1)) == [
        (date(2018, 9, 29), date(2018, 9, 29)),
        (date(2018, 9, 30), date(2018, 9, 30)),
    ]
    assert isinstance("2020-01-01" + days(p.i1), BaseSeries)


# ---------------------------------------------------------------------------
# Powers and absolute values
# ---------------------------------------------------------------------------


def test_abs_of_a_series_says_to_use_absolute():
    from ehrql import Error

    with pytest.raises(Error, match=r"use `x.absolute\(\)` instead of `abs\(x\)`"):
        abs(p.i1)


def test_power_is_a_float_series_and_mixes_ints_with_floats():
    assert node(p.i1**2) == Fn.Power(node(p.i1), qm.Value(2))
    assert node(2**p.i1) == Fn.Power(qm.Value(2), node(p.i1))
    assert node(p.f1**2) == Fn.Power(node(p.f1), qm.Value(2.0))
    assert type(p.i1**p.i2).__name__ == "FloatPatientSeries"
    assert type(e.i1.absolute()).__name__ == "IntEventSeries"


# ---------------------------------------------------------------------------
# Mistakes get errors that say what to write instead
# ---------------------------------------------------------------------------


def test_comparing_with_none_says_to_use_is_null():
    from ehrql import Error

    with pytest.raises(Error, match=r"use `x.is_null\(\)`"):
        p.i1 == None  # noqa: E711
    with pytest.raises(Error, match=r"use `x.is_not_null\(\)`"):
        p.i1 != None  # noqa: E711


def test_a_date_difference_in_a_dataset_says_to_pick_a_unit():
    dataset = create_dataset()
    with pytest.raises(
        DefinitionError,
        match=r"difference between two dates: choose its unit with .days",
    ) as info:
        dataset.gap = p.d1 - p.d2
    assert "object at 0x" not in str(info.value)


@pytest.mark.parametrize(
    "get, message",
    [
        (
            lambda: p.s1.contain("a"),
            r"string series has no method or property 'contain'; did you mean 'contains'\?",
        ),
        (lambda: p.d1.is_befor("2020-01-01"), r"did you mean 'is_before'"),
        (
            lambda: p.s1.upper(),
            r"no method or property 'upper'; the ones there are: as_str, contains, is_in",
        ),
        (lambda: p.date_one, r"table 'p' has no column or method 'date_one'"),
        (lambda: p.sl, r"did you mean 's2' or 's1'\?"),
    ],
)
def test_unknown_attributes_suggest_the_nearest_real_one(get, message):
    with pytest.raises(AttributeError, match=message):
        get()


# ---------------------------------------------------------------------------
# table_from_file(path, columns=...)
# ---------------------------------------------------------------------------


def test_table_from_file_with_columns_reads_only_those(tmp_path):
    from ehrql import table_from_file

    path = tmp_path / "t.csv"
    path.write_text("patient_id,age,ignored\n1,30,x\n2,,y\n")
    matched = table_from_file(path, columns={"age": int})
    frame = node(matched.age).source
    assert frame.rows == ((1, 30), (2, None))
    assert type(matched.age).__name__ == "IntPatientSeries"


@pytest.mark.parametrize(
    "columns, message",
    [
        ({}, "must be a dict of column name -> type"),
        ({"patient_id": int}, "leave it out of columns="),
        ({"age": list}, "column 'age' has type"),
        ({"bad name": int}, "not a valid column name"),
    ],
)
def test_table_from_file_columns_are_checked(tmp_path, columns, message):
    from ehrql import table_from_file

    path = tmp_path / "t.csv"
    path.write_text("patient_id,age\n1,30\n")
    with pytest.raises(DefinitionError, match=message):
        table_from_file(path, columns=columns)


def test_table_from_file_without_columns_hints_at_them(tmp_path):
    from ehrql import table_from_file

    with pytest.raises(
        AttributeError, match=r"give its columns, as in table_from_file\(.*columns="
    ):
        table_from_file(tmp_path / "t.csv").age


def test_is_in_an_event_series_combines_its_values_per_patient():
    assert node(p.i1.is_in(e.i1)) == Fn.In(
        node(p.i1), qm.AggregateByPatient.CombineAsSet(node(e.i1))
    )
    with pytest.raises(DefinitionError, match="takes an event series"):
        p.i1.is_in(p.i2)
    with pytest.raises(
        qm.TypeValidationError, match="cannot look for an integer series among"
    ):
        p.i1.is_in(e.s1)


def test_count_episodes_takes_a_fixed_gap_in_days_or_weeks():
    assert node(e.d1.count_episodes_for_patient(weeks(2))) == node(
        e.d1.count_episodes_for_patient(days(14))
    )
    for gap, message in [
        (10, "in days\\(\\) or weeks\\(\\)"),
        (months(1), "in days\\(\\) or weeks\\(\\)"),
        (days(p.i1), "single, fixed number of days"),
    ]:
        with pytest.raises(DefinitionError, match=message):
            e.d1.count_episodes_for_patient(gap)
    with pytest.raises(qm.ValidationError, match="0 or more"):
        e.d1.count_episodes_for_patient(days(-1))
    assert not hasattr(e.i1, "count_episodes_for_patient")
