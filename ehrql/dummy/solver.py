"""Turn a population condition into what each patient's rows must look like.

The population is a boolean tree of And, Or and Not over patient-level
"literals". We rewrite it as a list of alternatives (a disjunction of
conjunctions, pushing Not down to the literals) and turn each literal into
requirements on rows:

* `frame.exists_for_patient()` — some row of the table passes the frame's
  filters (`RowRequirement`); negated, no row may (`RowBan`).
* `frame.count_for_patient() > n` and friends — that many rows, and, when the
  count is bounded above, no further matching rows.
* a comparison of values read from a source — a patient table, or a
  first/last pick, minimum, maximum (or mean, against a bound) over an event
  frame — e.g. `(index_date - patients.date_of_birth).years >= 18` or
  `events.where(...).sort_by(date).first_for_patient().date > D`. The
  condition is asked of a row of that source, and every other row of the
  frame must obey it too (a `RowBan` on the rest), so whichever row the pick
  or aggregate lands on, the condition holds. It may also read sources of
  tables generated earlier (`generation_order`): those are known by the time
  the row is drawn, and are read from the patient's rows.

What fits none of these (sums, distinct counts, comparisons between two
frames of one table, parameters) is kept as `unsolved`: the generator leaves
it to chance and the final check with the in-memory engine rejects patients
who miss it.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Iterable

from ehrql.dummy.caches import per_run
from ehrql.dummy.describe import describe, describe_in_full
from ehrql.dummy.row_expressions import RowExpression, compile_row_expression
from ehrql.query_model import nodes as qm
from ehrql.query_model.semantics import apply_function

#: At most this many alternatives are kept from a large disjunction.
MAX_ALTERNATIVES = 32
#: Counts are searched up to this many rows.
_MAX_COUNT = 50

# EQ, NE, LT, LE, GT and GE: the model's comparison nodes share this base.
_COMPARISONS = qm.Function._Comparison


@dataclasses.dataclass(frozen=True)
class RowRequirement:
    """At least `count` rows of `table` must make every condition true.

    With `distinct` (an expression on the row), the rows must also give
    `count` different values of it: a distinct count asks for that.
    """

    table: qm.Frame
    conditions: tuple
    count: int
    distinct: RowExpression | None = None


@dataclasses.dataclass(frozen=True)
class RowBan:
    """No row of `table` may make all of `when` true without making all of `unless` true.

    A ban that only caps a count (`count_for_patient() <= 3`) does not apply
    to required rows (`applies_to_required` False): those rows are what the
    cap allows.
    """

    table: qm.Frame
    when: tuple
    unless: tuple
    applies_to_required: bool = True

    def forbids(self, row: dict, context: dict) -> bool:
        """True when this row is ruled out (unknown parts never rule a row out)."""
        for expression in self.when:
            if expression.evaluate(row, context) is not True:
                return False
        for expression in self.unless:
            if expression.evaluate(row, context) is not True:
                return True
        # Excused by every `unless`; with none to excuse it, a row matching
        # `when` is always ruled out.
        return not self.unless


@dataclasses.dataclass(frozen=True)
class Plan:
    """One way of satisfying the population: requirements, bans and leftovers."""

    requirements: tuple
    bans: tuple
    unsolved: tuple

    @property
    def solved_fully(self) -> bool:
        """True when nothing is left to rejection sampling."""
        return not self.unsolved


def plan_population(population: qm.Series) -> tuple[Plan, ...]:
    """The alternative plans under which `population` is true, dropping those
    that contradict themselves."""
    return plan_population_with_reasons(population)[0]


def plan_population_with_reasons(
    population: qm.Series,
    order: tuple = (),
    feasible: Callable[[Plan], bool] | None = None,
    cache: dict | None = None,
    limit: int | None = None,
) -> tuple[tuple[Plan, ...], tuple[str, ...]]:
    """(the plans of `plan_population`, why each dropped alternative can never hold).

    `cache`, when given, keeps the alternatives of every part solved, and
    which pairings may hold, for later calls given the same `cache`, `order`
    and `feasible`: many conditions sharing large parts (a measure's
    numerator in one interval, for each group) are then solved at the cost
    of what they do not share; `cache["most"]`, when set, is how many
    alternatives of each part are kept (`MAX_ALTERNATIVES` by default). With
    `limit`, the first `limit` plans do.

    `order` is the order tables are generated in (`generation_order`); a
    condition comparing two tables is solved on the rows of the later one.
    Without it, tables come in `generation_key` order.

    Where the alternatives of an `and` are too many to keep them all, those
    kept are ones whose plan does not contradict itself and, when given,
    passes `feasible` (the generator checks that every required row can be
    drawn): a long list of alternatives whose first few are impossible (an
    empty codelist) otherwise crowds out every possible one.
    """
    cache = {} if cache is None else cache
    memo: dict = cache.setdefault("keep", {})

    def keep(literals: tuple) -> bool:
        key = frozenset(literals)
        if key not in memo:
            plan = _plan_for(literals, order)
            memo[key] = isinstance(plan, Plan) and (feasible is None or feasible(plan))
        return memo[key]

    keep.alternatives = cache.setdefault("alternatives", {})
    keep.most = cache.get("most", MAX_ALTERNATIVES)

    plans = []
    reasons = []
    for literals in _alternatives(population, True, keep):
        plan = _plan_for(literals, order)
        if isinstance(plan, Plan):
            plans.append(plan)
            if len(plans) == limit:
                break
        else:
            reasons.append(plan)
    return tuple(plans), tuple(dict.fromkeys(reasons))


# ---------------------------------------------------------------------------
# Boolean structure
# ---------------------------------------------------------------------------


#: Where an `and` has too many pairings of alternatives, at most this many are
#: checked (`plan_population_with_reasons`) to find `MAX_ALTERNATIVES` that can hold.
MAX_CHECKED_PAIRS = 2 * MAX_ALTERNATIVES

Keep = Callable[[tuple], bool]


def _alternatives(node: qm.Series, positive: bool, keep: Keep) -> list[tuple]:
    """Alternatives (each a tuple of (literal, positive) pairs) making `node`
    true when `positive`, false otherwise; `keep` says whether an alternative
    may hold, for choosing among too many (and, as its `alternatives`
    attribute, may carry those found before, by node)."""
    known = getattr(keep, "alternatives", None)
    if known is None:
        return _alternatives_uncached(node, positive, keep)
    key = (node, positive)
    if key not in known:
        found = _alternatives_uncached(node, positive, keep)
        if len(found) > 1 and not isinstance(node, (qm.Function.And, qm.Function.Or)):
            # A part kept for reuse (a `case` compared with one of its values,
            # whose earlier branches must not hold) loses its impossible
            # alternatives once, rather than in every pairing it is in.
            found = [a for a in found if keep(a)] or found
        known[key] = found
    return known[key]


def _alternatives_uncached(node: qm.Series, positive: bool, keep: Keep) -> list[tuple]:
    if isinstance(node, qm.Function.Not):
        return _alternatives(node.source, not positive, keep)
    truth = _truth_compared(node)
    if truth is not None:
        series, wanted = truth
        return _alternatives(series, positive == wanted, keep)
    if isinstance(node, qm.Case) and node.type is bool:
        return _case_alternatives(node, positive, keep)
    compared = _case_compared(node)
    if compared is not None:
        return _case_alternatives(compared, positive, keep)
    is_and = isinstance(node, qm.Function.And)
    is_or = isinstance(node, qm.Function.Or)
    if (is_and and positive) or (is_or and not positive):
        # Both sides must hold: pairings of their alternatives.
        return _both(
            _alternatives(node.lhs, positive, keep),
            _alternatives(node.rhs, positive, keep),
            keep,
        )
    if is_and or is_or:
        return _either(
            [
                _alternatives(node.lhs, positive, keep),
                _alternatives(node.rhs, positive, keep),
            ]
        )
    return [((node, positive),)]


def _both(left: list, right: list, keep: Keep) -> list[tuple]:
    """Alternatives each joining one of `left` with one of `right`.

    When either side has one alternative, all pairings (up to
    `MAX_ALTERNATIVES`); otherwise pairings in order of the sum of their
    positions (every alternative of either side gets paired early, not only
    the first of `left`), keeping the first `MAX_ALTERNATIVES` that may hold
    among `MAX_CHECKED_PAIRS` checked: an impossible pairing dropped here
    leaves its place to a possible one. The first pairings, unchecked, when
    none of those may hold.
    """
    # A caller wanting a few ways only may say how many (`keep.most`).
    most = getattr(keep, "most", MAX_ALTERNATIVES)
    if len(left) == 1 or len(right) == 1:
        # Nothing to choose between (the usual `a & b` of single literals):
        # what cannot hold is dropped further up, or when planned.
        if len(left) * len(right) <= most:
            return [a + b for a in left for b in right]
    pairs = sorted(
        itertools.product(range(len(left)), range(len(right))),
        key=lambda ij: (ij[0] + ij[1], ij[0]),
    )
    kept = []
    for i, j in pairs[: 2 * most]:
        if keep(left[i] + right[j]):
            kept.append(left[i] + right[j])
            if len(kept) == most:
                break
    return kept or [left[i] + right[j] for i, j in pairs[:most]]


def _either(sides: list) -> list[tuple]:
    """The alternatives of each side taken in turn (so a long first side does
    not crowd out the others), up to `MAX_ALTERNATIVES`."""
    merged = [
        alternative
        for round_ in itertools.zip_longest(*sides)
        for alternative in round_
        if alternative is not None
    ]
    return merged[:MAX_ALTERNATIVES]


def _truth_compared(node: qm.Series) -> tuple | None:
    """`x == False` (or `!=`, either side) as (x, False): the truth `x` must
    have for the comparison to be true; None for other nodes.

    Exact in three-valued logic too: `x == False` is null where `x` is, as
    `~x` is, so it is solved as `~x` (a ban where `x` is an `exists`), not
    left to chance as a comparison of two values."""
    if not isinstance(node, (qm.Function.EQ, qm.Function.NE)):
        return None
    for series, constant in ((node.lhs, node.rhs), (node.rhs, node.lhs)):
        if (
            isinstance(constant, qm.Value)
            and isinstance(constant.value, bool)
            and not isinstance(series, qm.Value)
        ):
            return series, constant.value == isinstance(node, qm.Function.EQ)
    return None


def _case_compared(node: qm.Series) -> qm.Case | None:
    """`case(...) == "N"` (or another comparison of a case with a constant,
    or `is_in`) as a boolean case over the same conditions; None for other nodes."""
    if not isinstance(node, (_COMPARISONS, qm.Function.In)):
        return None
    if isinstance(node.lhs, qm.Case) and isinstance(node.rhs, qm.Value):
        case, constant, flipped = node.lhs, node.rhs, False
    elif (
        isinstance(node.rhs, qm.Case)
        and isinstance(node.lhs, qm.Value)
        and not isinstance(node, qm.Function.In)
    ):
        case, constant, flipped = node.rhs, node.lhs, True
    else:
        return None

    def compare(value):
        if value is None:
            return None
        pair = (constant, value) if flipped else (value, constant)
        if isinstance(value, qm.Value):
            result = apply_function(node, *(p.value for p in pair))
            return None if result is None else qm.Value(result)
        return type(node)(*pair)

    try:
        return qm.Case(
            qm.FrozenDict(
                {condition: compare(value) for condition, value in case.cases.items()}
            ),
            compare(case.default),
        )
    except qm.ValidationError:  # no branch can give a value
        return None


def _case_alternatives(node: qm.Case, positive: bool, keep: Keep) -> list[tuple]:
    """Alternatives making a boolean case true (or false when not `positive`).

    A branch gives the case's value when its condition is true and every
    earlier condition is false (asking for false, not merely not true, is
    stricter than needed, so each alternative is still enough); the default
    when every condition is false. A branch whose value is a constant of the
    other truth, or null, can never give the wanted value.
    """
    branches: list = []
    earlier: list = []
    for condition, value in [*node.cases.items(), (None, node.default)]:
        if value is not None and not (
            isinstance(value, qm.Value) and value.value is not positive
        ):
            parts = [_alternatives(c, False, keep) for c in earlier]
            # `when(x.is_not_null()).then(x)` (`when_null_then`): x true (or
            # false) is not null already, and asking for both separately
            # would leave `x.is_not_null()` to chance when x is compound.
            if condition is not None and not _is_not_null_test(condition, value):
                parts.append(_alternatives(condition, True, keep))
            if not isinstance(value, qm.Value):
                parts.append(_alternatives(value, positive, keep))
            combined: list = [()]
            for part in parts:
                combined = _both(combined, part, keep)
            branches.append(combined)
        if condition is not None:
            earlier.append(condition)
    return _either(branches)


def _is_not_null_test(condition: qm.Series, value: qm.Series) -> bool:
    """Whether `condition` is `value.is_not_null()`: compared by its parts,
    as building the node to compare with would validate it each time."""
    return (
        isinstance(condition, qm.Function.Not)
        and isinstance(condition.source, qm.Function.IsNull)
        and condition.source.source == value
    )


# ---------------------------------------------------------------------------
# Literals
# ---------------------------------------------------------------------------

_ANY_COUNT = frozenset(range(_MAX_COUNT + 1))


def _plan_for(literals: tuple, order: tuple = ()) -> Plan | str:
    """The plan for one alternative, or why it can never hold."""
    counts: dict = {}  # frame -> the row counts every literal on it allows
    counted_by: dict = {}  # frame -> the literals limiting its count
    unsolved: list = []
    value_conditions: dict = {}
    aggregated_requirements: list = []
    aggregated_bans: list = []
    distinct_counts: dict = {}  # aggregate -> (allowed, conditions)
    count_pairs: list = []  # (frame a, frame b, (a, b) -> bool, condition)
    readers: set = set()  # frames compared with rows of other frames of their table
    argument_bounds: dict = {}  # frame -> what every row of it must meet (`_split_extreme`)
    for literal, positive in literals:
        paired = _two_counts(literal, positive)
        if paired is not None:
            count_pairs.append(paired)
            continue
        aggregated = _aggregate_comparison(literal, positive)
        if isinstance(aggregated, _DistinctCount):
            allowed, conditions = distinct_counts.get(
                aggregated.aggregate, (_ANY_COUNT, [])
            )
            distinct_counts[aggregated.aggregate] = (
                allowed & aggregated.allowed,
                conditions + [aggregated.condition],
            )
            continue
        if aggregated is not None:
            aggregated_requirements.extend(aggregated[0])
            aggregated_bans.extend(aggregated[1])
            continue
        counted = _counted_frame(literal, positive)
        if counted is not None:
            frame, allowed = counted
            counts[frame] = counts.get(frame, _ANY_COUNT) & allowed
            counted_by.setdefault(frame, []).append(
                literal if positive else qm.Function.Not(literal)
            )
            continue
        condition = literal if positive else qm.Function.Not(literal)
        sources = _value_sources(literal)
        if sources == set():
            constant = compile_row_expression(condition, _NO_SOURCE).evaluate({}, {})
            if constant is not True:
                return f"{describe(condition)} is never true"
            continue
        target = None if sources is None else _target_source(sources, order)
        if target is not None:
            # Frames of the target's own table that it is compared with must
            # have rows, drawn before the target's, or the comparison is null.
            # Not so where the condition turns a null into an answer
            # (`a > maximum_of(b, c)` needs a row of a, and of b or c).
            others = [
                o for o in sources if o != target and _same_event_table(o, target)
            ]
            needed = set(_frames_needed_by(literal))
            for frame in _extreme_argument_rows(literal, target, order):
                needed.add(frame)
                if frame not in others:
                    counts[frame] = counts.get(frame, _ANY_COUNT) & (_ANY_COUNT - {0})
                    counted_by.setdefault(frame, []).append(condition)
            if others:
                readers.add(target)
                for frame in others + [target]:
                    if frame in needed:
                        counts[frame] = counts.get(frame, _ANY_COUNT) & (
                            _ANY_COUNT - {0}
                        )
                        counted_by.setdefault(frame, []).append(condition)
        if target is None:
            unsolved.append(condition)
            # Still, a comparison with an empty frame's value is null, never
            # true: the frames it reads must have rows.
            for frame in _frames_needed_by(literal):
                counts[frame] = counts.get(frame, _ANY_COUNT) & (_ANY_COUNT - {0})
                counted_by.setdefault(frame, []).append(condition)
            continue
        split = _split_extreme(literal, positive, target)
        if split is not None:
            condition, bounds = split
            for source, bound in bounds:
                argument_bounds.setdefault(source, []).append(bound)
        value_conditions.setdefault(target, []).append(condition)
    for aggregate, (allowed, conditions) in distinct_counts.items():
        outcome = _distinct_requirements(aggregate, allowed, conditions)
        if isinstance(outcome, str):
            return outcome
        aggregated_requirements.extend(outcome[0])
        aggregated_bans.extend(outcome[1])
    if count_pairs:
        chosen = _choose_pair_counts(count_pairs, counts)
        if isinstance(chosen, str):
            return chosen
        counts.update(chosen)
    requirements: list[RowRequirement] = list(aggregated_requirements)
    bans: list[RowBan] = list(aggregated_bans)
    # Rows of frames that read other frames of their table come after those.
    for frame, allowed in sorted(counts.items(), key=lambda item: item[0] in readers):
        if not allowed:
            together = " and ".join(describe(c) for c in counted_by[frame])
            return f"no number of rows makes {together} true together"
        new_requirements, new_bans = _count_requirements(frame, allowed)
        requirements.extend(new_requirements)
        bans.extend(new_bans)
    for source, conditions in value_conditions.items():
        new_requirements, new_bans = _value_requirements(source, conditions)
        # A reader's rows are already asked for by its count, and the ban
        # holds every one of them to the conditions.
        if source not in readers:
            requirements.extend(new_requirements)
        bans.extend(new_bans)
    for source, bounds in argument_bounds.items():
        bans.extend(_value_requirements(source, bounds)[1])
    return Plan(
        tuple(_merge_patient_requirements(_with_rows_read(requirements))),
        tuple(bans),
        tuple(unsolved),
    )


_EXTREMES = (qm.Function.MinimumOf, qm.Function.MaximumOf)


def _extreme_argument_rows(literal, target: qm.Frame, order: tuple) -> list:
    """For a comparison with a minimum or maximum of several frames' values
    (`a > maximum_of(b, c)`), one argument's frame to give a row: the
    extreme is null, and the comparison never true, when they are all empty.
    The first argument's frame that is drawn no later than the target's, so
    that its value is known when the target's row is drawn; none when the
    target is itself an argument, as its row gives the extreme a value."""
    if not isinstance(literal, _COMPARISONS):
        return []
    chosen = []
    for side in (literal.lhs, literal.rhs):
        if not isinstance(side, _EXTREMES):
            continue
        frames = []
        for argument in side.sources:
            empty_makes_null = _null_when_empty(argument)
            if len(empty_makes_null) == 1:
                frames.extend(empty_makes_null)
        if len(frames) != len(side.sources) or target in frames:
            continue
        position = _position(qm.root_table(target), order)
        for frame in frames:
            if isinstance(frame, qm.ManyRowsPerPatientFrame) and isinstance(
                qm.root_table(frame), qm.SelectTable
            ):
                if _position(qm.root_table(frame), order) <= position:
                    chosen.append(frame)
                    break
    return chosen


def _split_extreme(literal, positive: bool, target: qm.Frame):
    """(the condition to ask of the target's row, [(event frame, condition)
    every row of that frame must meet]) for a minimum or maximum compared
    with a constant; None for other literals.

    `minimum_of(a, b) >= D` is solved on a row of one argument's frame (the
    target, say b's): asking that row for `b >= D` narrows its date to the
    window at once, where the minimum, read partly from the patient's other
    rows, could only be checked. A value of `a` below D, drawn freely, would
    still pull the minimum under D, so every row of `a`'s frame is held to
    `a >= D` (or a null `a`). `minimum_of(a, b) <= D` needs only `b <= D`.
    Likewise for a maximum, the other way round.
    """
    kind = type(literal)
    if kind not in _NEGATED:
        return None
    op = kind if positive else _NEGATED[kind]
    extreme, bound = literal.lhs, literal.rhs
    if not isinstance(extreme, _EXTREMES):
        extreme, bound, op = bound, extreme, _MIRRORED[op]
    if not isinstance(extreme, _EXTREMES) or _value_sources(bound) != set():
        return None
    if op is qm.Function.NE:
        return None
    arguments = [(a, _value_sources(a)) for a in extreme.sources]
    own = [a for a, sources in arguments if sources == {target}]
    if not own:
        return None
    lower = isinstance(extreme, qm.Function.MinimumOf)
    # Which comparisons every argument must meet, not just the target's.
    every = {qm.Function.EQ: qm.Function.GE if lower else qm.Function.LE}
    for each in (
        (qm.Function.GE, qm.Function.GT) if lower else (qm.Function.LE, qm.Function.LT)
    ):
        every[each] = each
    bounds = []
    if op in every:
        for argument, sources in arguments:
            if argument is own[0] or sources == set():
                continue
            if sources is None or len(sources) != 1:
                return None
            (source,) = sources
            if not isinstance(source, qm.ManyRowsPerPatientFrame):
                return None
            bounds.append((source, every[op](argument, bound)))
    return op(own[0], bound), bounds


_NEGATED = {
    qm.Function.EQ: qm.Function.NE,
    qm.Function.NE: qm.Function.EQ,
    qm.Function.LT: qm.Function.GE,
    qm.Function.LE: qm.Function.GT,
    qm.Function.GT: qm.Function.LE,
    qm.Function.GE: qm.Function.LT,
}
_MIRRORED = {
    qm.Function.EQ: qm.Function.EQ,
    qm.Function.NE: qm.Function.NE,
    qm.Function.LT: qm.Function.GT,
    qm.Function.LE: qm.Function.GE,
    qm.Function.GT: qm.Function.LT,
    qm.Function.GE: qm.Function.LE,
}


_NULL_TOLERANT = (
    qm.Function.IsNull,
    qm.Function.Or,
    qm.Function.And,
    qm.Function.MaximumOf,
    qm.Function.MinimumOf,
    qm.Case,
    qm.AggregateByPatient.Count,
    qm.AggregateByPatient.Exists,
    qm.AggregateByPatient.CountDistinct,
)


def _frames_needed_by(literal) -> list:
    """Event frames whose emptiness makes a comparison null (so never true,
    nor its negation): those it reads through a pick or a sum, mean, minimum
    or maximum, where nothing turns the null into a value (`maximum_of` of
    several frames is null only when all of them are empty)."""
    if not isinstance(literal, (_COMPARISONS, qm.Function.In)):
        return []
    return [
        frame
        for frame in _null_when_empty(literal)
        if isinstance(frame, qm.ManyRowsPerPatientFrame)
        and isinstance(qm.root_table(frame), qm.SelectTable)
    ]


_VALUE_AGGREGATES = (
    qm.AggregateByPatient.Min,
    qm.AggregateByPatient.Max,
    qm.AggregateByPatient.Sum,
    qm.AggregateByPatient.Mean,
)


@per_run
def _null_when_empty(node: qm.Node) -> frozenset:
    """The frames (as `_frame_key`s) each of whose emptiness alone makes `node` null."""
    if isinstance(node, qm.SelectColumn):
        if isinstance(node.source, qm.PickOneRowPerPatient):
            return frozenset({_frame_key(node.source.source)})
        return frozenset()
    if isinstance(node, _VALUE_AGGREGATES):
        return frozenset({_frame_key(node.source.domain.source)})
    if isinstance(node, (qm.Function.MaximumOf, qm.Function.MinimumOf)):
        return frozenset.intersection(*(_null_when_empty(s) for s in node.sources))
    if isinstance(node, _NULL_TOLERANT) or not isinstance(node, qm.Function._Base):
        return frozenset()
    return frozenset().union(
        *(_null_when_empty(c) for c in node.children() if isinstance(c, qm.Series))
    )


def _two_counts(literal, positive: bool):
    """(frame a, frame b, compare, condition) for `count(a) op count(b)`; None otherwise."""
    if type(literal) not in _NEGATED:
        return None
    lhs, rhs = literal.lhs, literal.rhs
    if not (
        isinstance(lhs, qm.AggregateByPatient.Count)
        and isinstance(rhs, qm.AggregateByPatient.Count)
    ):
        return None
    frames = []
    for side in (lhs, rhs):
        frame = side.source
        if isinstance(qm.root_table(frame), qm.InlinePatientTable):
            return None
        frames.append(_frame_key(frame))
    if frames[0] == frames[1]:
        return None
    op = type(literal) if positive else _NEGATED[type(literal)]
    node = op(qm.Value(0), qm.Value(0))

    def compare(a, b):
        return apply_function(node, a, b) is True

    return (
        frames[0],
        frames[1],
        compare,
        literal if positive else qm.Function.Not(literal),
    )


#: Pairs of counts are searched up to this many rows each.
_MAX_PAIR_COUNT = 6


def _choose_pair_counts(pairs: list, counts: dict):
    """Exact row counts for the frames compared count with count: the
    smallest in total that meet every comparison and every other bound on
    those frames. Each frame is then held to its count (no filler joins it)."""
    frames = list(dict.fromkeys(f for a, b, _, _ in pairs for f in (a, b)))
    options = [
        sorted(k for k in counts.get(f, _ANY_COUNT) if k <= _MAX_PAIR_COUNT)
        for f in frames
    ]
    best = None
    for combination in itertools.product(*options):
        chosen = dict(zip(frames, combination))
        if all(compare(chosen[a], chosen[b]) for a, b, compare, _ in pairs):
            if best is None or sum(combination) < sum(best.values()):
                best = chosen
    if best is None:
        together = " and ".join(describe(c) for *_, c in pairs)
        return f"no numbers of rows make {together} true together"
    return {frame: frozenset({k}) for frame, k in best.items()}


@dataclasses.dataclass(frozen=True)
class _DistinctCount:
    """What one literal allows of a distinct count: combined with the others on it."""

    aggregate: qm.Series
    allowed: frozenset
    condition: qm.Series


def _distinct_requirements(aggregate, allowed: frozenset, conditions: list):
    """(requirements, bans) for a distinct count that must be one of `allowed`, or a reason."""
    if not allowed:
        together = " and ".join(describe(c) for c in conditions)
        return f"no number of distinct values makes {together} true together"
    frame = aggregate.source.domain.source
    table, filters = _frame_conditions(frame)
    source = qm.row_source(frame)
    value = aggregate.source
    present = compile_row_expression(qm.Function.Not(qm.Function.IsNull(value)), source)
    least = min(allowed)
    distinct = compile_row_expression(value, source)
    requirements = (
        [RowRequirement(table, filters + (present,), least, distinct)] if least else []
    )
    if allowed == _ANY_COUNT - set(range(least)):
        return requirements, []
    return requirements, [
        RowBan(table, filters + (present,), (), applies_to_required=not least)
    ]


def _aggregate_comparison(literal, positive: bool):
    """(requirements, bans) for a sum compared with a constant; a
    `_DistinctCount` for a distinct count; None for other literals.

    A sum is pinned to one row: that row meets the comparison, and every other
    row of the frame adds nothing that could undo it (nothing negative below a
    lower bound; nothing positive under an upper bound; zero or null for
    equality). A distinct count asks for that many rows with different values,
    and, when bounded above, for no other rows with a value.
    """
    if type(literal) not in _NEGATED:
        return None
    op = type(literal)
    aggregate, constant = literal.lhs, literal.rhs
    if isinstance(aggregate, qm.Value):
        aggregate, constant, op = constant, aggregate, _MIRRORED[op]
    if not isinstance(
        aggregate, (qm.AggregateByPatient.Sum, qm.AggregateByPatient.CountDistinct)
    ):
        return None
    if not isinstance(constant, qm.Value) or constant.value is None:
        return None
    frame = aggregate.source.domain.source
    if (
        not isinstance(qm.root_table(frame), qm.SelectTable)
        or _value_sources(aggregate.source) is None
    ):
        return None
    if not positive:
        op = _NEGATED[op]
    table, filters = _frame_conditions(frame)
    source = qm.row_source(frame)
    value = aggregate.source
    if isinstance(aggregate, qm.AggregateByPatient.CountDistinct):
        compare = op(qm.Value(0), qm.Value(0))
        allowed = frozenset(
            k for k in _ANY_COUNT if apply_function(compare, k, constant.value)
        )
        return _DistinctCount(
            aggregate, allowed, literal if positive else qm.Function.Not(literal)
        )
    if value.type not in (int, float):
        return None
    zero = qm.Value(value.type(0))
    meets = compile_row_expression(op(value, qm.Value(constant.value)), source)
    others_must_not = {
        qm.Function.GT: qm.Function.LT,
        qm.Function.GE: qm.Function.LT,
        qm.Function.LT: qm.Function.GT,
        qm.Function.LE: qm.Function.GT,
        qm.Function.EQ: qm.Function.NE,
        qm.Function.NE: qm.Function.NE,
    }[op]
    undo = compile_row_expression(others_must_not(value, zero), source)
    requirement = RowRequirement(table, filters + (meets,), 1)
    return [requirement], [
        RowBan(table, filters + (undo,), (), applies_to_required=False)
    ]


def _with_rows_read(requirements: list) -> list:
    """`requirements`, each preceded by a row of every frame its conditions read.

    A comparison with a missing row is null, never true, so the row that
    `events.date > patients.date_of_birth` reads had better exist, and so had
    the rows of the frame behind `events.consultation_id.is_in(visits.consultation_id)`
    or `events.date > previous_dose.date`. A frame of the requirement's own
    table is asked for before it (its rows are read from those drawn so far),
    and so on down a chain of frames each read by the next (the first dose
    after the dose after ...). Not so for a condition that turns nulls into
    answers (`ons_deaths.date.is_null()`, a case, an or): there a missing row
    may be just what it needs.
    """
    # Ordered sets: membership by hash, as a requirement's conditions are
    # large trees, slow to compare one by one.
    placed: dict = {}
    needed: dict = {}

    def covered(table, filters) -> RowRequirement | None:
        for requirement in (*placed, *requirements):
            if (
                requirement.table == table
                and requirement.conditions[: len(filters)] == filters
            ):
                return requirement
        return None

    def place(requirement, depth: int) -> None:
        if requirement in placed:
            return
        if depth < _MAX_CHAIN:
            if requirement not in needed:
                needed[requirement] = _rows_needed(requirement)
            for table, filters in needed[requirement]:
                place(
                    covered(table, filters) or RowRequirement(table, filters, 1),
                    depth + 1,
                )
        placed.setdefault(requirement)

    for requirement in requirements:
        place(requirement, 0)
    return list(placed)


#: How many frames, each read by the next, are asked for in front of a row.
_MAX_CHAIN = 64


def _rows_needed(requirement: RowRequirement) -> list:
    """(table, filters) of the rows that must exist for a required row's
    conditions to be true: one per frame they read, or, for a table read
    otherwise (a patient table), any row of it."""
    needed: dict = {}
    for condition in requirement.conditions:
        frames = _frames_read(condition.node)
        if frames is None:
            continue
        read = set(condition.context_tables)
        for frame in frames:
            table, filters = _frame_conditions(frame)
            if table in read and isinstance(table, qm.SelectTable):
                needed.setdefault((table, filters), None)
        for table in read - {t for t, _ in needed}:
            # Inline tables are given, not generated; rows of the
            # requirement's own table are only asked for through a frame.
            if (
                not isinstance(table, qm.InlinePatientTable)
                and table != requirement.table
            ):
                needed.setdefault((table, ()), None)
    return list(needed)


@per_run
def _frames_read(node: qm.Series) -> tuple | None:
    """The event frames a condition reads through a pick or an aggregate
    (not looking inside those frames); None when a part of the condition turns
    nulls into answers, so that an empty frame may be what it needs."""
    frames: dict = {}
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, _NULL_TOLERANT):
            return None
        if isinstance(current, qm.SelectColumn):
            if isinstance(current.source, qm.PickOneRowPerPatient) and isinstance(
                current.source.source, qm.ManyRowsPerPatientFrame
            ):
                frames.setdefault(qm.row_source(current.source.source), None)
            continue
        if isinstance(current, qm.AggregateByPatient._Base):
            frame = current.source.domain.source
            if isinstance(frame, qm.ManyRowsPerPatientFrame):
                frames.setdefault(qm.row_source(frame), None)
            continue
        if isinstance(current, (qm.Function._Base, qm.Case)):
            stack.extend(c for c in current.children() if isinstance(c, qm.Series))
    return tuple(frames)


_NO_SOURCE = qm.SelectPatientTable("__none__", qm.TableSchema({}))


def _counted_frame(literal, positive: bool):
    """(frame, allowed row counts) for an Exists or Count literal; None otherwise.

    Literals on the same frame are combined by intersecting what they allow,
    so `count >= 2` and `count <= 3` together ask for two or three rows.
    """
    if isinstance(literal, qm.AggregateByPatient.Exists):
        frame = literal.source
        if isinstance(frame, qm.PickOneRowPerPatient):
            frame = frame.source
        if isinstance(frame, qm.InlinePatientTable):
            return None
        allowed = _ANY_COUNT - {0} if positive else frozenset({0})
        return _frame_key(frame), allowed
    if isinstance(literal, _COMPARISONS):
        counted = _count_comparison(literal)
        if counted is None:
            return None
        frame, compare = counted
        return _frame_key(frame), frozenset(
            k for k in _ANY_COUNT if compare(k) is positive
        )
    return None


def _frame_key(frame: qm.Frame) -> qm.Frame:
    return (
        frame if isinstance(frame, qm.OneRowPerPatientFrame) else qm.row_source(frame)
    )


def _count_requirements(frame: qm.Frame, allowed: frozenset):
    """Rows for a frame whose row count must be one of `allowed`."""
    table, conditions = _frame_conditions(frame)
    least = min(allowed)
    requirements = [RowRequirement(table, conditions, least)] if least else []
    if allowed == _ANY_COUNT - set(range(least)):
        return requirements, []
    # Bounded above: no other rows may join the frame. Where no row at all is
    # allowed the ban applies to every row, else only to filler rows.
    return requirements, [RowBan(table, conditions, (), applies_to_required=not least)]


def _count_comparison(literal):
    """(frame, count -> comparison result) for `Count(frame) op constant`."""
    for count_side, constant_side, flipped in (
        (literal.lhs, literal.rhs, False),
        (literal.rhs, literal.lhs, True),
    ):
        if isinstance(count_side, qm.AggregateByPatient.Count) and isinstance(
            constant_side, qm.Value
        ):
            constant = constant_side.value
            if constant is None:
                return None

            def compare(k, constant=constant, flipped=flipped):
                args = (constant, k) if flipped else (k, constant)
                return apply_function(literal, *args)

            return count_side.source, compare
    return None


@per_run
def _frame_conditions(frame: qm.Frame) -> tuple[qm.Frame, tuple]:
    """The table a frame reads and its filters, compiled for that table's rows.

    Cached: asked for every literal of every alternative, and the same
    compiled conditions then compare equal at once."""
    if isinstance(frame, qm.OneRowPerPatientFrame):
        return frame, ()
    conditions = []
    current = qm.row_source(frame)
    while isinstance(current, qm.Filter):
        parent = qm.row_source(current.source)
        conditions.extend(_conjuncts(current.condition, parent))
        current = parent
    return current, tuple(reversed(conditions))


def _conjuncts(
    condition: qm.Series, source: qm.Frame, for_every_row: bool = False
) -> list[RowExpression]:
    """A condition split at its top-level &s, so each part can be solved on its own.

    `for_every_row` marks conditions every row of the frame will be held to,
    in which aggregates over the frame can be read from the row.
    """
    if isinstance(condition, qm.Function.And):
        return _conjuncts(condition.lhs, source, for_every_row) + _conjuncts(
            condition.rhs, source, for_every_row
        )
    return [compile_row_expression(condition, source, for_every_row)]


@per_run
def _value_sources(series: qm.Series) -> frozenset | None:
    """The sources a value condition reads: patient tables and event row
    sources (through picks and minimum/maximum). None if some part cannot be
    pinned to a row (other aggregations, parameters, inline tables).

    Cached: the same subtrees are asked about for every alternative of every goal."""
    if isinstance(series, qm.Value):
        return frozenset()
    if isinstance(series, qm.SelectColumn):
        frame = series.source
        if isinstance(frame, qm.SelectPatientTable):
            return frozenset({frame})
        if isinstance(frame, qm.PickOneRowPerPatient):
            return frozenset({qm.row_source(frame.source)})
        if isinstance(frame, qm.ManyRowsPerPatientFrame):
            # Only reached inside a minimum/maximum, which names the source.
            return frozenset()
        return None
    if isinstance(series, (qm.AggregateByPatient.Min, qm.AggregateByPatient.Max)):
        return _aggregate_sources(series)
    if _is_mean_against_constant(series):
        # Values all within a bound have their mean within it too.
        mean = (
            series.lhs
            if isinstance(series.lhs, qm.AggregateByPatient.Mean)
            else series.rhs
        )
        return _aggregate_sources(mean)
    if isinstance(series, (qm.Function._Base, qm.Case)):
        sources: frozenset = frozenset()
        for child in series.children():
            found = _value_sources(child)
            if found is None:
                return None
            sources |= found
        return sources
    return None


def _aggregate_sources(aggregate) -> frozenset | None:
    inner = _value_sources(aggregate.source)
    return None if inner is None else inner | {aggregate.source.domain.source}


_ORDERINGS = (qm.Function.LT, qm.Function.LE, qm.Function.GT, qm.Function.GE)


def _is_mean_against_constant(series: qm.Series) -> bool:
    if not isinstance(series, _ORDERINGS):
        return False
    sides = (series.lhs, series.rhs)
    return any(isinstance(s, qm.AggregateByPatient.Mean) for s in sides) and any(
        isinstance(s, qm.Value) for s in sides
    )


def generation_key(table: qm.Frame) -> tuple:
    """The default order of tables: patient tables, then event tables, by name.

    `generation_order` departs from it where a table's rows must read another's.
    """
    return (not isinstance(table, qm.OneRowPerPatientFrame), table.name)


def table_dependencies(roots: Iterable[qm.Node]) -> dict:
    """Table -> the other tables its rows' conditions read, for every table in `roots`.

    A filter or sort of one event table whose expression reads another table
    (`medications.where(medications.date > first_appointment.date)`) can only
    be checked row by row once the patient's rows of that other table exist.
    """
    # The tables below each node, worked out once per node, children first:
    # the filters of a chain of frames (each dose after the one before)
    # nest ever deeper, and walking each one's tree afresh costs the square
    # of the chain's length.
    tables_below: dict = {}
    for root in roots:
        for node in qm.all_nodes(root):
            if node in tables_below:
                continue
            if isinstance(node, qm.TABLE_TYPES):
                tables_below[node] = frozenset((node,))
            else:
                tables_below[node] = frozenset().union(
                    *(tables_below[child] for child in node.children())
                )
    reads: dict = {
        table: set() for table in tables_below if isinstance(table, qm.TABLE_TYPES)
    }
    for node in tables_below:
        if isinstance(node, qm.Filter):
            expression = node.condition
        elif isinstance(node, qm.Sort):
            expression = node.sort_by
        else:
            continue
        table = qm.root_table(node)
        reads.setdefault(table, set()).update(tables_below[expression] - {table})
    return reads


def generation_order(tables: Iterable[qm.Frame], dependencies: dict) -> tuple:
    """`tables` ordered so that each comes after the tables it reads (`dependencies`).

    A topological order; among the tables ready at once, and to break a cycle
    (the waiting table first by `generation_key`), the `generation_key` order
    decides, so the order is the same on every run.
    """
    remaining = sorted(tables, key=generation_key)
    placed: list = []
    while remaining:
        done = set(placed)
        ready = [
            t
            for t in remaining
            if all(d in done or d not in remaining for d in dependencies.get(t, ()))
        ]
        chosen = ready[0] if ready else remaining[0]
        placed.append(chosen)
        remaining.remove(chosen)
    return tuple(placed)


def _position(table: qm.Frame, order: tuple) -> tuple:
    # A table missing from the order is not generated (an inline table): its
    # rows are known before any generated table's.
    rank = order.index(table) if table in order else -1
    return (rank, *generation_key(table))


def _target_source(sources: set, order: tuple = ()) -> qm.Frame | None:
    """The one source whose rows a condition can be solved on: the one
    generated last, provided every other source comes from a table generated
    before it (its rows are then known when the target's rows are drawn).

    Two frames of one event table (the first asthma code, the first inhaler)
    are put in a fixed order, by what they select: the later one's rows are
    drawn after the earlier one's required rows, and read them
    (`row_expressions` gives a condition the rows of its own table drawn so
    far).
    """
    keyed = {source: _source_order(source, order) for source in sources}
    target = max(sources, key=keyed.__getitem__)
    for other in sources:
        if other is target:
            continue
        if keyed[other][0] < keyed[target][0]:
            continue
        if not _same_event_table(other, target) or keyed[other] == keyed[target]:
            return None
    return target


@per_run
def _source_order(source: qm.Frame, order: tuple) -> tuple:
    # Cached: describing a frame sorts its codelists, thousands of codes.
    return (_position(qm.root_table(source), order), describe_in_full(source))


def _same_event_table(a: qm.Frame, b: qm.Frame) -> bool:
    table = qm.root_table(a)
    return (
        table == qm.root_table(b)
        and isinstance(table, qm.SelectTable)
        and isinstance(a, qm.ManyRowsPerPatientFrame)
        and isinstance(b, qm.ManyRowsPerPatientFrame)
    )


def _value_requirements(source: qm.Frame, conditions: list):
    """Rows for value conditions on one source; for an event frame, every
    matching row is held to them, whichever row a pick or aggregate sees."""
    compiled = tuple(
        part for condition in conditions for part in _conjuncts(condition, source, True)
    )
    if isinstance(source, qm.SelectPatientTable):
        return [RowRequirement(source, compiled, 1)], []
    table, filters = _frame_conditions(source)
    requirement = RowRequirement(table, filters + compiled, 1)
    ban = RowBan(table, filters, compiled)
    return [requirement], [ban]


def _merge_patient_requirements(requirements: list) -> list:
    """A patient has one row per patient table: fold its requirements together."""
    merged: dict = {}
    others = []
    for requirement in requirements:
        if isinstance(requirement.table, qm.OneRowPerPatientFrame):
            previous = merged.get(requirement.table)
            if previous is None:
                merged[requirement.table] = dataclasses.replace(requirement, count=1)
            else:
                merged[requirement.table] = dataclasses.replace(
                    previous, conditions=previous.conditions + requirement.conditions
                )
        else:
            others.append(requirement)
    return list(merged.values()) + others
