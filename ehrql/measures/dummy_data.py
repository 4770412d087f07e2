"""The dataset whose dummy data exercises a set of measures.

Dummy data is generated for a dataset; for measures we describe one whose
population is every patient counted in any measure's denominator at some time
in its intervals, and whose columns are the numerators and groups, so that the
generator makes patients who land in the measures.
"""

from __future__ import annotations

import dataclasses
import itertools
import math

from ehrql.measures.disclosure_control import SUPPRESSION_THRESHOLD
from ehrql.measures.measures import Measure, Measures
from ehrql.query_model import nodes as qm
from ehrql.query_model.interval_totals import (
    INTERVAL_END,
    INTERVAL_PARAMETERS,
    INTERVAL_START,
)
from ehrql.query_model.table_schema import Constraint
from ehrql.query_model.transforms import ParameterTemplate, substitute_parameters


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
    # Measures grouped in different ways share one numerator and denominator.
    at = _AtIntervals()
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
            variables.setdefault(at.counted(measure, interval))
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


@dataclasses.dataclass(frozen=True)
class DummyQuotas:
    """What the dummy data of a set of measures should hold, and whether the
    population asked for can hold it.

    `quotas` go to the generator (`generate_dummy_data`'s `quotas`): for
    each measure, each combination of its groups' values that the
    definition names and a patient can have, and each interval, "counted in
    the numerator in this interval, in this group", by
    `SUPPRESSION_THRESHOLD` + 1 patients, so that its numerator passes
    disclosure control. `cells` is how many (measure, interval, group)
    combinations those are, and `patients_needed` how many patients filling
    them all takes, counting a patient in several intervals (as many as the
    generator makes one for at once) only where the solver can make one who
    counts in the first and the last.
    """

    quotas: tuple
    cells: int
    patients_needed: int
    #: The group columns whose values the definition does not name.
    unknown_groups: tuple = ()
    #: What the solver made of the quotas' parts while working them out
    #: (`generate_dummy_data`'s `quota_plans`).
    plans: dict = dataclasses.field(default_factory=dict, compare=False, repr=False)

    def shortfall(self, population_size: int) -> str | None:
        """A sentence for the log when `population_size` patients are too few
        to fill every cell; None when they are enough."""
        if self.patients_needed <= population_size:
            return None
        unknown = (
            f" (groups by {', '.join(self.unknown_groups)}, whose values the "
            "definition does not name, are not counted)"
            if self.unknown_groups
            else ""
        )
        return (
            f"the measures have {self.cells} (measure, interval, group) cells"
            f"{unknown}, each needing more than {SUPPRESSION_THRESHOLD} patients "
            "in its numerator to pass disclosure control: that takes about "
            f"{self.patients_needed} dummy patients, and {population_size} were "
            "asked, so some numerators will be reported as 0; "
            f"configure_dummy_data(population_size={self.patients_needed}) "
            "asks for as many"
        )


def measures_dummy_quotas(measures: Measures) -> tuple:
    """The generator's quotas for `measures` (`DummyQuotas.quotas`)."""
    return measures_dummy_cells(measures).quotas


def measures_dummy_cells(
    measures: Measures, dataset: qm.Dataset | None = None
) -> DummyQuotas:
    """The cells every measure's dummy data should fill (`DummyQuotas`).

    `dataset` is the measures' `measures_dummy_dataset`, when the caller has
    it already: with hundreds of intervals, building it again costs as much
    as the rest of this.

    A group whose values the definition names (a boolean, a `case` with
    constant values, a column with categories) is aimed at, value by value;
    values no patient counted in the numerator can have (a sex the
    denominator leaves out) are left out. A group whose values it does not
    name (a practice, a region read from a table without categories) cannot
    be aimed at: its values are drawn freely, spreading patients thinly, and
    asking for more of them would not put more than the threshold in any
    one value. Its measure's cells are those of the other groups, with the
    same count.

    The generator fills the quotas one after another, and tries those of
    one tuple a few at a time, for patients who count in several (and counts
    a patient in each they meet). So the quotas come: first, one tuple per
    interval, of every measure counted in it whatever the group (one
    patient may count in several measures), so that where the population
    cannot fill every cell, every interval still shows; then one tuple per
    measure and combination of group values, its intervals in order, where
    the solver can make one patient who counts in its first and last
    intervals (a prevalent condition), or one tuple per cell where it
    cannot (a first diagnosis).
    """
    wanted = SUPPRESSION_THRESHOLD + 1
    holds = _Satisfiable(
        measures_dummy_dataset(measures) if dataset is None else dataset
    )
    # Imported here: ehrql can be installed without its dummy data generator.
    from ehrql.dummy.generator import GOAL_GROUP, QUOTA_PATIENT_SHARE

    # The same objects then recur in the quotas, which the generator finds
    # by identity.
    nodes = _AtIntervals()
    counted, at = nodes.counted, nodes.series

    # Whether one patient can count in a measure's first and last intervals.
    shared = {
        m.name: len(m.intervals) == 1
        or holds(counted(m, m.intervals[0]), counted(m, m.intervals[-1]))
        for m in measures
        if m.intervals
    }
    # First, every interval of every measure, whatever the group: where the
    # population cannot fill every cell, each interval still shows.
    quotas: dict = {}
    for measure in (m for m in measures if m.intervals):
        for interval in measure.intervals:
            condition = counted(measure, interval)
            key = (
                (0, measure.numerator, measure.denominator, measure.intervals)
                if shared[measure.name]
                else (1, interval)
            )
            quotas.setdefault(key, {})[condition] = (wanted, condition)
    # The patients made for these may land in any group: counted on top.
    whole_intervals = wanted * len(quotas)
    # Those who count in many intervals first, then interval by interval.
    quotas = dict(
        sorted(
            quotas.items(),
            key=lambda item: (item[0][0], item[0][-1] if item[0][0] else 0),
        )
    )
    cells = 0
    # (numerator, denominator, intervals) -> patients: measures of the
    # same patients (one numerator grouped in several ways) share them.
    patients: dict = {}
    unknown: dict = {}
    for measure in (m for m in measures if m.intervals):
        first = counted(measure, measure.intervals[0])
        values = []
        for name, series in measure.group_by.items():
            known = _values(series)
            if known is None:
                unknown[name] = None
                continue
            group = at(series, measure.intervals[0])
            # A value can only be ruled out by a numerator or denominator
            # reading what the group reads (a sex the denominator leaves out).
            # A `case`'s values (age bands) are taken as possible: checking
            # each costs the solver a narrowing of dates of birth, more than
            # the generator spends giving up a band no patient can be in.
            if isinstance(series, qm.Case) or qm.columns_read(group).isdisjoint(
                qm.columns_read(first)
            ):
                values.append((series, list(known)))
                continue
            values.append(
                (series, [v for v in known if holds(first, _group_is(group, v))])
            )
        combinations = list(itertools.product(*(vs for _, vs in values)))
        cells += len(combinations) * len(measure.intervals)
        if not combinations:
            continue
        key = (measure.numerator, measure.denominator, measure.intervals)
        # A patient is made for `GOAL_GROUP` of a group's intervals at once:
        # that one counts in more is luck, not counted on.
        made_for = GOAL_GROUP if shared[measure.name] else 1
        patients[key] = max(
            patients.get(key, 0),
            wanted * len(combinations) * math.ceil(len(measure.intervals) / made_for),
        )
        # The solver is asked for the groups' values at the first interval
        # (an age band at its start): solving one narrowing of a date of
        # birth for each band, not one for each band and interval, keeps
        # hundreds of quotas cheap; the check counts a patient in the group
        # they are in at each interval.
        first_groups = [at(series, measure.intervals[0]) for series, _ in values]
        if not values:
            # Ungrouped (or grouped by values no one names): its cells are
            # the intervals' quotas above.
            continue
        for combination in combinations:
            for interval in measure.intervals:
                if shared[measure.name]:
                    # A patient may count in every interval of their group.
                    family = quotas.setdefault((key, combination), {})
                else:
                    family = quotas.setdefault((key, combination, interval), {})
                # `counted & (group & (group ...))`: the generator checks the
                # parts in turn, and solves the first once for all groups.
                head = counted(measure, interval)
                groups = [at(series, interval) for series, _ in values]
                condition = _all(
                    head, [_group_is(s, v) for s, v in zip(groups, combination)]
                )
                family[condition] = (
                    wanted,
                    _all(
                        head,
                        [_group_is(s, v) for s, v in zip(first_groups, combination)],
                    ),
                )
    return DummyQuotas(
        tuple(
            tuple(
                (condition, count, solve)
                for condition, (count, solve) in family.items()
            )
            for family in quotas.values()
        ),
        cells,
        # Some of the patients follow the population's plans, for variety.
        math.ceil((sum(patients.values()) + whole_intervals) / QUOTA_PATIENT_SHARE),
        tuple(unknown),
        holds.plans,
    )


class _Satisfiable:
    """Whether the dummy data solver finds a patient meeting a condition
    over the tables of the measures' dummy dataset (`satisfiability`), cached."""

    def __init__(self, dataset: qm.Dataset):
        self._dataset = dataset
        self._test = None
        self._known: dict = {}
        self.plans: dict = {}

    def __call__(self, *conditions: qm.Series) -> bool:
        if self._test is None:
            # Imported here: ehrql can be installed without its dummy data generator.
            from ehrql.dummy.generator import satisfiability

            self._test = satisfiability([self._dataset], self.plans)
        if conditions not in self._known:
            self._known[conditions] = self._test(*conditions)
        return self._known[conditions]


def _all(first: qm.Series, rest: list) -> qm.Series:
    """`first & (rest[0] & (rest[1] & ...))`: the generator checks a quota's
    parts in turn, and solves the first, shared by all groups, once."""
    if not rest:
        return first
    tail = rest[-1]
    for part in reversed(rest[:-1]):
        tail = qm.Function.And(part, tail)
    return qm.Function.And(first, tail)


def _group_is(series: qm.Series, value) -> qm.Series:
    """The condition that a group series has `value`."""
    if series.type is bool:
        return series if value else qm.Function.Not(series)
    return qm.Function.EQ(series, qm.Value(value))


class _AtIntervals:
    """Measures' series with INTERVAL set to an interval's dates, each
    worked out once: with hundreds of intervals, rebuilding a numerator and
    denominator for each is most of the cost of describing the dummy data."""

    def __init__(self):
        self._memo: dict = {}
        self._templates: dict = {}

    def series(self, series: qm.Series, interval: tuple) -> qm.Series:
        """`series` with INTERVAL set to `interval`."""
        if (series, interval) not in self._memo:
            if series not in self._templates:
                self._templates[series] = ParameterTemplate(series, INTERVAL_PARAMETERS)
            start, end = interval
            self._memo[series, interval] = self._templates[series].fill(
                **{INTERVAL_START: start, INTERVAL_END: end}
            )
        return self._memo[series, interval]

    def counted(self, measure: Measure, interval: tuple) -> qm.Series:
        """Whether a patient counts in the measure's numerator in one interval.

        The numerator comes first: the generator checks a patient against a
        quota one part at a time, and most patients are outside most
        intervals' numerators."""
        key = (measure.numerator, measure.denominator, interval)
        if key not in self._memo:
            self._memo[key] = qm.Function.And(
                _as_bool(self.series(measure.numerator, interval)),
                _as_bool(self.series(measure.denominator, interval)),
            )
        return self._memo[key]


def _values(series: qm.Series) -> tuple | None:
    """The non-null values a group-by series can take, in order; None when
    the definition does not say."""
    if series.type is bool:
        return (True, False)
    if isinstance(series, qm.Case):
        values = [*series.cases.values(), series.default]
        if all(v is None or isinstance(v, qm.Value) for v in values):
            return (
                tuple(dict.fromkeys(v.value for v in values if v is not None)) or None
            )
        return None
    if isinstance(series, qm.SelectColumn):
        table = series.source
        if isinstance(table, qm.SelectPatientTable):
            column = table.schema.get_column(series.name)
            categories = column.get_constraint(Constraint.Categorical)
            return tuple(categories.values) if categories else None
    return None


def _as_bool(series: qm.Series) -> qm.Series:
    """A numerator or denominator as "the patient counts": true, or above zero."""
    if series.type is bool:
        return series
    return qm.Function.GT(series, qm.Value(series.type(0)))
