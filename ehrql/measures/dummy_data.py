"""The dataset whose dummy data exercises a set of measures.

Dummy data is generated for a dataset; for measures we describe one whose
population is every patient counted in any measure's denominator at some time
in its intervals, and whose columns are the numerators and groups, so that the
generator makes patients who land in the measures.
"""

from __future__ import annotations

from ehrql.measures.disclosure_control import SUPPRESSION_THRESHOLD
from ehrql.measures.measures import Measure, Measures
from ehrql.query_model import nodes as qm
from ehrql.query_model.table_schema import Constraint
from ehrql.query_model.transforms import substitute_parameters


def measures_dummy_dataset(measures: Measures) -> qm.Dataset:
    """A dataset covering every measure, with INTERVAL set to each measure's full span.

    Its columns are each measure's numerator and groups over that span, and,
    for every interval, whether a patient counts in the measure's numerator
    then (in its denominator, with a numerator that is true or above zero):
    the generator makes patients who give columns values, so every interval
    gets numerators that disclosure control can let through.
    """
    population = None
    variables: dict[qm.Series, None] = {}
    for measure in (m for m in measures if m.intervals):
        span = _span(measure)
        in_denominator = _as_bool(substitute_parameters(measure.denominator, **span))
        population = (
            in_denominator
            if population is None
            else qm.Function.Or(population, in_denominator)
        )
        for node in (measure.numerator, *measure.group_by.values()):
            variables.setdefault(substitute_parameters(node, **span))
        for interval in measure.intervals:
            variables.setdefault(_counted(measure, interval))
    if population is None:
        # No measure has an interval: no patient is counted anywhere.
        population = qm.Value(False)
    return qm.Dataset(
        population=population,
        variables=qm.FrozenDict(
            {f"column_{i}": node for i, node in enumerate(variables)}
        ),
    )


def _span(measure: Measure) -> dict:
    """INTERVAL's dates covering all of the measure's intervals."""
    return {
        "interval_start_date": measure.intervals[0][0],
        "interval_end_date": max(end for _, end in measure.intervals),
    }


def measures_dummy_locations(measures: Measures) -> dict:
    """The measures' `condition_locations` for the nodes of their dummy
    dataset's population (`measures_dummy_dataset`): each located node of a
    denominator with INTERVAL over the measure's span, as it appears there."""
    located = {}
    for measure in (m for m in measures if m.intervals):
        span = _span(measure)
        for node, location in measures.condition_locations.items():
            located.setdefault(substitute_parameters(node, **span), location)
        denominator = measures.condition_locations.get(measure.denominator)
        if denominator is not None:
            counted = _as_bool(substitute_parameters(measure.denominator, **span))
            located.setdefault(counted, denominator)
    return located


def measures_dummy_quotas(measures: Measures) -> tuple:
    """Quotas for the dummy data generator (`generate_dummy_data`'s `quotas`):
    for each measure and interval, being counted in its numerator then, by
    enough patients that every group's numerator can pass disclosure control
    (more than the suppression threshold per group, where the groups' values
    are known from the definition).

    One tuple of (condition, count) pairs per interval, in order: one
    interval's measures can often be met by one patient, where one measure's
    intervals often exclude each other (a first diagnosis falls in one only).
    """
    by_interval: dict = {}
    for measure in measures:
        wanted = (SUPPRESSION_THRESHOLD + 1) * _group_count(measure)
        for interval in measure.intervals:
            quotas = by_interval.setdefault(interval, {})
            counted = _counted(measure, interval)
            quotas[counted] = max(quotas.get(counted, 0), wanted)
    return tuple(
        tuple(by_interval[interval].items()) for interval in sorted(by_interval)
    )


def _counted(measure: Measure, interval: tuple) -> qm.Series:
    """Whether a patient counts in the measure's numerator in one interval."""
    start, end = interval
    dates = {"interval_start_date": start, "interval_end_date": end}
    return qm.Function.And(
        _as_bool(substitute_parameters(measure.denominator, **dates)),
        _as_bool(substitute_parameters(measure.numerator, **dates)),
    )


def _group_count(measure: Measure) -> int:
    """How many groups the measure's rows fall in, as far as the definition tells."""
    count = 1
    for series in measure.group_by.values():
        count *= _value_count(series) or 1
    return count


def _value_count(series: qm.Series) -> int | None:
    """How many values a group-by series can take; None when the definition does not say."""
    if series.type is bool:
        return 2
    if isinstance(series, qm.Case):
        values = [*series.cases.values(), series.default]
        if all(v is None or isinstance(v, qm.Value) for v in values):
            return len({v.value for v in values if v is not None}) or None
        return None
    if isinstance(series, qm.SelectColumn):
        table = series.source
        if isinstance(table, qm.SelectPatientTable):
            column = table.schema.get_column(series.name)
            categories = column.get_constraint(Constraint.Categorical)
            return len(categories.values) if categories else None
    return None


def _as_bool(series: qm.Series) -> qm.Series:
    """A numerator or denominator as "the patient counts": true, or above zero."""
    if series.type is bool:
        return series
    return qm.Function.GT(series, qm.Value(series.type(0)))
