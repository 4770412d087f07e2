"""The dataset whose dummy data exercises a set of measures.

Dummy data is generated for a dataset; for measures we describe one whose
population is every patient counted in any measure's denominator at some time
in its intervals, and whose columns are the numerators and groups, so that the
generator makes patients who land in the measures.
"""

from __future__ import annotations

from ehrql.measures.measures import Measures
from ehrql.query_model import nodes as qm
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
        span = {
            "interval_start_date": measure.intervals[0][0],
            "interval_end_date": max(end for _, end in measure.intervals),
        }
        in_denominator = _as_bool(substitute_parameters(measure.denominator, **span))
        population = (
            in_denominator
            if population is None
            else qm.Function.Or(population, in_denominator)
        )
        for node in (measure.numerator, *measure.group_by.values()):
            variables.setdefault(substitute_parameters(node, **span))
        for start, end in measure.intervals:
            dates = {"interval_start_date": start, "interval_end_date": end}
            counted = qm.Function.And(
                _as_bool(substitute_parameters(measure.denominator, **dates)),
                _as_bool(substitute_parameters(measure.numerator, **dates)),
            )
            variables.setdefault(counted)
    if population is None:
        # No measure has an interval: no patient is counted anywhere.
        population = qm.Value(False)
    return qm.Dataset(
        population=population,
        variables=qm.FrozenDict(
            {f"column_{i}": node for i, node in enumerate(variables)}
        ),
    )


def _as_bool(series: qm.Series) -> qm.Series:
    """A numerator or denominator as "the patient counts": true, or above zero."""
    if series.type is bool:
        return series
    return qm.Function.GT(series, qm.Value(series.type(0)))
