"""Recipes for drawing rows: one value choice per column, plus whole-row checks.

A recipe is prepared once per plan and table, then used for every patient.
Conditions on a single column are solved up front by narrowing that column's
value choice; conditions tying several columns together (or a row to the
patient's other tables) are checked on each drawn row, which is redrawn a few
times if it fails.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import random
from collections.abc import Callable

from ehrql.dummy.consistency import death_columns
from ehrql.dummy.describe import describe
from ehrql.dummy.plausibility import life_span
from ehrql.dummy.row_expressions import UNKNOWN, RowExpression, compile_row_expression
from ehrql.dummy.solver import RowBan
from ehrql.dummy.values import ValueChoice
from ehrql.query_model import nodes as qm
from ehrql.query_model.table_schema import DateAfterConstraint

#: How many times a row is redrawn before giving up on its checks.
ROW_ATTEMPTS = 20

RowCheck = Callable[[dict, dict], bool]


@dataclasses.dataclass(frozen=True)
class RowRecipe:
    """How to draw rows of one table under some conditions.

    `feasible` is False when some column has no allowed value at all: no row
    can meet the conditions.
    """

    table: qm.Frame
    choices: tuple  # of (column name, ValueChoice)
    checks: tuple  # of RowCheck
    feasible: bool
    #: Columns compared with the patient's other tables: worth trying their values.
    linked_columns: tuple = ()
    #: Why no row can exist, when `feasible` is False.
    infeasible_because: str = ""
    #: Checks worth meeting but not required (plausible dates): only the
    #: first half of the attempts insist on them.
    soft_checks: tuple = ()
    #: Whether `infeasible_because` is a proof (False when a pool of values,
    #: a sample of an unbounded set such as floats, merely ran dry).
    infeasible_for_certain: bool = True
    #: Date columns drawn within the patient's life where possible.
    life_bounded: tuple = ()
    #: (column, op, evaluator) for checks comparing a column with a value
    #: read from the patient's other rows (`RowExpression.bound`).
    context_bounds: tuple = ()
    #: A patient table's date of death columns: where another table already
    #: records the death, they are drawn with its date where they can be.
    death_columns: tuple = ()

    def draw(self, rng: random.Random, context: dict) -> dict | None:
        """A row passing every check, or None if none turned up in a few tries."""
        born, died = self._life(context)
        limits = _limits(self.context_bounds, context) if self.context_bounds else {}
        borrowable = None
        # The first half of the attempts insist on the soft checks: in vain
        # where the bounds lie outside the life (a dose after the one before,
        # which came after the death), as a row must keep to the bounds.
        first = (
            ROW_ATTEMPTS // 2
            if self.soft_checks and _beyond_life(limits, self.life_bounded, born, died)
            else 0
        )
        for attempt in range(first, ROW_ATTEMPTS):
            row = self._sample(
                rng,
                (born, died)
                if not self.soft_checks or attempt < ROW_ATTEMPTS // 2
                else (None, None),
                # The last attempts draw freely, in case the bounds mislead.
                limits if attempt < ROW_ATTEMPTS - 2 else {},
            )
            if attempt % 2 and self.linked_columns:
                # Random values almost never equal a value in another table,
                # so every other attempt borrows one from the patient's rows
                # (which stay the same while this row is drawn).
                if borrowable is None:
                    borrowable = self._borrowable(context)
                for name, candidates in borrowable:
                    row[name] = rng.choice(candidates)
            if attempt < ROW_ATTEMPTS // 2 and not all(
                c(row, context) for c in self.soft_checks
            ):
                continue
            if all(check(row, context) for check in self.checks):
                return row
        return None

    def draw_unchecked(self, rng: random.Random, context: dict | None = None) -> dict:
        """A row that obeys the schema's constraints but maybe not the checks.

        Used when a required row cannot be found: it is still worth trying,
        as the final population check has the last word. Its dates still
        keep, where they can, within the patient's life and the bounds the
        patient's other rows (`context`) set, so that the patient's story
        stays consistent.
        """
        context = context or {}
        life = self._life(context)
        limits = _limits(self.context_bounds, context) if self.context_bounds else {}
        return enforce_date_after(self.table, self._sample(rng, life, limits))

    def _life(self, context: dict) -> tuple:
        """(birth, death) of the patient, where this table's rows need them."""
        if self.life_bounded or self.death_columns:
            return life_span(context)
        return (None, None)

    @functools.cached_property
    def _choice_of(self) -> dict:
        """Column name -> its value choice."""
        return dict(self.choices)

    def _sample(self, rng: random.Random, life: tuple, limits: dict) -> dict:
        """One row's values: life-bounded dates within `life` (birth, death),
        and columns with `limits` (column -> (low, high)) within them.

        A column with limits is drawn once, within them: drawn freely (or
        within the life) first, it would be drawn again for nothing."""
        row = {
            name: None if name in limits else choice.sample(rng)
            for name, choice in self.choices
        }
        born, died = life
        choices = self._choice_of
        if born or died:
            for name in self.life_bounded:
                if name not in limits:
                    row[name] = choices[name].sample_within(rng, born, died)
            for name in self.death_columns:
                # The GP record and the death register tell of one death.
                if died is not None and choices[name].allows(died):
                    row[name] = died
        # Drawn inside the bounds the patient's other rows set (an event
        # within 60 days after the first diagnosis), and inside the life too
        # where the two overlap.
        for name, (low, high) in limits.items():
            if name in self.life_bounded:
                low, high = _overlap((low, high), life)
            row[name] = choices[name].sample_within(rng, low, high)
        return row

    def _borrowable(self, context: dict) -> list:
        """(column, the values of the patient's other rows it may take), for
        each linked column that may take some."""
        choices = self._choice_of
        rows = list(_context_rows(context))
        # The patient's values once, in order, for every linked column.
        values = [value for other_row in rows for value in other_row.values()]
        found = []
        for name in self.linked_columns:
            column_type = self.table.schema.get_column_type(name)
            allows = choices[name].allows
            # A link is most often between columns of one name (a consultation
            # id matched with the consultation ids of other events): their
            # values come first, before every value of the column's type.
            candidates = [
                value
                for other_row in rows
                for value in [other_row.get(name)]
                if type(value) is column_type and allows(value)
            ] or [
                value
                for value in values
                if type(value) is column_type and allows(value)
            ]
            if candidates:
                found.append((name, candidates))
        return found


def _beyond_life(limits: dict, life_bounded: tuple, born, died) -> bool:
    """Whether the limits of some column drawn within the life (birth,
    death) allow no date of it."""
    for name in life_bounded:
        if name in limits:
            low, high = limits[name]
            try:
                if (died is not None and low is not None and low > died) or (
                    born is not None and high is not None and high < born
                ):
                    return True
            except TypeError:
                continue
    return False


def _overlap(bounds: tuple, life: tuple) -> tuple:
    """`bounds` (low, high) narrowed to `life` (birth, death) where they
    overlap; as they are where they do not (the bounds come first)."""
    low, high = bounds
    born, died = life
    narrowed_low = low if born is None or (low is not None and low >= born) else born
    narrowed_high = (
        high if died is None or (high is not None and high <= died) else died
    )
    if narrowed_low is not None and narrowed_high is not None:
        if narrowed_low > narrowed_high:
            return bounds
    return narrowed_low, narrowed_high


def _limits(bounds: tuple, context: dict) -> dict:
    """Column -> (low, high), both inclusive (None: unbounded), from the
    comparisons of columns with values read from the patient's other rows."""
    limits: dict = {}
    for column, op, evaluate in bounds:
        value = evaluate({}, context)
        if value is None or value is UNKNOWN:
            continue
        low, high = limits.get(column, (None, None))
        try:
            if op in (qm.Function.GT, qm.Function.GE, qm.Function.EQ):
                value_low = _step(value, 1) if op is qm.Function.GT else value
                low = value_low if low is None else max(low, value_low)
            if op in (qm.Function.LT, qm.Function.LE, qm.Function.EQ):
                value_high = _step(value, -1) if op is qm.Function.LT else value
                high = value_high if high is None else min(high, value_high)
        except TypeError:
            continue
        limits[column] = (low, high)
    return limits


def _step(value, direction: int):
    """The next value after (or before) `value`, for a strict bound; floats stay as they are."""
    if isinstance(value, datetime.date):
        try:
            return value + datetime.timedelta(days=direction)
        except OverflowError:
            return value
    if isinstance(value, int) and not isinstance(value, bool):
        return value + direction
    return value


def _context_rows(context: dict):
    """Every row in the context: a patient table's row, or an event table's rows."""
    for entry in context.values():
        if isinstance(entry, dict):
            yield entry
        elif isinstance(entry, list):
            yield from entry


class ChoiceCache:
    """Narrowed value choices, shared between recipes.

    Narrowing a date column filters tens of thousands of candidates, so the
    same narrowing is done once however many plans ask for it.
    """

    def __init__(self, base: dict):
        self._base = base
        self._narrowed: dict = {}
        #: Restriction key -> value -> whether it passes (`_remembered`).
        self._answers: dict = {}

    def base(self, table: qm.Frame) -> dict:
        """Column name -> the column's unrestricted ValueChoice."""
        return self._base[table]

    def narrowed(
        self, table: qm.Frame, column: str, restrictions: tuple
    ) -> ValueChoice:
        """The column's choice with every restriction applied.

        The key of each `Restriction` identifies it for caching.
        """
        key = (table, column, tuple(r.key for r in restrictions))
        if key not in self._narrowed:
            choice = self._base[table][column]
            for restriction in restrictions:
                if restriction.null_only:
                    choice = choice.only_null()
                elif restriction.not_null:
                    choice = dataclasses.replace(choice, null_allowed=False)
                elif restriction.members is not None:
                    choice = choice.among(restriction.members)
                elif restriction.interval is None:
                    choice = choice.restrict(self._remembered(restriction))
                else:
                    choice = choice.within(
                        *restriction.interval, keep_null=restriction.keep_null
                    )
            self._narrowed[key] = choice
        return self._narrowed[key]

    def _remembered(self, restriction) -> Callable:
        """`restriction.accept`, answering for each value once: one
        condition recurs in many narrowings (an age band in each interval's
        plans, an interval's numerator in each group's), each of which
        checks values of the same pool again."""
        answers = self._answers.setdefault(restriction.key, {})
        accept = restriction.accept

        def remembered(value) -> bool:
            try:
                return answers[value]
            except KeyError:
                answer = answers[value] = accept(value)
                return answer

        return remembered


def make_recipe(
    table: qm.Frame,
    conditions: tuple,
    bans: tuple,
    cache: ChoiceCache,
    extra_checks: tuple = (),
    soft_checks: tuple = (),
    life_bounded: tuple = (),
) -> RowRecipe:
    """A recipe for rows of `table` meeting every condition, breaking no ban
    and passing `extra_checks` (and, where it can, `soft_checks`)."""
    restrictions: dict[str, list] = {name: [] for name in table.schema.column_names}
    # Column -> what narrowed it, to say why it ran dry: described only then,
    # as describing a condition with a codelist costs more than the rest.
    narrowed_by: dict[str, list] = {name: [] for name in table.schema.column_names}
    checks: list[RowCheck] = []
    because = ""
    linked: dict = {}
    bounds: list = []
    for condition in conditions:
        column = condition.single_column
        if column is not None:
            restrictions[column].append(_must_be_true(condition))
            narrowed_by[column].append(lambda node=condition.node: describe(node))
        elif condition.columns or condition.uses_context or condition.opaque:
            checks.append(_check_true(condition))
            if condition.bound is not None:
                bounds.append(condition.bound)
            if condition.uses_context and len(condition.columns) == 1:
                linked.update(dict.fromkeys(condition.columns))
        elif condition.evaluate({}, {}) is not True:
            because = because or f"{describe(condition.node)} is never true"
    asked = {c.node for c in conditions}
    for ban in bans:
        if ban.when and all(e.node in asked for e in ban.when):
            # Every row drawn here falls under the ban: it must meet `unless`.
            bounds.extend(e.bound for e in ban.unless if e.bound is not None)
        narrowed = _narrow_for_ban(ban)
        if narrowed is None:
            checks.append(_check_ban(ban))
        elif narrowed == "empty":
            because = because or f"{table.name} must have a row and must have none"
        else:
            for column, restriction in narrowed:
                restrictions[column].append(restriction)
                narrowed_by[column].append(lambda ban=ban: _describe_ban(ban))
    checks.extend(_constraint_checks(table))
    checks.extend(extra_checks)
    choices = tuple(
        (name, cache.narrowed(table, name, tuple(restrictions[name])))
        for name in table.schema.column_names
    )
    certain = True
    for name, choice in choices:
        if choice.empty and not because:
            conditions_text = (
                " and ".join(dict.fromkeys(text() for text in narrowed_by[name]))
                or "its constraints"
            )
            because = f"no value of {table.name}.{name} meets {conditions_text}"
            certain = choice.exhaustive
    return RowRecipe(
        table,
        choices,
        tuple(checks),
        not because,
        tuple(linked),
        because,
        soft_checks,
        certain,
        life_bounded,
        tuple(bounds),
        tuple(death_columns(table)),
    )


def _describe_ban(ban: RowBan) -> str:
    if ban.when:
        return "not " + " and ".join(describe(e.node) for e in ban.when)
    return " and ".join(describe(e.node) for e in ban.unless)


@dataclasses.dataclass(frozen=True)
class Restriction:
    """A condition on one column's values.

    `accept` tells whether a value (or null) passes; `interval`, when set, is
    the same condition as (low, low inclusive, high, high inclusive), which
    can be applied to an ordered pool by bisection.
    """

    key: tuple
    accept: Callable
    interval: tuple | None = None
    #: With `interval`: null passes too.
    keep_null: bool = False
    #: Only null passes (`column.is_null()`).
    null_only: bool = False
    #: Every value but null passes (`column.is_not_null()`): no pool to filter.
    not_null: bool = False
    #: Only these values pass (`column.is_in(codelist)`).
    members: frozenset | None = None


def _must_be_true(expression: RowExpression) -> Restriction:
    column = expression.single_column
    evaluate = expression.evaluate
    node = expression.node
    key = ("true", node)
    accept = lambda v: evaluate({column: v}, {}) is True  # noqa: E731
    if _is_null_test(node):
        return Restriction(key, accept, null_only=True)
    if isinstance(node, qm.Function.Not) and _is_null_test(node.source):
        return Restriction(key, accept, not_null=True)
    if (
        isinstance(node, qm.Function.In)
        and isinstance(node.lhs, qm.SelectColumn)
        and isinstance(node.rhs, qm.Value)
        and isinstance(node.rhs.value, frozenset)
    ):
        # A codelist: membership is far cheaper than evaluating the condition per value.
        return Restriction(key, accept, members=node.rhs.value)
    # `~c | c.is_null()`: c is not true.
    if (
        isinstance(node, qm.Function.Or)
        and isinstance(node.lhs, qm.Function.Not)
        and isinstance(node.rhs, qm.Function.IsNull)
        and node.lhs.source == node.rhs.source
    ):
        complement = _complement(_comparison_interval(node.lhs.source))
        if complement is not None:
            return Restriction(key, accept, complement, keep_null=True)
    return Restriction(key, accept, _comparison_interval(node))


def _is_null_test(node: qm.Series) -> bool:
    return isinstance(node, qm.Function.IsNull) and isinstance(
        node.source, qm.SelectColumn
    )


def _must_not_be_true(expression: RowExpression) -> Restriction:
    column = expression.single_column
    evaluate = expression.evaluate
    key = ("not true", expression.node)
    accept = lambda v: evaluate({column: v}, {}) is not True  # noqa: E731
    if _is_null_test(expression.node):
        return Restriction(key, accept, not_null=True)
    return Restriction(
        key,
        accept,
        _complement(_comparison_interval(expression.node)),
        keep_null=True,
    )


def _complement(interval: tuple | None) -> tuple | None:
    """The values outside a one-sided interval (a two-sided one has no single complement)."""
    if interval is None:
        return None
    low, low_inclusive, high, high_inclusive = interval
    if low is None and high is not None:
        return (high, not high_inclusive, None, False)
    if high is None and low is not None:
        return (None, False, low, not low_inclusive)
    return None


_FLIPPED = {
    qm.Function.LT: qm.Function.GT,
    qm.Function.LE: qm.Function.GE,
    qm.Function.GT: qm.Function.LT,
    qm.Function.GE: qm.Function.LE,
    qm.Function.EQ: qm.Function.EQ,
}


def _comparison_interval(node: qm.Series) -> tuple | None:
    """`column op constant` as an interval of the column's values; None for
    anything else."""
    kind = type(node)
    if kind not in _FLIPPED:
        return None
    column, constant = node.lhs, node.rhs
    if not isinstance(column, qm.SelectColumn):
        column, constant, kind = constant, column, _FLIPPED[kind]
    if not isinstance(column, qm.SelectColumn):
        return None
    value = _constant_value(constant)
    if value is None or value is UNKNOWN or type(value) is not column.type:
        return None
    return {
        qm.Function.LT: (None, False, value, False),
        qm.Function.LE: (None, False, value, True),
        qm.Function.GT: (value, False, None, False),
        qm.Function.GE: (value, True, None, False),
        qm.Function.EQ: (value, True, value, True),
    }[kind]


_NO_ROWS = qm.SelectPatientTable("__no_rows__", qm.TableSchema({}))


def _constant_value(node: qm.Series):
    """The value of a series computed from constants alone (`index + days(13)`), else UNKNOWN."""
    if isinstance(node, qm.Value):
        return node.value
    if not all(
        isinstance(n, (qm.Value, qm.Function._Base)) for n in qm.all_nodes(node)
    ):
        return UNKNOWN
    expression = compile_row_expression(node, _NO_ROWS)
    if expression.columns or expression.uses_context or expression.opaque:
        return UNKNOWN
    return expression.evaluate({}, {})


def _narrow_for_ban(ban: RowBan):
    """Column restrictions equivalent to the ban, "empty" if the ban rules out
    every row, or None if it can only be checked row by row."""
    if not ban.when and not ban.unless:
        return "empty"
    if not ban.when and all(e.single_column for e in ban.unless):
        # Every row must meet every `unless` condition.
        return [(e.single_column, _must_be_true(e)) for e in ban.unless]
    if len(ban.when) == 1 and not ban.unless and ban.when[0].single_column:
        return [(ban.when[0].single_column, _must_not_be_true(ban.when[0]))]
    return None


def _check_true(expression: RowExpression) -> RowCheck:
    evaluate = expression.evaluate

    def check(row, context):
        outcome = evaluate(row, context)
        return outcome is True or outcome is UNKNOWN

    return check


def _check_ban(ban: RowBan) -> RowCheck:
    return lambda row, context: not ban.forbids(row, context)


def _constraint_checks(table: qm.Frame) -> list[RowCheck]:
    """Checks for constraints that tie a column to others in its row."""
    checks = []
    for name, column in table.schema.columns:
        constraint = column.get_constraint(DateAfterConstraint)
        if constraint is not None:
            checks.append(_date_after_check(name, constraint.columns))
    return checks


def _date_after_check(name: str, others: tuple) -> RowCheck:
    def check(row, context):
        value = row[name]
        return value is None or all(row[o] is None or value >= row[o] for o in others)

    return check


def enforce_date_after(table: qm.Frame, row: dict) -> dict:
    """`row` with any date moved so it is not before the columns it must follow.

    A row that failed its checks is still used when it is required; this keeps
    it within the schema's constraints even so.
    """
    fixed = dict(row)
    for name, column in table.schema.columns:
        constraint = column.get_constraint(DateAfterConstraint)
        if constraint is None or fixed[name] is None:
            continue
        earlier = [fixed[o] for o in constraint.columns if fixed[o] is not None]
        if earlier and fixed[name] < max(earlier):
            fixed[name] = None if column.nullable else max(earlier)
    return fixed
