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

The rules are read from table and column names, as in `plausibility`.
"""

from __future__ import annotations

import datetime
import random

from ehrql.query_model import nodes as qm

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
        for start, end in _periods(rows)
        if start is not None and (end is None or start <= end)
    ]
    if not periods:
        return
    born, died = _born(rows), _died(rows)
    for table, table_rows in rows.items():
        if (
            table.name not in GP_RECORD_TABLES
            or "date" not in table.schema.column_names
        ):
            continue
        for row in table_rows:
            date = row["date"]
            if date is None or _covered(date, _periods(rows)):
                continue
            if id(row) not in filler_rows and (table, "date") not in free:
                continue
            start, end = rng.choice(periods)
            low = max(start, born) if born is not None else start
            high = min(end, died) if died is not None else end
            if low > high:
                continue
            moved = {
                **row,
                "date": low
                + datetime.timedelta(days=rng.randint(0, (high - low).days)),
            }
            if id(row) not in filler_rows or _recipe_allows(
                fillers.get(table), moved, rows
            ):
                row.update(moved)


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
