"""Calculating measure results with any query engine.

Measures that share a denominator and intervals are calculated together: one
`IntervalTotals` query holds every numerator, denominator and group column
they need, and the engine computes it for every interval at once (SQL
engines in one statement) or, failing that, once per interval.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator

from ehrql.measures.disclosure_control import control_count, ratio
from ehrql.measures.measures import Measure, Measures
from ehrql.query_model import nodes as qm
from ehrql.query_model.interval_totals import IntervalTotals, totals_by_substitution

FIXED_COLUMNS = (
    ("measure", str),
    ("interval_start", datetime.date),
    ("interval_end", datetime.date),
    ("ratio", float),
    ("numerator", int),
    ("denominator", int),
)


def group_by_columns(measures: Iterable[Measure]) -> dict[str, qm.Series]:
    """Every group_by column used by any measure, in first-use order."""
    columns: dict[str, qm.Series] = {}
    for measure in measures:
        for name, node in measure.group_by.items():
            columns.setdefault(name, node)
    return columns


def measure_output_columns(measures: Measures) -> list[tuple[str, type]]:
    """The (name, type) of each output column, in output order."""
    groups = group_by_columns(measures)
    return [*FIXED_COLUMNS, *((name, node.type) for name, node in groups.items())]


def get_measure_results(
    engine, measures: Measures, progress: Callable[[int, int], None] | None = None
) -> Iterator[tuple]:
    """Result rows: (measure, interval_start, interval_end, ratio, numerator,
    denominator, *group values), with disclosure control applied if enabled.

    `engine` is anything with `get_interval_totals(IntervalTotals)` (every
    interval in one query), or failing that `get_results(dataset)` yielding
    (patient_id, *variables) rows, which is then run once per interval.

    `progress`, if given, is called with the intervals calculated so far and
    the total (an interval counts once for each group of measures that
    shares a denominator and intervals).
    """
    all_groups = list(group_by_columns(measures))
    batches = defaultdict(list)
    for measure in measures:
        # A measure with no intervals has no rows (and needs no query).
        if measure.intervals:
            batches[(measure.denominator, measure.intervals)].append(measure)
    rows = []
    total = sum(len(intervals) for _, intervals in batches)
    done = 0
    for (denominator, intervals), batch in batches.items():

        def batch_progress(count: int, before: int = done) -> None:
            if progress is not None:
                progress(before + count, total)

        rows.extend(
            _batch_results(
                engine, denominator, intervals, batch, all_groups, batch_progress
            )
        )
        done += len(intervals)
    order = {m.name: i for i, m in enumerate(measures)}
    rows.sort(key=lambda r: (order[r[0]], r[1], r[2], _group_sort_key(r[6:])))
    if measures.disclosure_control_enabled:
        rows = [_controlled(row) for row in rows]
    return iter(rows)


def _group_sort_key(values):
    return tuple((v is not None, v) for v in values)


def _controlled(row: tuple) -> tuple:
    name, start, end, _ratio, numerator, denominator, *groups = row
    numerator, denominator = control_count(numerator), control_count(denominator)
    return (
        name,
        start,
        end,
        ratio(numerator, denominator),
        numerator,
        denominator,
        *groups,
    )


def _batch_results(
    engine, denominator, intervals, batch, all_groups, progress
) -> list[tuple]:
    query, plans = measure_totals_query(denominator, intervals, batch)
    if getattr(engine, "reports_interval_progress", False):
        # SQL engines say when each of their SELECTs (a run of intervals) is done.
        totals = engine.get_interval_totals(query, progress=progress)
    elif hasattr(engine, "get_interval_totals"):
        totals = engine.get_interval_totals(query)
    else:
        totals = totals_by_substitution(engine.get_results, query)
    progress(len(intervals))
    positions = {name: i for i, name in enumerate(query.summed)}
    rows = []
    for grouping_index, interval_index, key, sums in totals:
        start, end = intervals[interval_index]
        for measure, numerator, denominator_column, grouping in plans:
            if grouping != grouping_index:
                continue
            numerator_total, denominator_total = (
                sums[positions[numerator]],
                sums[positions[denominator_column]],
            )
            group_values = dict(zip(measure.group_by, key))
            rows.append(
                (
                    measure.name,
                    start,
                    end,
                    ratio(numerator_total, denominator_total),
                    numerator_total,
                    denominator_total,
                    *(group_values.get(g) for g in all_groups),
                )
            )
    return rows


def measure_totals_query(
    denominator: qm.Series, intervals, batch
) -> tuple[IntervalTotals, list]:
    """The totals query for measures sharing a denominator and intervals, and
    for each measure: (measure, numerator column, denominator column, grouping index)."""
    variables: dict[qm.Series, str] = {}

    def column_for(node):
        return variables.setdefault(node, f"v{len(variables)}")

    groupings: dict[tuple, int] = {}
    plans = []
    for measure in batch:
        numerator_column = column_for(_as_int(measure.numerator))
        denominator_column = column_for(_counted(measure.denominator))
        grouping = tuple(column_for(node) for node in measure.group_by.values())
        plans.append(
            (
                measure,
                numerator_column,
                denominator_column,
                groupings.setdefault(grouping, len(groupings)),
            )
        )
    summed = tuple(dict.fromkeys(c for _, n, d, _ in plans for c in (n, d)))
    query = IntervalTotals(
        dataset=qm.Dataset(
            population=_as_bool(denominator),
            variables=qm.FrozenDict({name: node for node, name in variables.items()}),
        ),
        intervals=tuple(intervals),
        groupings=tuple(groupings),
        summed=summed,
    )
    return query, plans


def _counted(denominator: qm.Series) -> qm.Series:
    """What a patient adds to the denominator. In the population a boolean
    denominator is true, so each patient adds 1; a constant is cheaper than
    computing the denominator a second time."""
    return qm.Value(1) if denominator.type is bool else denominator


def _as_int(node: qm.Series) -> qm.Series:
    return qm.Function.CastToInt(node) if node.type is bool else node


def _as_bool(node: qm.Series) -> qm.Series:
    return node if node.type is bool else qm.Function.GT(node, qm.Value(0))


def measure_table_columns(measure: Measure) -> list[tuple[str, type]]:
    """The (name, type) of each column of one measure's own output table:
    the combined output's columns without `measure`, and only its own groups."""
    return [
        *FIXED_COLUMNS[1:],
        *((name, node.type) for name, node in measure.group_by.items()),
    ]


def split_by_measure(
    rows: Iterable[tuple], measures: Measures
) -> dict[str, list[tuple]]:
    """Combined result rows (as `get_measure_results` gives them) as one list of rows per
    measure, each shaped as `measure_table_columns` says."""
    all_groups = list(group_by_columns(measures))
    pickers = {
        m.name: [all_groups.index(name) + len(FIXED_COLUMNS) for name in m.group_by]
        for m in measures
    }
    tables: dict[str, list[tuple]] = {m.name: [] for m in measures}
    for row in rows:
        tables[row[0]].append(
            (*row[1 : len(FIXED_COLUMNS)], *(row[i] for i in pickers[row[0]]))
        )
    return tables


def combine_measure_tables(
    tables: dict[str, Iterable[tuple]], measures: Measures
) -> Iterator[tuple]:
    """The inverse of `split_by_measure`: per-measure rows as combined result rows,
    with null for the groups a measure does not use."""
    all_groups = list(group_by_columns(measures))
    for measure in measures:
        own = list(measure.group_by)
        for row in tables[measure.name]:
            fixed, groups = (
                row[: len(FIXED_COLUMNS) - 1],
                dict(zip(own, row[len(FIXED_COLUMNS) - 1 :])),
            )
            yield (measure.name, *fixed, *(groups.get(name) for name in all_groups))
