import datetime

from ehrql.codes import SNOMEDCTCode
from ehrql.dummy.solver import (
    RowBan,
    RowRequirement,
    generation_order,
    plan_population,
    plan_population_with_reasons,
    table_dependencies,
)
from ehrql.query_model import nodes as qm
from tests.unit.dummy.tables import (
    appointments,
    death_records,
    events,
    people,
    prescriptions,
    spells,
)

CODES = ["271807003"]


def plans(series):
    return plan_population(series._qm_node)


def test_exists_of_a_filtered_frame_requires_a_matching_row():
    (plan,) = plans(
        events.where(events.code.is_in(CODES) & events.flagged).exists_for_patient()
    )
    (requirement,) = plan.requirements
    assert isinstance(requirement, RowRequirement)
    assert requirement.table == events._qm_node
    assert requirement.count == 1
    # The filter's & is split so each part is solved on its own column.
    assert sorted(c.single_column for c in requirement.conditions) == [
        "code",
        "flagged",
    ]
    assert plan.bans == () and plan.solved_fully


def test_not_exists_bans_matching_rows():
    (plan,) = plans(~events.where(events.flagged).exists_for_patient())
    assert plan.requirements == ()
    (ban,) = plan.bans
    assert ban.table == events._qm_node
    assert ban.forbids({"flagged": True}, {})
    assert not ban.forbids({"flagged": False}, {})
    assert not ban.forbids({"flagged": None}, {})


def test_or_gives_alternatives_and_not_pushes_down():
    a = events.where(events.flagged).exists_for_patient()
    b = spells.exists_for_patient()
    assert len(plans(a | b)) == 2
    # not (a or b) == (not a) and (not b): one plan banning both.
    (plan,) = plans(~(a | b))
    assert {ban.table for ban in plan.bans} == {events._qm_node, spells._qm_node}


def test_counts_become_row_counts_with_a_ban_when_bounded_above():
    frame = events.where(events.flagged)
    (at_least,) = plans(frame.count_for_patient() > 2)
    assert [r.count for r in at_least.requirements] == [3]
    assert at_least.bans == ()
    (exactly,) = plans(frame.count_for_patient() == 2)
    assert [r.count for r in exactly.requirements] == [2]
    (ban,) = exactly.bans
    # The cap keeps filler rows out of the frame, not the two required rows.
    assert not ban.applies_to_required
    assert plans(frame.count_for_patient() < 0) == ()


def test_literals_on_one_frame_combine_their_counts():
    frame = events.where(events.flagged)
    (between,) = plans(
        (frame.count_for_patient() >= 2) & (frame.count_for_patient() <= 3)
    )
    assert [r.count for r in between.requirements] == [2]
    (none,) = plans(~frame.exists_for_patient() & (frame.count_for_patient() < 5))
    assert none.requirements == ()
    assert [b.applies_to_required for b in none.bans] == [True]
    assert plans(frame.exists_for_patient() & (frame.count_for_patient() == 0)) == ()


def test_patient_table_conditions_fold_into_one_row():
    age = (datetime.date(2020, 1, 1) - people.birth_month).years
    (plan,) = plans((age >= 18) & (people.gender == "f"))
    (requirement,) = plan.requirements
    assert requirement.table == people._qm_node
    assert {c.single_column for c in requirement.conditions} == {
        "birth_month",
        "gender",
    }


def test_picks_and_extremes_hold_every_row_of_their_frame():
    frame = events.where(events.code.is_in(CODES))
    last = frame.sort_by(events.day).last_for_patient()
    (plan,) = plans(
        (last.day > "2020-01-01") & (frame.reading.maximum_for_patient() < 9.0)
    )
    (requirement,) = plan.requirements
    assert {c.single_column for c in requirement.conditions} == {
        "code",
        "day",
        "reading",
    }
    (ban,) = plan.bans
    assert isinstance(ban, RowBan)
    matching = {"code": SNOMEDCTCode(CODES[0])}
    assert ban.forbids(
        {**matching, "day": datetime.date(2019, 1, 1), "reading": 1.0}, {}
    )
    assert not ban.forbids(
        {**matching, "day": datetime.date(2021, 1, 1), "reading": 1.0}, {}
    )


def test_what_cannot_be_solved_is_kept_for_rejection_sampling():
    # Two sums compared: left to the final check, but the frame summed gets a
    # row, as a comparison with a missing sum is never true.
    (plan,) = plans(
        (events.reading.sum_for_patient() > spells.site.sum_for_patient())
        & spells.exists_for_patient()
    )
    assert sorted(r.table.name for r in plan.requirements) == ["events", "spells"]
    assert len(plan.unsolved) == 1
    assert not plan.solved_fully


def test_picks_from_two_frames_of_one_table_compared_are_solved_in_order():
    # The later frame (by what it selects) is drawn after the other and
    # every one of its rows is held to the comparison with it.
    early = (
        events.where(events.day < "2020-01-01").sort_by(events.day).first_for_patient()
    )
    late = (
        events.where(events.day >= "2020-01-01").sort_by(events.day).first_for_patient()
    )
    (plan,) = plans((early.reading > late.reading) & spells.exists_for_patient())
    assert plan.solved_fully
    assert sorted(r.table.name for r in plan.requirements) == [
        "events",
        "events",
        "spells",
    ]
    (ban,) = [b for b in plan.bans if b.unless]
    assert ban.unless[0].bound is not None
    # The frame the ban holds to the comparison comes after the frame it reads.
    events_rows = [r for r in plan.requirements if r.table.name == "events"]
    assert events_rows[-1].conditions[0].node == ban.when[0].node


def test_counts_of_two_frames_compared_get_the_fewest_rows_that_satisfy_them():
    early = events.where(events.day < "2020-01-01")
    late = events.where(events.day >= "2020-01-01")
    (plan,) = plans(
        (early.count_for_patient() > late.count_for_patient())
        & late.exists_for_patient()
    )
    counts = sorted(
        (r.conditions[0].node.rhs.value.isoformat(), r.count) for r in plan.requirements
    )
    assert counts == [("2020-01-01", 1), ("2020-01-01", 2)]
    assert plan.solved_fully
    # Both frames are held to their counts: no filler row joins them.
    assert len(plan.bans) == 2 and not any(b.applies_to_required for b in plan.bans)
    assert (
        plans(
            (early.count_for_patient() > late.count_for_patient())
            & (early.count_for_patient() < late.count_for_patient())
        )
        == ()
    )


def test_a_sum_above_a_bound_is_one_row_above_it_and_nothing_negative():
    (plan,) = plans(events.reading.sum_for_patient() > 3.0)
    (requirement,) = plan.requirements
    assert requirement.count == 1
    (condition,) = requirement.conditions
    assert condition.evaluate({"reading": 3.5}, {}) is True
    assert condition.evaluate({"reading": 3.0}, {}) is False
    (ban,) = plan.bans
    assert not ban.applies_to_required
    assert ban.forbids({"reading": -1.0}, {})
    assert not ban.forbids({"reading": 0.0}, {})
    assert plan.solved_fully


def test_a_sum_below_or_equal_to_a_bound_keeps_other_rows_from_adding():
    (below,) = plans(~(events.reading.sum_for_patient() >= 10.0))
    (ban,) = below.bans
    assert ban.forbids({"reading": 0.5}, {}) and not ban.forbids({"reading": -2.0}, {})
    (equal,) = plans(events.reading.sum_for_patient() == 10.0)
    (ban,) = equal.bans
    assert ban.forbids({"reading": 0.5}, {}) and not ban.forbids({"reading": 0.0}, {})
    assert not ban.forbids({"reading": None}, {})


def test_a_distinct_count_asks_for_rows_with_different_values():
    (plan,) = plans(events.code.count_distinct_for_patient() >= 3)
    (requirement,) = plan.requirements
    assert requirement.count == 3
    assert requirement.distinct is not None
    assert plan.bans == ()
    (capped,) = plans(events.code.count_distinct_for_patient() == 2)
    assert capped.requirements[0].count == 2
    (ban,) = capped.bans
    assert not ban.applies_to_required
    assert (
        plans(
            (events.code.count_distinct_for_patient() > 3)
            & (events.code.count_distinct_for_patient() < 2)
        )
        == ()
    )


def test_constant_literals_are_settled_at_once():
    never = qm.Function.EQ(qm.Value(1), qm.Value(2))
    always = qm.Function.EQ(qm.Value(1), qm.Value(1))
    exists = spells.exists_for_patient()._qm_node
    assert plan_population(qm.Function.And(exists, never)) == ()
    (plan,) = plan_population(qm.Function.And(exists, always))
    assert len(plan.requirements) == 1 and plan.solved_fully


def test_a_boolean_compared_with_true_or_false_is_solved_as_itself_or_its_negation():
    # `exists == False` is `~exists`: a ban, not a comparison left to chance.
    flagged = events.where(events.flagged).exists_for_patient()
    node = flagged._qm_node
    false, true = qm.Value(False), qm.Value(True)
    for negated in [
        flagged == False,  # noqa: E712 (the comparison is what is tested)
        flagged != True,  # noqa: E712
        qm.Function.EQ(false, node),
    ]:
        (plan,) = plan_population(getattr(negated, "_qm_node", negated))
        assert plan.requirements == () and plan.solved_fully
        (ban,) = plan.bans
        assert ban.forbids({"flagged": True}, {})
    for asserted in [qm.Function.EQ(node, true), qm.Function.NE(false, node)]:
        (plan,) = plan_population(asserted)
        assert plan.bans == () and plan.solved_fully
        (requirement,) = plan.requirements
        assert requirement.table == events._qm_node
    # Negated in turn: `~(flagged == False)` asks for the row.
    (plan,) = plan_population(qm.Function.Not(qm.Function.EQ(node, false)))
    assert len(plan.requirements) == 1 and plan.bans == ()


def test_a_case_compared_with_a_constant_is_solved_branch_by_branch():
    from ehrql import case, when

    smoking = case(
        when(events.where(events.code.is_in(["266919005"])).exists_for_patient()).then(
            "N"
        ),
        when(events.where(events.code.is_in(["77176002"])).exists_for_patient()).then(
            "S"
        ),
        otherwise="M",
    )
    alternatives = plans(smoking == "N")
    assert alternatives and all(p.solved_fully for p in alternatives)
    # "S" only from the second branch, with the first condition false.
    (plan,) = plans(smoking.is_in(["S"]))
    assert plan.solved_fully and plan.bans


def test_a_table_read_by_another_tables_filter_or_sort_is_its_dependency():
    first_event = events.sort_by(events.day).first_for_patient()
    linked = appointments.where(appointments.day == first_event.day)
    by_age = prescriptions.sort_by((prescriptions.day - people.birth_month).days)
    population = (
        linked.exists_for_patient()
        & by_age.first_for_patient().exists_for_patient()
        & events.where(
            events.reading < events.reading.mean_for_patient()
        ).exists_for_patient()
    )._qm_node
    reads = table_dependencies([population])
    assert reads[appointments._qm_node] == {events._qm_node}
    assert reads[prescriptions._qm_node] == {people._qm_node}
    # Reading its own rows is no dependency.
    assert reads[events._qm_node] == set()
    assert reads[people._qm_node] == set()


def test_tables_are_ordered_after_what_they_read_then_patient_tables_first_by_name():
    a, e, p, d, s = (
        t._qm_node for t in (appointments, events, prescriptions, death_records, people)
    )
    tables = [s, p, e, a, d]
    assert generation_order(tables, {}) == (d, s, a, e, p)
    # Appointments read events, events read prescriptions: against the names.
    order = generation_order(tables, {a: {e}, e: {p}})
    assert order == (d, s, p, e, a)
    # Tables not generated (inline ones, say) do not hold anything up.
    assert generation_order([a, e], {a: {e, s}}) == (e, a)


def test_a_cycle_falls_back_to_name_order_for_the_tables_in_it():
    a, e, p = (t._qm_node for t in (appointments, events, prescriptions))
    # a and e read each other; p reads a.
    order = generation_order([p, e, a], {a: {e}, e: {a}, p: {a}})
    assert order == (a, e, p)
    assert order == generation_order([a, e, p], {a: {e}, e: {a}, p: {a}})
    assert order.index(a) < order.index(p)


def test_a_comparison_of_two_tables_is_solved_on_the_one_generated_later():
    first_event = events.sort_by(events.day).first_for_patient()
    first_appointment = appointments.sort_by(appointments.day).first_for_patient()
    population = (first_appointment.day < first_event.day)._qm_node

    def constrained(order):
        (plan,), _ = plan_population_with_reasons(population, order)
        return {r.table for r in plan.requirements if r.conditions}

    a, e = appointments._qm_node, events._qm_node
    assert constrained(()) == {e}
    assert constrained((a, e)) == {e}
    assert constrained((e, a)) == {a}


def test_a_minimum_of_two_tables_in_a_window_is_asked_of_one_and_bounds_the_other():
    from ehrql import minimum_of

    first_event = events.sort_by(events.day).first_for_patient().day
    first_spell = spells.sort_by(spells.began).first_for_patient().began
    onset = minimum_of(first_event, first_spell)
    start, end = datetime.date(2020, 7, 1), datetime.date(2020, 7, 31)
    population = onset.is_on_or_between(start, end)
    (plan,) = plan_population_with_reasons(
        population._qm_node, (people._qm_node, spells._qm_node, events._qm_node)
    )[0]
    (requirement,) = plan.requirements
    # The later table's row alone is asked to be in the window: its date
    # column is narrowed, not checked against the minimum row by row.
    assert requirement.table == events._qm_node
    assert {c.single_column for c in requirement.conditions} == {"day"}
    # The other argument's rows may not pull the minimum before the window,
    # but may fall after it.
    spell_ban = next(b for b in plan.bans if b.table == spells._qm_node)
    assert spell_ban.forbids({"began": datetime.date(2020, 6, 30)}, {})
    assert not spell_ban.forbids({"began": datetime.date(2020, 8, 30)}, {})


def test_a_maximum_above_a_bound_needs_one_argument_only():
    from ehrql import maximum_of

    last_event = events.sort_by(events.day).last_for_patient().day
    last_spell = spells.sort_by(spells.began).last_for_patient().began
    (plan,) = plan_population_with_reasons(
        (maximum_of(last_event, last_spell) > datetime.date(2020, 1, 1))._qm_node,
        (people._qm_node, spells._qm_node, events._qm_node),
    )[0]
    assert not any(b.table == spells._qm_node for b in plan.bans)


def test_a_comparison_with_a_maximum_of_several_frames_asks_for_a_row_of_one():
    from ehrql import maximum_of

    resolved = events.where(events.code.is_in(["49727002"]))
    diagnosed = events.where(events.code.is_in(CODES))
    last_resolved = resolved.sort_by(events.day).last_for_patient().day
    last_diagnosis = maximum_of(
        diagnosed.sort_by(events.day).last_for_patient().day,
        spells.sort_by(spells.began).last_for_patient().began,
    )
    (plan,) = plan_population_with_reasons(
        (last_resolved > last_diagnosis)._qm_node,
        (people._qm_node, spells._qm_node, events._qm_node),
    )[0]

    # With neither a diagnosis nor a spell the maximum is null and the
    # comparison never true: one of them (the first drawn in time to be
    # read) must have a row.
    def asks_for_diagnosis(requirement):
        return requirement.table == events._qm_node and any(
            isinstance(c.node, qm.Function.In)
            and SNOMEDCTCode(CODES[0]) in c.node.rhs.value
            for c in requirement.conditions
        )

    assert any(
        asks_for_diagnosis(r) or r.table == spells._qm_node for r in plan.requirements
    )
