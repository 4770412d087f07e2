import datetime
import itertools
import logging
import os
import subprocess
import sys

import pytest

from ehrql import case, create_dataset, days, months, when, years
from ehrql.codes import verhoeff_valid
from ehrql.dummy import generate_dummy_data, generate_dummy_tables
from ehrql.query_language import PatientFrame, Series, table_from_rows
from ehrql.query_model import nodes as qm
from tests.unit.dummy.checks import (
    assert_all_in_population,
    assert_schema_respected,
    assert_solved,
    assert_variables_vary,
    patient_ids,
    run,
)
from tests.unit.dummy.tables import (
    appointments,
    death_records,
    events,
    people,
    prescriptions,
    spells,
)

WHEEZE = ["271807003", "49727002"]  # two SNOMED CT concept ids
BREATHLESS = ["267036007"]
START, END = "2021-04-01", "2022-03-31"


def window_and_codelist():
    ds = create_dataset()
    in_window = events.where(
        events.code.is_in(WHEEZE) & events.day.is_on_or_between(START, END)
    )
    ds.define_population(in_window.exists_for_patient())
    ds.first_wheeze = in_window.sort_by(events.day).first_for_patient().day
    ds.wheezes_ever = events.where(events.code.is_in(WHEEZE)).count_for_patient()
    ds.last_reading = events.sort_by(events.day).last_for_patient().reading
    ds.breathless = events.where(events.code.is_in(BREATHLESS)).exists_for_patient()
    return ds._compile()


def age_and_gender():
    ds = create_dataset()
    age = (datetime.date(2020, 6, 15) - people.birth_month).years
    ds.define_population((age >= 18) & (age <= 65) & people.gender.is_in(["f", "x"]))
    ds.age = age
    ds.gender = people.gender
    ds.region = people.region
    ds.score = people.score
    ds.band = case(when(age < 40).then("young"), otherwise="older")
    return ds._compile()


def aggregations():
    ds = create_dataset()
    wheezes = events.where(events.code.is_in(WHEEZE))
    ds.define_population(
        (wheezes.count_for_patient() >= 3)
        & (events.reading.maximum_for_patient() < 80.0)
    )
    ds.n = wheezes.count_for_patient()
    ds.mean_reading = events.reading.mean_for_patient()
    ds.latest = wheezes.day.maximum_for_patient()
    ds.distinct_codes = events.code.count_distinct_for_patient()
    return ds._compile()


def registrations():
    index = datetime.date(2022, 1, 1)
    ds = create_dataset()
    current = spells.where(
        spells.began.is_on_or_before(index)
        & (spells.ended.is_null() | spells.ended.is_after(index))
    )
    ds.define_population(current.exists_for_patient())
    ds.site = current.sort_by(spells.began).last_for_patient().site
    ds.spells = spells.count_for_patient()
    ds.began = current.sort_by(spells.began).first_for_patient().began
    return ds._compile()


def deaths():
    ds = create_dataset()
    ds.define_population(
        death_records.died.is_on_or_between("2020-03-01", "2021-02-28")
        & people.exists_for_patient()
    )
    ds.cause = death_records.cause
    ds.died = death_records.died
    ds.gender = people.gender
    return ds._compile()


def negation_and_alternatives():
    ds = create_dataset()
    has_wheeze = events.where(events.code.is_in(WHEEZE)).exists_for_patient()
    has_breathless = events.where(events.code.is_in(BREATHLESS)).exists_for_patient()
    ds.define_population(
        (has_wheeze | has_breathless)
        & ~events.where(events.flagged).exists_for_patient()
    )
    ds.wheeze = has_wheeze
    ds.breathless = has_breathless
    ds.events = events.count_for_patient()
    return ds._compile()


DEFINITIONS = [
    window_and_codelist,
    age_and_gender,
    aggregations,
    registrations,
    deaths,
    negation_and_alternatives,
]


@pytest.mark.parametrize("definition", DEFINITIONS, ids=lambda d: d.__name__)
def test_every_patient_is_in_the_population(definition):
    dataset = definition()
    data = assert_solved(dataset, 60, seed=3)
    assert data.report.complete


@pytest.mark.parametrize("definition", DEFINITIONS, ids=lambda d: d.__name__)
def test_variables_are_not_constant_or_always_null(definition):
    dataset = definition()
    tables = generate_dummy_tables(dataset, population_size=60, seed=5)
    assert_variables_vary(tables, dataset)


@pytest.mark.parametrize("definition", DEFINITIONS, ids=lambda d: d.__name__)
def test_values_respect_column_types_and_constraints(definition):
    dataset = definition()
    tables = generate_dummy_tables(dataset, population_size=60, seed=7)
    assert_schema_respected(tables)


def test_every_referenced_table_gets_rows_and_ids_run_from_one():
    dataset = deaths()
    tables = generate_dummy_tables(dataset, population_size=15)
    assert set(tables) == {death_records._qm_node, people._qm_node}
    assert patient_ids(tables) == set(range(1, 16))


def test_codes_come_from_the_codelist_and_from_outside_it():
    dataset = window_and_codelist()
    tables = generate_dummy_tables(dataset, population_size=80)
    codes = {
        row["code"].value for row in tables[events._qm_node] if row["code"] is not None
    }
    assert codes & set(WHEEZE)
    assert codes - set(WHEEZE) - set(BREATHLESS)


def test_dates_fall_in_and_out_of_the_window():
    dataset = window_and_codelist()
    tables = generate_dummy_tables(dataset, population_size=80)
    days_seen = [
        row["day"] for row in tables[events._qm_node] if row["day"] is not None
    ]
    start, end = datetime.date.fromisoformat(START), datetime.date.fromisoformat(END)
    assert any(start <= d <= end for d in days_seen)
    assert any(not start <= d <= end for d in days_seen)


def test_nullable_columns_are_sometimes_null():
    tables = generate_dummy_tables(window_and_codelist(), population_size=80)
    assert any(row["reading"] is None for row in tables[events._qm_node])


def test_same_seed_same_data_and_different_seed_different_data():
    dataset = aggregations()
    first = generate_dummy_tables(dataset, population_size=25, seed=11)
    again = generate_dummy_tables(dataset, population_size=25, seed=11)
    other = generate_dummy_tables(dataset, population_size=25, seed=12)
    assert first == again
    assert first != other


def test_additional_population_constraint_is_met_too():
    dataset = window_and_codelist()
    extra = events.where(events.code.is_in(BREATHLESS)).exists_for_patient()._qm_node
    data = generate_dummy_data(
        dataset, population_size=30, additional_population_constraint=extra
    )
    assert data.report.complete
    results = run(data.tables, dataset)
    assert len(results) == 30
    assert all(row[4] is True for row in results)


def test_conditions_the_solver_cannot_express_fall_back_to_rejection(caplog):
    @table_from_rows([(i, i % 5) for i in range(1, 400)])
    class extra(PatientFrame):
        weight = Series(int)

    ds = create_dataset()
    # Inline tables are not generated: a condition tying one to a count is
    # left to chance and checked afterwards.
    ds.define_population(extra.weight < events.count_for_patient())
    ds.total = events.reading.sum_for_patient()
    dataset = ds._compile()
    with caplog.at_level(logging.INFO, logger="ehrql.dummy"):
        data = generate_dummy_data(dataset, population_size=20, timeout=30)
    assert data.report.used_rejection_sampling
    assert data.report.unsolved
    # The caller says what happened, once: the generator logs nothing above debug.
    assert caplog.records == []
    assert "left to chance" in data.report.summary()
    assert len(run(data.tables, dataset)) == 20


def test_an_impossible_population_stops_at_once_and_says_why():
    ds = create_dataset()
    age = (datetime.date(2020, 1, 1) - people.birth_month).years
    ds.define_population((age > 30) & (age < 20) | (people.score.as_float() > 99.0))
    dataset = ds._compile()
    data = generate_dummy_data(dataset, population_size=5, timeout=30)
    assert data.report.generated == 0
    assert not data.report.timed_out
    assert data.report.seconds < 10
    assert not data.report.complete
    assert all(rows == [] for rows in data.tables.values())
    reason = data.report.reason
    assert reason.startswith("no patient can satisfy the population")
    assert "people.score" in reason
    assert "people.birth_month" in reason


def test_a_population_needing_a_code_from_an_empty_codelist_stops_at_once():
    # Codes are sampled from an unbounded set, but no sample can hold a
    # member of an empty codelist: that is a proof, not a pool run dry.
    ds = create_dataset()
    ds.define_population(events.where(events.code.is_in([])).exists_for_patient())
    data = generate_dummy_data(ds._compile(), population_size=5, timeout=30)
    assert data.report.generated == 0
    assert not data.report.timed_out
    assert not data.report.used_rejection_sampling
    assert "events.code" in data.report.reason


def test_the_impossible_operand_of_the_population_is_named_where_it_is_written():
    age = (datetime.date(2020, 1, 1) - people.birth_month).years
    possible, impossible = events.exists_for_patient(), people.score > 60
    ds = create_dataset()
    ds.define_population(possible & impossible & (age > 10))
    locations = {
        ds._population: ("d.py", 9),
        ds._population.lhs: ("d.py", 9),
        possible._qm_node: ("d.py", 3),
        impossible._qm_node: ("d.py", 4),
    }
    data = generate_dummy_data(ds._compile(), population_size=5, locations=locations)
    assert data.report.impossible_at == ("d.py", 4)
    assert "the condition in d.py, line 4 is never true" in data.report.reason
    # Without locations, nothing is named.
    unnamed = generate_dummy_data(ds._compile(), population_size=5)
    assert unnamed.report.impossible_at is None


def test_contradictory_counts_are_named():
    ds = create_dataset()
    ds.define_population(
        (spells.count_for_patient() > 3) & (spells.count_for_patient() < 2)
    )
    data = generate_dummy_data(ds._compile(), population_size=5)
    assert data.report.generated == 0
    assert (
        "no number of rows makes (spells.count_for_patient() > 3) and (spells.count_for_patient() < 2)"
        in data.report.reason
    )


def test_a_busy_machine_does_not_cut_a_run_short(monkeypatch):
    # The clock runs a minute on for every look at it, as it can seem to on
    # a machine whose other programs have the processor: the limit is on the
    # processor time the run spends, so the run still makes every patient.
    import ehrql.dummy.generator as generator

    ticks = iter(range(0, 10**9, 60))
    monkeypatch.setattr(generator.time, "monotonic", lambda: float(next(ticks)))
    ds = create_dataset()
    ds.define_population(events.where(events.flagged).exists_for_patient())
    data = generate_dummy_data(ds._compile(), population_size=50, timeout=5)
    assert data.report.generated == 50
    assert not data.report.timed_out


def test_a_population_that_needs_luck_stops_at_the_time_limit():
    ds = create_dataset()
    # Possible in principle, but the solver leaves it to chance and chance never comes.
    ds.define_population(
        (events.reading * 1000.0 + events.reading).sum_for_patient() == 1234567.5
    )
    data = generate_dummy_data(ds._compile(), population_size=5, timeout=0.3)
    assert data.report.generated == 0
    assert data.report.timed_out
    assert "time limit of 0.3 s" in data.report.reason
    assert "made 0 of 5 dummy patients" in data.report.summary()


def test_progress_is_reported_after_each_batch_and_ends_at_the_total():
    calls = []
    generate_dummy_data(
        deaths(),
        population_size=40,
        progress=lambda made, asked: calls.append((made, asked)),
    )
    assert calls
    assert all(asked == 40 for _, asked in calls)
    made = [m for m, _ in calls]
    assert made == sorted(made)
    assert made[-1] == 40


def test_date_arithmetic_around_columns_is_solved():
    ds = create_dataset()
    index = datetime.date(2023, 1, 1)
    recent = events.where(events.day + months(6) >= index)
    ds.define_population(
        recent.exists_for_patient()
        & ((index - people.birth_month).years == 40)
        & (spells.where(spells.began < index - days(365)).count_for_patient() == 2)
    )
    ds.recent_day = recent.sort_by(events.day).first_for_patient().day
    ds.spells = spells.count_for_patient()
    dataset = ds._compile()
    assert_solved(dataset, 30)


def test_conditions_linking_event_rows_to_the_patient_table_are_checked_per_row():
    ds = create_dataset()
    adult_events = events.where(events.day >= people.birth_month + years(18))
    ds.define_population(adult_events.exists_for_patient())
    ds.first = adult_events.sort_by(events.day).first_for_patient().day
    dataset = ds._compile()
    assert_solved(dataset, 30)


def test_inline_tables_are_not_generated_and_ids_line_up_with_them():
    @table_from_rows([(i, i * 10) for i in range(1, 400, 2)])
    class extra(PatientFrame):
        weight = Series(int)

    ds = create_dataset()
    ds.define_population(extra.exists_for_patient() & events.exists_for_patient())
    ds.weight = extra.weight
    dataset = ds._compile()
    data = generate_dummy_data(dataset, population_size=10)
    assert set(data.tables) == {events._qm_node}
    assert_all_in_population(data.tables, dataset, 10)


def test_population_size_must_be_a_count():
    with pytest.raises(ValueError, match="population_size"):
        generate_dummy_tables(deaths(), population_size=-1)


def test_alternatives_that_contradict_the_schema_or_themselves_are_dropped():
    ds = create_dataset()
    contradictory = (people.gender == "f") & ~people.exists_for_patient()
    out_of_range = people.score > 60  # score is at most 50
    ds.define_population(contradictory | out_of_range | spells.exists_for_patient())
    ds.spells = spells.count_for_patient()
    dataset = ds._compile()
    data = assert_solved(dataset, 20)
    assert data.report.plans == 1


def test_same_seed_gives_same_data_whatever_the_hash_seed():
    # Sets of codes and nodes iterate in an order that depends on Python's
    # hash seed; generation must not.
    script = (
        "from ehrql.dummy import generate_dummy_tables\n"
        "from tests.unit.dummy.test_generate import negation_and_alternatives as d\n"
        "tables = generate_dummy_tables(d(), population_size=20, seed=4)\n"
        "print(sorted((t.name, repr(rows)) for t, rows in tables.items()))\n"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for hash_seed in ("1", "2")
    }
    assert len(outputs) == 1
    assert "SNOMEDCTCode" in outputs.pop()


def test_additional_constraint_may_be_given_as_an_ehrql_series():
    dataset = deaths()
    tables = generate_dummy_tables(
        dataset,
        population_size=10,
        additional_population_constraint=people.gender == "m",
    )
    assert {row["gender"] for row in tables[people._qm_node]} == {"m"}


def test_populations_with_parameters_are_refused_clearly():
    from ehrql.query_model import nodes as qm

    ds = create_dataset()
    ds.define_population(spells.where(spells.began > "2020-01-01").exists_for_patient())
    dataset = ds._compile()
    with_parameter = qm.Function.LT(
        qm.SelectColumn(people._qm_node, "birth_month"),
        qm.Parameter("start", datetime.date),
    )
    with pytest.raises(ValueError, match="parameter.*start"):
        generate_dummy_tables(dataset, additional_population_constraint=with_parameter)


def test_a_bad_additional_constraint_is_refused_clearly():
    with pytest.raises(ValueError, match="boolean patient series"):
        generate_dummy_tables(
            deaths(), additional_population_constraint=people.birth_month
        )
    with pytest.raises(ValueError, match="boolean patient series"):
        generate_dummy_tables(deaths(), additional_population_constraint="yes")


def test_values_equal_across_tables_are_found():
    ds = create_dataset()
    ds.define_population(
        (death_records.died == people.died_on)
        & events.where(events.day == people.birth_month).exists_for_patient()
    )
    ds.died = death_records.died
    dataset = ds._compile()
    data = assert_solved(dataset, 25)
    assert data.report.candidates < 50


def test_means_against_a_bound_and_aggregates_inside_filters():
    ds = create_dataset()
    above_own_minimum = events.where(
        events.reading > events.reading.minimum_for_patient()
    )
    ds.define_population(
        (events.reading.mean_for_patient() < 20.0)
        & above_own_minimum.exists_for_patient()
    )
    ds.mean = events.reading.mean_for_patient()
    dataset = ds._compile()
    data = generate_dummy_data(dataset, population_size=20)
    # The mean is solved; the filter comparing rows with their own minimum
    # cannot be, but it is left to the final check rather than ruled out.
    assert data.report.complete
    assert_all_in_population(data.tables, dataset, 20)


def test_rows_of_one_table_can_depend_on_rows_of_an_earlier_one():
    # "A spell starting after the first wheeze": spells are drawn after events,
    # so each spell row is checked against the patient's events.
    first_wheeze = (
        events.where(events.code.is_in(WHEEZE)).sort_by(events.day).first_for_patient()
    )
    later = spells.where(spells.began > first_wheeze.day)
    ds = create_dataset()
    ds.define_population(
        first_wheeze.exists_for_patient()
        & later.exists_for_patient()
        & (spells.began.minimum_for_patient() < events.day.maximum_for_patient())
    )
    ds.later_spells = later.count_for_patient()
    dataset = ds._compile()
    assert_solved(dataset, 200)


@pytest.mark.parametrize("definition", DEFINITIONS, ids=lambda d: d.__name__)
def test_more_patients_asked_never_gives_fewer(definition):
    # Public ehrQL's generator could give fewer patients when asked for more;
    # here ten times the patients asked gives ten times the patients made.
    dataset = definition()
    small = generate_dummy_data(dataset, population_size=15, seed=3)
    large = generate_dummy_data(dataset, population_size=150, seed=3)
    assert small.report.generated == 15
    assert large.report.generated == 150
    assert_all_in_population(large.tables, dataset, 150)


def test_more_patients_never_gives_fewer_when_some_conditions_are_left_to_chance():
    @table_from_rows([(i, i % 3) for i in range(1, 2000)])
    class extra(PatientFrame):
        weight = Series(int)

    ds = create_dataset()
    ds.define_population(extra.weight < events.count_for_patient())
    dataset = ds._compile()
    made = [
        generate_dummy_data(dataset, population_size=n, seed=1).report.generated
        for n in (8, 80)
    ]
    assert made == [8, 80]


def test_a_cohort_from_an_inline_table_is_solved_with_its_own_patients_and_dates():
    # As a study does with table_from_file: patients come from an earlier
    # step's output, with their own index dates; sparse ids.
    @table_from_rows(
        [(i * 1000, datetime.date(2015 + i % 7, 1 + i % 12, 1)) for i in range(1, 13)]
    )
    class cohort(PatientFrame):
        index_date = Series(datetime.date)

    current = spells.where(
        (spells.began <= cohort.index_date)
        & (spells.ended.is_null() | (spells.ended >= cohort.index_date))
    )
    ds = create_dataset()
    ds.define_population(cohort.exists_for_patient() & current.exists_for_patient())
    ds.began = current.sort_by(spells.began).last_for_patient().began
    dataset = ds._compile()
    data = generate_dummy_data(dataset, population_size=12, timeout=20)
    assert data.report.generated == 12
    assert data.report.candidates <= 24
    results = run(data.tables, dataset)
    assert sorted(r[0] for r in results) == [i * 1000 for i in range(1, 13)]


def filled_share(tables: dict, dataset, name: str) -> float:
    results = run(tables, dataset)
    i = list(dataset.variables).index(name) + 1
    return sum(r[i] is not None and r[i] is not False for r in results) / len(results)


def test_columns_the_population_leaves_free_still_get_values():
    # Nothing in the population asks for a wheeze appointment in the window, nor a
    # prescription made at such a visit (ids matched across tables): blind
    # draws would almost never give one. Each column is made to say
    # something for a share of the patients, all of them in the population.
    # (Appointments are generated before prescriptions, which read them.)
    in_window = appointments.where(
        appointments.code.is_in(WHEEZE) & appointments.day.is_on_or_between(START, END)
    )
    at_wheeze_visit = prescriptions.where(
        prescriptions.consultation.is_in(in_window.consultation)
    )
    ds = create_dataset()
    ds.define_population(people.exists_for_patient())
    ds.wheeze_in_window = in_window.exists_for_patient()
    ds.drug_at_wheeze_visit = (
        at_wheeze_visit.sort_by(prescriptions.day).first_for_patient().drug
    )
    ds.late_death = people.died_on.is_after("2030-06-01")
    ds.score = people.score
    dataset = ds._compile()
    data = generate_dummy_data(dataset, population_size=300, seed=4)
    assert_all_in_population(data.tables, dataset, 300)
    for name in ["wheeze_in_window", "drug_at_wheeze_visit", "late_death"]:
        assert filled_share(data.tables, dataset, name) >= 0.05, name


def test_a_flag_asking_that_no_later_event_exists_gets_patients():
    # "Shielded, and no lower-risk code since": `exists == False` is solved
    # as a ban on the later codes (whose window starts at the pick's date),
    # so patients are made for the column, not left to filler rows that
    # would have to give the shielding code by chance.
    shielded = (
        events.where(events.code.is_in(WHEEZE) & events.day.is_before(END))
        .sort_by(events.day)
        .last_for_patient()
    )
    lowered = events.where(
        events.code.is_in(BREATHLESS)
        & events.day.is_on_or_between(shielded.day + days(1), END)
    ).exists_for_patient()
    ds = create_dataset()
    ds.define_population(people.exists_for_patient())
    ds.still_shielded = shielded.exists_for_patient() & (lowered == False)  # noqa: E712
    # Many other codes, as a real definition has: filler rows seldom give
    # the shielding code.
    add_flags(ds, _snomed_codes(30))
    dataset = ds._compile()
    data = generate_dummy_data(dataset, population_size=200, seed=3)
    assert_all_in_population(data.tables, dataset, 200)
    assert filled_share(data.tables, dataset, "still_shielded") >= 0.1


def test_a_goal_group_whose_patients_cannot_be_made_is_split_early():
    # Born in 2021, with a code before 2020: the solver plans it, but no
    # consistent patient can be made, so each is given up as it is made. The
    # group of goals holding both is split after a few, not after a hundred,
    # and the other columns grouped with them get their patients.
    ds = create_dataset()
    ds.define_population(people.exists_for_patient())
    ds.born_late = people.birth_month >= datetime.date(2021, 1, 1)
    ds.coded_early = events.where(
        events.code.is_in(BREATHLESS) & events.day.is_before("2020-01-01")
    ).exists_for_patient()
    ds.wheeze_in_window = events.where(
        events.code.is_in(WHEEZE) & events.day.is_on_or_between(START, END)
    ).exists_for_patient()
    ds.asthma_in_may = events.where(
        events.code.is_in(["195967001"])
        & events.day.is_on_or_between("2021-05-01", "2021-05-14")
    ).exists_for_patient()
    dataset = ds._compile()
    data = generate_dummy_data(dataset, population_size=100, seed=2)
    assert_all_in_population(data.tables, dataset, 100)
    for name in ["wheeze_in_window", "asthma_in_may"]:
        assert filled_share(data.tables, dataset, name) >= 0.15, name


def test_a_row_sharing_a_value_with_other_rows_of_its_table_is_drawn_after_them():
    # A plan may list a wheeze visit held at the consultation of a
    # breathlessness visit before that visit (measures' quotas merge the
    # plans of several intervals so): drawn in that order, the wheeze visit
    # finds no consultation to share, and its patient misses the condition.
    import dataclasses
    import random

    from ehrql.dummy import generator
    from ehrql.dummy.hints import collect_hints
    from ehrql.dummy.solver import plan_population
    from ehrql.dummy.uniques import UniqueValues

    breathless = appointments.where(appointments.code.is_in(BREATHLESS))
    ds = create_dataset()
    ds.define_population(
        appointments.where(
            appointments.code.is_in(WHEEZE)
            & appointments.consultation.is_in(breathless.consultation)
        ).exists_for_patient()
    )
    dataset = ds._compile()
    (plan,) = plan_population(dataset.population)
    reader_first = dataclasses.replace(plan, requirements=plan.requirements[::-1])
    assert reader_first.requirements[0].conditions[0].context_tables
    tables = generator._tables_to_generate([dataset])
    rng = random.Random(1)
    cache = generator._choice_cache(tables, collect_hints([dataset]), rng)
    prepared = generator._prepare(reader_first, tables, cache)
    uniques = UniqueValues(tables)
    batch = [
        (
            patient_id,
            None,
            generator._make_patient(prepared, patient_id, rng, uniques)[0],
        )
        for patient_id in range(1, 21)
    ]
    accepted = generator._in_population(dataset.population, tables, batch)
    assert accepted == set(range(1, 21))


def add_flags(ds, codes: list) -> None:
    """A flag column for each code: the many other columns of a real definition."""
    for n, code in enumerate(codes):
        ds.add_column(
            f"has_{n}", events.where(events.code.is_in([code])).exists_for_patient()
        )


def true_shares(dataset, size: int, seed: int) -> dict:
    """Column name -> the share of `size` generated patients it is true for."""
    data = generate_dummy_data(dataset, population_size=size, seed=seed)
    results = run(data.tables, dataset)
    assert len(results) == size
    return {
        name: sum(r[i] is True for r in results) / size
        for i, name in enumerate(dataset.variables, start=1)
    }


def _snomed_codes(count: int) -> list:
    """`count` SNOMED CT concept ids with correct check digits."""
    codes = []
    for base in itertools.count(100000):
        digit = next(d for d in "0123456789" if verhoeff_valid(f"{base}{d}"))
        codes.append(f"{base}{digit}")
        if len(codes) == count:
            return codes


def test_many_columns_each_get_patients_who_meet_several_of_them_at_once():
    # Twenty conditions, each with a diagnosis date and a flag for a
    # resolution coded after the last diagnosis, and columns read from an
    # empty codelist, null for everyone. A patient made for a few columns
    # at a time would leave each about 2% of the patients, and a column that
    # no patient can fill would take the columns it is grouped with down.
    codes = _snomed_codes(40)
    ds = create_dataset()
    ds.define_population(people.exists_for_patient())
    for n in range(20):
        diagnoses = events.where(events.code.is_in([codes[2 * n]])).sort_by(events.day)
        resolved_on = (
            events.where(events.code.is_in([codes[2 * n + 1]]))
            .sort_by(events.day)
            .last_for_patient()
            .day
        )
        ds.add_column(f"diagnosed_{n}", diagnoses.first_for_patient().day)
        ds.add_column(
            f"resolved_{n}",
            (resolved_on > diagnoses.last_for_patient().day).when_null_then(False),
        )
    for n in range(5):
        never = events.where(events.code.is_in([])).sort_by(events.day)
        ds.add_column(f"never_{n}", never.first_for_patient().reading)
    dataset = ds._compile()
    data = generate_dummy_data(dataset, population_size=200, seed=1)
    results = run(data.tables, dataset)
    assert len(results) == 200
    filled = {
        name: sum(r[i] is not None and r[i] is not False for r in results) / 200
        for i, name in enumerate(dataset.variables, start=1)
    }
    for n in range(20):
        assert filled[f"resolved_{n}"] >= 0.05, n
        assert filled[f"diagnosed_{n}"] >= 0.1, n


def test_categories_of_one_value_get_patients_beside_many_other_columns():
    # No patient is in two age bands: bands made for together leave their
    # patients without a plan. Thirty condition flags beside them need
    # patients made for several at once.
    codes = _snomed_codes(30)
    ds = create_dataset()
    ds.define_population(people.exists_for_patient())
    age = (datetime.date(2020, 1, 1) - people.birth_month).years
    for n in range(8):
        ds.add_column(f"band_{n}", (age >= 10 * n) & (age < 10 * n + 10))
    add_flags(ds, codes)
    for name, share in true_shares(ds._compile(), 200, seed=2).items():
        assert share >= (0.07 if name.startswith("band") else 0.08), name


def test_columns_every_patient_made_for_another_goal_has_get_no_goal_of_their_own():
    from ehrql.dummy.generator import _column_goals

    age = (datetime.date(2020, 1, 1) - people.birth_month).years
    reading = events.sort_by(events.day).last_for_patient().reading
    ds = create_dataset()
    ds.define_population(people.exists_for_patient())
    # Every patient made for a band has an age.
    ds.age = age
    ds.under_5 = (age >= 0) & (age < 5)
    ds.over_80 = age > 80
    # Every branch has a value (`to_category` with a default).
    ds.kind = case(when(reading > 5).then("high"), otherwise="low")
    ds.reading = reading
    dataset = ds._compile()
    variables = dataset.variables
    assert _column_goals(dataset) == [
        variables["under_5"],
        variables["over_80"],
        qm.Function.Not(qm.Function.IsNull(variables["reading"])),
    ]


def test_each_of_ten_categories_of_one_value_gets_patients_beside_many_columns():
    # A patient is in one of ten kinds of area at most: made for only as
    # one goal of a group among the other columns' goals, each kind would
    # get about a tenth of the patients made for goals, often less.
    codes = _snomed_codes(50)
    kinds, codes = codes[:10], codes[10:]
    # Recorded in a fortnight: filler rows seldom give one.
    area = (
        events.where(
            events.code.is_in(kinds)
            & events.day.is_on_or_between("2021-05-01", "2021-05-14")
        )
        .sort_by(events.day)
        .last_for_patient()
        .code
    )
    ds = create_dataset()
    ds.define_population(people.exists_for_patient())
    for kind, code in enumerate(kinds):
        ds.add_column(f"area_{kind}", area == code)
    add_flags(ds, codes)
    for name, share in true_shares(ds._compile(), 300, seed=2).items():
        assert share >= (0.05 if name.startswith("area") else 0.08), name


def test_a_column_never_null_on_its_face_does_not_shape_patients():
    # The earlier of a death date and a fixed end date always has a value:
    # made for, its patients would all get a death record (the solver takes
    # the death date's alternative), far more than the usual share.
    from ehrql import minimum_of

    ds = create_dataset()
    ds.define_population(people.exists_for_patient())
    ds.end = minimum_of(death_records.died, datetime.date(2030, 1, 1))
    ds.score = people.score
    dataset = ds._compile()
    data = generate_dummy_data(dataset, population_size=200, seed=1)
    assert_all_in_population(data.tables, dataset, 200)
    died = [
        rows for table, rows in data.tables.items() if table.name == "death_records"
    ]
    assert len(died[0]) / 200 < 0.55


def test_a_boolean_case_is_solved_branch_by_branch():
    # Neither "removed before implanted" (two frames of one table compared)
    # nor the case around it was solvable as a whole; each branch is.
    implanted = (
        events.where(events.code.is_in(WHEEZE))
        .sort_by(events.day)
        .last_for_patient()
        .day
    )
    removed = (
        events.where(events.code.is_in(BREATHLESS))
        .sort_by(events.day)
        .last_for_patient()
        .day
    )
    has_implant = case(
        when(removed < implanted).then(True),
        when(implanted.is_not_null() & removed.is_null()).then(True),
        otherwise=False,
    )
    ds = create_dataset()
    ds.define_population(has_implant & people.exists_for_patient())
    ds.implanted = implanted
    ds.removed = removed
    dataset = ds._compile()
    data = assert_solved(dataset, 200, seed=1)
    assert_variables_vary(data.tables, dataset)


def test_every_interval_of_a_measure_gets_numerators_that_survive_disclosure_control():
    from ehrql import INTERVAL, create_measures
    from ehrql.measures.dummy_data import measures_dummy_dataset

    in_interval = events.where(events.day.is_during(INTERVAL))
    measures = create_measures()
    measures.define_measure(
        "wheeze",
        numerator=in_interval.where(events.code.is_in(WHEEZE)).exists_for_patient(),
        denominator=in_interval.exists_for_patient() & people.exists_for_patient(),
        intervals=months(12).starting_on("2021-01-01"),
    )
    dataset = measures_dummy_dataset(measures)
    # Left to chance, 100 patients give most months 7 or fewer.
    data = generate_dummy_data(dataset, population_size=100, seed=2)
    results = run(data.tables, dataset)
    per_interval = list(dataset.variables)[1:]
    assert len(per_interval) == 12
    for i in range(2, 14):
        # Disclosure control hides numerators of 7 or fewer.
        assert sum(r[i] is True for r in results) > 7


def test_a_table_is_drawn_after_the_tables_its_conditions_read_whatever_its_name():
    # Appointments sort before events by name, but their filter reads the
    # patient's first wheeze: events must be drawn first.
    first_wheeze = (
        events.where(events.code.is_in(WHEEZE)).sort_by(events.day).first_for_patient()
    )
    same_day = appointments.where(appointments.day == first_wheeze.day)
    ds = create_dataset()
    ds.define_population(
        first_wheeze.exists_for_patient() & same_day.exists_for_patient()
    )
    ds.same_day_appointments = same_day.count_for_patient()
    dataset = ds._compile()
    data = assert_solved(dataset, 200)
    assert data.tables == generate_dummy_data(dataset, population_size=200).tables


def test_rows_linked_by_id_to_a_table_later_by_name_are_found():
    # Appointments whose consultation is one of the patient's prescriptions':
    # prescriptions are drawn first although their name sorts later.
    linked = appointments.where(
        appointments.consultation.is_in(prescriptions.consultation)
    )
    ds = create_dataset()
    ds.define_population(linked.exists_for_patient())
    ds.linked = linked.count_for_patient()
    dataset = ds._compile()
    assert_solved(dataset, 100, timeout=20)


def test_rows_linked_to_another_frame_of_their_table_are_drawn_after_its_rows():
    # A reason given at a visit: the linked row is only in the frame when a
    # visit row with its consultation exists, drawn before it.
    visits = appointments.where(appointments.code.is_in(BREATHLESS))
    at_visit = appointments.where(appointments.consultation.is_in(visits.consultation))
    ds = create_dataset()
    ds.define_population(
        at_visit.where(appointments.code.is_in(WHEEZE)).exists_for_patient()
    )
    ds.visits = visits.count_for_patient()
    dataset = ds._compile()
    assert_solved(dataset, 100, timeout=20)


def test_each_dose_of_a_chain_of_first_after_previous_gets_patients():
    # The nth dose is the first after the (n-1)th: a row of every earlier
    # frame of the chain must be drawn, in order, before the nth.
    ds = create_dataset()
    ds.define_population(people.exists_for_patient())
    previous = "1900-01-01"
    for n in range(1, 11):
        dose = (
            events.where(events.day > previous).sort_by(events.day).first_for_patient()
        )
        ds.add_column(f"dose_{n}", dose.day)
        previous = dose.day
    dataset = ds._compile()
    data = generate_dummy_data(dataset, population_size=200, seed=3)
    assert_all_in_population(data.tables, dataset, 200)
    assert filled_share(data.tables, dataset, "dose_10") >= 0.05


def test_quotas_give_each_interval_of_an_incidence_measure_its_numerators():
    # The onset is the earlier of two tables' first dates, and a patient
    # counts once, in the interval of their onset: the intervals' numerators
    # exclude one another, and the onset must fall inside a narrow window.
    from ehrql import INTERVAL, create_measures, minimum_of
    from ehrql.measures.dummy_data import measures_dummy_dataset, measures_dummy_quotas

    onset = minimum_of(
        events.where(events.code.is_in(WHEEZE))
        .sort_by(events.day)
        .first_for_patient()
        .day,
        spells.sort_by(spells.began).first_for_patient().began,
    )
    measures = create_measures()
    measures.define_measure(
        "incidence",
        numerator=onset.is_during(INTERVAL).when_null_then(False),
        denominator=people.exists_for_patient()
        & ~(onset < INTERVAL.start_date).when_null_then(False),
        group_by={"gender": people.gender},
        intervals=months(12).starting_on("2021-01-01"),
    )
    dataset = measures_dummy_dataset(measures)
    quotas = measures_dummy_quotas(measures)
    # Each interval whatever the gender first, then each interval and
    # gender apart (one patient cannot count in two intervals), each
    # wanting more patients than disclosure control suppresses.
    assert [len(together) for together in quotas] == [1] * (12 + 12 * 3)
    assert {count for together in quotas for _, count, _ in together} == {8}
    data = generate_dummy_data(dataset, population_size=300, seed=3, quotas=quotas)
    results = run(data.tables, dataset)
    for i in range(len(dataset.variables) - 12 + 1, len(dataset.variables) + 1):
        assert sum(r[i] is True for r in results) >= 16
