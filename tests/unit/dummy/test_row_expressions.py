import datetime

from ehrql import case, when, years
from ehrql.codes import SNOMEDCTCode
from ehrql.dummy.row_expressions import (
    CONTEXT_VERSION,
    UNKNOWN,
    compile_row_expression,
)
from ehrql.query_model import nodes as qm
from tests.unit.dummy.tables import death_records, events, people, spells

EVENTS = events._qm_node


def test_columns_of_the_row_are_read_from_the_row():
    condition = (events.code.is_in(["271807003"]) & (events.reading > 2.5))._qm_node
    expression = compile_row_expression(condition, EVENTS)
    assert expression.columns == {"code", "reading"}
    assert not expression.uses_context and not expression.opaque
    assert expression.single_column is None
    row = {"code": SNOMEDCTCode("271807003"), "reading": 3.0}
    assert expression.evaluate(row, {}) is True
    assert expression.evaluate({**row, "reading": 1.0}, {}) is False
    # Null follows SQL's rules: False & null is False, True & null is null.
    assert expression.evaluate({**row, "reading": None}, {}) is None
    assert expression.evaluate({"code": None, "reading": 1.0}, {}) is False


def test_patient_tables_are_read_from_the_context():
    condition = (events.day >= people.birth_month + years(18))._qm_node
    expression = compile_row_expression(condition, EVENTS)
    assert expression.columns == {"day"}
    assert expression.context_tables == (people._qm_node,)
    row = {"day": datetime.date(2010, 5, 1)}
    born = {"people": {"birth_month": datetime.date(1990, 1, 1)}}
    assert expression.evaluate(row, born) is True
    assert expression.evaluate(row, {"people": None}) is None
    # A table not generated yet is unknown, not null.
    assert expression.evaluate(row, {}) is UNKNOWN


def test_what_one_row_cannot_tell_is_unknown_but_false_still_wins():
    other_aggregate = events.reading.sum_for_patient() > 1.0
    condition = ((events.reading > 2.0) & other_aggregate)._qm_node
    expression = compile_row_expression(condition, EVENTS)
    assert expression.opaque
    assert expression.evaluate({"reading": 3.0}, {}) is UNKNOWN
    assert expression.evaluate({"reading": 1.0}, {}) is False
    either = compile_row_expression(
        ((events.reading > 2.0) | other_aggregate)._qm_node, EVENTS
    )
    assert either.evaluate({"reading": 3.0}, {}) is True
    assert either.evaluate({"reading": 1.0}, {}) is UNKNOWN


def test_picks_read_the_row_and_extremes_do_where_every_row_is_held():
    frame = events.where(events.flagged)
    source = qm.row_source(frame._qm_node)
    last_day = frame.sort_by(events.day).last_for_patient().day
    condition = (
        (last_day > "2020-01-01") & (frame.reading.minimum_for_patient() < 5.0)
    )._qm_node
    expression = compile_row_expression(
        condition, source, row_stands_for_aggregates=True
    )
    assert expression.columns == {"day", "reading"}
    assert not expression.opaque
    assert (
        expression.evaluate({"day": datetime.date(2021, 1, 1), "reading": 4.0}, {})
        is True
    )
    # Elsewhere (say in a filter) an aggregate is not the row's own value.
    in_a_filter = compile_row_expression(condition, source)
    assert in_a_filter.opaque
    assert (
        in_a_filter.evaluate({"day": datetime.date(2021, 1, 1), "reading": 4.0}, {})
        is UNKNOWN
    )


def test_a_patient_table_row_reads_itself_and_cases_work():
    band = case(when(death_records.died < "2000-01-01").then("early"), otherwise="late")
    expression = compile_row_expression(
        (band == "early")._qm_node, death_records._qm_node
    )
    assert expression.single_column == "died"
    assert expression.evaluate({"died": datetime.date(1999, 1, 1)}, {}) is True
    assert expression.evaluate({"died": datetime.date(2001, 1, 1)}, {}) is False
    assert expression.evaluate({"died": None}, {}) is False


def test_earlier_tables_are_read_from_the_patients_rows():
    from tests.unit.dummy.tables import spells

    first = events.where(events.flagged).sort_by(events.day).first_for_patient()
    condition = (
        (spells.began > first.day)
        & (events.reading.sum_for_patient() > 3.0)
        & (events.count_for_patient() == 2)
    )._qm_node
    expression = compile_row_expression(condition, qm.row_source(spells._qm_node))
    assert expression.columns == {"began"}
    assert EVENTS in expression.context_tables
    context = {
        "events": [
            {
                "day": datetime.date(2020, 5, 1),
                "flagged": True,
                "reading": 2.0,
                "code": None,
            },
            {
                "day": datetime.date(2019, 5, 1),
                "flagged": False,
                "reading": 1.5,
                "code": None,
            },
        ]
    }
    assert expression.evaluate({"began": datetime.date(2020, 6, 1)}, context) is True
    assert expression.evaluate({"began": datetime.date(2020, 4, 1)}, context) is False
    assert expression.evaluate({"began": datetime.date(2020, 6, 1)}, {}) is UNKNOWN
    no_events = {"events": []}
    assert expression.evaluate({"began": datetime.date(2020, 6, 1)}, no_events) is False


def test_picks_are_read_again_when_the_patients_rows_change():
    latest = events.sort_by(events.day).last_for_patient().day
    expression = compile_row_expression(
        (spells.began > latest)._qm_node, qm.row_source(spells._qm_node)
    )
    row = {"began": datetime.date(2020, 6, 1)}

    def event(day):
        return {"day": day, "flagged": None, "reading": None, "code": None}

    rows = [event(datetime.date(2020, 5, 1))]
    # Without a version the rows are looked at on every call.
    context = {"events": rows}
    assert expression.evaluate(row, context) is True
    rows.append(event(datetime.date(2020, 7, 1)))
    assert expression.evaluate(row, context) is False
    # With versions, until the version of a table read changes: that is what
    # the generator relies on.
    rows = [event(datetime.date(2020, 5, 1))]
    versions = {"events": 1}
    context = {"events": rows, CONTEXT_VERSION: versions}
    assert expression.evaluate(row, context) is True
    rows.append(event(datetime.date(2020, 7, 1)))
    versions["people"] = 1  # a table the pick does not read
    assert expression.evaluate(row, context) is True
    versions["events"] = 2
    assert expression.evaluate(row, context) is False


def test_a_chain_of_picks_brought_up_to_date_row_by_row_reads_as_afresh():
    # The generator appends a patient's rows one at a time, and a pick whose
    # conditions read other picks ("the first dose after the one before") is
    # then brought up to date from the new rows alone, while the picks it
    # reads and the tables it reads directly are as they were. Whatever the
    # order rows come in, ties included, and whenever a table read directly
    # changes, each pick must give what reading every row afresh gives.
    import random

    from ehrql.dummy.caches import run_caches
    from ehrql.dummy.row_expressions import PICK_ANSWERS, PickAnswers, drawn_so_far

    def chain(position):
        previous = "1900-01-01"
        picks = []
        for _ in range(4):
            frame = events.where(
                (events.day > previous) & (events.day >= people.birth_month)
            )
            # One sort key, or two (codes are all null: the day decides).
            dose = (
                frame.sort_by(events.day).first_for_patient()
                if position == "first"
                else frame.sort_by(events.day, events.code).last_for_patient()
            )
            picks.append(dose)
            previous = dose.day
        return picks

    def afresh(rows, born, position):
        # The readings of the chain's picks, from every row. Rows tied on
        # the day are told apart by their other columns: here the reading.
        choose = min if position == "first" else max
        previous = datetime.date(1900, 1, 1)
        readings = []
        for _ in range(4):
            kept = [
                r
                for r in rows
                if previous is not None
                and r["day"] is not None
                and r["day"] > previous
                and r["day"] >= born
            ]
            dose = choose(kept, key=lambda r: (r["day"], r["reading"]), default=None)
            readings.append(None if dose is None else dose["reading"])
            previous = None if dose is None else dose["day"]
        return readings

    rng = random.Random(5)
    days = [datetime.date(2021, 1, d) for d in range(1, 8)] + [None]
    # Read while the patient's events are drawn, from those drawn so far.
    drawn = drawn_so_far("events")
    for position in ("first", "last"):
        with run_caches():
            expressions = [
                compile_row_expression(dose.reading._qm_node, EVENTS)
                for dose in chain(position)
            ]
            for _ in range(20):
                rows = []
                born = datetime.date(2021, 1, 1)
                versions = {drawn: 0, "people": 0}
                answers = PickAnswers()
                context = {
                    drawn: rows,
                    "people": {"birth_month": born},
                    CONTEXT_VERSION: versions,
                    PICK_ANSWERS: answers,
                }
                for step in range(12):
                    if step == 6:
                        # A table the conditions read directly changes.
                        born = datetime.date(2021, 1, 4)
                        context["people"] = {"birth_month": born}
                        versions["people"] = answers.epoch = answers.epoch + 1
                    rows.append(
                        {
                            "day": rng.choice(days),
                            "code": None,
                            "reading": float(step),
                            "flagged": None,
                        }
                    )
                    versions[drawn] = answers.epoch = answers.epoch + 1
                    picked = [e.evaluate({}, context) for e in expressions]
                    assert picked == afresh(rows, born, position)
                    # Asked again before anything changes: the same answers.
                    assert [e.evaluate({}, context) for e in expressions] == picked
