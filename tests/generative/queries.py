"""Strategies for random, valid query models, built straight from the node classes.

Generation is type-directed: `series(type_, scope)` only ever builds nodes whose
inputs have the types and domains their node class accepts, so nothing needs
to be rejected after the fact. A `Scope` says where the series will be used:

* at patient level (`frame` is None): columns of the patient table or of a
  row picked from a sorted event frame, constants, aggregations, and row-wise
  functions of those;
* on the rows of an event frame: additionally, columns of that frame and of
  every frame it was derived from (a filter's parent, a sort's source), which
  is how a frame's series end up combined with its filtered child's.

Aggregations and frames nest: an aggregation's source is a series on a freshly
generated event frame (a chain of filters and sorts over an event table), and
a filter's condition or a sort's key is itself a generated series on the frame
being filtered or sorted. `depth` bounds the nesting so examples stay small.

`need_event` asks for a series that really varies by row (its domain is not
the patient domain); aggregations require one. It is met by sending the
requirement down one argument until a column of the frame is reached.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable

from hypothesis import strategies as st

from ehrql.query_model import nodes as qm
from tests.generative.data import PATIENT_IDS
from tests.generative.schemas import (
    ALL_TABLES,
    CODE_TYPE,
    EVENT_TABLES,
    INLINE_SCHEMA,
    SERIES_TYPES,
    columns_of_type,
    patients,
)
from tests.generative.values import cells_of, values_of

Fn = qm.Function
Agg = qm.AggregateByPatient

DEFAULT_DEPTH = 3

NUMERIC = (int, float)
ORDERED = (int, float, str, datetime.date, CODE_TYPE)
MAX_SET_SIZE = 3
MAX_VARIABLES = 6
MAX_SHARED_FRAMES = 2


@dataclasses.dataclass(frozen=True)
class Scope:
    """Where a series is to be evaluated, and how much nesting is left.

    `shared` holds event frames drawn once per dataset that any part of it may
    start from, so that datasets reuse a frame in several places (as real
    definitions do with a variable holding a filtered frame): engines that
    memoise or name subqueries by node meet the same node more than once.
    """

    frame: qm.ManyRowsPerPatientFrame | None
    depth: int
    need_event: bool = False
    shared: tuple = ()

    def deeper(self, need_event: bool = False) -> Scope:
        """The scope of an argument: same frame, one level less to spend."""
        return Scope(self.frame, self.depth - 1, need_event, self.shared)

    def at_patient_level(self) -> Scope:
        """The scope of a patient-level argument, one level down."""
        return Scope(None, self.depth - 1, shared=self.shared)

    def on(self, frame: qm.ManyRowsPerPatientFrame, need_event: bool = False) -> Scope:
        """The scope of a series on the rows of `frame`, one level down."""
        return Scope(frame, self.depth - 1, need_event, self.shared)

    @property
    def is_patient(self) -> bool:
        return self.frame is None


def frame_chain(frame: qm.Frame) -> list[qm.Frame]:
    """`frame` and every frame it was derived from by filters and sorts."""
    chain = [frame]
    while isinstance(frame, (qm.Filter, qm.Sort)):
        frame = frame.source
        chain.append(frame)
    return chain


# ---------------------------------------------------------------------------
# Leaves
# ---------------------------------------------------------------------------


def constants(type_) -> st.SearchStrategy[qm.Value]:
    """A constant series of `type_`."""
    return values_of(type_).map(qm.Value)


@st.composite
def column_of(draw, frame: qm.Frame, type_) -> qm.SelectColumn:
    """A column of `type_` read from `frame` or from a frame it was derived from."""
    source = draw(st.sampled_from(frame_chain(frame)))
    return qm.SelectColumn(
        source, draw(st.sampled_from(columns_of_type(source, type_)))
    )


# ---------------------------------------------------------------------------
# Frames
# ---------------------------------------------------------------------------


@st.composite
def event_frames(
    draw, scope: Scope, sorted_: bool = False
) -> qm.ManyRowsPerPatientFrame:
    """An event table or shared frame with up to `scope.depth` filters and
    sorts applied in any order (conditions and keys one level deeper).

    With `sorted_`, at least one sort is applied (so a row can be picked).
    """
    frame = draw(st.sampled_from(EVENT_TABLES + scope.shared))
    # At least one step is possible even at the bottom of the nesting, so that
    # aggregations over filtered frames are common; conditions are then leaves.
    steps = draw(st.integers(0, max(scope.depth, 1)))
    for _ in range(steps):
        frame = draw(_filtered(frame, scope) | _sorted(frame, scope))
    if sorted_ and not qm.sort_keys(frame):
        frame = draw(_sorted(frame, scope))
    return frame


def _filtered(frame, scope: Scope) -> st.SearchStrategy[qm.Filter]:
    condition = series(bool, scope.on(frame))
    return condition.map(lambda c: qm.Filter(frame, c))


@st.composite
def _sorted(draw, frame, scope: Scope) -> qm.Sort:
    key_type = draw(st.sampled_from(SERIES_TYPES))
    return qm.Sort(frame, draw(series(key_type, scope.on(frame))))


@st.composite
def picked_rows(draw, scope: Scope) -> qm.PickOneRowPerPatient:
    """The first or last row per patient of a sorted event frame."""
    frame = draw(event_frames(scope, sorted_=True))
    return qm.PickOneRowPerPatient(frame, draw(st.sampled_from(list(qm.Position))))


@st.composite
def inline_tables(draw) -> qm.InlinePatientTable:
    """A patient-level table given in the query itself, for some of the patients."""
    patient_ids = draw(st.lists(st.sampled_from(PATIENT_IDS), unique=True, max_size=4))
    rows = tuple(
        (
            patient_id,
            *(draw(cells_of(type_)) for _, type_ in INLINE_SCHEMA.column_types),
        )
        for patient_id in sorted(patient_ids)
    )
    return qm.InlinePatientTable(rows, INLINE_SCHEMA)


@st.composite
def patient_frames(draw, scope: Scope) -> qm.OneRowPerPatientFrame:
    """The patient table, an inline table, or (with depth to spare) a row
    picked from an event frame."""
    if scope.depth <= 0:
        return draw(st.one_of(st.just(patients), inline_tables()))
    return draw(
        st.one_of(st.just(patients), inline_tables(), picked_rows(scope.deeper()))
    )


# ---------------------------------------------------------------------------
# Series
# ---------------------------------------------------------------------------


@st.composite
def series(draw, type_, scope: Scope) -> qm.Series:
    """A series of `type_` usable in `scope`."""
    if scope.need_event and scope.is_patient:
        raise ValueError(
            "only a series on an event frame can be required to vary by row"
        )
    # Integer 0 is where hypothesis shrinks to: a leaf, for small counterexamples.
    if scope.depth <= 0 or draw(st.integers(0, 3)) == 0:
        return draw(_leaf(type_, scope))
    builders = [
        b for b in BUILDERS[type_] if not (scope.need_event and b.patient_level)
    ]
    builder = draw(st.sampled_from(builders))
    return draw(builder.build(type_, scope))


def _leaf(type_, scope: Scope) -> st.SearchStrategy[qm.Series]:
    if scope.is_patient:
        return st.one_of(constants(type_), column_of(patients, type_))
    if scope.need_event:
        return column_of(scope.frame, type_)
    return st.one_of(constants(type_), column_of(scope.frame, type_))


@dataclasses.dataclass(frozen=True)
class Builder:
    """One way of building a series: `build(type_, scope)` gives a strategy.

    A `patient_level` builder only makes patient-level series, which fit
    anywhere except where a row-varying series is required.
    """

    build: Callable
    patient_level: bool = False


def _patient_level_only(build: Callable) -> Builder:
    return Builder(build, patient_level=True)


def maybe_null(type_, scope: Scope) -> st.SearchStrategy[qm.Series]:
    """A series of `type_`, or occasionally the untyped null constant.

    Only for argument positions where the node accepts a bare null (the
    right-hand side of comparisons and arithmetic, later arguments of
    maximum_of/minimum_of).
    """
    return st.integers(0, 9).flatmap(
        lambda n: st.just(qm.Value(None)) if n == 9 else series(type_, scope)
    )


def _split_need(scope: Scope, arity: int, draw) -> list[Scope]:
    """Argument scopes: if a row-varying result is needed, one argument carries it."""
    if not scope.need_event:
        return [scope.deeper() for _ in range(arity)]
    carrier = draw(st.integers(0, arity - 1))
    return [scope.deeper(need_event=(i == carrier)) for i in range(arity)]


# -- builders: each wraps a function of (result type, scope) giving a strategy


@_patient_level_only
@st.composite
def _patient_level(draw, type_, scope):
    # A patient-level series used on event rows (or at patient level).
    return draw(series(type_, scope.at_patient_level()))


@_patient_level_only
@st.composite
def _picked_column(draw, type_, scope):
    frame = draw(patient_frames(scope.deeper()))
    return draw(column_of(frame, type_))


@st.composite
def _binary_same_type(draw, node_class, operand_type, scope, null_rhs, leaf_rhs=False):
    lhs_scope, rhs_scope = _split_need(scope, 2, draw)
    lhs = draw(series(operand_type, lhs_scope))
    if null_rhs and not rhs_scope.need_event and draw(st.integers(0, 9)) == 9:
        return node_class(lhs, qm.Value(None))
    rhs_strategy = _leaf if leaf_rhs else series
    return node_class(lhs, draw(rhs_strategy(operand_type, rhs_scope)))


def _binary(node_class, operand_types=None, null_rhs=True, leaf_rhs=False):
    """Builds `node_class(lhs, rhs)` with both sides of one operand type (the
    result type when `operand_types` is None).

    `null_rhs` lets the right-hand side be the bare null constant now and
    then; `leaf_rhs` keeps it to a column or constant.
    """

    @st.composite
    def build(draw, type_, scope):
        operand_type = (
            type_ if operand_types is None else draw(st.sampled_from(operand_types))
        )
        return draw(
            _binary_same_type(node_class, operand_type, scope, null_rhs, leaf_rhs)
        )

    return Builder(build)


def _unary(node_class, source_types):
    @st.composite
    def build(draw, type_, scope):
        source_type = draw(st.sampled_from(source_types))
        return node_class(draw(series(source_type, scope.deeper(scope.need_event))))

    return Builder(build)


@Builder
@st.composite
def _contains(draw, type_, scope):
    lhs_scope, rhs_scope = _split_need(scope, 2, draw)
    lhs = draw(series(draw(st.sampled_from([str, CODE_TYPE])), lhs_scope))
    rhs = draw(series(str, rhs_scope))
    return Fn.StringContains(lhs, rhs)


@Builder
@st.composite
def _in(draw, type_, scope):
    element_type = draw(st.sampled_from(SERIES_TYPES))
    lhs = draw(series(element_type, scope.deeper(scope.need_event)))
    members = draw(st.frozensets(values_of(element_type), max_size=MAX_SET_SIZE))
    return Fn.In(lhs, qm.Value(members))


@_patient_level_only
@st.composite
def _exists(draw, type_, scope):
    frame = draw(
        st.one_of(event_frames(scope.deeper()), patient_frames(scope.deeper()))
    )
    return Agg.Exists(frame)


@_patient_level_only
@st.composite
def _count(draw, type_, scope):
    return Agg.Count(draw(event_frames(scope.deeper())))


@_patient_level_only
@st.composite
def _count_episodes(draw, type_, scope):
    frame = draw(event_frames(scope.deeper()))
    dates = draw(series(datetime.date, scope.on(frame, need_event=True)))
    return Agg.CountEpisodes(dates, draw(st.integers(0, 60)))


@Builder
@st.composite
def _in_patients_values(draw, type_, scope):
    # x.is_in(event_series): x against the set of the patient's own values.
    element_type = draw(st.sampled_from(SERIES_TYPES))
    lhs = draw(series(element_type, scope.deeper(scope.need_event)))
    frame = draw(event_frames(scope.deeper().at_patient_level()))
    values = draw(
        series(element_type, scope.at_patient_level().on(frame, need_event=True))
    )
    return Fn.In(lhs, Agg.CombineAsSet(values))


def _aggregate(node_class, source_types=None):
    """Builds `node_class` over a row-varying series on a fresh event frame, of
    one of `source_types` (the result type when None)."""

    @_patient_level_only
    @st.composite
    def build(draw, type_, scope):
        source_type = (
            type_ if source_types is None else draw(st.sampled_from(source_types))
        )
        frame = draw(event_frames(scope.deeper()))
        source = draw(series(source_type, scope.on(frame, need_event=True)))
        return node_class(source)

    return build


def _date_add(node_class):
    @st.composite
    def build(draw, type_, scope):
        lhs_scope, rhs_scope = _split_need(scope, 2, draw)
        return node_class(
            draw(series(datetime.date, lhs_scope)), draw(series(int, rhs_scope))
        )

    return Builder(build)


def _extremum(node_class):
    @st.composite
    def build(draw, type_, scope):
        count = draw(st.integers(2, 3))
        scopes = _split_need(scope, count, draw)
        first = draw(series(type_, scopes[0]))
        rest = [
            draw(series(type_, s) if s.need_event else maybe_null(type_, s))
            for s in scopes[1:]
        ]
        return node_class((first, *rest))

    return Builder(build)


@Builder
@st.composite
def _case(draw, type_, scope):
    count = draw(st.integers(1, 3))
    # The first condition carries any need to vary by row; the first value is
    # never null so that the case has a type.
    conditions = [draw(series(bool, scope.deeper(scope.need_event)))]
    conditions += [draw(series(bool, scope.deeper())) for _ in range(count - 1)]
    values = [draw(series(type_, scope.deeper()))]
    values += [
        draw(st.none() | series(type_, scope.deeper())) for _ in range(count - 1)
    ]
    default = draw(st.none() | series(type_, scope.deeper()))
    cases = {}
    for condition, value in zip(conditions, values):
        # A repeated condition could never be reached; keeping the first also
        # keeps the first (non-null) value.
        cases.setdefault(condition, value)
    return qm.Case(qm.FrozenDict(cases), default)


#: Ways of building a series of any ordered type.
_ORDERED_BUILDERS = [
    _extremum(Fn.MaximumOf),
    _extremum(Fn.MinimumOf),
    _aggregate(Agg.Min),
    _aggregate(Agg.Max),
]
#: Ways of building a series of any type at all.
_GENERAL_BUILDERS = [_patient_level, _picked_column, _case]

#: For each result type, the ways of building a series of that type: one entry
#: per node class, so that every class turns up about as often as its
#: neighbours (grouping classes under one entry made some of them rare).
BUILDERS: dict[type, list] = {
    bool: [
        _binary(Fn.EQ, SERIES_TYPES),
        _binary(Fn.NE, SERIES_TYPES),
        *(_binary(c, ORDERED) for c in (Fn.LT, Fn.LE, Fn.GT, Fn.GE)),
        _binary(Fn.And, null_rhs=False),
        _binary(Fn.Or, null_rhs=False),
        _unary(Fn.Not, [bool]),
        _unary(Fn.IsNull, SERIES_TYPES),
        _contains,
        _in,
        _in_patients_values,
        _exists,
        *_GENERAL_BUILDERS,
    ],
    int: [
        _binary(Fn.Add),
        _binary(Fn.Subtract),
        # A product of products could pass 64 bits, where engines are free
        # to fail: multiplying only by a column or constant keeps every
        # integer far inside that range (see values.py).
        _binary(Fn.Multiply, leaf_rhs=True),
        _binary(Fn.FloorDivide, NUMERIC),
        _unary(Fn.Negate, [int]),
        _unary(Fn.Absolute, [int]),
        _unary(Fn.CastToInt, [bool, int, float, str]),
        _unary(Fn.YearFromDate, [datetime.date]),
        _unary(Fn.MonthFromDate, [datetime.date]),
        _unary(Fn.DayFromDate, [datetime.date]),
        # No bare null here: a date difference needs two dates.
        _binary(Fn.DateDifferenceInYears, [datetime.date], null_rhs=False),
        _binary(Fn.DateDifferenceInMonths, [datetime.date], null_rhs=False),
        _binary(Fn.DateDifferenceInDays, [datetime.date], null_rhs=False),
        _aggregate(Agg.Sum),
        _aggregate(Agg.CountDistinct, SERIES_TYPES),
        _count,
        _count_episodes,
        *_ORDERED_BUILDERS,
        *_GENERAL_BUILDERS,
    ],
    float: [
        _binary(Fn.Add),
        _binary(Fn.Subtract),
        _binary(Fn.Multiply, leaf_rhs=True),
        _binary(Fn.TrueDivide, NUMERIC),
        _unary(Fn.Negate, [float]),
        _unary(Fn.Absolute, [float]),
        # Powers of a column or constant only, as for products (see Multiply).
        _binary(Fn.Power, NUMERIC, leaf_rhs=True),
        _unary(Fn.CastToFloat, [bool, int, float, str]),
        _aggregate(Agg.Sum),
        _aggregate(Agg.Mean, NUMERIC),
        *_ORDERED_BUILDERS,
        *_GENERAL_BUILDERS,
    ],
    str: [
        _unary(Fn.CastToStr, SERIES_TYPES),
        *_ORDERED_BUILDERS,
        *_GENERAL_BUILDERS,
    ],
    datetime.date: [
        _unary(Fn.ToFirstOfYear, [datetime.date]),
        _unary(Fn.ToFirstOfMonth, [datetime.date]),
        _date_add(Fn.DateAddYears),
        _date_add(Fn.DateAddMonths),
        _date_add(Fn.DateAddDays),
        *_ORDERED_BUILDERS,
        *_GENERAL_BUILDERS,
    ],
    CODE_TYPE: [*_ORDERED_BUILDERS, *_GENERAL_BUILDERS],
}


# ---------------------------------------------------------------------------
# Datasets
# ---------------------------------------------------------------------------


def patient_series(
    type_=None, depth: int = DEFAULT_DEPTH, shared: tuple = ()
) -> st.SearchStrategy[qm.Series]:
    """A patient-level series of `type_` (of a random type when None), which
    may start event frames from the `shared` ones."""
    types = st.just(type_) if type_ is not None else st.sampled_from(SERIES_TYPES)
    return types.flatmap(lambda t: series(t, Scope(None, depth, shared=shared)))


@st.composite
def populations(draw, depth: int = DEFAULT_DEPTH, shared: tuple = ()) -> qm.Series:
    """A valid population.

    Half the time, a random boolean series, narrowed to patients with a record
    in some table when on its own it could include patients with none.
    Otherwise the patients of one table, or of every table: a random condition
    is so often false for everyone that, alone, it would leave most examples
    with no rows to compare.
    """
    if draw(st.booleans()):
        return draw(_everyone_in_some_table())
    condition = draw(patient_series(bool, depth, shared))
    if isinstance(condition, qm.Value) and draw(st.integers(0, 3)) > 0:
        # A constant population is worth meeting now and then, not as often
        # as constants are drawn.
        return draw(_everyone_in_some_table())
    try:
        qm.validate_population(condition)
    except qm.PopulationValidationError:
        table = draw(st.sampled_from(ALL_TABLES))
        condition = Fn.And(Agg.Exists(table), condition)
    return condition


@st.composite
def _everyone_in_some_table(draw) -> qm.Series:
    exists = [Agg.Exists(table) for table in ALL_TABLES]
    if draw(st.booleans()):
        return draw(st.sampled_from(exists))
    return Fn.Or(Fn.Or(exists[0], exists[1]), exists[2])


@st.composite
def datasets(draw, depth: int = DEFAULT_DEPTH) -> qm.Dataset:
    """A dataset with a valid population and one to three patient-level variables.

    Up to two event frames are drawn first and shared by all its series.
    """
    shared = tuple(
        draw(st.lists(event_frames(Scope(None, depth - 1)), max_size=MAX_SHARED_FRAMES))
    )
    population = draw(populations(depth, shared))
    variables = draw(
        st.lists(
            patient_series(None, depth, shared), min_size=2, max_size=MAX_VARIABLES
        )
    )
    return qm.Dataset(
        population=population,
        variables=qm.FrozenDict({f"v{i}": v for i, v in enumerate(variables)}),
    )
