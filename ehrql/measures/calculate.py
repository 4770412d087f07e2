"""Calculating measure results with any query engine.

Measures that share a denominator and intervals are calculated together: one
dataset holds every numerator, denominator and group column they need, and it
is run once per interval with the interval's dates filled in.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Iterator

from ehrql.measures.disclosure_control import control_count, ratio
from ehrql.measures.measures import Measure, Measures
from ehrql.query_model import nodes as qm
from ehrql.query_model.transforms import substitute_parameters

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


def get_measure_results(engine, measures: Measures) -> Iterator[tuple]:
    """Result rows: (measure, interval_start, interval_end, ratio, numerator,
    denominator, *group values), with disclosure control applied if enabled.

    `engine` is anything with `get_results(dataset)` yielding
    (patient_id, *variables) rows.
    """
    all_groups = list(group_by_columns(measures))
    batches = defaultdict(list)
    for measure in measures:
        batches[(measure.denominator, measure.intervals)].append(measure)
    rows = []
    for (denominator, intervals), batch in batches.items():
        rows.extend(_batch_results(engine, denominator, intervals, batch, all_groups))
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
    return (name, start, end, ratio(numerator, denominator), numerator, denominator, *groups)


def _batch_results(engine, denominator, intervals, batch, all_groups) -> list[tuple]:
    variables: dict[qm.Series, str] = {}

    def column_for(node):
        return variables.setdefault(node, f"v{len(variables)}")

    plans = []
    for measure in batch:
        numerator_column = column_for(_as_int(measure.numerator))
        denominator_column = column_for(_as_int(measure.denominator))
        group_columns = [column_for(node) for node in measure.group_by.values()]
        plans.append((measure, numerator_column, denominator_column, group_columns))
    population = _as_bool(denominator)
    template = qm.Dataset(
        population=population,
        variables=qm.FrozenDict({name: node for node, name in variables.items()}),
    )
    positions = {name: i + 1 for i, name in enumerate(template.variables)}
    rows = []
    for start, end in intervals:
        dataset = substitute_parameters(
            template, interval_start_date=start, interval_end_date=end
        )
        totals = [defaultdict(lambda: [0, 0]) for _ in plans]
        for result in engine.get_results(dataset):
            for (measure, num, den, groups), total in zip(plans, totals):
                key = tuple(result[positions[g]] for g in groups)
                counts = total[key]
                counts[0] += result[positions[num]] or 0
                counts[1] += result[positions[den]] or 0
        for (measure, _, _, _), total in zip(plans, totals):
            names = list(measure.group_by)
            for key, (numerator, denominator_total) in total.items():
                group_values = dict(zip(names, key))
                rows.append(
                    (
                        measure.name,
                        start,
                        end,
                        ratio(numerator, denominator_total),
                        numerator,
                        denominator_total,
                        *(group_values.get(g) for g in all_groups),
                    )
                )
    return rows


def _as_int(node: qm.Series) -> qm.Series:
    return qm.Function.CastToInt(node) if node.type is bool else node


def _as_bool(node: qm.Series) -> qm.Series:
    return node if node.type is bool else qm.Function.GT(node, qm.Value(0))
