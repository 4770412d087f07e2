"""Keeping one patient's rows consistent across tables.

Real records tell one story per patient: nothing is recorded before they
were born or after they died; the ONS death register does not record a death
before a date the GP record still shows them alive (a consultation, a
prescription); and a GP practice only records events while the patient is
registered with it. Each table's rows are drawn on their own, so these rules
are applied to the whole patient once drawn:

* `repair` changes only what the population cannot notice: columns no
  requirement, ban or unsolved condition reads, and filler rows (rows the
  population does not ask for), re-checked against their recipe. It moves
  death dates after the last activity, aligns the GP and ONS death dates, and
  stretches or adds a practice registration to cover GP events.
* `inconsistencies` lists what is still wrong; the generator redraws such
  patients a few times before settling, and tests use it as their property.
* `realigned_versions` offers consistent versions of a settled patient, with any
  date moved, for the generator to keep one the population still takes.

The rules are read from table and column names, as in `plausibility`.
"""

from __future__ import annotations

import datetime
import itertools
import random
from collections.abc import Iterator

from ehrql.query_model import nodes as qm
from ehrql.query_model.table_schema import (
    ClosedRangeConstraint,
    DateAfterConstraint,
    FirstOfMonthConstraint,
    NotNullConstraint,
)

#: Tables written by the GP practice: their events happen while the patient is registered.
GP_RECORD_TABLES = frozenset(
    {"clinical_events", "clinical_events_ranges", "medications"}
)
REGISTRATIONS = "practice_registrations"
#: How long after the last recorded activity a moved death date falls, at most.
_DEATH_AFTER_ACTIVITY_DAYS = 90
#: How long before the first uncovered GP event an added registration starts, at most.
_REGISTERED_BEFORE_DAYS = 3 * 365


def _tokens(name: str) -> set:
    return set(name.lower().split("_"))


def _dates(table: qm.Frame) -> list[str]:
    return [n for n, c in table.schema.columns if c.type is datetime.date]


def death_columns(table: qm.Frame) -> list[str]:
    """A patient table's columns holding a date of death (`date_of_death`, or
    every date of a table about deaths, such as `ons_deaths.date`)."""
    if not isinstance(table, qm.OneRowPerPatientFrame):
        return []
    if "death" in _tokens(table.name) or "deaths" in _tokens(table.name):
        return _dates(table)
    return [n for n in _dates(table) if "death" in _tokens(n)]


def birth_columns(table: qm.Frame) -> list[str]:
    """A patient table's date of birth columns."""
    if not isinstance(table, qm.OneRowPerPatientFrame):
        return []
    return [n for n in _dates(table) if "birth" in _tokens(n)]


def activity_columns(table: qm.Frame) -> list[str]:
    """An event table's dates on which the patient was alive and doing something.

    End dates are left out: a registration or an address ends after a death.
    """
    if isinstance(table, qm.OneRowPerPatientFrame):
        return []
    return [n for n in _dates(table) if not _tokens(n) & {"end", "ended"}]


def _values_of(rows: dict, columns_of) -> list:
    """Every non-null value of the columns `columns_of(table)` names, across tables."""
    return [
        r[c]
        for t, rs in rows.items()
        for c in columns_of(t)
        for r in rs
        if r[c] is not None
    ]


def _born(rows: dict):
    # The latest birth date any table gives: events before it cannot happen.
    return max(_values_of(rows, birth_columns), default=None)


def _died(rows: dict):
    # The earliest death date any table gives: events after it cannot happen.
    return min(_values_of(rows, death_columns), default=None)


def _activity(rows: dict):
    """(table, row, column) for each activity date of the patient's event rows."""
    return [
        (table, row, column)
        for table, table_rows in rows.items()
        for column in activity_columns(table)
        for row in table_rows
        if row[column] is not None
    ]


def _all_dates(rows: dict):
    return [
        (table, row, column)
        for table, table_rows in rows.items()
        if not isinstance(table, qm.OneRowPerPatientFrame)
        for column in _dates(table)
        for row in table_rows
        if row[column] is not None
    ]


def _periods(rows: dict) -> list:
    for table, table_rows in rows.items():
        if table.name == REGISTRATIONS:
            return [(r.get("start_date"), r.get("end_date")) for r in table_rows]
    return []


def _covered(date, periods) -> bool:
    return any(
        (start is None or start <= date) and (end is None or date <= end)
        for start, end in periods
    )


def _gp_dates(rows: dict) -> list:
    return [
        row["date"]
        for table, table_rows in rows.items()
        if table.name in GP_RECORD_TABLES and "date" in table.schema.column_names
        for row in table_rows
        if row["date"] is not None
    ]


def inconsistencies(rows: dict) -> list[str]:
    """What is inconsistent in one patient's rows (table -> list of row dicts)."""
    problems = []
    born, died = _born(rows), _died(rows)
    if born is not None:
        early = [f"{t.name}.{c}" for t, r, c in _all_dates(rows) if r[c] < born]
        if early:
            problems.append(f"dated before birth: {', '.join(sorted(set(early)))}")
    if (
        len(
            {
                r[c]
                for t, rs in rows.items()
                for c in death_columns(t)
                for r in rs
                if r[c] is not None
            }
        )
        > 1
    ):
        problems.append("death dates disagree")
    if died is not None:
        late = [f"{t.name}.{c}" for t, r, c in _activity(rows) if r[c] > died]
        if late:
            problems.append(f"dated after death: {', '.join(sorted(set(late)))}")
    if any(t.name == REGISTRATIONS for t in rows):
        periods = _periods(rows)
        if any(not _covered(d, periods) for d in _gp_dates(rows)):
            problems.append("GP events outside every practice registration")
    return problems


def repair(
    rows: dict, filler_rows: set, free: set, fillers: dict, rng: random.Random
) -> dict:
    """`rows` (table -> rows, changed in place) made consistent where that
    cannot change the population.

    `filler_rows` holds the ids of rows the population did not ask for;
    `free` the (table, column) pairs nothing in the population reads;
    `fillers` each table's filler recipe (or None), to re-check changed
    filler rows and to draw an added registration.
    """

    def changeable(table, row, column):
        return (table, column) in free or id(row) in filler_rows

    _repair_deaths(rows, changeable, rng)
    _repair_registrations(rows, filler_rows, free, fillers, rng)
    return rows


def _repair_deaths(rows: dict, changeable, rng: random.Random) -> None:
    activity = _activity(rows)
    latest = max((r[c] for _, r, c in activity), default=None)
    deaths = [
        (table, row, column)
        for table, table_rows in rows.items()
        for column in death_columns(table)
        for row in table_rows
        if row[column] is not None
    ]
    if latest is not None:
        for table, row, column in deaths:
            if row[column] < latest and changeable(table, row, column):
                row[column] = latest + datetime.timedelta(
                    days=rng.randint(0, _DEATH_AFTER_ACTIVITY_DAYS)
                )
    # The GP record and the death register agree on the date, where one may follow the other.
    fixed = [row[c] for t, row, c in deaths if not changeable(t, row, c)]
    target = (
        min(fixed) if fixed else min((row[c] for _, row, c in deaths), default=None)
    )
    if target is None:
        return
    for table, row, column in deaths:
        if row[column] != target and changeable(table, row, column):
            row[column] = target


def _repair_registrations(
    rows: dict, filler_rows: set, free: set, fillers: dict, rng
) -> None:
    table = next((t for t in rows if t.name == REGISTRATIONS), None)
    if table is None:
        return
    registrations = rows[table]
    _move_gp_events_into_registrations(rows, filler_rows, free, fillers, rng)
    gp_dates = sorted(_gp_dates(rows))
    uncovered = [d for d in gp_dates if not _covered(d, _periods(rows))]
    if not uncovered:
        return
    recipe = fillers.get(table)
    born = _born(rows)
    for row in registrations:
        start_free = (table, "start_date") in free or id(row) in filler_rows
        end_free = (table, "end_date") in free or id(row) in filler_rows
        if not (start_free and end_free):
            continue
        stretched = dict(row)
        if (
            stretched["start_date"] is not None
            and stretched["start_date"] > uncovered[0]
        ):
            stretched["start_date"] = uncovered[0]
        if stretched["end_date"] is not None and stretched["end_date"] < uncovered[-1]:
            stretched["end_date"] = uncovered[-1]
        if id(row) not in filler_rows or _recipe_allows(recipe, stretched, rows):
            row.update(stretched)
            return
    if recipe is None:
        return
    added = recipe.draw(rng, _context(rows))
    if added is None:
        return
    start = uncovered[0] - datetime.timedelta(
        days=rng.randint(0, _REGISTERED_BEFORE_DAYS)
    )
    if born is not None:
        start = max(start, born)
    added["start_date"] = start
    added["end_date"] = None
    if _recipe_allows(recipe, added, rows):
        registrations.append(added)


def _move_gp_events_into_registrations(
    rows: dict, filler_rows: set, free: set, fillers: dict, rng
) -> None:
    """Move GP events the population does not ask for (filler rows, or
    dates nothing reads) that fall outside every registration into one,
    within the patient's life, where the row's recipe allows the new date."""
    # An open registration lends its first few years: a fixed span keeps
    # the runs deterministic (not "until today").
    periods = [
        (
            start,
            end
            if end is not None
            else start + datetime.timedelta(days=_REGISTERED_BEFORE_DAYS),
        )
        for start, end in _valid_periods(rows)
    ]
    if not periods:
        return
    born, died = _born(rows), _died(rows)
    for table, row in _uncovered_gp_rows(rows):
        if id(row) not in filler_rows and (table, "date") not in free:
            continue
        start, end = rng.choice(periods)
        low = max(start, born) if born is not None else start
        high = min(end, died) if died is not None else end
        if low > high:
            continue
        moved = {
            **row,
            "date": low + datetime.timedelta(days=rng.randint(0, (high - low).days)),
        }
        if id(row) not in filler_rows or _recipe_allows(
            fillers.get(table), moved, rows
        ):
            row.update(moved)


def _valid_periods(rows: dict) -> list:
    """The registrations' (start, end) with a start, not ending before it."""
    return [
        (start, end)
        for start, end in _periods(rows)
        if start is not None and (end is None or start <= end)
    ]


def _uncovered_gp_rows(rows: dict) -> list:
    """(table, row) for each dated GP event outside every registration."""
    periods = _periods(rows)
    return [
        (table, row)
        for table, table_rows in rows.items()
        if table.name in GP_RECORD_TABLES and "date" in table.schema.column_names
        for row in table_rows
        if row["date"] is not None and not _covered(row["date"], periods)
    ]


def _context(rows: dict) -> dict:
    return {
        table.name: (table_rows[0] if table_rows else None)
        if isinstance(table, qm.OneRowPerPatientFrame)
        else table_rows
        for table, table_rows in rows.items()
    }


def _recipe_allows(recipe, row: dict, rows: dict) -> bool:
    if recipe is None:
        return False
    choices = dict(recipe.choices)
    if not all(
        choices[name].allows(value) for name, value in row.items() if name in choices
    ):
        return False
    context = _context(rows)
    return all(check(row, context) for check in recipe.checks)


# ---------------------------------------------------------------------------
# Realigning a patient the population forces into inconsistency
# ---------------------------------------------------------------------------

#: At most this many realigned versions of one patient are offered.
MAX_REALIGNMENTS = 40
#: Registrations tried one at a time for stretching to cover GP events.
_STRETCHED_REGISTRATIONS = 2


def realigned_versions(rows: dict) -> Iterator[dict]:
    """Consistent versions of one patient's final rows (table -> row dicts),
    for when `repair` could not make them consistent: the rows the
    population forces are inconsistent (an event it asks for before the
    birth it also asks for), or came from the last-resort draw.

    Each is a copy with dates moved whatever reads them, so the caller
    keeps the first that the population still takes. They come in order
    of preference: first the birth date moved earlier, the death date
    later, and the practice registrations stretched (or one added) to
    cover the events, since a population usually asks about the events,
    not about when the patient was born, died or registered; then the
    events moved into the life and into a registration; then birth (or
    death) and events meeting between the two, at fixed distances from the
    birth (or death) first, then spread over the whole gap. Each meeting
    comes with its first way of covering the GP events before any meeting
    with its second. Every move is the smallest that makes the rows
    consistent, so that windows the population asks about are kept where
    they can be. Versions that break the tables' own
    constraints are left out. None when `rows` are consistent already.

    Made one at a time as they are asked for: a population usually takes
    the first.
    """
    return itertools.islice(_all_realigned_versions(rows), MAX_REALIGNMENTS)


def _all_realigned_versions(rows: dict) -> Iterator[dict]:
    if not inconsistencies(rows):
        return
    found: list = []

    def new(candidates):
        for candidate in candidates:
            if (
                not inconsistencies(candidate)
                and _within_schema(candidate)
                and candidate not in found
            ):
                found.append(candidate)
                yield candidate

    # Each meeting of birth and death comes with its first way of covering
    # the GP events before any meeting with its second: otherwise the ways
    # at the first few meetings would use up the versions offered before a
    # meeting the population takes.
    later = []
    registration_moves = _registration_moves(rows)
    for birth in _birth_meeting_points(rows):
        for death in _death_meeting_points(rows):
            moved = _copied(rows)
            _birth_meeting_at(moved, birth)
            _death_meeting_at(moved, death)
            # Registrations are moved only where GP events are left uncovered.
            versions = new(
                [moved]
                if not _uncovered_gp_rows(moved)
                else (_moved(moved, move) for move in registration_moves)
            )
            first = next(versions, None)
            if first is not None:
                yield first
                later.append(versions)
    for versions in later:
        yield from versions


def _moved(rows: dict, move) -> dict:
    moved = _copied(rows)
    move(moved)
    return moved


def _copied(rows: dict) -> dict:
    return {
        table: [dict(row) for row in table_rows] for table, table_rows in rows.items()
    }


#: Where the earliest date before birth and the birth date meet, in the
#: order tried: the birth moved back to it (the population usually asks about
#: the events), the dates moved forward to the birth, then the birth moved
#: back by these many days with the dates before it moved up to it, for
#: populations that bound both (an infant with an event before a date).
#: Deaths are moved on the same way, mirrored.
_LIFE_END_MOVED_DAYS = (31, 183, 365, 730, 1826)


def _birth_meeting_points(rows: dict) -> list:
    born = _born(rows)
    early = [r[c] for _, r, c in _all_dates(rows) if born is not None and r[c] < born]
    if not early:
        return [None]
    earliest = min(early)
    between = [born - datetime.timedelta(days=d) for d in _LIFE_END_MOVED_DAYS]
    return _with_spread([earliest, born] + [d for d in between if d > earliest])


def _birth_meeting_at(rows: dict, meeting) -> None:
    """Birth dates after `meeting` moved back to its month, and the dates
    before the birth moved up to that."""
    if meeting is None:
        return
    born = _born(rows)
    early = [(r, c) for _, r, c in _all_dates(rows) if r[c] < born]
    # Birth dates are first of the month in the tables that record them.
    first = meeting.replace(day=1)
    for table, table_rows in rows.items():
        for column in birth_columns(table):
            for row in table_rows:
                if row[column] is not None and row[column] > first:
                    row[column] = first
    for row, column in early:
        if row[column] < first:
            row[column] = first


def _death_meeting_points(rows: dict) -> list:
    died = _died(rows)
    late = [r[c] for _, r, c in _activity(rows) if died is not None and r[c] > died]
    if not late:
        return [None]
    latest = max(late)
    between = [died + datetime.timedelta(days=d) for d in _LIFE_END_MOVED_DAYS]
    return _with_spread([latest, died] + [d for d in between if d < latest])


#: Meeting points spread between the two ends once the preferred ones fail.
_SPREAD_POINTS = 31


def _with_spread(points: list) -> list:
    """`points` (both ends first, the preferred ones in between after), then
    points spread between the two ends, halving the gaps: a population can
    bound the meeting to a window that falls between the fixed distances (an
    age under 2 with an event over a year before the index date leaves the
    birth about 11 months, between 1 and 2 years back), and halving finds a
    window of a k-th of the span within about 2k points."""
    low, high = sorted(points[:2])
    span = (high - low).days
    spread = []
    denominator = 2
    while len(spread) < _SPREAD_POINTS and denominator <= span:
        for numerator in range(1, denominator, 2):
            spread.append(
                low + datetime.timedelta(days=span * numerator // denominator)
            )
        denominator *= 2
    # Births are first of the month: points in one month are one version.
    seen = {(d.year, d.month) for d in points}
    added = []
    for d in spread[:_SPREAD_POINTS]:
        if (d.year, d.month) not in seen:
            seen.add((d.year, d.month))
            added.append(d)
    return points + added


def _death_meeting_at(rows: dict, meeting) -> None:
    """Every death date moved on to `meeting` (so that they still agree),
    and the activity after the death moved back to it."""
    if meeting is None:
        return
    died = _died(rows)
    late = [(r, c) for _, r, c in _activity(rows) if r[c] > died]
    for table, table_rows in rows.items():
        for column in death_columns(table):
            for row in table_rows:
                if row[column] is not None:
                    row[column] = meeting
    for row, column in late:
        if row[column] > meeting:
            row[column] = meeting


def _registration_moves(rows: dict) -> list:
    """Ways to bring GP events inside a practice registration, in order of
    preference: each registration stretched to cover them, one added, the
    events moved into the nearest registration."""
    table = next((t for t in rows if t.name == REGISTRATIONS), None)
    if table is None:
        return [lambda candidate: None]
    count = len(rows[table])
    return [
        *(
            lambda candidate, i=i: _stretch_registration(candidate, table, i)
            for i in range(min(count, _STRETCHED_REGISTRATIONS))
        ),
        lambda candidate: _add_registration(candidate, table),
        lambda candidate: _gp_events_to_nearest_registration(candidate),
    ]


def _uncovered(rows: dict) -> list:
    periods = _periods(rows)
    return sorted(d for d in _gp_dates(rows) if not _covered(d, periods))


def _stretch_registration(rows: dict, table: qm.Frame, index: int) -> None:
    uncovered = _uncovered(rows)
    if not uncovered:
        return
    row = rows[table][index]
    if row.get("start_date") is not None and row["start_date"] > uncovered[0]:
        row["start_date"] = uncovered[0]
    if row.get("end_date") is not None and row["end_date"] < uncovered[-1]:
        row["end_date"] = uncovered[-1]


def _add_registration(rows: dict, table: qm.Frame) -> None:
    """A registration like the patient's first (the same practice) that
    covers the uncovered GP events, and ends after the last of them."""
    uncovered = _uncovered(rows)
    if not uncovered or not rows[table]:
        return
    added = dict(rows[table][0])
    added["start_date"] = uncovered[0]
    if "end_date" in added:
        added["end_date"] = uncovered[-1]
    rows[table].append(added)


def _gp_events_to_nearest_registration(rows: dict) -> None:
    """GP events outside every registration moved to the nearest day one
    covers, within the patient's life."""
    periods = _valid_periods(rows)
    if not periods:
        return
    born, died = _born(rows), _died(rows)
    for _, row in _uncovered_gp_rows(rows):
        date = row["date"]
        nearest = min(
            (_clamped(date, start, end) for start, end in periods),
            key=lambda day: abs((day - date).days),
        )
        if (born is None or nearest >= born) and (died is None or nearest <= died):
            row["date"] = nearest


def _clamped(date, start, end):
    if date < start:
        return start
    if end is not None and date > end:
        return end
    return date


def _within_schema(rows: dict) -> bool:
    """Whether the moved dates still keep the tables' date constraints."""
    for table, table_rows in rows.items():
        for name, column in table.schema.columns:
            if column.type is not datetime.date:
                continue
            for constraint in column.constraints:
                for row in table_rows:
                    if not _keeps(constraint, name, row):
                        return False
    return True


def _keeps(constraint, name: str, row: dict) -> bool:
    value = row.get(name)
    if value is None:
        return not isinstance(constraint, NotNullConstraint)
    if isinstance(constraint, FirstOfMonthConstraint):
        return value.day == 1
    if isinstance(constraint, DateAfterConstraint):
        return all(row.get(c) is None or value >= row[c] for c in constraint.columns)
    if isinstance(constraint, ClosedRangeConstraint):
        return constraint.minimum <= value <= constraint.maximum
    return True
