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
    """A dataset covering every measure, with INTERVAL set to each measure's full span."""
    population = None
    variables: dict[qm.Series, None] = {}
    for measure in (m for m in measures if m.intervals):
        span = {
            "interval_start_date": measure.intervals[0][0],
            "interval_end_date": max(end for _, end in measure.intervals),
        }
        denominator = substitute_parameters(measure.denominator, **span)
        in_denominator = (
            denominator if denominator.type is bool else qm.Function.GT(denominator, qm.Value(0))
        )
        population = in_denominator if population is None else qm.Function.Or(population, in_denominator)
        for node in (measure.numerator, *measure.group_by.values()):
            variables.setdefault(substitute_parameters(node, **span))
    if population is None:
        # No measure has an interval: no patient is counted anywhere.
        population = qm.Value(False)
    return qm.Dataset(
        population=population,
        variables=qm.FrozenDict({f"column_{i}": node for i, node in enumerate(variables)}),
    )
