import datetime
import random

from ehrql import years
from ehrql.codes import ICD10MultiCodeString, SNOMEDCTCode
from ehrql.dummy.hints import collect_hints
from ehrql.dummy.values import (
    LAZY_POOL,
    ValueChoice,
    column_choice,
    obeys_value_constraints,
)
from ehrql.query_model import nodes as qm
from ehrql.query_model.table_schema import Column, Constraint
from tests.unit.dummy.tables import events, people

NO_HINTS = collect_hints([])


def choice_for(column, hints=NO_HINTS, table="t", name="c"):
    return column_choice(table, name, column, hints, random.Random(0))


def draws(choice, n=400, seed=0):
    rng = random.Random(seed)
    return [choice.sample(rng) for _ in range(n)]


def test_not_null_columns_are_never_null_and_nullable_ones_sometimes_are():
    assert None not in draws(
        choice_for(Column(int, constraints=[Constraint.NotNull()]))
    )
    assert None in draws(choice_for(Column(int)))


def test_categorical_values_only():
    values = draws(
        choice_for(Column(str, constraints=[Constraint.Categorical("a", "b")]))
    )
    assert set(values) == {"a", "b", None}


def test_closed_range_with_a_step():
    values = draws(
        choice_for(Column(int, constraints=[Constraint.ClosedRange(10, 30, 4)]))
    )
    assert {v for v in values if v is not None} <= {10, 14, 18, 22, 26, 30}
    assert len(set(values)) > 4


def test_first_of_month_dates():
    values = draws(
        choice_for(Column(datetime.date, constraints=[Constraint.FirstOfMonth()]))
    )
    assert all(v is None or v.day == 1 for v in values)


def test_regex_strings():
    column = Column(str, constraints=[Constraint.Regex(r"P[0-9]{3}")])
    values = [v for v in draws(choice_for(column)) if v is not None]
    assert all(obeys_value_constraints(column, v) for v in values)
    assert len(set(values)) > 3


def test_categorical_codes_given_as_strings():
    column = Column(
        SNOMEDCTCode, constraints=[Constraint.Categorical("22298006", "195967001")]
    )
    values = {v for v in draws(choice_for(column)) if v is not None}
    assert values == {SNOMEDCTCode("22298006"), SNOMEDCTCode("195967001")}


def test_restrict_keeps_only_accepted_values_and_null_when_accepted():
    choice = ValueChoice((1, 2, 3, 4), (4,), True)
    narrowed = choice.restrict(lambda v: v is not None and v % 2 == 0)
    assert narrowed == ValueChoice((2, 4), (4,), False)
    assert not narrowed.empty
    assert choice.restrict(lambda v: False).empty
    only_null = choice.restrict(lambda v: v is None)
    assert set(draws(only_null, 20)) == {None}


def test_mentioned_values_are_preferred():
    hints = collect_hints([events.code.is_in(["271807003"])._qm_node])
    choice = choice_for(Column(SNOMEDCTCode), hints, table="events", name="code")
    values = draws(choice)
    mentioned = values.count(SNOMEDCTCode("271807003"))
    # Far more often than one code in thirteen, but not always.
    assert len(values) * 0.3 < mentioned < len(values) * 0.9


def test_dates_near_mentioned_dates_are_preferred():
    hints = collect_hints([(people.died_on > "1950-06-01")._qm_node])
    values = [
        v for v in draws(choice_for(Column(datetime.date), hints)) if v is not None
    ]
    near = [v for v in values if 1947 <= v.year <= 1953]
    # Six years out of a pool of 130 would be under 5% by chance.
    assert len(near) > len(values) * 0.3


def test_hints_include_dates_worked_out_from_constants():
    node = (people.died_on > (datetime.date(2020, 3, 1) + years(-2)))._qm_node
    hints = collect_hints([node])
    assert datetime.date(2018, 3, 1) in hints.dates
    assert hints.for_column("people", "died_on") == (datetime.date(2018, 3, 1),)


def test_multi_code_strings_hold_the_searched_codes_and_others():
    column_node = qm.SelectColumn(
        qm.SelectTable(
            "spells_h", qm.TableSchema(diagnoses=Column(ICD10MultiCodeString))
        ),
        "diagnoses",
    )
    hints = collect_hints([qm.Function.StringContains(column_node, qm.Value("N17"))])
    choice = choice_for(
        Column(ICD10MultiCodeString), hints, table="spells_h", name="diagnoses"
    )
    values = [v for v in draws(choice) if v is not None]
    assert all(v.value.startswith("||") for v in values)
    assert any("N17" in v.value for v in values)
    assert any("N17" not in v.value for v in values)


def test_cutting_an_ordered_pool_by_bisection_matches_filtering():
    rng = random.Random(8)
    base = choice_for(
        Column(datetime.date), collect_hints([(people.died_on > "2001-02-03")._qm_node])
    )
    assert base.ordered
    for _ in range(30):
        low, high = sorted(rng.sample(base.values, 2))
        low_inclusive, high_inclusive = rng.random() < 0.5, rng.random() < 0.5
        cut = base.within(low, low_inclusive, high, high_inclusive)

        # Defaults bind this iteration's bounds (restrict() calls it at once anyway).
        def accept(
            v,
            low=low,
            low_inclusive=low_inclusive,
            high=high,
            high_inclusive=high_inclusive,
        ):
            return (
                v is not None
                and (low < v or (low_inclusive and v == low))
                and (v < high or (high_inclusive and v == high))
            )

        assert cut == base.restrict(accept).filtered
    assert base.within(None, False, base.values[3], False).values == base.values[:3]


def test_dummy_data_constraints_are_obeyed_too():
    column = Column(
        float,
        constraints=[Constraint.NotNull()],
        dummy_data_constraints=[Constraint.ClosedRange(10.0, 20.0, 0.5)],
    )
    values = draws(choice_for(column))
    assert None not in values
    assert all(10.0 <= v <= 20.0 for v in values)
    assert len(set(values)) > 5


def test_a_large_pool_is_filtered_as_values_are_drawn():
    rng = random.Random(3)
    base = choice_for(
        Column(datetime.date), collect_hints([(people.died_on > "2001-02-03")._qm_node])
    )
    assert len(base.values) >= LAZY_POOL
    mondays = base.restrict(lambda v: v is None or v.weekday() == 0)
    assert mondays.pending and mondays.values == base.values
    drawn = [mondays.sample(rng) for _ in range(300)]
    assert all(d is None or d.weekday() == 0 for d in drawn)
    assert any(d is not None for d in drawn)
    assert mondays.allows(datetime.date(2024, 1, 1)) and not mondays.allows(
        datetime.date(2024, 1, 2)
    )
    assert not mondays.empty
    rare = mondays.restrict(lambda v: v == datetime.date(2024, 1, 1))
    assert {
        rare.sample_within(rng, datetime.date(2000, 1, 1), None) for _ in range(20)
    } == {datetime.date(2024, 1, 1)}
    assert base.restrict(lambda v: False).empty


def test_a_codelist_keeps_its_members_without_evaluating_each_value():
    rng = random.Random(2)
    codes = (SNOMEDCTCode("271807003"), SNOMEDCTCode("49727002"))
    base = ValueChoice(codes + (SNOMEDCTCode("267036007"),), codes[:1], True)
    kept = base.among(frozenset(codes))
    assert (
        set(kept.values) == set(codes)
        and kept.preferred == codes[:1]
        and not kept.null_allowed
    )
    assert {kept.sample(rng) for _ in range(50)} == set(codes)


def test_an_ordered_pool_tells_the_values_it_allows_without_a_set():
    # A date pool is searched by bisection: the same answers as membership.
    choice = choice_for(Column(datetime.date)).within(
        datetime.date(2020, 1, 1), True, datetime.date(2020, 12, 31), True
    )
    assert choice.ordered and choice.values
    inside = choice.values[len(choice.values) // 2]
    assert choice.allows(inside)
    assert not choice.allows(datetime.date(2019, 12, 31))
    assert not choice.allows(datetime.date(2021, 1, 1))
    assert not choice.allows("2020-06-01")
    assert choice.allows(None) is choice.null_allowed
    assert all(
        choice.allows(v) for v in choice.values[:: max(1, len(choice.values) // 50)]
    )
    assert "_value_set" not in choice.__dict__


def test_dates_near_mentioned_ones_are_those_within_the_neighbourhood_of_any():
    from ehrql.dummy.values import _DATE_NEIGHBOURHOOD, _near

    start = datetime.date(2000, 1, 1).toordinal()
    pool = tuple(datetime.date.fromordinal(start + i) for i in range(0, 20_000, 3))
    mentioned = sorted(
        {start + 5, start + 7, start + 4_000, start + 15_000, start + 25_000}
    )
    assert _near(pool, mentioned) == tuple(
        d
        for d in pool
        if any(abs(d.toordinal() - n) <= _DATE_NEIGHBOURHOOD for n in mentioned)
    )
