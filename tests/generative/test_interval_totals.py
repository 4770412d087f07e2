"""Totals over many intervals in one query agree with one query per interval.

Random datasets have some of their date constants turned into the interval's
start or end, which puts the interval into filters, sorts, aggregations and
the population at random depths. The in-memory engine substitutes each
interval's dates and runs a dataset per interval; every other engine must give
the same totals from its single query.
"""

from __future__ import annotations

import datetime

from hypothesis import assume, given, reject
from hypothesis import strategies as st

from ehrql.query_model import nodes as qm
from ehrql.query_model.interval_totals import (
    INTERVAL_END,
    INTERVAL_START,
    IntervalTotals,
)
from ehrql.query_model.transforms import rewrite_tree, substitute_parameters
from tests.generative.budget import generative_settings
from tests.generative.compare import describe_difference
from tests.generative.data import table_data
from tests.generative.known_issues import hits_known_issue
from tests.generative.queries import datasets
from tests.generative.schemas import EVENT_TABLES
from tests.generative.test_engines_agree import (
    OTHER_ENGINES,
    expected_results,
    needs_another_engine,
)

#: Where a date constant may go: left alone, or the interval's start or end.
_DATE_ROLES = (None, INTERVAL_START, INTERVAL_END)


@st.composite
def interval_datasets(draw) -> qm.Dataset:
    """A random dataset with the interval put into some of its date values:
    date constants become a bound of the interval, and date columns are
    clamped by one (the later or earlier of the column and the bound)."""
    dataset = draw(datasets())
    dates = sorted(
        {
            n
            for n in qm.all_nodes(dataset)
            if isinstance(n, (qm.Value, qm.SelectColumn))
            and n.type is datetime.date
            and n != qm.Value(None)
        },
        key=repr,
    )
    roles = {node: draw(st.sampled_from(_DATE_ROLES)) for node in dates}
    clamps = {node: draw(st.sampled_from(_CLAMPS)) for node in dates}

    def replace(node):
        role = roles.get(node)
        if not role:
            return None
        bound = qm.Parameter(role, datetime.date)
        return bound if isinstance(node, qm.Value) else clamps[node]((node, bound))

    try:
        return rewrite_tree(dataset, replace)
    except qm.DomainMismatchError:
        # Clamping one frame's date column can leave series that combined
        # before drawn from two rewritten frames; such a query is not valid,
        # so there is nothing to compare.
        reject()


#: Ways to clamp a date column by an interval bound.
_CLAMPS = (qm.Function.MaximumOf, qm.Function.MinimumOf)


def counts_in_interval() -> dict[str, qm.Series]:
    """For each event table: the number of a patient's rows dated within the
    interval (and strictly inside it), a value from the latest row up to the
    interval's end, and whether a row's date range covers the interval's start."""
    start, end = (
        qm.Parameter(INTERVAL_START, datetime.date),
        qm.Parameter(INTERVAL_END, datetime.date),
    )
    counts = {}
    for table in EVENT_TABLES:
        date = qm.SelectColumn(table, "d1")
        during = qm.Function.And(qm.Function.GE(date, start), qm.Function.LE(date, end))
        counts[f"{table.name}_in_interval"] = qm.AggregateByPatient.Count(
            qm.Filter(table, during)
        )
        # The latest row up to the interval's end: one row per patient and interval.
        up_to_end = qm.Sort(qm.Filter(table, qm.Function.LE(date, end)), date)
        latest = qm.PickOneRowPerPatient(up_to_end, qm.Position.LAST)
        counts[f"{table.name}_latest_i1"] = qm.SelectColumn(latest, "i1")
        # Strictly inside the interval, a day's margin each side.
        inside = qm.Function.And(qm.Function.GT(date, start), qm.Function.LT(date, end))
        counts[f"{table.name}_inside_interval"] = qm.AggregateByPatient.Count(
            qm.Filter(table, inside)
        )
        # In force on the interval's start, as a registration is: from d1 to
        # i1 days later, open-ended where i1 is null, empty where it is negative.
        until = qm.Function.DateAddDays(date, qm.SelectColumn(table, "i1"))
        in_force = qm.Function.And(
            qm.Function.LE(date, start),
            qm.Function.Or(
                qm.Function.GE(until, start),
                qm.Function.IsNull(qm.SelectColumn(table, "i1")),
            ),
        )
        counts[f"{table.name}_in_force_at_start"] = qm.AggregateByPatient.Exists(
            qm.Filter(table, in_force)
        )
    return counts


@st.composite
def intervals(draw) -> tuple:
    """One to three intervals, possibly overlapping, each start on or before its end."""
    days = st.integers(0, 4 * 365)
    base = datetime.date(2000, 1, 1)
    result = []
    for _ in range(draw(st.integers(1, 3))):
        start = base + datetime.timedelta(days=draw(days))
        result.append(
            (start, start + datetime.timedelta(days=draw(st.integers(0, 400))))
        )
    return tuple(result)


@st.composite
def totals_queries(draw) -> IntervalTotals:
    """A totals query: int variables summed, along with a count of patients,
    and groupings drawn from the variables whose values compare exactly."""
    dataset = draw(interval_datasets())
    variables = dict(dataset.variables)
    variables["patients"] = qm.Value(1)
    variables.update(counts_in_interval())
    summed = tuple(name for name, node in variables.items() if node.type is int)
    groupable = sorted(
        name for name, node in variables.items() if node.type not in (int, float)
    )
    groupings = draw(
        st.lists(
            st.lists(st.sampled_from(groupable), unique=True, max_size=2).map(tuple)
            if groupable
            else st.just(()),
            min_size=1,
            max_size=3,
            unique=True,
        )
    )
    chosen = draw(intervals())
    return IntervalTotals(
        dataset=qm.Dataset(
            population=_valid_in_every(dataset.population, chosen),
            variables=qm.FrozenDict(variables),
        ),
        intervals=chosen,
        groupings=tuple(groupings),
        summed=summed,
    )


def _valid_in_every(population: qm.Series, chosen: tuple) -> qm.Series:
    """`population`, narrowed to patients with an event when some interval's
    dates would let it include patients with no records."""
    try:
        for start, end in chosen:
            qm.validate_population(
                substitute_parameters(
                    population, **{INTERVAL_START: start, INTERVAL_END: end}
                )
            )
    except qm.PopulationValidationError:
        return qm.Function.And(
            qm.AggregateByPatient.Exists(EVENT_TABLES[0]), population
        )
    return population


@needs_another_engine
@generative_settings(60)
@given(query=totals_queries(), data=table_data())
def test_one_query_for_all_intervals_matches_one_per_interval(query, data):
    assume(not hits_known_issue(query.dataset))
    expected = expected_results(data, query)
    for name, run in OTHER_ENGINES.items():
        actual = run(data, query)
        assert actual == expected, f"engine {name!r} disagrees: " + describe_difference(
            expected, actual
        )
