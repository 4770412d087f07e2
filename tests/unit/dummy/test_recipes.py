import datetime
import random

from ehrql import days
from ehrql.codes import SNOMEDCTCode
from ehrql.dummy.hints import collect_hints
from ehrql.dummy.plausibility import life_bounded_columns
from ehrql.dummy.recipes import ChoiceCache, Restriction, make_recipe
from ehrql.dummy.row_expressions import compile_row_expression
from ehrql.dummy.solver import RowBan
from ehrql.dummy.values import column_choice
from tests.unit.dummy.tables import appointments, events, prescriptions, spells

EVENTS = events._qm_node
SPELLS = spells._qm_node
APPOINTMENTS = appointments._qm_node


def cache_for(*tables):
    hints = collect_hints([])
    rng = random.Random(0)
    return ChoiceCache(
        {
            t: {n: column_choice(t.name, n, c, hints, rng) for n, c in t.schema.columns}
            for t in tables
        }
    )


def expression(series, table=EVENTS):
    return compile_row_expression(series._qm_node, table)


def draw_many(recipe, n=200):
    rng = random.Random(1)
    return [recipe.draw(rng, {}) for _ in range(n)]


def test_single_column_conditions_narrow_the_column():
    recipe = make_recipe(
        EVENTS,
        (expression(events.day >= "2021-01-01"), expression(events.flagged)),
        (),
        cache_for(EVENTS),
    )
    assert recipe.feasible and recipe.checks == ()
    rows = draw_many(recipe)
    assert all(
        r["day"] >= datetime.date(2021, 1, 1) and r["flagged"] is True for r in rows
    )


def test_conditions_across_columns_are_checked_per_row():
    recipe = make_recipe(
        EVENTS,
        (expression(events.reading.as_int() == events.day.year - 1950),),
        (),
        cache_for(EVENTS),
    )
    rows = [r for r in draw_many(recipe, 50) if r is not None]
    assert rows  # a redraw sometimes finds one
    assert all(int(r["reading"]) == r["day"].year - 1950 for r in rows)


def test_bans_narrow_columns_or_check_rows():
    flagged = expression(events.flagged)
    recent = expression(events.day > "2020-01-01")
    banned_flag = RowBan(EVENTS, (flagged,), ())
    banned_pair = RowBan(EVENTS, (flagged, recent), ())
    only_recent = RowBan(EVENTS, (), (recent,))
    cache = cache_for(EVENTS)
    assert all(
        r["flagged"] is not True
        for r in draw_many(make_recipe(EVENTS, (), (banned_flag,), cache))
    )
    pair_rows = [
        r for r in draw_many(make_recipe(EVENTS, (), (banned_pair,), cache)) if r
    ]
    assert not any(
        r["flagged"] is True and r["day"] and r["day"] > datetime.date(2020, 1, 1)
        for r in pair_rows
    )
    assert all(
        r["day"] > datetime.date(2020, 1, 1)
        for r in draw_many(make_recipe(EVENTS, (), (only_recent,), cache))
    )


def test_impossible_rows_make_the_recipe_infeasible():
    cache = cache_for(SPELLS)
    # `site` cannot be null, so "site is null" leaves no value at all.
    impossible = make_recipe(
        SPELLS, (expression(spells.site.is_null(), SPELLS),), (), cache
    )
    assert not impossible.feasible
    empty = make_recipe(SPELLS, (), (RowBan(SPELLS, (), ()),), cache)
    assert not empty.feasible


def test_a_row_drawn_without_checks_still_keeps_to_date_after():
    cache = cache_for(SPELLS)
    # A check across two columns that no row can pass.
    never = expression(spells.began.year * 0 == spells.site - spells.site + 1, SPELLS)
    recipe = make_recipe(SPELLS, (never,), (), cache)
    assert recipe.feasible
    rng = random.Random(2)
    assert recipe.draw(rng, {}) is None
    for _ in range(30):
        row = recipe.draw_unchecked(rng)
        assert row["ended"] is None or row["ended"] >= row["began"]


def test_null_checks_and_negated_comparisons_narrow_by_bisection():
    cache = cache_for(EVENTS)
    recipe = make_recipe(EVENTS, (expression(events.day.is_null()),), (), cache)
    assert dict(recipe.choices)["day"].values == ()
    assert all(r["day"] is None for r in draw_many(recipe, 20))
    not_before = ~(events.day < "2021-01-01") | (events.day < "2021-01-01").is_null()
    choice = dict(make_recipe(EVENTS, (expression(not_before),), (), cache).choices)[
        "day"
    ]
    assert not choice.pending and choice.null_allowed
    assert choice.values[0] == datetime.date(2021, 1, 1)
    # Not null, asked or as a ban on null: the pool is kept whole, with no filter pending.
    for recipe in (
        make_recipe(EVENTS, (expression(events.day.is_not_null()),), (), cache),
        make_recipe(
            EVENTS,
            (),
            (RowBan(EVENTS, (expression(events.day.is_null()),), ()),),
            cache,
        ),
    ):
        choice = dict(recipe.choices)["day"]
        assert not choice.pending and not choice.null_allowed and choice.values
        assert all(r["day"] is not None for r in draw_many(recipe, 20))
    banned_early = RowBan(EVENTS, (expression(events.day < "2021-01-01"),), ())
    choice = dict(make_recipe(EVENTS, (), (banned_early,), cache).choices)["day"]
    assert (
        not choice.pending
        and choice.null_allowed
        and choice.values[0] == datetime.date(2021, 1, 1)
    )


def test_rows_are_drawn_inside_bounds_read_from_the_patients_other_rows():
    # Two weeks after the latest spell began: a window no blind draw finds.
    began = spells.sort_by(spells.began).last_for_patient().began
    window = (
        expression(events.day > began),
        expression(events.day <= began + days(14)),
    )
    recipe = make_recipe(EVENTS, window, (), cache_for(EVENTS))
    assert len(recipe.context_bounds) == 2
    context = {
        "spells": [{"began": datetime.date(2015, 3, 1), "ended": None, "site": 1}]
    }
    rng = random.Random(3)
    rows = [recipe.draw(rng, context) for _ in range(50)]
    assert all(r is not None for r in rows)
    assert all(
        datetime.date(2015, 3, 2) <= r["day"] <= datetime.date(2015, 3, 15)
        for r in rows
    )


def test_rows_bounded_by_other_rows_stay_within_the_patients_life():
    # After the latest spell began, and before the patient died: a required
    # row drawn without its checks (when none could be found) keeps to both.
    began = spells.sort_by(spells.began).last_for_patient().began
    recipe = make_recipe(
        EVENTS,
        (expression(events.day > began),),
        (),
        cache_for(EVENTS),
        life_bounded=life_bounded_columns(EVENTS),
    )
    context = {
        "spells": [{"began": datetime.date(2015, 3, 1), "ended": None, "site": 1}],
        "death_records": {"died": datetime.date(2016, 1, 1), "cause": None},
    }
    rng = random.Random(5)
    days = [recipe.draw_unchecked(rng, context)["day"] for _ in range(50)]
    days = [d for d in days if d is not None]
    assert days
    assert all(
        datetime.date(2015, 3, 2) <= d <= datetime.date(2016, 1, 1) for d in days
    )


def test_a_row_bounded_after_the_death_skips_the_attempts_held_to_the_life():
    # The soft checks keep dates within the life only in the first half of
    # the attempts; where the bounds the patient's other rows set lie wholly
    # after the death, no row can meet both, so those attempts are skipped.
    began = spells.sort_by(spells.began).last_for_patient().began
    asked = []

    def within_life(row, context):
        asked.append(row)
        return True

    recipe = make_recipe(
        EVENTS,
        (expression(events.day > began),),
        (),
        cache_for(EVENTS),
        soft_checks=(within_life,),
        life_bounded=life_bounded_columns(EVENTS),
    )
    spell = {"began": datetime.date(2015, 3, 1), "ended": None, "site": 1}
    rng = random.Random(5)
    after_death = {
        "spells": [spell],
        "death_records": {"died": datetime.date(2014, 1, 1), "cause": None},
    }
    row = recipe.draw(rng, after_death)
    assert row is not None and row["day"] > datetime.date(2015, 3, 1)
    assert asked == []
    # With the bounds inside the life, the first attempt is held to it.
    alive = {**after_death, "death_records": {"died": datetime.date(2020, 1, 1)}}
    assert recipe.draw(rng, alive) is not None
    assert len(asked) == 1


def test_a_restriction_in_several_narrowings_checks_each_value_once():
    checked = []

    def after_2020(value):
        checked.append(value)
        return value is not None and value.year > 2020

    cache = cache_for(EVENTS)
    shared = Restriction(("after 2020",), after_2020)
    odd_day = Restriction(("odd day",), lambda v: v is not None and v.day % 2 == 1)
    alone = cache.narrowed(EVENTS, "day", (shared,)).filtered
    both = cache.narrowed(EVENTS, "day", (shared, odd_day)).filtered
    pool = cache.base(EVENTS)["day"].values
    assert alone.values and all(v.year > 2020 for v in alone.values)
    assert set(both.values) == {v for v in alone.values if v.day % 2 == 1}
    # The second narrowing reuses the first one's answers.
    assert len(checked) == len(set(checked)) <= len(pool) + 1


def test_a_linked_column_borrows_the_values_of_its_namesakes_first():
    # A consultation id among those of the patient's prescriptions of one
    # drug: among the many integers of the patient's rows, those of other
    # rows' consultation ids are the ones worth borrowing.
    prescribed = prescriptions.where(prescriptions.drug == SNOMEDCTCode("123456"))
    linked = expression(
        appointments.consultation.is_in(prescribed.consultation), APPOINTMENTS
    )
    recipe = make_recipe(APPOINTMENTS, (linked,), (), cache_for(APPOINTMENTS))
    context = {
        "prescriptions": [
            {"day": None, "drug": SNOMEDCTCode("123456"), "consultation": 7}
        ],
        "spells": [
            {"began": datetime.date(2015, 3, 1), "ended": None, "site": site}
            for site in range(100, 140)
        ],
    }
    rng = random.Random(3)
    rows = [recipe.draw(rng, context) for _ in range(50)]
    assert all(r is not None and r["consultation"] == 7 for r in rows)
