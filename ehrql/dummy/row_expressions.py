"""Evaluate a condition on a single generated row, before any engine sees it.

The generator has to decide, row by row, whether a candidate value or row is
acceptable: does this code fall in the codelist, is this date inside the
window, would this filler row sneak into a frame the population says must be
empty. It compiles each condition once into a plain Python function of
`(row, context)`, where `row` is the candidate row and `context` holds the
patient's rows of the tables generated before it (by table name: a row or
None for a patient table, a list of rows for an event table).

Scalar operations use `ehrql.query_model.semantics`, so the meaning matches
every engine. Anything that cannot be known from the row and the context
(parameters, inline tables, aggregations over the row's own table, tables
not generated yet) evaluates to UNKNOWN and the final check with the
in-memory engine decides.
"""

from __future__ import annotations

import dataclasses
import itertools
import operator
from collections.abc import Callable

from ehrql.dummy.caches import per_run
from ehrql.query_model import nodes as qm
from ehrql.query_model.semantics import (
    AGGREGATE_FUNCTIONS,
    EMPTY_AGGREGATE,
    FUNCTIONS,
    UNKNOWN,
    aggregate_function,
    function_arguments,
)

__all__ = [
    "CONTEXT_VERSION",
    "UNKNOWN",
    "RowExpression",
    "compile_row_expression",
    "drawn_so_far",
    "source_table",
]

Evaluator = Callable[[dict, dict], object]

#: Aggregates a row can stand for: a condition every row meets, they meet too
#: (the solver only lets a mean through in a plain comparison with a constant).
ROW_STANDS_FOR = (
    qm.AggregateByPatient.Min,
    qm.AggregateByPatient.Max,
    qm.AggregateByPatient.Mean,
)


@dataclasses.dataclass(frozen=True)
class RowExpression:
    """A compiled expression and what it reads.

    `columns` are the row's columns it reads; `context_tables` the other
    tables it reads (from the patient's rows of them); `opaque` whether some
    part can never be known from these (it may evaluate to UNKNOWN).
    """

    node: qm.Series
    evaluate: Evaluator
    columns: frozenset
    context_tables: tuple
    opaque: bool
    #: For `column op other` where `other` reads no column of the row:
    #: (column, op as a query model class, with the column on the left,
    #: evaluator of `other`). Lets a row be drawn inside bounds that depend on
    #: the patient's other rows.
    bound: tuple | None = None
    #: The other tables it reads other than through a first/last pick, and
    #: the picks it reads (their evaluators, functions of the context): a
    #: pick whose conditions read a chain of picks is brought up to date
    #: from these (`_compile_pick`).
    direct_tables: tuple = ()
    picks: tuple = ()

    @property
    def uses_context(self) -> bool:
        """Whether it reads tables other than the row's own."""
        return bool(self.context_tables)

    @property
    def single_column(self) -> str | None:
        """The one column this depends on, when it depends on nothing else."""
        if len(self.columns) == 1 and not self.uses_context and not self.opaque:
            return next(iter(self.columns))
        return None


def source_table(source: qm.Frame) -> qm.Frame:
    """The table whose rows a row source holds."""
    return qm.root_table(source)


@per_run
def compile_row_expression(
    series: qm.Series, source: qm.Frame, row_stands_for_aggregates: bool = False
) -> RowExpression:
    """Compile `series` to be evaluated on one row of `source`.

    `source` is a patient table, or an event row source (a table or a filter
    of one, without sorts). Columns of `source`, including those read through
    a first/last pick of it, come from the row.

    With `row_stands_for_aggregates`, a minimum, maximum or mean over
    `source` is read from the row too: the solver uses this for conditions
    it holds every row of the frame to, so whatever row an aggregate lands on
    (or averages over) meets them. Elsewhere an aggregate is unknown.

    Cached: the same conditions recur in every alternative and goal, and the
    compiled functions hold no state.
    """
    reads: set[str] = set()
    flags = _flags(row_stands_for_aggregates)
    memo: dict = {}
    evaluate = _compile(series, source, reads, flags, memo)
    context_tables = tuple(flags["context"])
    bound = (
        _bound(series, source, row_stands_for_aggregates) if context_tables else None
    )
    return RowExpression(
        series,
        evaluate,
        frozenset(reads),
        context_tables,
        flags["opaque"],
        bound,
        tuple(flags["direct"]),
        tuple(flags["picks"]),
    )


def _flags(aggregates: bool) -> dict:
    """What a compilation notes as it goes: the other tables read ("context",
    and of those "direct", read other than through a pick), the picks read,
    whether some part is unknowable ("opaque"), and whether an aggregate over
    the row's own frame is read from the row ("aggregates")."""
    return {
        "context": {},
        "direct": {},
        "picks": {},
        "opaque": False,
        "aggregates": aggregates,
    }


_MIRRORED = {
    qm.Function.LT: qm.Function.GT,
    qm.Function.LE: qm.Function.GE,
    qm.Function.GT: qm.Function.LT,
    qm.Function.GE: qm.Function.LE,
    qm.Function.EQ: qm.Function.EQ,
}


def _bound(series: qm.Series, source: qm.Frame, aggregates: bool) -> tuple | None:
    """(column, op, evaluator) when `series` compares a column of the row
    with something that reads no column of it; None otherwise."""
    if type(series) not in _MIRRORED:
        return None
    for column, other, op in (
        (series.lhs, series.rhs, type(series)),
        (series.rhs, series.lhs, _MIRRORED[type(series)]),
    ):
        if not isinstance(column, qm.SelectColumn) or not _reads_row(
            column.source, source
        ):
            continue
        reads: set = set()
        evaluate = _compile(other, source, reads, _flags(aggregates), {})
        if not reads:
            return column.name, op, evaluate
    return None


def _compile(node, source, reads, flags, memo) -> Evaluator:
    if node in memo:
        return memo[node]
    compiled = _compile_uncached(node, source, reads, flags, memo)
    memo[node] = compiled
    return compiled


def _reads_row(frame: qm.Frame, source: qm.Frame) -> bool:
    """Whether a column of `frame` is, on a row of `source`, that row's own column."""
    if isinstance(frame, qm.ManyRowsPerPatientFrame):
        return isinstance(source, qm.ManyRowsPerPatientFrame) and qm.root_table(
            frame
        ) == source_table(source)
    if isinstance(frame, qm.PickOneRowPerPatient):
        return qm.row_source(frame.source) == source
    return frame == source


def _compile_uncached(node, source, reads, flags, memo) -> Evaluator:
    if isinstance(node, qm.Value):
        value = node.value
        constant = lambda row, context: value  # noqa: E731
        constant.constant = (value,)
        return constant
    if isinstance(node, qm.SelectColumn):
        name = node.name
        if _reads_row(node.source, source):
            reads.add(name)
            column = lambda row, context: row[name]  # noqa: E731
            column.column = name
            return column
        if isinstance(node.source, qm.SelectPatientTable):
            _read_directly(flags, node.source)
            table = node.source.name
            return lambda row, context: _context_value(context, table, name)
        if isinstance(node.source, qm.InlinePatientTable):
            # The generator puts the candidate's row of each inline table in
            # the context, under the table node, once it knows the patient id.
            inline = node.source
            _read_directly(flags, inline)

            def inline_value(row, context):
                if inline not in context:
                    return UNKNOWN
                inline_row = context[inline]
                return None if inline_row is None else inline_row[name]

            return inline_value
    if (
        isinstance(node, ROW_STANDS_FOR)
        and flags["aggregates"]
        and node.source.domain.source == source
    ):
        return _compile(node.source, source, reads, flags, memo)
    if isinstance(node, qm.Case):
        return _compile_case(node, source, reads, flags, memo)
    if isinstance(node, qm.Function._Base):
        args = [
            _compile(a, source, reads, flags, memo) for a in function_arguments(node)
        ]
        return _compile_function(node, args)
    from_other_tables = _compile_from_other_tables(node, source, flags)
    if from_other_tables is not None:
        return from_other_tables
    # Parameters, inline tables, aggregations over the row's own table: not
    # knowable from one row.
    flags["opaque"] = True
    return lambda row, context: UNKNOWN


# ---------------------------------------------------------------------------
# Reading the patient's rows of tables generated earlier
# ---------------------------------------------------------------------------
#
# Tables are generated one after another, so by the time a row of one table is
# drawn the patient's rows of earlier tables are known (the context holds a
# row or None for a patient table, a list of rows for an event table). A
# condition such as "a prescription after the first diagnosis" can then be
# checked row by row. Where a table is not in the context yet, the answer is
# UNKNOWN.


def _read_directly(flags: dict, table: qm.Frame) -> None:
    """Note that the patient's rows of `table` are read other than through a pick."""
    flags["context"][table] = None
    flags["direct"][table] = None


def _compile_from_other_tables(node, source, flags) -> Evaluator | None:
    """A patient-level node evaluated from the context, or None if it is not
    one this can do."""
    if isinstance(node, qm.SelectColumn) and isinstance(
        node.source, qm.PickOneRowPerPatient
    ):
        pick = _compile_pick(node.source, source, flags)
        if pick is None:
            return None
        name = node.name

        def picked_value(row, context):
            picked = pick(context)
            if picked is UNKNOWN:
                return UNKNOWN
            return None if picked is None else picked[name]

        return picked_value
    if type(node) in AGGREGATE_FUNCTIONS or isinstance(
        node, qm.AggregateByPatient.CountEpisodes
    ):
        return _compile_aggregate(node, source, flags)
    if isinstance(node, (qm.AggregateByPatient.Exists, qm.AggregateByPatient.Count)):
        frame = node.source
        if isinstance(frame, qm.PickOneRowPerPatient):
            frame = frame.source
        if isinstance(frame, qm.SelectPatientTable):
            _read_directly(flags, frame)
            table = frame.name
            return lambda row, context: (
                UNKNOWN if table not in context else context[table] is not None
            )
        rows_of = _compile_rows(frame, source, flags)
        if rows_of is None:
            return None
        counting = isinstance(node, qm.AggregateByPatient.Count)

        def count_or_exists(row, context):
            rows = rows_of(context)
            if rows is UNKNOWN:
                return UNKNOWN
            return len(rows) if counting else bool(rows)

        return count_or_exists
    return None


#: The key of a dict a context may hold, of a version for each of its other
#: keys, which its owner changes whenever it sets that key or adds to the
#: list of rows there. Picks read the patient's rows once per version of the
#: tables they read rather than once per condition checked (a context
#: without it is read from its entries each time).
CONTEXT_VERSION = ("context version",)


def drawn_so_far(table_name: str) -> tuple:
    """The context key of the patient's rows of a table drawn so far, while
    that table's rows are being drawn."""
    return ("drawn so far", table_name)


def _reads_drawn_so_far(frame: qm.Frame, source) -> bool:
    """Whether `_compile_rows` reads `frame`'s rows from those of the row's
    own table drawn so far, rather than from the table's finished rows."""
    table = qm.root_table(qm.row_source(frame))
    return isinstance(source, qm.ManyRowsPerPatientFrame) and table == source_table(
        source
    )


def _compile_rows(frame: qm.Frame, source, flags):
    """A function of the context giving the patient's rows of an event frame
    of an earlier table — or of another frame of the row's own table, from
    the rows drawn before this one; None when `frame` is neither."""
    reader = _rows_reader(frame, source, flags)
    if reader is None:
        return None
    key, filters = reader
    flags["direct"][qm.root_table(qm.row_source(frame))] = None

    def rows_of(context):
        rows = context.get(key, UNKNOWN)
        if rows is UNKNOWN:
            return UNKNOWN
        kept = []
        for row in rows:
            for condition in filters:
                outcome = condition(row, context)
                if outcome is UNKNOWN:
                    return UNKNOWN
                if outcome is not True:
                    break
            else:
                kept.append(row)
        return kept

    return rows_of


def _rows_reader(frame: qm.Frame, source, flags) -> tuple | None:
    """(the context key of the rows an event frame is drawn from, the
    evaluators of its filters), as `_compile_rows` reads them; None when it
    cannot. What the filters read is noted in `flags`, and the table in
    `flags["context"]`, but not as read directly: that is for the caller."""
    frame = qm.row_source(frame)
    table = qm.root_table(frame)
    if not isinstance(table, qm.SelectTable):
        return None
    key = table.name
    if isinstance(source, qm.ManyRowsPerPatientFrame) and table == source_table(source):
        # An aggregate over the row's own frame cannot be known from one row.
        if frame == qm.row_source(source):
            return None
        key = drawn_so_far(table.name)
    flags["context"][table] = None
    filters = []
    current = frame
    while isinstance(current, qm.Filter):
        parent = qm.row_source(current.source)
        filters.append(
            _nested(compile_row_expression(current.condition, parent), flags)
        )
        current = parent
    return key, tuple(filters)


def _nested(expression: RowExpression, flags) -> Evaluator:
    """The evaluator of an expression compiled for another table's rows,
    noting what it reads from the context."""
    flags["context"].update(dict.fromkeys(expression.context_tables))
    flags["direct"].update(dict.fromkeys(expression.direct_tables))
    flags["picks"].update(dict.fromkeys(expression.picks))
    flags["opaque"] = flags["opaque"] or expression.opaque
    return expression.evaluate


def _sort_value(value):
    # Nulls sort before every value, as in every engine.
    return (0, None) if value is None else (1, value)


class PickAnswers:
    """Where the picks evaluated on one context keep their answers, shared
    by every expression that reads the same pick: a patient's rows are
    checked against many conditions (every recipe's, every bound's), and a
    chain of picks ("the first dose after the one before") read afresh by
    each of them costs time in the square of its length and more.

    Put in a context under `PICK_ANSWERS` by its owner, beside the versions
    (`CONTEXT_VERSION`) that tell whether an answer still holds; the owner
    sets `epoch` to the version it gives with each change, so that a pick
    asked again before anything changed answers at once. Neither a dict nor
    a list, so that it is never taken for a table's rows.
    """

    __slots__ = ("by_pick", "epoch")

    def __init__(self):
        self.by_pick: dict = {}
        self.epoch = 0


#: The context key of its `PickAnswers`.
PICK_ANSWERS = ("pick answers",)

_pick_tokens = itertools.count()


@per_run
def _pick_token(pick: qm.PickOneRowPerPatient, drawn_so_far: bool) -> int:
    """A number standing for a pick read from one kind of rows: cheaper to
    look up than the pick itself, whose hash is computed in Python. (Outside
    a run, each call gives a new number: the pick is then not shared.)"""
    return next(_pick_tokens)


class _PickState:
    """A pick's answer on one context, and what it was worked out from: the
    `epoch` of the context then (`PickAnswers.epoch`), the versions of the
    context entries the pick reads (`signature`), the rows looked at (the
    list and how many of it), the versions of the entries its conditions
    read other than through picks (`direct`), the answers of the picks they
    read (`deps`), and the sort order of the answer."""

    __slots__ = (
        "epoch",
        "signature",
        "answer",
        "rows",
        "count",
        "direct",
        "deps",
        "order",
    )


def _compile_pick(pick: qm.PickOneRowPerPatient, source, flags):
    # What this pick reads, apart from the rest of the expression: its
    # answer depends on those entries of the context only.
    own = _flags(flags["aggregates"])
    reader = _rows_reader(pick.source, source, own)
    if reader is None:
        return None
    rows_key, filters = reader
    row_source = qm.row_source(pick.source)
    keys = tuple(
        _nested(compile_row_expression(k, row_source), own)
        for k in qm.sort_keys(pick.source)
    )
    flags["context"].update(own["context"])
    flags["opaque"] = flags["opaque"] or own["opaque"]
    # The same pick read from the same rows (those of its table, or those
    # drawn so far of the row's own table) gives the same answer.
    shared_as = _pick_token(pick, _reads_drawn_so_far(pick.source, source))
    tie_breakers = pick.schema.column_names
    first = pick.position is qm.Position.FIRST

    # The last answer, with the context it was for and the state then of the
    # context entries the pick can read: a chain of picks ("the first dose
    # after the one before") reads its predecessor once per row, which
    # without this memo costs exponential time in the length of the chain.
    last: list = [None, None, None]
    read_keys = _context_keys(own["context"])
    # What the conditions on the rows read, apart from the rows themselves.
    direct_keys = _context_keys(own["direct"])
    deps_of = _answers_of(tuple(own["picks"]))

    def picked(context):
        shared = context.get(PICK_ANSWERS)
        if shared is not None:
            state = shared.by_pick.get(shared_as)
            if state is not None and state.epoch == shared.epoch:
                return state.answer
            return shared_answer(context, shared, state)
        versions = context.get(CONTEXT_VERSION)
        if versions is None:
            signature = _context_state(context, read_keys)
        else:
            signature = tuple(map(versions.get, read_keys))
        if last[0] is context and last[1] == signature:
            return last[2]
        answer = scan(context, context.get(rows_key, UNKNOWN), 0, None, None)[1]
        last[:] = [context, signature, answer]
        return answer

    def shared_answer(context, shared, state):
        versions = context[CONTEXT_VERSION]
        signature = tuple(map(versions.get, read_keys))
        fresh = state is None
        if fresh:
            state = shared.by_pick[shared_as] = _PickState()
        elif state.signature == signature:
            state.epoch = shared.epoch
            return state.answer
        rows = context.get(rows_key, UNKNOWN)
        direct = tuple(map(versions.get, direct_keys))
        deps = deps_of(context)
        if (
            not fresh
            and state.answer is not UNKNOWN
            and rows is state.rows
            and len(rows) >= state.count
            and direct == state.direct
            and deps == state.deps
        ):
            # Only rows were added since (the generator appends the rows it
            # draws), and what the conditions read is as it was: the rows
            # looked at keep their verdicts, so only the new ones are.
            order, answer = scan(context, rows, state.count, state.order, state.answer)
        else:
            order, answer = scan(context, rows, 0, None, None)
        state.epoch = shared.epoch
        state.signature = signature
        state.answer = answer
        state.rows = rows
        state.count = len(rows) if type(rows) is list else 0
        state.direct = direct
        state.deps = deps
        state.order = order
        return answer

    # Whether a row sorted at one order is picked over one at another.
    before = operator.lt if first else operator.gt
    sort_order = _sort_order(keys)

    def scan(context, rows, start, best_order, best):
        """(sort order, row) of the pick over `best` (None: no row yet) and
        `rows` from `start` on; (None, UNKNOWN) when some condition is unknown."""
        if rows is UNKNOWN:
            return None, UNKNOWN
        for index in range(start, len(rows)):
            row = rows[index]
            for condition in filters:
                outcome = condition(row, context)
                if outcome is UNKNOWN:
                    return None, UNKNOWN
                if outcome is not True:
                    break
            else:
                order = sort_order(row, context)
                if order is UNKNOWN:
                    return None, UNKNOWN
                if best is None or before(order, best_order):
                    best_order, best = order, row
                elif order == best_order and before(
                    _tie_order(row, tie_breakers), _tie_order(best, tie_breakers)
                ):
                    # Ties after the sort keys are broken by every column,
                    # in order (only looked at for tied rows: most picks
                    # have none); the earliest row wins a full tie.
                    best = row
        return best_order, best

    flags["picks"][picked] = None
    return picked


def _answers_of(picks: tuple) -> Callable[[dict], tuple]:
    """A function of the context giving the answers of `picks`. Compared as
    tuples: rows equal in every value give a condition the same verdicts,
    and the rows themselves are compared by identity first."""
    if not picks:
        return lambda context: ()
    if len(picks) == 1:
        (only,) = picks
        return lambda context: (only(context),)
    return lambda context: tuple(p(context) for p in picks)


def _sort_order(keys: tuple) -> Evaluator:
    """A function of (row, context) giving where a row sorts by `keys`
    (UNKNOWN when some key is): most picks sort by one key."""
    if len(keys) == 1:
        (only,) = keys

        def by_one(row, context):
            value = only(row, context)
            if value is UNKNOWN:
                return UNKNOWN
            return ((0, None),) if value is None else ((1, value),)

        return by_one

    def by_all(row, context):
        values = [key(row, context) for key in keys]
        if any(v is UNKNOWN for v in values):
            return UNKNOWN
        return tuple(map(_sort_value, values))

    return by_all


def _tie_order(row: dict, columns) -> tuple:
    return tuple(_sort_value(row[c]) for c in columns)


_ABSENT = object()


def _context_keys(tables) -> tuple:
    """The context keys under which the patient's rows of `tables` may be found."""
    keys = []
    for table in tables:
        if isinstance(table, qm.InlinePatientTable):
            keys.append(table)
        else:
            keys.append(table.name)
            if isinstance(table, qm.SelectTable):
                keys.append(drawn_so_far(table.name))
    return tuple(keys)


def _context_state(context: dict, keys: tuple) -> tuple:
    """What identifies the entries of `keys` in the context: the rows of a
    table are only ever appended to while a patient is drawn, so a list is
    known by its identity and length, anything else by its identity."""
    return tuple(
        (id(v), len(v)) if type(v) is list else id(v)
        for v in (context.get(k, _ABSENT) for k in keys)
    )


def _compile_aggregate(node, source, flags):
    inner_source = node.source.domain.source
    rows_of = _compile_rows(inner_source, source, flags)
    if rows_of is None:
        return None
    value = _nested(compile_row_expression(node.source, inner_source), flags)
    combine = aggregate_function(node)
    empty = EMPTY_AGGREGATE[type(node)]

    def aggregate(row, context):
        rows = rows_of(context)
        if rows is UNKNOWN:
            return UNKNOWN
        values = [value(r, context) for r in rows]
        if any(v is UNKNOWN for v in values):
            return UNKNOWN
        present = [v for v in values if v is not None]
        return combine(present) if present else empty

    return aggregate


def _context_value(context, table, name):
    if table not in context:
        return UNKNOWN
    patient_row = context[table]
    return None if patient_row is None else patient_row[name]


def _compile_case(node: qm.Case, source, reads, flags, memo) -> Evaluator:
    branches = [
        (
            _compile(condition, source, reads, flags, memo),
            None if value is None else _compile(value, source, reads, flags, memo),
        )
        for condition, value in node.cases.items()
    ]
    default = (
        None
        if node.default is None
        else _compile(node.default, source, reads, flags, memo)
    )

    def evaluate(row, context):
        for condition, value in branches:
            outcome = condition(row, context)
            if outcome is UNKNOWN:
                return UNKNOWN
            if outcome is True:
                return None if value is None else value(row, context)
        return None if default is None else default(row, context)

    return evaluate


def _compile_function(node, args) -> Evaluator:
    # Looked up once here rather than on every call: these run per candidate value.
    function = FUNCTIONS[type(node)]
    if isinstance(node, qm.Function.And):
        lhs, rhs = args
        return lambda row, context: _and(lhs(row, context), rhs(row, context))
    if isinstance(node, qm.Function.Or):
        lhs, rhs = args
        return lambda row, context: _or(lhs(row, context), rhs(row, context))
    # The commonest operands, a column of the row (never unknown) and a
    # constant, are read in place rather than through their evaluators:
    # these run for every row looked at.
    if len(args) == 1:
        (only,) = args
        column = getattr(only, "column", None)
        if column is not None:
            return lambda row, context: function(row[column])

        def evaluate_one(row, context):
            value = only(row, context)
            return UNKNOWN if value is UNKNOWN else function(value)

        return evaluate_one
    if len(args) == 2:
        first, second = args
        column = getattr(first, "column", None)
        if column is not None:
            constant = getattr(second, "constant", None)
            if constant is not None:
                (value,) = constant
                return lambda row, context: function(row[column], value)

            def column_and_other(row, context):
                b = second(row, context)
                return UNKNOWN if b is UNKNOWN else function(row[column], b)

            return column_and_other

        def evaluate_two(row, context):
            a = first(row, context)
            b = second(row, context)
            if a is UNKNOWN or b is UNKNOWN:
                return UNKNOWN
            return function(a, b)

        return evaluate_two

    def evaluate_many(row, context):
        values = [a(row, context) for a in args]
        if any(v is UNKNOWN for v in values):
            return UNKNOWN
        return function(*values)

    return evaluate_many


def _and(lhs, rhs):
    # False wins even against the unknown, as in three-valued logic.
    if lhs is False or rhs is False:
        return False
    if lhs is UNKNOWN or rhs is UNKNOWN:
        return UNKNOWN
    return None if lhs is None or rhs is None else True


def _or(lhs, rhs):
    if lhs is True or rhs is True:
        return True
    if lhs is UNKNOWN or rhs is UNKNOWN:
        return UNKNOWN
    return None if lhs is None or rhs is None else False
