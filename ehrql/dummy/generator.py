"""Generate dummy tables whose patients satisfy a dataset's population.

1. Read the definition's constants (`hints`) and build each column's pool of
   values (`values`).
2. Solve the population into alternative plans of row requirements and bans
   (`solver`), and turn each into row recipes (`recipes`).
3. Make candidate patients in batches — each following one plan, plus filler
   rows drawn freely so that the variables vary — and keep those the
   in-memory engine puts in the population. Plans that work are used more.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import logging
import math
import random
import time
import typing
from collections.abc import Callable, Mapping

from ehrql.dummy.caches import per_run, run_caches
from ehrql.dummy.consistency import inconsistencies, realigned_versions, repair
from ehrql.dummy.describe import describe
from ehrql.dummy.hints import collect_hints
from ehrql.dummy.plausibility import (
    LIFE_SPAN_KEY,
    life_bounded_columns,
    life_span,
    plausibility_check,
)
from ehrql.dummy.recipes import ChoiceCache, make_recipe
from ehrql.dummy.report import DummyDataReport
from ehrql.dummy.row_expressions import (
    CONTEXT_VERSION,
    PICK_ANSWERS,
    UNKNOWN,
    PickAnswers,
    compile_row_expression,
    drawn_so_far,
)
from ehrql.dummy.solver import (
    Plan,
    generation_order,
    plan_population_with_reasons,
    table_dependencies,
)
from ehrql.dummy.uniques import UniqueValues
from ehrql.dummy.values import column_choice
from ehrql.query_engines.in_memory import InMemoryDatabase, InMemoryQueryEngine
from ehrql.query_model import nodes as qm
from ehrql.query_model.transforms import share_equal_subtrees

log = logging.getLogger("ehrql.dummy")

#: How many filler rows an event table gets per patient, and how likely each is.
FILLER_COUNTS = (0, 1, 2, 3, 4, 5, 6, 8)
FILLER_WEIGHTS = (15, 20, 18, 15, 12, 9, 7, 4)
#: The share of patients with a row in a patient-level table other than `patients`.
OTHER_PATIENT_TABLE_SHARE = 0.4
#: How many times a patient is redrawn when a required row cannot be found.
PATIENT_ATTEMPTS = 3
#: ... and how many times when the plan has conditions checked on the whole patient.
CHECKED_PATIENT_ATTEMPTS = 40
#: The row source for conditions on a whole patient: nothing is read from a row.
PATIENT_LEVEL = qm.SelectPatientTable("__patient__", qm.TableSchema({}))
#: How many rows are drawn to find one with a value not used yet (distinct counts).
DISTINCT_ATTEMPTS = 30
#: Candidates checked at once with the in-memory engine.
MAX_BATCH = 5000
#: The share of candidates made to also give one output column a value
#: (`_Goals`), so that columns the population leaves free still vary.
GOAL_SHARE = 0.5
#: The share of candidates made, on top, for categories of values with many
#: (`_Goals._add_category_groups`), at most.
GOAL_CATEGORY_SHARE = 0.25
#: How many columns' goals a patient is made for at once, at least.
GOAL_GROUP = 4
#: The share of patients each column's goal is aimed at, at least: with many
#: columns, a patient is made for more of them at once (`_goal_group_size`),
#: up to `GOAL_GROUP_MAX`, and up to about `GOAL_ROWS` rows more than the
#: population alone asks for: a patient's rows are drawn reading the rows
#: drawn before them, so many more rows cost far more time.
GOAL_COVER = 0.1
GOAL_GROUP_MAX = 24
GOAL_ROWS = 24
#: ... and up to about this many query model nodes in its goals
#: (`_goal_weight`), beyond the first `GOAL_GROUP` goals.
GOAL_NODES = 500
#: Candidates a goal group gets before it is split for failing too often
#: (fewer than `GOAL_PASS_RATE` of them in the population).
GOAL_PATIENCE = 10
GOAL_PASS_RATE = 0.25
#: How many alternatives of goal groups are solved at most, plus one per so
#: many patients asked: a small population is not held up by solving goals
#: for a definition with many columns or alternatives. A count, not a time,
#: keeps runs deterministic.
GOAL_ALTERNATIVES = 64
PATIENTS_PER_GOAL_ALTERNATIVE = 5
#: The share of the goals' candidates made for quotas short of their count.
QUOTA_SHARE = 0.95
#: The share of all candidates made for goals while some quota is short.
QUOTA_GOAL_SHARE = 0.95
#: The share of patients made for quotas while some are short: the others
#: follow the population's plans, for variety.
QUOTA_PATIENT_SHARE = QUOTA_SHARE * QUOTA_GOAL_SHARE
#: The quotas' own budget, as `GOAL_ALTERNATIVES` is the goals', in plans
#: made (alternatives, the pairings checked to find them, and plans
#: prepared), a few ms each.
QUOTA_PLANS = 64
QUOTA_PLANS_PER_PATIENT = 2
#: How many of a family of quotas' patients are checked against its every
#: quota before, if none counts in another than their own, only their own
#: interval's are.
FAMILY_TRIAL = 5
#: How many patients `satisfiability` makes of a plan to see one meet it.
SATISFIABLE_TRIES = 5
#: How many alternatives of each part of a quota the solver keeps.
QUOTA_ALTERNATIVES = 4
#: How many pairings of a quota's parts' plans are tried.
QUOTA_ATTEMPTS = 4
#: How many of a quota's plans are prepared.
QUOTA_WAYS = 1


@dataclasses.dataclass(frozen=True)
class DummyData:
    """Generated tables (table node -> row dicts) and the report of the run."""

    tables: dict
    report: DummyDataReport


@dataclasses.dataclass(frozen=True)
class _PreparedPlan:
    plan: Plan
    required: tuple  # of (RowRecipe, count, distinct expression or None)
    fillers: dict  # table -> RowRecipe, or None when the table must stay empty
    #: (table, column) pairs nothing in the plan reads: safe to change for consistency.
    free_columns: frozenset = frozenset()
    #: The plan's unsolved conditions that can be evaluated on one patient's
    #: rows: a patient failing one is redrawn at once, before any engine sees it.
    patient_checks: tuple = ()

    @functools.cached_property
    def required_by_table(self) -> dict:
        """Table -> its (RowRecipe, count, distinct) triples."""
        grouped: dict = {}
        for recipe, count, distinct in self.required:
            grouped.setdefault(recipe.table, []).append((recipe, count, distinct))
        return grouped


#: Called as `progress(made, asked)` after each batch of candidates is checked.
Progress = Callable[[int, int], None]


@run_caches()
def generate_dummy_data(
    dataset: qm.Dataset,
    population_size: int = 10,
    seed: int = 0,
    additional_population_constraint: qm.Series | None = None,
    timeout: float = 60.0,
    progress: Progress | None = None,
    quotas: tuple = (),
    quota_plans: dict | None = None,
    locations: Mapping | None = None,
) -> DummyData:
    """Dummy tables with `population_size` patients in the dataset's population.

    `additional_population_constraint` (a boolean patient series, as a query
    model node or an ehrQL series) must also hold for every patient.
    Deterministic for a given seed. Stops when it has spent `timeout` seconds
    of processor time (`time.process_time`, so that a busy machine, whose
    other programs take turns on the processor, does not cut a run short)
    with whatever patients it has; at once, with none, when the solver shows
    that no patient can satisfy the population. The report says how many were made and why any
    are missing; nothing is logged above debug level, so that the caller says
    it once. `progress`, when given, is called as `progress(made, asked)` after
    each batch of candidates.

    `quotas` are tuples of (boolean patient series, count) pairs, or
    (series, count, what to ask the solver for) triples (something at least
    as strict, easier to solve): conditions that that many of the patients
    should meet where the population allows (a measure's numerator in one
    interval and group). They are filled one after another, in order, those
    of one tuple tried a few at a time (one patient may meet several); each
    patient made for a quota is counted in every quota of its tuples it
    meets. `quota_plans` is what an earlier
    `satisfiability` over the same tables solved of the quotas' parts.

    `locations` maps series nodes to the (file, line) where the definition
    built them (`ehrql.loaders.LoadedDataset.condition_locations`): when no
    patient can satisfy the population, the report names where the
    condition no patient can meet is written.
    """
    if (
        not isinstance(population_size, int)
        or isinstance(population_size, bool)
        or population_size < 0
    ):
        raise ValueError(
            f"population_size must be a non-negative integer, got {population_size!r}"
        )
    started = time.monotonic()
    # The limit is on the processor time this process spends, not on the
    # clock: a run on a loaded machine takes longer but makes the same patients.
    deadline = time.process_time() + timeout
    extra = _query_model_series(additional_population_constraint)
    target = share_equal_subtrees(_target_population(dataset, extra))
    target, quotas = _share_quota_parts(target, quotas)
    roots = [dataset] + ([extra] if extra is not None else [])
    tables = _tables_to_generate(roots)
    rng = random.Random(seed)
    prepared, unsolved, fallback, impossible, cache = _prepare_plans(
        target, tables, collect_hints(roots), rng, locations or {}
    )
    impossible_at = None
    if impossible:
        search = _SearchResult({table: [] for table in tables}, 0, 0, False)
        impossible_at = _where_impossible(target, tables, cache, locations or {})
    else:
        known = {node for plan in prepared for node in plan.plan.unsolved}
        budget = (
            GOAL_ALTERNATIVES + population_size // PATIENTS_PER_GOAL_ALTERNATIVE,
            QUOTA_PLANS + population_size * QUOTA_PLANS_PER_PATIENT,
        )
        goals = _Goals(
            _column_goals(dataset),
            target,
            tables,
            cache,
            rng,
            known,
            budget,
            quotas,
            quota_plans,
            population_size,
        )
        search = _search(
            prepared,
            goals,
            target,
            tables,
            population_size,
            rng,
            deadline,
            progress,
        )
    kept = search.kept
    if not any(isinstance(t, qm.InlinePatientTable) for t in _all_tables(roots)):
        kept = _renumber(kept)
    report = DummyDataReport(
        requested=population_size,
        generated=search.generated,
        candidates=search.candidates,
        plans=len(prepared),
        used_rejection_sampling=fallback,
        unsolved=unsolved,
        timed_out=search.timed_out,
        seconds=time.monotonic() - started,
        impossible=impossible,
        timeout=timeout,
        impossible_at=impossible_at,
    )
    log.debug("dummy data: %s", report.summary())
    return DummyData(kept, report)


def satisfiability(roots: list, solved: dict | None = None) -> Callable[..., bool]:
    """A test of whether one patient can meet every one of some conditions
    (boolean patient series reading the tables `roots` read), as far as the
    solver can tell: False where each way of meeting them contradicts itself
    or the tables' constraints, or is out of the solver's reach. Each
    condition is solved once however many tests it is in (`_PartPlans`),
    and kept in `solved`, when given, for `generate_dummy_data`'s
    `quota_plans`."""
    tables = _tables_to_generate(roots)
    rng = random.Random(0)
    cache = _choice_cache(tables, collect_hints(roots), rng)
    parts = _PartPlans(tables, cache, None, solved)
    uniques = UniqueValues(tables)

    def satisfiable(*conditions: qm.Series) -> bool:
        # A plan may leave to chance what makes the conditions exclude each
        # other (a first diagnosis in two intervals): a few patients are
        # made, and one must be seen to meet them all.
        checks = [compile_row_expression(c, PATIENT_LEVEL) for c in conditions]
        for plan in parts.prepared(conditions, QUOTA_WAYS):
            for _ in range(SATISFIABLE_TRIES):
                made = _make_patient(plan, 0, rng, uniques, strict=True)
                if made is None:
                    continue
                rows, _ = made
                context = _patient_context(rows, {})
                if all(
                    check.evaluate({}, context) in (True, UNKNOWN) for check in checks
                ):
                    return True
        return False

    return satisfiable


class _PartPlans:
    """Plans of parts of conditions, each solved once, and prepared plans of
    several parts together (`_merged`): many quotas share a part (a
    measure's numerator in one interval, for every group), and are solved at
    the cost of what they do not share. Solved as one condition, each would
    pair the shared part's alternatives anew, at tens of milliseconds in
    hundreds of quotas."""

    def __init__(
        self,
        tables: list,
        cache: ChoiceCache,
        known: dict | None,
        solved: dict | None = None,
    ):
        self._tables = tables
        self._cache = cache
        #: The population's unsolved parts, each mapped to itself: a plan
        #: leaving others is dropped.
        self._known = known
        self._feasible = _feasibility(tables, cache)
        # A quota needs a few ways of meeting it: the solver keeps a few
        # alternatives of each part, and checks as few pairings.
        self._solved: dict = {"most": QUOTA_ALTERNATIVES}
        #: Part -> its plans; may come from an earlier `satisfiability`
        #: over the same tables (plans do not depend on the values drawn).
        self._plans: dict = {} if solved is None else solved
        #: Plans the solver made, and pairings checked, so far.
        self.cost = 0

    def plans(self, part: qm.Series) -> list:
        """The first few plans of `part` (unprepared)."""
        if part not in self._plans:
            alternatives, found, checked = _solve(
                part, self._tables, self._feasible, self._solved, 2 * QUOTA_WAYS
            )
            self.cost += max(1, found + checked)
            self._plans[part] = alternatives
        return [
            plan
            for plan in self._plans[part]
            if self._known is None or all(node in self._known for node in plan.unsolved)
        ]

    def prepared(self, parts: tuple, limit: int) -> list:
        """Up to `limit` prepared plans meeting every one of `parts`, from
        the first `QUOTA_ATTEMPTS` pairings of their plans."""
        options = [self.plans(part) for part in parts]
        usable = []
        for combination in itertools.islice(
            itertools.product(*options), QUOTA_ATTEMPTS
        ):
            plan = Plan((), (), ())
            for part_plan in combination:
                plan = _merged(plan, part_plan)
            if self._known is not None:
                # The population's own nodes, whose compiled checks are cached.
                plan = dataclasses.replace(
                    plan, unsolved=tuple(self._known[node] for node in plan.unsolved)
                )
            prepared = _prepare(plan, self._tables, self._cache)
            # A prepared plan is a plan made too: a budget of plans also
            # bounds the narrowings of values that preparing does.
            self.cost += 1
            if isinstance(prepared, _PreparedPlan):
                usable.append(prepared)
                if len(usable) == limit:
                    break
        return usable


def _choice_cache(tables: list, hints, rng: random.Random) -> ChoiceCache:
    """Each column's pool of values."""
    return ChoiceCache(
        {
            table: {
                name: column_choice(table.name, name, column, hints, rng)
                for name, column in table.schema.columns
            }
            for table in tables
        }
    )


def _prepare_plans(
    target: qm.Series, tables: list, hints, rng: random.Random, locations: Mapping
):
    """(prepared plans, descriptions of unsolved parts — with their file and
    line where `locations` has them, whether rejection sampling is needed,
    why no patient can exist — empty unless none can, the cache of value
    choices)."""
    cache = _choice_cache(tables, hints, rng)
    prepared, reasons, unsure = _prepared_alternatives(target, tables, cache)
    unsolved = tuple(
        dict.fromkeys(
            _described(u, locations) for p in prepared for u in p.plan.unsolved
        )
    )
    if prepared:
        return prepared, unsolved, bool(unsolved), (), cache
    if unsure:
        # Not proven impossible: draw patients freely and keep those that pass.
        fallback = _prepare(Plan((), (), (target,)), tables, cache)
        return [fallback], tuple(dict.fromkeys(unsure)), True, (), cache
    # Every alternative contradicts itself or the tables' constraints.
    return (
        [],
        (),
        False,
        tuple(dict.fromkeys(reasons)) or ("the population is never true",),
        cache,
    )


def _described(node: qm.Series, locations: Mapping) -> str:
    """A condition as the user wrote it, with its file and line when known."""
    location = locations.get(node)
    if location is None:
        return describe(node)
    filename, line = location
    return f"{describe(node)} ({filename}, line {line})"


def _prepared_alternatives(condition: qm.Series, tables: list, cache: ChoiceCache):
    """(prepared plans under which `condition` holds, why each other
    alternative never can, why others were dropped without proof)."""
    plans, proven = plan_population_with_reasons(
        condition, tuple(tables), _feasibility(tables, cache)
    )
    reasons = list(proven)
    prepared = []
    unsure = []  # alternatives dropped only because a sample of values ran dry
    for plan in plans:
        outcome = _prepare(plan, tables, cache)
        if isinstance(outcome, _Infeasible):
            (reasons if outcome.certain else unsure).append(outcome.reason)
        else:
            prepared.append(outcome)
    return prepared, reasons, unsure


def _where_impossible(
    population: qm.Series, tables: list, cache: ChoiceCache, locations: Mapping
) -> tuple | None:
    """(file, line) of the condition no patient can meet, in a population
    proven impossible, when the definition's locations name it.

    That is the smallest part of the population's `&` that is impossible on
    its own: one operand when one alone can never be true (`age > 200`),
    else the `&` whose operands contradict each other. Going down stops
    where no location is known (a condition built by ehrql, not the user),
    except through an `|` ehrql built (measures' denominators, one after
    another): each of its operands is impossible too, and the first is named.
    """

    def never_true(condition: qm.Series) -> bool:
        prepared, _, unsure = _prepared_alternatives(condition, tables, cache)
        return not prepared and not unsure

    found = population
    while isinstance(found, qm.Function.Or) and found not in locations:
        found = found.lhs
    while isinstance(found, qm.Function.And):
        inner = next(
            (
                operand
                for operand in (found.lhs, found.rhs)
                if operand in locations and never_true(operand)
            ),
            None,
        )
        if inner is None:
            break
        found = inner
    return locations.get(found)


def _column_goals(dataset: qm.Dataset) -> list:
    """What would make each output column informative for one patient: a
    boolean column true (false is what missing records give anyway), any
    other column not null. Constant columns have no goal."""
    goals = {}
    for series in dataset.variables.values():
        if not series.domain.is_patient or not qm.get_table_nodes(series):
            continue
        if series.type is not bool and _never_null(series):
            # Made for, its patients would only meet whichever harder
            # alternative the solver took (a row for `a` in `minimum_of(a, D)`).
            continue
        goal = (
            series
            if series.type is bool
            else qm.Function.Not(qm.Function.IsNull(series))
        )
        goals.setdefault(goal, None)
    # A column compared with a constant by another column's goal (an age and
    # its bands, an area code and its kinds) has a value for every patient
    # made for that goal: made for on its own too, it would take a place in
    # a group from a goal that needs one.
    compared = {x for goal in goals for x in _compared_with_constants(goal)}
    return [
        goal
        for goal in goals
        if not (
            isinstance(goal, qm.Function.Not)
            and isinstance(goal.source, qm.Function.IsNull)
            and goal.source.source in compared
        )
    ]


def _compared_with_constants(goal: qm.Series) -> set:
    """The series a goal needs a value of, compared with a constant (`x ==
    7`, `x.is_in(...)`, `(x >= 0) & (x < 5)`): null, the goal is not true."""
    if isinstance(goal, qm.Function.And):
        return _compared_with_constants(goal.lhs) | _compared_with_constants(goal.rhs)
    if isinstance(goal, (qm.Function._Comparison, qm.Function.In)):
        return {
            side
            for side, other in ((goal.lhs, goal.rhs), (goal.rhs, goal.lhs))
            if isinstance(other, qm.Value) and not isinstance(side, qm.Value)
        }
    return set()


def _goal_group_size(count: int, rows: float) -> int:
    """How many of `count` columns' goals a patient is made for at once,
    where each goal asks for `rows` more rows on average.

    `GOAL_GROUP` for a few columns; for many, enough that each column's goal
    gets `GOAL_COVER` of the patients out of the `GOAL_SHARE` made for goals
    (a definition with a hundred columns would otherwise leave each about
    2%), within `GOAL_GROUP_MAX` and `GOAL_ROWS`.
    """
    wanted = math.ceil(count * GOAL_COVER / GOAL_SHARE)
    return max(GOAL_GROUP, min(wanted, GOAL_GROUP_MAX, int(GOAL_ROWS / max(rows, 1))))


def _deal(indexes: list, goals: list, size: int, rng: random.Random) -> list:
    """The goals at `indexes` in groups of `size`, goals reading the same
    values in different groups.

    Goals that read the same values are mostly categories of one value (age
    bands, ethnic groups, one sex or the other) that no patient meets
    together; goals reading different values (one disease's diagnosis,
    another's resolution) mostly can be met together. The goals are dealt
    out like cards, the largest classes first, each to the next group with
    room and none of its class; a class with more goals than there are
    groups opens more. Groups left with room are then topped up with goals
    of classes not in them, those in the fewest groups first: a goal in two
    groups gets twice the patients. (Goals of different classes that still
    cannot be met together split their group, `_Goals._split`.)
    """
    if not indexes:
        return []
    ordered = list(_classes(indexes, goals).values())
    rng.shuffle(ordered)
    ordered.sort(key=len, reverse=True)
    class_of = {index: n for n, members in enumerate(ordered) for index in members}
    groups: list = [[] for _ in range(math.ceil(len(indexes) / size))]
    weight = {index: _goal_weight(goals[index]) for index in indexes}

    def fits(index, group) -> bool:
        return (
            len(group) < size
            and all(class_of[other] != class_of[index] for other in group)
            and (
                len(group) < GOAL_GROUP
                or sum(weight[other] for other in group) + weight[index] <= GOAL_NODES
            )
        )

    turn = 0
    for members in ordered:
        rng.shuffle(members)
        for index in members:
            for step in range(len(groups)):
                group = groups[(turn + step) % len(groups)]
                if fits(index, group):
                    group.append(index)
                    turn += step + 1
                    break
            else:
                groups.append([index])
                turn = 0
    copies = dict.fromkeys(indexes, 1)
    for group in groups:
        taken = {class_of[index] for index in group}
        spare = [index for index in indexes if class_of[index] not in taken]
        spare.sort(key=copies.__getitem__)
        for index in spare:
            if len(group) >= size:
                break
            if class_of[index] not in taken and fits(index, group):
                group.append(index)
                taken.add(class_of[index])
                copies[index] += 1
    return [tuple(group) for group in groups]


def _goal_weight(goal: qm.Series) -> int:
    """What a goal costs a patient made for it, roughly: its size. Each of
    its conditions is checked on the patient's rows as they are drawn, and a
    column built from many conditions (a case over a dozen codelists) makes
    every row cost more to draw."""
    return sum(1 for _ in qm.all_nodes(goal))


def _classes(indexes, goals: list) -> dict:
    """The values read (`_values_read`) -> the indexes of the goals reading them."""
    classes: dict = {}
    for index in indexes:
        classes.setdefault(_values_read(goals[index]), []).append(index)
    return classes


def _values_read(goal: qm.Series) -> frozenset:
    """The patient-level values a goal is computed from: columns of patient
    tables and of picked rows, and aggregates over frames (each with the
    frame's filters, so that counts in two intervals differ)."""
    found = set()
    stack = [goal]
    while stack:
        node = stack.pop()
        if isinstance(node, qm.AggregateByPatient._Base) or (
            isinstance(node, qm.SelectColumn)
            and isinstance(
                node.source, (qm.PickOneRowPerPatient, qm.SelectPatientTable)
            )
        ):
            found.add(node)
        elif isinstance(node, (qm.Function._Base, qm.Case)):
            stack.extend(c for c in node.children() if isinstance(c, qm.Series))
        elif not isinstance(node, qm.Value):
            # Constants aside: `band == "a"` and `band == "b"` read one value.
            found.add(node)
    return frozenset(found)


def _never_null(series: qm.Series) -> bool:
    """Whether a series has a value for every patient, on its face: a
    constant, the minimum or maximum of values one of which always has one
    (`minimum_of(death_date, D)`), or a case whose every branch has one."""
    if isinstance(series, qm.Value):
        return series.value is not None
    if isinstance(series, (qm.Function.MinimumOf, qm.Function.MaximumOf)):
        return any(_never_null(s) for s in series.sources)
    if isinstance(series, qm.Case):
        # `to_category(..., default="Missing")`: every branch has a value.
        return all(
            value is not None and _never_null(value)
            for value in [*series.cases.values(), series.default]
        )
    return False


class _Goals:
    """Plans under which a patient is in the population and also gives a few
    output columns a value.

    The population alone leaves most columns to chance: a medication linked
    to a consultation, a date inside a window the population does not ask
    about. Solving `population and column is not null` makes patients for
    whom the column has a value (where the definition allows one), and each
    of them is still in the population. Goals are asked for `GOAL_GROUP` at a
    time, so that every column gets its share even when there are many; a
    group that cannot be met together (two age bands, say) is split in two.
    Each group's plans are solved the first time it is drawn; groups whose
    patients keep failing the population check are drawn less.

    Quotas are grouped apart from columns, `GOAL_GROUP` at a time of those
    given together (one interval's measures, which can often be met by one
    patient, where two intervals' numerators often exclude each other).
    While some quota is short of its count, `QUOTA_SHARE` of the goals'
    candidates are made for a group with one of those, the furthest short
    most often.
    """

    def __init__(
        self,
        goals: list,
        target: qm.Series,
        tables: list,
        cache: ChoiceCache,
        rng: random.Random,
        known: set,
        budget: tuple,
        quotas: tuple = (),
        quota_plans: dict | None = None,
        population_size: int = 0,
    ):
        quota_goals = list(
            dict.fromkeys(goal for together in quotas for goal, *_ in together)
        )
        goals = [goal for goal in goals if goal not in set(quota_goals)]
        self._goals = goals + quota_goals
        #: The population's unsolved conditions, each mapped to itself.
        self._known = {node: node for node in known}
        #: Alternatives left to solve: for columns' goals, and for quotas.
        self._budget = list(budget)
        self._target = target
        self._tables = tables
        self._cache = cache
        self._population_size = population_size
        #: The quotas' parts, solved once for all of them.
        self._parts = _PartPlans(tables, cache, self._known, quota_plans)
        #: Goal index -> how many patients its quota asks for.
        self._wanted: dict = {}
        position = {goal: len(goals) + i for i, goal in enumerate(quota_goals)}
        #: Goal index -> the condition the solver is asked for, to meet it.
        self._solve_for: dict = {}
        for together in quotas:
            for goal, count, *solve in together:
                index = position[goal]
                self._wanted[index] = max(self._wanted.get(index, 0), count)
                self._solve_for.setdefault(index, solve[0] if solve else goal)
        self._groups: list = []
        self._tried: list = []
        self._passed: list = []
        self._pending: list = []
        self._plans: dict = {}  # group index -> list of (prepared plan, [successes, attempts])
        #: Each column's goal solved alone: a group split down to one goal
        #: starts from these plans.
        self._single: dict = {}
        possible = self._possible(goals)
        for group in _deal(possible, goals, self._size, rng):
            self._add_group(group)
        self._categories = self._add_category_groups(possible, goals, rng)
        # The quotas of one tuple are tried `GOAL_GROUP` at a time (one
        # patient may count in several: a prevalent condition in several
        # intervals, one interval's measures), in the order given.
        #: Quota groups in the order they are filled; a group split into
        #: single quotas gives way to them in its place.
        self._quota_order: list = []
        placed: set = set()
        for together in quotas:
            indexes = [position[goal] for goal, *_ in together]
            indexes = [i for i in dict.fromkeys(indexes) if i not in placed]
            placed.update(indexes)
            for i in range(0, len(indexes), GOAL_GROUP):
                self._quota_order.append(len(self._groups))
                self._add_group(tuple(indexes[i : i + GOAL_GROUP]))
        #: How far along `_quota_order` every quota is met or given up.
        self._quota_cursor = 0
        #: Quotas short of their count, by the condition checked first
        #: (`_QuotaCheck`): a patient is credited with every one it meets.
        self._open = _OpenQuotas(
            {index: self._goals[index] for index in position.values()},
            [[position[goal] for goal, *_ in together] for together in quotas],
        )
        self._split_groups: set = set()

    def __bool__(self) -> bool:
        return bool(self._groups)

    @property
    def share(self) -> float:
        """The share of candidates to make for goals: more while a quota is short."""
        return QUOTA_GOAL_SHARE if self._open else GOAL_SHARE + self._category_share

    def _is_quota(self, group: int) -> bool:
        return self._groups[group][0] in self._wanted

    def _next_quota(self, weights: list) -> int | None:
        """The first quota group, in the order given, that is short of its
        count and may still be drawn; candidates made for it but not checked
        yet count as what they will likely give.

        Filling quotas one after another, rather than a patient for each in
        turn, completes as many as the population allows: a condition with
        7 patients is suppressed like one with none.
        """
        order = self._quota_order
        # Quotas met, or given up, stay so: the cursor only moves on.
        while self._quota_cursor < len(order) and not any(
            goal in self._open for goal in self._groups[order[self._quota_cursor]]
        ):
            self._quota_cursor += 1
        for group in order[self._quota_cursor :]:
            if not weights[group] or group in self._split_groups:
                continue
            coming = self._pending[group] * self._passed[group] / self._tried[group]
            if any(
                goal in self._open
                and self._open.got(goal) + coming < self._wanted[goal]
                for goal in self._groups[group]
            ):
                return group
        return None

    def choose(self, rng: random.Random):
        """((group index, plan index), prepared plan), or None when the chosen group has no plan."""
        # Once a budget is spent, only groups already solved are drawn.
        # Candidates made but not checked yet count as failures for now, so
        # that one batch spreads over the groups.
        weights = [
            p / (t + pending)
            if g in self._plans or self._budget[self._is_quota(g)] > 0
            else 0
            for g, (p, t, pending) in enumerate(
                zip(self._passed, self._tried, self._pending)
            )
        ]
        if self._categories:
            # Category groups (`_add_category_groups`) for their own share.
            category = (
                not self._open and rng.random() < self._category_share / self.share
            )
            weights = [
                w if (g in self._categories) == category else 0
                for g, w in enumerate(weights)
            ]
        if not any(weights):
            return None
        short = (
            self._next_quota(weights)
            if self._open and rng.random() < QUOTA_SHARE
            else None
        )
        if short is not None:
            group = short
        else:
            group = rng.choices(range(len(self._groups)), weights)[0]
        if group not in self._plans:
            if self._is_quota(group):
                plans = self._quota_plans(self._groups[group])
            else:
                plans, cost = self._solve(self._groups[group])
                self._budget[0] -= cost
            self._plans[group] = [(plan, [1, 2]) for plan in plans]
            if not plans:
                self._split(group)
        plans = self._plans[group]
        if not plans:
            return None
        self._pending[group] += 1
        index = rng.choices(range(len(plans)), [s / a for _, (s, a) in plans])[0]
        return (group, index), plans[index][0]

    def _add_category_groups(self, indexes: list, goals: list, rng) -> set:
        """Add groups of one category of each value with many, and return
        their indexes; sets `_category_share`, the share of candidates made
        for them.

        A patient meets one category of a value at most: a value with
        `GOAL_SHARE / GOAL_COVER` categories or more (ten kinds of area, a
        dozen age bands) leaves each category at most `GOAL_COVER` of the
        patients, less where the groups `_deal` makes outnumber its
        categories. Those groups get their share still; patients made for
        these come on top, up to `GOAL_CATEGORY_SHARE` of the candidates.
        They ask for a row or two each, and cost little.
        """
        classes = [
            members
            for members in _classes(indexes, goals).values()
            if len(members) >= GOAL_SHARE / GOAL_COVER
        ]
        largest = max(map(len, classes), default=0)
        self._category_share = min(
            GOAL_CATEGORY_SHARE, max(0.0, largest * GOAL_COVER - GOAL_SHARE)
        )
        if not self._category_share:
            return set()
        added = set()
        classes = [rng.sample(members, len(members)) for members in classes]
        for i in range(largest):
            added.add(len(self._groups))
            self._add_group(tuple(members[i % len(members)] for members in classes))
        return added

    def _possible(self, goals: list) -> list:
        """The indexes of the column goals worth grouping, and sets
        `_size`, how many a patient is made for at once.

        With many columns, each goal is solved alone first: a goal no plan
        meets (a column read from an empty codelist, or one the solver
        leaves to chance) would leave every group it joined without a plan,
        and split it; and the rows each goal asks for bound the group size.
        With few, groups are of `GOAL_GROUP` goals whatever they ask for,
        and solving each alone would only cost time; so too with more goals
        than the budget of alternatives (`GOAL_ALTERNATIVES`) for the
        population asked for, or than patients asked for (no grouping makes
        every column vary then).
        """
        self._size = GOAL_GROUP
        if _goal_group_size(len(goals), 0) <= GOAL_GROUP or len(goals) > min(
            self._budget[0], self._population_size
        ):
            return list(range(len(goals)))
        for index in range(len(goals)):
            plans, _ = self._solve((index,))
            if plans:
                self._single[index] = plans
        rows = {
            index: min(sum(count for _, count, _ in plan.required) for plan in plans)
            for index, plans in self._single.items()
        }
        # Rows beyond those of the goal asking for the fewest, which are
        # mostly the population's own.
        extra = [count - min(rows.values()) for count in rows.values()] or [0]
        self._size = _goal_group_size(len(rows), sum(extra) / len(extra))
        return list(rows)

    def _solve(self, goals: tuple) -> tuple:
        """(the prepared plans meeting the population and every one of
        `goals`, what solving them cost against the budget)."""
        # Goals first: the solver keeps the first alternatives of a large
        # product, and those then pair the goals with every alternative
        # of the population rather than one population alternative with
        # many of the goals.
        target = self._target
        for goal in reversed(goals):
            target = qm.Function.And(self._goals[goal], target)
        # A plan leaving more than the population does to chance would
        # cost many rejected candidates: the goal is only worth its plans
        # that the solver solves.
        alternatives, reasons = plan_population_with_reasons(
            target, tuple(self._tables), _feasibility(self._tables, self._cache)
        )
        cost = len(alternatives) + len(reasons)
        plans = []
        for plan in alternatives:
            # Checked before the plan is prepared: preparing compiles its
            # unsolved conditions, which may be large.
            unsolved = tuple(self._known.get(node) for node in plan.unsolved)
            if None in unsolved:
                continue
            # The population's own nodes, whose compiled checks are cached.
            plan = dataclasses.replace(plan, unsolved=unsolved)
            prepared = _prepare(plan, self._tables, self._cache)
            if isinstance(prepared, _PreparedPlan):
                plans.append(prepared)
        return plans, max(1, cost)

    def _quota_plans(self, goals: tuple) -> list:
        """A few prepared plans (`QUOTA_WAYS`) of a group of quotas.

        What the solver is asked for each (`solve_for`) is `head & (value &
        ...)`: a measure's numerator in one interval, and its groups'
        values. The head is shared by every group of that interval, and each
        value by many quotas: each part is solved once (`_PartPlans`).
        """
        parts: dict = {}
        for goal in goals:
            # Each group's value is solved once too, for all the quotas
            # asking for it, whatever the other groups' values.
            wanted = self._solve_for.get(goal, self._goals[goal])
            parts.update(dict.fromkeys(_conjuncts(wanted)))
        parts = tuple(parts)
        before = self._parts.cost
        plans = self._parts.prepared(parts, QUOTA_WAYS)
        # Quotas are many and cheap, or few and costly: counted by the plans
        # the solver made, they get what they cost.
        self._budget[1] -= max(1, self._parts.cost - before)
        return plans

    def credit(self, rows: dict, chosen: tuple | None, exact: Callable) -> bool:
        """Count a patient who is kept towards every quota they meet; whether
        they meet the quota of the group they were made for (`chosen`, as
        `choose` gave it), when it is one. A part of a quota that cannot be
        told from the patient's rows alone is told by `exact` (node -> its
        value for this patient), for the quotas they were made for only."""
        group = chosen[0] if chosen is not None else None
        targets = (
            self._groups[group] if group is not None and self._is_quota(group) else ()
        )
        return self._open.credit(rows, targets, self._wanted, exact)

    def _add_group(self, goals: tuple) -> None:
        """Draw `goals` together from now on."""
        if len(goals) == 1 and goals[0] in self._single:
            self._plans[len(self._groups)] = [
                (plan, [1, 2]) for plan in self._single[goals[0]]
            ]
        self._groups.append(goals)
        # A quota's first candidates are expected to meet it: one batch
        # then makes about as many as it needs, not twice as many.
        self._tried.append(1 if goals[0] in self._wanted else 2)
        self._passed.append(1)
        self._pending.append(0)

    def record(
        self, group: int, index: int, passed: bool, checked: bool = True
    ) -> None:
        """Count one checked candidate made for `group` with its plan `index`
        (or, not `checked`, one given up while it was made)."""
        tally = self._plans[group][index][1]
        tally[1] += 1
        self._pending[group] -= 1
        # Only checked candidates count: a group drawn often in one large
        # batch is not split for its first failure.
        self._tried[group] += 1
        if passed:
            tally[0] += 1
            self._passed[group] += 1
            return
        # Candidates given up while they are made come before a batch's
        # checked ones: those made but not checked yet count as passes, so
        # that a group is not split for its give-ups while its other
        # candidates may yet pass, but is as soon as it makes (almost) none
        # (a goal asking for an event before a birth it also asks for).
        hopeful = 0 if checked else self._pending[group]
        if (
            self._tried[group] >= GOAL_PATIENCE
            and (self._passed[group] + hopeful) / (self._tried[group] + hopeful)
            < GOAL_PASS_RATE
        ):
            self._split(group)

    def _split(self, group: int) -> None:
        """Stop drawing `group`; draw its halves instead (none for a single
        goal). A group of quotas falls apart into single quotas at once: those
        that cannot be met together (one interval's measures, each for one
        category of patients) mostly exclude each other in every pair."""
        # Candidates of a batch are recorded after the group is split: it is
        # split once, or its halves would multiply with every failure.
        if group in self._split_groups:
            return
        self._split_groups.add(group)
        goals = self._groups[group]
        self._passed[group] = 0
        if self._is_quota(group) and len(goals) == 1:
            # A quota's patients keep failing: it is given up.
            self._open.close(goals[0])
        elif self._is_quota(group):
            # Quotas that cannot be met together (a first diagnosis in each
            # of several intervals) mostly exclude each other in every pair:
            # they are tried one by one, in the group's place.
            place = self._quota_order.index(group)
            singles = []
            for goal in goals:
                singles.append(len(self._groups))
                self._add_group((goal,))
            self._quota_order[place : place + 1] = singles
        elif len(goals) > 1:
            half = len(goals) // 2
            classes = _classes(goals, self._goals).values()
            if len(classes) < len(goals):
                # Goals reading the same values are most likely what no
                # patient meets together (`_deal`): all but the first of
                # each class are set apart.
                parts = [
                    tuple(members[0] for members in classes),
                    tuple(g for members in classes for g in members[1:]),
                ]
            else:
                parts = [goals[:half], goals[half:]]
            for part in parts:
                if group in self._categories:
                    self._categories.add(len(self._groups))
                self._add_group(part)


class _OpenQuotas:
    """The quotas still short of their counts, and how many patients each has.

    A patient made for a quota is checked (on their own rows, with the
    compiled row expressions, no engine) against the quotas of its family
    (a measure's intervals for one group: a prevalent condition counts in
    every interval) and against those sharing their first part (other
    measures of the same numerator, grouped otherwise), one part at a time:
    the parts recur across quotas, so each is evaluated once per patient,
    and a patient outside an interval's numerator costs one check for all
    of that interval's groups.
    """

    def __init__(self, conditions: dict, families: list):
        self._got = dict.fromkeys(conditions, 0)
        # Equal parts become one object: every lookup is then by identity.
        canonical: dict = {}
        self._conjuncts = {
            goal: tuple(
                canonical.setdefault(part, part) for part in _conjuncts(condition)
            )
            for goal, condition in conditions.items()
        }
        self._by_head: dict = {}
        for goal, parts in self._conjuncts.items():
            self._by_head.setdefault(parts[0], {})[goal] = None
        #: Goal -> the first parts of its family's quotas (`credit`), and
        #: the family's [patients checked, patients counted in more of them].
        self._related: dict = {}
        self._family: dict = {}
        for family in families:
            heads = tuple(dict.fromkeys(self._conjuncts[goal][0] for goal in family))
            tally = [0, 0]
            for goal in family:
                self._related.setdefault(goal, {}).update(dict.fromkeys(heads))
                self._family.setdefault(goal, tally)

    def __bool__(self) -> bool:
        return bool(self._by_head)

    def __contains__(self, goal: int) -> bool:
        parts = self._conjuncts.get(goal)
        return parts is not None and goal in self._by_head.get(parts[0], ())

    def got(self, goal: int) -> int:
        return self._got[goal]

    def close(self, goal: int) -> None:
        """No more patients are counted for `goal`: it is met or given up."""
        head = self._conjuncts[goal][0]
        goals = self._by_head.get(head, {})
        goals.pop(goal, None)
        if not goals:
            self._by_head.pop(head, None)

    def credit(self, rows: dict, targets: tuple, wanted: dict, exact: Callable) -> bool:
        """Count a kept patient towards every open quota their rows meet;
        whether they meet every one of `targets`, the quotas they were made
        for. The parts of `targets` the rows cannot tell are told by `exact`
        (an engine run, so only for them: other quotas are not credited with
        what their rows cannot tell)."""
        context = _patient_context(rows, {})
        values: dict = {}

        def value(node):
            if node not in values:
                if isinstance(node, qm.Function.EQ) and isinstance(node.rhs, qm.Value):
                    # A group's value is read once for all the values asked.
                    known = value(node.lhs)
                    values[node] = (
                        known
                        if known is None or known is UNKNOWN
                        else known == node.rhs.value
                    )
                elif isinstance(node, qm.Function.Not):
                    known = value(node.source)
                    values[node] = known if known in (None, UNKNOWN) else not known
                else:
                    values[node] = compile_row_expression(node, PATIENT_LEVEL).evaluate(
                        {}, context
                    )
            return values[node]

        if not targets:
            # Made for the population or a column: not checked, to save the
            # time (the quotas' own patients fill them).
            return True
        missed = {goal for goal in targets if goal in self}
        tally = self._family[targets[0]]
        own = {self._conjuncts[goal][0]: None for goal in targets}
        # Whether a family's patients count in more of its quotas than they
        # were made for is learnt from its first few: a first diagnosis
        # counts in one interval only.
        heads = dict(own)
        if tally[0] < FAMILY_TRIAL or tally[1]:
            for goal in targets:
                heads.update(self._related[goal])
        tally[0] += 1
        for head in heads:
            goals = self._by_head.get(head)
            if not goals or (value(head) is False and missed.isdisjoint(goals)):
                continue
            for goal in list(goals):
                outcome = True
                for part in self._conjuncts[goal]:
                    result = value(part)
                    if result is UNKNOWN and goal in missed:
                        result = values[part] = exact(part)
                    if result is not True:
                        outcome = result if result is UNKNOWN else False
                        if outcome is False:
                            break
                if outcome is True:
                    missed.discard(goal)
                    if head not in own:
                        tally[1] += 1
                    self._got[goal] += 1
                    if self._got[goal] >= wanted[goal]:
                        self.close(goal)
        return not missed


def _solve(
    target: qm.Series,
    tables: list,
    feasible: Callable[[Plan], bool],
    cache: dict | None = None,
    limit: int | None = None,
) -> tuple:
    """(the solver's plans of `target`, how many alternatives it found
    including those dropped, how many pairings it checked for feasibility);
    `cache` and `limit` as `plan_population_with_reasons` takes them."""
    checked = itertools.count()
    plans, reasons = plan_population_with_reasons(
        target,
        tuple(tables),
        lambda plan: next(checked) >= 0 and feasible(plan),
        cache,
        limit,
    )
    return plans, len(plans) + len(reasons), next(checked)


def _merged(first: Plan, second: Plan) -> Plan:
    """One plan asking for what both ask: a patient has one row of a patient
    table, so what both require of it is required of that row."""
    requirements = list(first.requirements)
    for requirement in second.requirements:
        same = next(
            (
                i
                for i, mine in enumerate(requirements)
                if isinstance(requirement.table, qm.OneRowPerPatientFrame)
                and mine.table == requirement.table
            ),
            None,
        )
        if same is None:
            requirements.append(requirement)
        else:
            mine = requirements[same]
            requirements[same] = dataclasses.replace(
                mine,
                conditions=tuple(
                    dict.fromkeys(mine.conditions + requirement.conditions)
                ),
            )
    return Plan(
        tuple(requirements),
        tuple(dict.fromkeys(first.bans + second.bans)),
        tuple(dict.fromkeys(first.unsolved + second.unsolved)),
    )


def _conjuncts(condition: qm.Series) -> list:
    """The parts of `a & (b & (c & ...))`, in order; the parts themselves
    are not taken apart (a numerator is checked as a whole)."""
    parts = []
    while isinstance(condition, qm.Function.And):
        parts.append(condition.lhs)
        condition = condition.rhs
    return parts + [condition]


@dataclasses.dataclass(frozen=True)
class _SearchResult:
    kept: dict
    generated: int
    candidates: int
    timed_out: bool


def _search(
    prepared: list,
    goals: _Goals,
    target,
    tables: list,
    wanted: int,
    rng,
    deadline: float,  # in time.process_time() seconds
    progress: Progress | None,
) -> _SearchResult:
    """Make and check candidates in batches until `wanted` pass or time runs out.

    Each candidate follows one plan, chosen in proportion to how often that
    plan's candidates have passed so far: a plan of the population or, for a
    share of them, one of a column's goal (`_Goals`).
    """
    kept: dict = {table: [] for table in tables}
    uniques = UniqueValues(tables)
    inline = _inline_rows(target)
    waiting = sorted({patient_id for rows in inline.values() for patient_id in rows})
    fresh = itertools.count(max(waiting, default=0) + 1)
    successes = [1] * len(prepared)
    attempts = [2] * len(prepared)
    realigner = _Realigner()
    generated = candidates = 0
    while generated < wanted:
        if time.process_time() > deadline:
            return _SearchResult(kept, generated, candidates, True)
        # Until a batch has been checked, assume every candidate will do; then
        # size batches by the success rate seen, with a margin.
        rate = max(generated / candidates, 0.02) / 1.2 if candidates else 1.0
        batch_size = min(MAX_BATCH, max(10, math.ceil((wanted - generated) / rate)))
        weights = [s / a for s, a in zip(successes, attempts)]
        batch = []
        # Patients of the inline tables the population reads come first (a
        # cohort from table_from_file can only take its own patients), each
        # tried again in later batches until it is in.
        batch_ids = itertools.chain(waiting, fresh)
        # Patients whose rows were settled without a consistency check.
        unsure: set = set()
        for n in range(max(batch_size, len(waiting))):
            # A batch of hard-to-make patients can outlast the time limit.
            if n % 64 == 63 and time.process_time() > deadline:
                break
            patient_id = next(batch_ids)
            chosen = goals.choose(rng) if goals and rng.random() < goals.share else None
            if chosen is None:
                index = rng.choices(range(len(prepared)), weights)[0]
                plan = prepared[index]
            else:
                index, plan = chosen
            given = {table: rows.get(patient_id) for table, rows in inline.items()}
            # A column's goal is not worth an inconsistent patient.
            made = _make_patient(
                plan, patient_id, rng, uniques, given, strict=chosen is not None
            )
            if made is None:
                goals.record(*index, False, checked=False)
                continue
            rows, consistent = made
            if not consistent:
                unsure.add(patient_id)
            batch.append((patient_id, index, rows))
        candidates += len(batch)
        accepted = _in_population(target, tables, batch)
        batch = realigner.realigned(target, tables, batch, accepted & unsure)
        unsure.clear()
        made_for_goals = []
        for patient_id, index, rows in batch:
            passed = patient_id in accepted
            chosen = index if isinstance(index, tuple) else None
            if passed and generated < wanted:
                generated += 1
                for table, table_rows in rows.items():
                    kept[table].extend(table_rows)
                # A patient made for a quota but missing it does not pass.
                passed = (
                    goals.credit(rows, chosen, _PatientValues(rows)) if goals else True
                )
            if chosen is not None:
                made_for_goals.append((chosen, passed))
            else:
                attempts[index] += 1
                successes[index] += passed
        # A goal group's candidates of one batch are judged together: the
        # passes are counted before the failures, so that a group is not
        # split for failures that come first in a large batch.
        for first in (True, False):
            for chosen, passed in made_for_goals:
                if passed is first:
                    goals.record(*chosen, passed)
        accepted_inline = accepted & set(waiting)
        waiting = [i for i in waiting if i not in accepted_inline]
        if progress is not None:
            progress(generated, wanted)
    return _SearchResult(kept, generated, candidates, False)


#: Once this many patients were offered realigned versions and none was
#: taken, the population is taken to force the inconsistency (an event after
#: death that it asks for): realigning stops for the rest of the run.
REALIGNMENT_TRIAL = 50


class _Realigner:
    """Realigns the inconsistent patients of one run's batches (`realigned`)."""

    def __init__(self):
        self.offered = 0
        self.taken = 0

    def realigned(
        self, target: qm.Series, tables: list, batch: list, accepted: set
    ) -> list:
        """The batch with each patient of `accepted` whose rows are
        inconsistent (`repair` could not move what the population forces)
        replaced by its first realigned version (`consistency.realigned_versions`)
        that the population still takes, where one does; the others as they
        were.

        Few patients need this, so their versions are checked one round at a
        time: every patient's first version together, then the second
        version of those still waiting, and so on. Until one is taken, only
        `REALIGNMENT_TRIAL` patients in all are tried.
        """
        rows_of = {patient_id: rows for patient_id, _, rows in batch}
        waiting = [
            patient_id
            for patient_id, _, rows in batch
            if patient_id in accepted and inconsistencies(rows)
        ]
        chosen: dict = {}
        if not self.taken:
            # A few patients first, to learn whether realigning works at all.
            trial = waiting[: max(0, REALIGNMENT_TRIAL - self.offered)]
            chosen = self._choose(target, tables, trial, rows_of)
            waiting = waiting[len(trial) :] if self.taken else []
        chosen.update(self._choose(target, tables, waiting, rows_of))
        return [
            (patient_id, index, chosen.get(patient_id, rows))
            for patient_id, index, rows in batch
        ]

    def _choose(self, target, tables: list, patient_ids: list, rows_of: dict) -> dict:
        """Patient id -> the first realigned version the population takes."""
        # Versions are made as they are tried: most patients take the first.
        versions_of = {
            patient_id: realigned_versions(rows_of[patient_id])
            for patient_id in patient_ids
        }
        trial = _next_versions(versions_of)
        self.offered += len(trial)
        chosen: dict = {}
        while trial:
            passed = _in_population(target, tables, trial)
            chosen.update((p, rows) for p, _, rows in trial if p in passed)
            for patient_id in passed:
                versions_of.pop(patient_id, None)
            trial = _next_versions(versions_of)
        self.taken += len(chosen)
        return chosen


def _next_versions(versions_of: dict) -> list:
    """(patient id, None, next version) for each patient with a version
    left; those with none left are dropped from `versions_of`."""
    trial = []
    for patient_id, versions in list(versions_of.items()):
        version = next(versions, None)
        if version is None:
            del versions_of[patient_id]
        else:
            trial.append((patient_id, None, version))
    return trial


def _inline_rows(target: qm.Series) -> dict:
    """Inline table node -> {patient id: row dict}, for the inline tables the
    population reads (those with positive integer ids, as generated ids are)."""
    found = {}
    for table in qm.get_table_nodes(target):
        if not isinstance(table, qm.InlinePatientTable):
            continue
        names = table.schema.column_names
        found[table] = {
            row[0]: dict(zip(names, row[1:]))
            for row in table.rows
            if isinstance(row[0], int) and not isinstance(row[0], bool) and row[0] > 0
        }
    return found


def generate_dummy_tables(
    dataset: qm.Dataset,
    population_size: int = 10,
    seed: int = 0,
    additional_population_constraint: qm.Series | None = None,
    timeout: float = 60.0,
    progress: Progress | None = None,
    quotas: tuple = (),
) -> dict:
    """Dummy rows for every table the dataset reads (inline tables excluded).

    Returns table node -> list of row dicts, each with `patient_id` and every
    column of the table. See `generate_dummy_data` for the report.
    """
    return generate_dummy_data(
        dataset,
        population_size,
        seed,
        additional_population_constraint,
        timeout,
        progress,
        quotas,
    ).tables


def _share_quota_parts(target: qm.Series, quotas: tuple) -> tuple:
    """(target, quotas) in which equal parts are the same object
    (`share_equal_subtrees`): quotas repeat their parts many times over, and
    the solver's and the checks' caches then find them by identity."""
    # Each as (condition, count, what to solve for).
    quotas = tuple(
        tuple((q[0], q[1], q[2] if len(q) > 2 else q[0]) for q in together)
        for together in quotas
    )
    conditions = list(
        dict.fromkeys(c for together in quotas for q in together for c in (q[0], q[2]))
    )
    if not conditions:
        return target, quotas
    shared = share_equal_subtrees(
        qm.Dataset(
            population=target,
            variables=qm.FrozenDict(
                {f"quota_{i}": condition for i, condition in enumerate(conditions)}
            ),
        )
    )
    same = dict(zip(conditions, shared.variables.values()))
    return shared.population, tuple(
        tuple((same[c], count, same[solve]) for c, count, solve in together)
        for together in quotas
    )


def _query_model_series(series) -> qm.Series | None:
    """The query model node of a constraint given as a node or as an ehrQL series."""
    if series is None or isinstance(series, qm.Series):
        return series
    node = getattr(series, "_qm_node", None)
    if isinstance(node, qm.Series):
        return node
    raise ValueError(
        f"additional_population_constraint must be a boolean patient series, not {series!r}"
    )


def _target_population(dataset: qm.Dataset, extra: qm.Series | None) -> qm.Series:
    target = dataset.population
    if extra is not None:
        if extra.type is not bool or not extra.domain.is_patient:
            raise ValueError(
                "additional_population_constraint must be a boolean patient series"
            )
        target = qm.Function.And(target, extra)
    parameters = sorted(
        {n.name for n in qm.all_nodes(target) if isinstance(n, qm.Parameter)}
    )
    if parameters:
        raise ValueError(
            "cannot generate dummy data for a population that depends on the "
            f"parameter(s) {', '.join(parameters)}: give them values first"
        )
    return target


def _all_tables(roots) -> set:
    return qm.get_table_nodes(*roots)


def _tables_to_generate(roots) -> list:
    """The tables needing rows, in the order they are drawn: each after the
    tables its rows' conditions read (`generation_order`)."""
    tables = [t for t in _all_tables(roots) if not isinstance(t, qm.InlinePatientTable)]
    return list(generation_order(tables, table_dependencies(roots)))


class _Infeasible(typing.NamedTuple):
    reason: str
    certain: bool


def _prepare(
    plan: Plan, tables: list, cache: ChoiceCache
) -> _PreparedPlan | _Infeasible:
    """Recipes for one plan, or why some required row cannot exist."""
    bans_by_table = _bans_by_table(plan)
    required = _required_recipes(plan, tables, cache, bans_by_table)
    if isinstance(required, _Infeasible):
        return required
    fillers = {}
    for table in tables:
        plausible = plausibility_check(table)
        recipe = _make_recipe(
            table,
            (),
            tuple(bans_by_table.get(table, ())),
            cache,
            (plausible,) if plausible else (),
            (),
            life_bounded_columns(table),
        )
        fillers[table] = recipe if recipe.feasible else None
    checks = tuple(
        expression
        for expression in (
            compile_row_expression(c, PATIENT_LEVEL) for c in plan.unsolved
        )
        if not expression.opaque
    )
    return _PreparedPlan(
        plan, tuple(required), fillers, _free_columns(plan, tables), checks
    )


def _make_recipe(table, conditions, bans, cache: ChoiceCache, *checks) -> object:
    """`make_recipe`, once for each set of arguments in a run: plans share
    most of their tables' recipes (a quota's plans differ from the next
    group's in the patient's row only)."""
    made = cache.__dict__.setdefault("_recipes", {})
    key = (table, conditions, bans, checks)
    if key not in made:
        made[key] = make_recipe(table, conditions, bans, cache, *checks)
    return made[key]


def _bans_by_table(plan: Plan) -> dict:
    grouped: dict = {}
    for ban in plan.bans:
        grouped.setdefault(ban.table, []).append(ban)
    return grouped


def _feasibility(tables: list, cache: ChoiceCache) -> Callable[[Plan], bool]:
    """Whether every row a plan requires can be drawn (for the solver to
    choose among too many alternatives)."""

    def feasible(plan: Plan) -> bool:
        recipes = _required_recipes(plan, tables, cache, _bans_by_table(plan))
        return not isinstance(recipes, _Infeasible)

    return feasible


def _required_recipes(
    plan: Plan, tables: list, cache: ChoiceCache, bans_by_table: dict
) -> list | _Infeasible:
    """(RowRecipe, count, distinct) for each row the plan requires, or why one cannot exist."""
    required = []
    # Rows that read the rows of their own table drawn before them (an
    # event sharing its consultation with another) come after those that
    # do not: drawn first, they would find none to read.
    for requirement in sorted(plan.requirements, key=_reads_own_table):
        if requirement.table not in tables:
            return _Infeasible(
                f"it needs rows of {requirement.table.name}, which is not generated",
                True,
            )
        bans = tuple(
            b for b in bans_by_table.get(requirement.table, ()) if b.applies_to_required
        )
        plausible = plausibility_check(requirement.table)
        recipe = _make_recipe(
            requirement.table,
            requirement.conditions,
            bans,
            cache,
            (),
            (plausible,) if plausible else (),
            life_bounded_columns(requirement.table),
        )
        if not recipe.feasible:
            return _Infeasible(recipe.infeasible_because, recipe.infeasible_for_certain)
        required.append((recipe, requirement.count, requirement.distinct))
    return required


def _reads_own_table(requirement) -> bool:
    """Whether a required row's conditions read other rows of its own table
    (those drawn before it)."""
    own = qm.root_table(requirement.table)
    return any(own in c.context_tables for c in requirement.conditions)


def _free_columns(plan: Plan, tables: list) -> frozenset:
    """The (table, column) pairs no requirement, ban or unsolved condition of the plan reads."""
    nodes = [c.node for r in plan.requirements for c in r.conditions]
    nodes += [e.node for b in plan.bans for e in (*b.when, *b.unless)]
    nodes += list(plan.unsolved)
    read = frozenset().union(*(_columns_read(node) for node in nodes))
    return frozenset(
        (table, column)
        for table in tables
        for column in table.schema.column_names
        if (table, column) not in read
    )


@per_run
def _columns_read(node: qm.Node) -> frozenset:
    # Cached: the same conditions recur in every plan and goal.
    return qm.columns_read(node)


def _make_patient(
    prepared: _PreparedPlan,
    patient_id: int,
    rng: random.Random,
    uniques,
    given: dict | None = None,
    strict: bool = False,
) -> tuple[dict, bool] | None:
    """One candidate patient: (table -> rows, following one plan; whether
    the rows are known to be consistent).

    `given` maps each inline table the population reads to the patient's
    row of it (or None): conditions may read it. A required row may depend
    on the patient's other rows (an event after
    their 60th birthday); when none can be found, or the rows tell an
    inconsistent story (`consistency`), the patient is drawn again, a few
    times, before settling for rows that may fail the final check — or,
    when `strict`, giving up (None) on a patient whose story stays inconsistent.
    """
    rows: dict = {}
    consistent = False
    # A goal is worth a few tries only: its patients are in the population anyway.
    attempts = (
        CHECKED_PATIENT_ATTEMPTS
        if prepared.patient_checks and not strict
        else PATIENT_ATTEMPTS
    )
    for attempt in range(attempts):
        settle = attempt == attempts - 1
        drawn = _draw_patient(prepared, rng, settle, given or {})
        if drawn is None:
            continue
        rows, filler_rows = drawn
        # Consistent across tables where the population allows; a patient the
        # population forces into inconsistency (an event after death, say) is
        # drawn again, then kept as it is.
        repair(rows, filler_rows, prepared.free_columns, prepared.fillers, rng)
        if settle:
            break
        if prepared.patient_checks and not _passes(
            prepared.patient_checks, rows, given or {}
        ):
            continue
        if attempt < PATIENT_ATTEMPTS - 1:
            if inconsistencies(rows):
                continue
            consistent = True
        break
    if strict and not consistent:
        if inconsistencies(rows):
            return None
        consistent = True
    return {
        table: [
            {
                "patient_id": patient_id,
                **uniques.make_unique(table, row, prepared.fillers[table], rng),
            }
            for row in table_rows
        ]
        for table, table_rows in rows.items()
    }, consistent


def _draw_patient(
    prepared: _PreparedPlan, rng: random.Random, settle: bool, given: dict
) -> tuple | None:
    """(table -> rows, ids of the filler rows) for one patient, or None if a
    required row failed and not `settle`."""
    rows: dict = {}
    filler_rows: set = set()
    context: dict = dict(given)
    # Every change below to an entry of the context, or to a list of rows in
    # it, gives that entry a new version (and the picks' answers a new
    # epoch): what was read from the entries before may be reused until one
    # of them changes.
    versions: dict = {}
    counter = itertools.count(1)
    context[CONTEXT_VERSION] = versions
    answers = context[PICK_ANSWERS] = PickAnswers()

    def changed(key) -> None:
        versions[key] = answers.epoch = next(counter)

    for table, filler in prepared.fillers.items():
        table_rows: list = []
        is_patient_table = isinstance(table, qm.OneRowPerPatientFrame)
        # A row compared with another frame of its own table reads the rows drawn before it.
        drawn = drawn_so_far(table.name)
        context[drawn] = table_rows
        changed(drawn)
        for recipe, count, distinct in prepared.required_by_table.get(table, ()):
            seen: set = set()
            for _ in range(count):
                row = _draw_required(recipe, distinct, seen, rng, context)
                if row is None:
                    if not settle:
                        return None
                    row = recipe.draw_unchecked(rng, context)
                table_rows.append(row)
                changed(drawn)
        if filler is not None and not (is_patient_table and table_rows):
            if is_patient_table:
                extra = 1 if rng.random() < _patient_row_share(table) else 0
            else:
                extra = rng.choices(FILLER_COUNTS, FILLER_WEIGHTS)[0]
            for _ in range(extra):
                row = filler.draw(rng, context)
                if row is not None:
                    table_rows.append(row)
                    filler_rows.add(id(row))
                    changed(drawn)
        # Later tables' conditions may read this patient's rows of this one.
        context[table.name] = (
            (table_rows[0] if table_rows else None) if is_patient_table else table_rows
        )
        changed(table.name)
        if is_patient_table:
            # Patient tables come first: once they are drawn the life is known.
            context.pop(LIFE_SPAN_KEY, None)
            context[LIFE_SPAN_KEY] = life_span(context)
        rows[table] = table_rows
    return rows, filler_rows


def _draw_required(recipe, distinct, seen: set, rng, context: dict) -> dict | None:
    """A required row; with `distinct`, one whose value of it is not in `seen` yet."""
    for _ in range(DISTINCT_ATTEMPTS if distinct is not None else 1):
        row = recipe.draw(rng, context)
        if row is None or distinct is None:
            return row
        value = distinct.evaluate(row, context)
        if value not in seen:
            seen.add(value)
            return row
    return None


def _patient_context(rows: dict, given: dict) -> dict:
    """One patient's rows (table -> rows) as row expressions read them."""
    context = dict(given)
    for table, table_rows in rows.items():
        if isinstance(table, qm.OneRowPerPatientFrame):
            context[table.name] = table_rows[0] if table_rows else None
        else:
            context[table.name] = table_rows
    return context


def _passes(checks: tuple, rows: dict, given: dict) -> bool:
    """Whether no check is known to fail on one patient's rows."""
    context = _patient_context(rows, given)
    for check in checks:
        outcome = check.evaluate({}, context)
        if outcome is not True and outcome is not UNKNOWN:
            return False
    return True


def _patient_row_share(table: qm.Frame) -> float:
    # Everyone has a row in the main `patients` table; other patient-level
    # tables (deaths, for instance) hold only some patients.
    return 1.0 if table.name == "patients" else OTHER_PATIENT_TABLE_SHARE


def _in_population(target: qm.Series, tables: list, batch: list) -> set:
    """The patient ids of the batch that the population takes in."""
    needed = qm.get_table_nodes(target)
    database = InMemoryDatabase(
        {
            table.name: [row for _, _, rows in batch for row in rows[table]]
            for table in tables
            if table in needed
        }
    )
    check = qm.Dataset(population=target, variables=qm.FrozenDict())
    return {row[0] for row in InMemoryQueryEngine(database).get_results(check)}


class _PatientValues:
    """Whether patient-level series are true for one patient, by the
    in-memory engine on their rows alone, every node evaluated once for all
    the series asked (made at the first question: most patients ask none)."""

    def __init__(self, rows: dict):
        self._rows = rows
        self._values = None

    def __call__(self, series: qm.Series) -> bool:
        if self._values is None:
            database = InMemoryDatabase(
                {table.name: table_rows for table, table_rows in self._rows.items()}
            )
            self._values = InMemoryQueryEngine(database).patient_values()
        values = self._values(series)
        return next(iter(values.values()), None) is True


def _renumber(tables: dict) -> dict:
    """Patient ids 1, 2, 3, ... in order, closing the gaps left by rejected candidates."""
    ids: dict = {}
    for rows in tables.values():
        for row in rows:
            ids.setdefault(row["patient_id"], None)
    mapping = {old: new for new, old in enumerate(sorted(ids), start=1)}
    return {
        table: [{**row, "patient_id": mapping[row["patient_id"]]} for row in rows]
        for table, rows in tables.items()
    }
