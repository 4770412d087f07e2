"""Totals per interval and group: the query a batch of measures runs.

Measures that share a denominator and intervals need, for each interval, the
patients in the population (the denominator) and, for each group, the sums of
some per-patient values (numerators and denominators). `IntervalTotals`
describes that whole computation in one value, so that a SQL engine can
compile every interval into one query, while engines without SQL fall back on
`totals_by_substitution`: one dataset per interval.

Inside the dataset, the parameters `interval_start_date` and
`interval_end_date` stand for each interval's bounds.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections import defaultdict
from collections.abc import Callable, Iterable

from ehrql.query_model import nodes as qm
from ehrql.query_model.transforms import ParameterTemplate

#: The parameters standing for the bounds of the interval being calculated.
INTERVAL_START = "interval_start_date"
INTERVAL_END = "interval_end_date"
INTERVAL_PARAMETERS = (INTERVAL_START, INTERVAL_END)


@dataclasses.dataclass(frozen=True)
class IntervalTotals:
    """Sums of some variables per interval and group, over a dataset's population.

    `dataset`'s population and variables may read the interval parameters.
    For each interval and each grouping (a tuple of variable names), the
    result holds one row per distinct combination of the grouping's values
    among patients in that interval's population, with the sum of each
    `summed` variable over those patients (nulls count as 0).
    """

    dataset: qm.Dataset
    intervals: tuple[tuple[datetime.date, datetime.date], ...]
    groupings: tuple[tuple[str, ...], ...]
    summed: tuple[str, ...]

    def __post_init__(self):
        names = set(self.dataset.variables)
        used = {n for g in self.groupings for n in g} | set(self.summed)
        if not used <= names:
            raise ValueError(
                f"not variables of the dataset: {', '.join(sorted(used - names))}"
            )
        if len(set(self.groupings)) != len(self.groupings):
            raise ValueError("each grouping may be given only once")
        for name in self.summed:
            if self.dataset.variables[name].type is not int:
                raise ValueError(f"summed variable '{name}' is not an integer series")
        unknown = {
            n.name for n in qm.all_nodes(self.dataset) if isinstance(n, qm.Parameter)
        } - set(INTERVAL_PARAMETERS)
        if unknown:
            raise ValueError(
                f"parameters other than the interval's: {', '.join(sorted(unknown))}"
            )


#: One result row: (grouping index, interval index, the grouping's values, the sums).
TotalsRow = tuple[int, int, tuple, tuple[int, ...]]


def totals_by_substitution(
    get_results: Callable[[qm.Dataset], Iterable[tuple]], query: IntervalTotals
) -> list[TotalsRow]:
    """Calculate `query` by running its dataset once per interval.

    `get_results` runs a dataset and yields (patient_id, *variables) rows.
    Rows come out sorted by grouping, interval and group values.
    """
    positions = {name: i + 1 for i, name in enumerate(query.dataset.variables)}
    template = ParameterTemplate(query.dataset, INTERVAL_PARAMETERS)
    rows = []
    for interval_index, (start, end) in enumerate(query.intervals):
        dataset = template.fill(**{INTERVAL_START: start, INTERVAL_END: end})
        sums = [defaultdict(lambda: [0] * len(query.summed)) for _ in query.groupings]
        for result in get_results(dataset):
            values = [result[positions[s]] or 0 for s in query.summed]
            for grouping, totals in zip(query.groupings, sums):
                group = totals[tuple(result[positions[g]] for g in grouping)]
                for i, value in enumerate(values):
                    group[i] += value
        for grouping_index, totals in enumerate(sums):
            for key, values in totals.items():
                rows.append((grouping_index, interval_index, key, tuple(values)))
    return sorted_totals(rows)


def sorted_totals(rows: Iterable[TotalsRow]) -> list[TotalsRow]:
    """Rows in a fixed order: by grouping, interval, then group values (nulls first)."""
    return sorted(
        rows, key=lambda r: (r[0], r[1], tuple((v is not None, v) for v in r[2]))
    )
