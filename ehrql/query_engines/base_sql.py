"""The SQL compiler: query model to SQLAlchemy Core, shared by every database.

A dataset compiles to a `CompiledDataset`: setup statements (temporary tables),
one final SELECT giving `(patient_id, *variables)` ordered by patient_id, and
cleanup statements. Database differences live in an `SQLDialect`; this module
decides the shape of the query:

* an event frame is a row source: a table, or a subquery selecting the rows of
  its parent that pass a filter. Sorting changes no rows, so sorts only matter
  where a row is picked;
* every patient-level result (a patient table, a picked row, an aggregation) is
  a relation with at most one row per patient, keyed by `patient_id`. A
  patient-level series is an expression over the columns of such relations,
  and whatever reads it LEFT JOINs them in by `patient_id`;
* the population is the patient_ids of every table the dataset reads, filtered
  by the population condition, kept in a temporary table that every variable
  is joined onto (only the tables the condition reads need scanning: see
  `_population_table`).

Each node compiles once per compilation (memoised by node), and each relation
is a named CTE, so the database can share work between its uses.

Each kind of node compiles in one `_Compiler` method, registered for its node
classes with `@_compiles("series" | "frame" | "aggregate", ...)`: a new
operation is one such method (or one entry in a spelling table such as
`_DIALECT_FUNCTIONS`, if a dialect building block computes it). Measures
compile every interval at once in `_IntervalCompiler`, which overrides the
few methods where that differs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import itertools
import operator
from collections.abc import Callable, Iterator

import sqlalchemy as sa
from sqlalchemy.sql import util as sql_util
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import ColumnClause, ColumnElement
from sqlalchemy.sql.selectable import FromClause

from ehrql.errors import (
    DUPLICATES_SHOWN,
    EHRQLError,
    duplicate_patient_id_error,
    integer_overflow_error,
)
from ehrql.query_engines.scans import Scan, plan_scans
from ehrql.query_engines.scratch_tables import temp_table
from ehrql.query_engines.sql_dialect import SQLDialect
from ehrql.query_model import nodes as qm
from ehrql.query_model.interval_totals import (
    INTERVAL_END,
    INTERVAL_START,
    IntervalTotals,
    TotalsRow,
    sorted_totals,
)
from ehrql.query_model.semantics import EMPTY_AGGREGATE, function_arguments

Function = qm.Function
Aggregate = qm.AggregateByPatient

#: How the compiler finds a database table: table node -> a FromClause with
#: `patient_id` and the schema's columns.
TableResolver = Callable[[qm.Frame], FromClause]

#: Given the population's patient_id column, a condition every patient in any
#: result must meet (None: no condition). Backends use it to leave out patients
#: who have opted out of their data being used.
PatientFilter = Callable[[ColumnElement], ColumnElement | None]


class UnfilledParameterError(EHRQLError):
    """A dataset still holds a parameter that was never given a value."""


@dataclasses.dataclass(frozen=True)
class CompiledDataset:
    """The statements that compute a dataset, in the order they run."""

    setup: tuple[str, ...]
    select: str
    cleanup: tuple[str, ...]
    #: (name, SELECT) for each event table: rows of (patient_id, *columns).
    event_selects: tuple[tuple[str, str], ...] = ()

    def all_statements(self) -> list[str]:
        """Every statement, setup first and cleanup last."""
        return [
            *self.setup,
            self.select,
            *(q for _, q in self.event_selects),
            *self.cleanup,
        ]


def compile_dataset(
    dataset: qm.Dataset,
    dialect: SQLDialect,
    resolve_table: TableResolver,
    patient_filter: PatientFilter | None = None,
    patient_id_type: type = int,
) -> CompiledDataset:
    """Compile a dataset's patient-level results to SQL text for `dialect`.

    `patient_id_type` is the series type of the database's patient ids (`int`,
    or `str` where a backend keys patients by text), which every intermediate
    table's `patient_id` column is declared with.
    """
    return _Compiler(dialect, resolve_table, patient_filter, patient_id_type).compile(
        dataset
    )


@dataclasses.dataclass(frozen=True)
class CompiledIntervalTotals:
    """The statements computing an `IntervalTotals`, and how to read their rows.

    The select gives (interval_id, *group values, *grouping flags, *sums),
    with a value for every column any grouping uses; a grouping flag is 1
    where the row's grouping leaves that column out.
    """

    statements: CompiledDataset
    group_columns: tuple[str, ...]
    groupings: tuple[tuple[str, ...], ...]

    def decode(self, rows) -> list[TotalsRow]:
        """The select's rows as (grouping index, interval index, group values, sums)."""
        width = len(self.group_columns)
        positions = {name: i for i, name in enumerate(self.group_columns)}
        if len({frozenset(g) for g in self.groupings}) == 1:
            # One set of group columns is a plain GROUP BY, with no flags.
            return sorted_totals(
                (
                    index,
                    row[0],
                    tuple(row[1 + positions[n]] for n in grouping),
                    tuple(row[1 + width :]),
                )
                for row in rows
                for index, grouping in enumerate(self.groupings)
            )
        # Groupings of the same columns in different orders share one set.
        by_flags: dict[tuple, list[int]] = {}
        for index, grouping in enumerate(self.groupings):
            flags = tuple(0 if n in grouping else 1 for n in self.group_columns)
            by_flags.setdefault(flags, []).append(index)
        decoded = []
        for row in rows:
            values, flags, sums = (
                row[1 : 1 + width],
                row[1 + width : 1 + 2 * width],
                row[1 + 2 * width :],
            )
            for index in by_flags[tuple(flags)]:
                group = tuple(values[positions[n]] for n in self.groupings[index])
                decoded.append((index, row[0], group, tuple(sums)))
        return sorted_totals(decoded)


def compile_interval_totals(
    query: IntervalTotals,
    dialect: SQLDialect,
    resolve_table: TableResolver,
    patient_filter: PatientFilter | None = None,
    patient_id_type: type = int,
) -> CompiledIntervalTotals:
    """Compile every interval of `query` into one SELECT, aggregated in the
    database (`patient_id_type` as for `compile_dataset`)."""
    return _IntervalCompiler(
        dialect, resolve_table, patient_filter, patient_id_type
    ).compile_totals(query)


def event_table_dataset(dataset: qm.Dataset, name: str) -> qm.Dataset:
    """The dataset's population with just its event table `name`, and no patient columns."""
    if name not in dataset.events:
        raise KeyError(f"the dataset has no event table named {name!r}")
    return qm.Dataset(
        population=dataset.population,
        variables=qm.FrozenDict(),
        events=qm.FrozenDict({name: dataset.events[name]}),
    )


def default_table(table: qm.Frame) -> FromClause:
    """A table node as a database table of the same name and columns."""
    return sa.table(
        table.name,
        *(sa.column(name) for name in ["patient_id", *table.schema.column_names]),
    )


def _referenced_relations(expressions, candidates) -> list[FromClause]:
    """The relations among `candidates` whose columns the expressions read, in first-use order."""
    found: dict = {}
    for expression in expressions:
        for element in visitors.iterate(expression):
            if isinstance(element, ColumnClause) and element.table is not None:
                if element.table in candidates and element.table not in found:
                    found[element.table] = None
    return list(found)


#: (what is compiled, node class) -> the name of the compiler method that
#: compiles it; filled in by `_compiles`. What is compiled is one of:
#: "series" (an expression, given the row source it is read on, or None for
#: patient level), "frame" (the relation holding a frame's rows) or "aggregate"
#: (the aggregate function computing a node over a group of rows).
_HANDLERS: dict[tuple[str, type], str] = {}


def _compiles(what: str, *classes: type) -> Callable:
    """Register the decorated `_Compiler` method as compiling `what` for nodes of `classes`.

    Handlers are looked up by method name, so that a subclass (such as the
    measures compiler) changes how a node compiles by overriding one method.
    """

    def register(method: Callable) -> Callable:
        for cls in classes:
            _HANDLERS[what, cls] = method.__name__
        return method

    return register


_AGGREGATES = (
    Aggregate.Sum,
    Aggregate.Mean,
    Aggregate.Min,
    Aggregate.Max,
    Aggregate.CountDistinct,
    Aggregate.Count,
    Aggregate.Exists,
)

#: Comparison node class -> its SQL operator.
_COMPARISONS = {
    Function.EQ: "=",
    Function.NE: "<>",
    Function.LT: "<",
    Function.LE: "<=",
    Function.GT: ">",
    Function.GE: ">=",
}

#: Binary function node class -> the SQLAlchemy operator spelling it.
_OPERATORS = {
    Function.And: sa.and_,
    Function.Or: sa.or_,
    Function.Add: operator.add,
    Function.Subtract: operator.sub,
    Function.Multiply: operator.mul,
}

#: Function node class -> the `SQLDialect` building block that computes it
#: from the node's compiled arguments (in `function_arguments` order).
_DIALECT_FUNCTIONS = {
    Function.TrueDivide: "true_divide",
    Function.Power: "power",
    Function.StringContains: "string_contains",
    Function.ToFirstOfYear: "to_first_of_year",
    Function.ToFirstOfMonth: "to_first_of_month",
    Function.DateAddDays: "date_add_days",
    Function.DateAddMonths: "date_add_months",
    Function.DateAddYears: "date_add_years",
    Function.DateDifferenceInDays: "date_difference_in_days",
    Function.DateDifferenceInMonths: "date_difference_in_months",
    Function.DateDifferenceInYears: "date_difference_in_years",
}

#: Cast node class -> the `SQLDialect` building block given the value and its type.
_CASTS = {
    Function.CastToInt: "cast_to_int",
    Function.CastToFloat: "cast_to_float",
    Function.CastToStr: "cast_to_str",
}

#: Date part node class -> the part, as the dialect's `date_part` names it.
_DATE_PARTS = {
    Function.YearFromDate: "year",
    Function.MonthFromDate: "month",
    Function.DayFromDate: "day",
}


def _only(where: ColumnElement | None, value: ColumnElement) -> ColumnElement:
    """`value` where `where` is true, else null: an aggregate's input counting only those rows.
    CASE rather than FILTER (WHERE ...), which SQL Server lacks."""
    return value if where is None else sa.case((where, value))


def _row_count(where: ColumnElement | None) -> ColumnElement:
    """COUNT(*) of the rows where `where` is true (all rows if None)."""
    return (
        sa.func.count()
        if where is None
        else sa.func.count(_only(where, sa.literal_column("1")))
    )


def _distinct_expressions(expressions: list[ColumnElement]) -> list[ColumnElement]:
    """`expressions` without repeats, in first-seen order: an ORDER BY key
    repeated (a sort column, then the same column as a tie-breaker) orders nothing more."""
    kept: list[ColumnElement] = []
    for expression in expressions:
        if not any(expression.compare(k) for k in kept):
            kept.append(expression)
    return kept


def _interval_ids(keys) -> list[ColumnElement]:
    """The interval keys of some rows (see `_Compiler._joined`) as output columns."""
    return [key.label("interval_id") for key in keys]


class _Compiler:
    """One compilation of one dataset; holds the memo tables and temp tables.

    Each node kind compiles in one method, registered with `_compiles`. This
    class compiles a dataset, one row per patient; `_IntervalCompiler`
    overrides the few methods that differ when every interval of a measure is
    computed at once.
    """

    def __init__(
        self,
        dialect: SQLDialect,
        resolve_table: TableResolver,
        patient_filter: PatientFilter | None = None,
        patient_id_type: type = int,
    ):
        self.dialect = dialect
        self.patient_id_type = patient_id_type
        self.resolve_table = resolve_table
        self.patient_filter = patient_filter
        self.setup: list[str] = []
        self.cleanup: list[str] = []
        self._memo: dict = {}
        # Relations with one row per patient, that expressions may join in.
        self._patient_relations: set = set()
        self._names: Iterator[int] = itertools.count(1)
        self._shared: frozenset = frozenset()
        self._key_only_picks: frozenset = frozenset()
        self._scans: dict = {}
        # Nodes whose value differs between a patient's rows of one relation
        # (none here: see `_IntervalCompiler`).
        self._varying: frozenset = frozenset()

    # -- entry point --------------------------------------------------------

    def compile(self, dataset: qm.Dataset) -> CompiledDataset:
        """All the statements for `dataset`; call once per compiler."""
        parameters = sorted(
            n.name for n in qm.all_nodes(dataset) if isinstance(n, qm.Parameter)
        )
        if parameters:
            raise UnfilledParameterError(
                f"the dataset uses parameters with no value: {', '.join(parameters)}"
            )
        self._shared = _shared_relation_nodes(dataset)
        self._key_only_picks = _key_only_picks(dataset)
        self._scans = _aggregation_scans(dataset, self._key_only_picks, self._varying)
        population = self._population_table(dataset)
        columns = [
            self.patient_series(s).label(name) for name, s in dataset.variables.items()
        ]
        query = (
            sa.select(population.c.patient_id, *columns)
            .select_from(self._joined(population, columns)[0])
            .order_by(population.c.patient_id)
        )
        events = tuple(
            (name, self.dialect.render(self._event_table(population, columns)))
            for name, columns in dataset.events.items()
        )
        return CompiledDataset(
            tuple(self.setup),
            self.dialect.render(query),
            tuple(reversed(self.cleanup)),
            events,
        )

    def _event_table(self, population: FromClause, columns) -> sa.Select:
        """The rows of an event table for patients in the population, in a fixed order."""
        domain = qm.Domain.union(*(c.domain for c in columns.values()))
        if domain.is_patient:
            raise TypeError("an event table needs at least one event-level column")
        rows = self.rows(domain.source)
        values = [
            self.row_series(c, domain.source).label(n) for n, c in columns.items()
        ]
        in_population = self._joined(rows, values)[0].join(
            population, population.c.patient_id == rows.c.patient_id
        )
        # Every column sorts, so that the order never depends on the database.
        sortable = [
            self.dialect.comparable(v.element, c.type)
            for v, c in zip(values, columns.values())
        ]
        order = [e.asc().nulls_first() for e in [rows.c.patient_id, *sortable]]
        return (
            sa.select(rows.c.patient_id, *values)
            .select_from(in_population)
            .order_by(*order)
        )

    def _population_table(self, dataset: qm.Dataset) -> FromClause:
        patient_id = self.dialect.column_type(self.patient_id_type)
        return self._temp_table(
            "population", [("patient_id", patient_id)], self._population_query(dataset)
        )

    def _population_query(self, dataset: qm.Dataset) -> sa.Select:
        # The population is every patient with a row in any table the dataset
        # reads for whom the condition is true. Only the tables the condition
        # itself reads need listing: for a patient with no row in any of them,
        # every value the condition reads is null or empty, which is exactly
        # the "patient with no records" case that query model validation has
        # already shown cannot make the condition true.
        tables = sorted(qm.get_table_nodes(dataset.population), key=_table_sort_key)
        selects = [sa.select(self._table_relation(t).c.patient_id) for t in tables]
        required = self._required_relation(dataset.population)
        if required is not None:
            # Only patients in this relation can meet the condition, and it has
            # a row per patient: no need to gather every table's patients. Read
            # as it is, the condition reads it without joining it to itself.
            all_ids = required
        else:
            all_ids = self._all_patients(selects).subquery("all_patients")
        condition = self.patient_series(dataset.population)
        joined, keys = self._population_rows(all_ids, condition)
        query = (
            sa.select(all_ids.c.patient_id, *_interval_ids(keys))
            .select_from(joined)
            .where(condition)
        )
        # Every result (dataset rows, event tables, measures) is joined to this
        # population, so a patient filtered out here can appear nowhere.
        allowed = (
            self.patient_filter(all_ids.c.patient_id) if self.patient_filter else None
        )
        if allowed is not None:
            query = query.where(allowed)
        return query

    def _all_patients(self, selects: list[sa.Select]) -> sa.Select:
        """The patient ids the `selects` give, once each."""
        if not selects:
            # A population built from constants alone reads no table: no patients.
            return sa.select(
                self.dialect.cast(sa.null(), self.patient_id_type).label("patient_id")
            ).where(sa.false())
        if len(selects) == 1:
            # UNION removes duplicates; a single table needs DISTINCT to do the same.
            return selects[0].distinct()
        return sa.union(*selects)

    def _population_rows(
        self, all_ids: FromClause, condition: ColumnElement
    ) -> tuple[FromClause, tuple]:
        """The rows the population condition is evaluated on, and their keys (see `_joined`)."""
        return self._joined(all_ids, [condition])

    def _required_relation(self, condition: qm.Series) -> FromClause | None:
        """A relation with one row per patient that the condition itself reads
        and that holds every patient meeting it: that of `exists_for_patient()`
        ANDed into the condition, over a picked row or over event rows."""
        if isinstance(condition, Function.And):
            left = self._required_relation(condition.lhs)
            return left if left is not None else self._required_relation(condition.rhs)
        if not isinstance(condition, Aggregate.Exists):
            return None
        if isinstance(condition.source, qm.PickOneRowPerPatient):
            relation = self.patient_frame(condition.source)
        elif isinstance(condition.source, qm.ManyRowsPerPatientFrame):
            relation = self._aggregation_column(condition)[0]
        else:
            return None
        return None if self._joined(relation, ())[1] else relation

    def _table_relation(self, table: qm.Frame) -> FromClause:
        """The relation of any table node, event-level or patient-level."""
        if isinstance(table, qm.ManyRowsPerPatientFrame):
            return self.rows(table)
        return self.patient_frame(table)

    # -- helpers ------------------------------------------------------------

    def _name(self, prefix: str) -> str:
        return f"{prefix}_{next(self._names)}"

    def _memoised(self, key, build):
        if key not in self._memo:
            self._memo[key] = build()
        return self._memo[key]

    def _handler(self, what: str, node: qm.Node) -> Callable:
        """The method compiling `what` for `node` (see `_compiles`)."""
        name = _HANDLERS.get((what, type(node)))
        if name is None:
            raise TypeError(
                f"the SQL compiler cannot compile {type(node).__name__} nodes as a {what}"
            )
        return getattr(self, name)

    def _joined(self, base: FromClause, expressions) -> tuple[FromClause, tuple]:
        """`base` with every patient-level relation the expressions read LEFT JOINed by patient.

        Also returns the keys, besides `patient_id`, that tell the joined rows
        of a patient apart: none here (see `_IntervalCompiler`).
        """
        joined = base
        for relation in _referenced_relations(
            expressions, self._patient_relations - {base}
        ):
            joined = joined.outerjoin(
                relation, relation.c.patient_id == base.c.patient_id
            )
        return joined, ()

    def _keyed(self, relation: FromClause, keys: tuple) -> FromClause:
        """Record that `relation` has a row per patient and `keys` (see `_joined`)."""
        return relation

    def _patient_relation(self, relation: FromClause) -> FromClause:
        self._patient_relations.add(relation)
        return relation

    def _temp_table(self, prefix: str, columns, query) -> sa.TableClause:
        table = temp_table(self._name(prefix), columns)
        self.setup.extend(self.dialect.create_temp_table(table, query))
        self.cleanup.extend(self.dialect.drop_temp_table(table))
        return table

    def _temp_table_from_rows(self, prefix: str, columns, rows) -> sa.TableClause:
        table = temp_table(self._name(prefix), columns)
        self.setup.extend(self.dialect.create_temp_table_from_rows(table, list(rows)))
        self.cleanup.extend(self.dialect.drop_temp_table(table))
        return table

    # -- frames -------------------------------------------------------------

    def rows(self, frame: qm.ManyRowsPerPatientFrame) -> FromClause:
        """The relation holding an event frame's rows: patient_id and every schema column."""
        source = qm.row_source(frame)
        return self._memoised(
            ("rows", source), lambda: self._handler("frame", source)(source)
        )

    def patient_frame(self, frame: qm.OneRowPerPatientFrame) -> FromClause:
        """The relation holding a patient frame: patient_id and every schema column."""
        return self._memoised(
            ("patient", frame),
            lambda: self._patient_relation(self._handler("frame", frame)(frame)),
        )

    @_compiles("frame", qm.SelectTable, qm.SelectPatientTable)
    def _table(self, frame: qm.SelectTable | qm.SelectPatientTable) -> FromClause:
        return self.resolve_table(frame)

    @_compiles("frame", qm.Filter)
    def _filter(self, frame: qm.Filter) -> FromClause:
        parent = self.rows(frame.source)
        condition = self.row_series(frame.condition, frame.source)
        joined, keys = self._filter_rows(frame, parent, condition)
        columns = [parent.c[n] for n in ["patient_id", *frame.schema.column_names]]
        query = (
            sa.select(*columns, *_interval_ids(keys))
            .select_from(joined)
            .where(condition)
        )
        return self._keyed(
            self.dialect.inline_cte(query.cte(self._name("filtered"))), keys
        )

    def _filter_rows(
        self, frame: qm.Filter, parent: FromClause, condition: ColumnElement
    ) -> tuple[FromClause, tuple]:
        """The rows a filter's condition is tested on, and their keys (see `_joined`)."""
        return self._joined(parent, [condition])

    @_compiles("frame", qm.InlinePatientTable)
    def _inline_table(self, frame: qm.InlinePatientTable) -> FromClause:
        names = ["patient_id", *frame.schema.column_names]
        types = [self.patient_id_type, *(t for _, t in frame.schema.column_types)]
        columns = [(n, self.dialect.column_type(t)) for n, t in zip(names, types)]
        # A definition writes patient ids as integers; a backend keying
        # patients by text holds the same id as its decimal digits.
        rows = (
            frame.rows
            if self.patient_id_type is int
            else [(str(r[0]), *r[1:]) for r in frame.rows]
        )
        return self._temp_table_from_rows("inline", columns, rows)

    @_compiles("frame", qm.PickOneRowPerPatient)
    def _pick(self, frame: qm.PickOneRowPerPatient) -> FromClause:
        parent = self.rows(frame.source)
        sort_keys = [
            self.row_series(k, frame.source) for k in qm.sort_keys(frame.source)
        ]
        # Ties are broken by every column, so the row picked is fully determined.
        order = _distinct_expressions(
            [
                *(
                    self.dialect.comparable(e, k.type)
                    for e, k in zip(sort_keys, qm.sort_keys(frame.source))
                ),
                *(
                    self.dialect.comparable(parent.c[n], t)
                    for n, t in frame.schema.column_types
                ),
            ]
        )
        joined, keys = self._joined(parent, sort_keys)
        columns = [
            *((n, parent.c[n]) for n in frame.schema.column_names),
            *(("interval_id", k) for k in keys),
        ]
        types = [
            ("patient_id", self.patient_id_type),
            *frame.schema.column_types,
            *(("interval_id", int) for _ in keys),
        ]
        query = self.dialect.pick_one_row_per_patient(
            joined,
            parent.c.patient_id,
            columns,
            order,
            last=frame.position is qm.Position.LAST,
            partition=keys,
        )
        return self._keyed(
            self._relation(frame in self._shared, "picked", query, types), keys
        )

    def _relation(self, materialise: bool, prefix: str, query, columns) -> FromClause:
        """A one-row-per-patient result as a CTE, or as a temporary table when
        both the population and the variables read it (they run as separate
        statements, so a CTE would be computed twice)."""
        if materialise:
            sql_columns = [(n, self.dialect.column_type(t)) for n, t in columns]
            return self._temp_table(prefix, sql_columns, query)
        return query.cte(self._name(prefix))

    # -- series -------------------------------------------------------------

    def patient_series(self, series: qm.Series) -> ColumnElement:
        """A patient-level series as an expression over patient-level relations."""
        return self._memoised(
            ("series", series, None),
            lambda: self._handler("series", series)(series, None),
        )

    def row_series(
        self, series: qm.Series, frame: qm.ManyRowsPerPatientFrame
    ) -> ColumnElement:
        """A series evaluated on each row of an event frame."""
        if series.domain.is_patient:
            return self.patient_series(series)
        source = qm.row_source(frame)
        return self._memoised(
            ("series", series, source),
            lambda: self._handler("series", series)(series, source),
        )

    def _child(self, series: qm.Series, frame) -> ColumnElement:
        return (
            self.patient_series(series)
            if frame is None
            else self.row_series(series, frame)
        )

    def _arguments(self, node: qm.Series, frame) -> list[ColumnElement]:
        """A function node's arguments, compiled in the order its semantics take them."""
        return [self._child(a, frame) for a in function_arguments(node)]

    @_compiles("series", qm.SelectColumn)
    def _select_column(self, node: qm.SelectColumn, frame) -> ColumnElement:
        if isinstance(node.source, qm.ManyRowsPerPatientFrame):
            return self.rows(frame).c[node.name]
        if node.source in self._key_only_picks:
            return self._picked_sort_key(node)
        return self.patient_frame(node.source).c[node.name]

    def _picked_sort_key(self, node: qm.SelectColumn) -> ColumnElement:
        """The primary sort key of a picked row, found without picking the row.

        Sorted ascending with nulls first, the last row holds the largest
        value (null only if all are), and the first row holds null if any
        row does, else the smallest value.
        """
        relation, name = self._aggregation_column(node.source)
        return relation.c[name]

    @_compiles("series", qm.Value)
    def _value(self, node: qm.Value, frame) -> ColumnElement:
        if isinstance(node.value, frozenset):
            raise TypeError("a set of values can only be used with is_in()")
        return self.dialect.literal(node.value)

    @_compiles("series", qm.Parameter)
    def _parameter(self, node: qm.Parameter, frame) -> ColumnElement:
        raise UnfilledParameterError(f"parameter '{node.name}' has no value")

    @_compiles("series", qm.Case)
    def _case(self, node: qm.Case, frame) -> ColumnElement:
        def value(v):
            return sa.null() if v is None else self._child(v, frame)

        whens = [(self._child(c, frame), value(v)) for c, v in node.cases.items()]
        return sa.case(*whens, else_=value(node.default))

    @_compiles("series", Function.In)
    def _in(self, node: Function.In, frame) -> ColumnElement:
        if isinstance(node.rhs, Aggregate.CombineAsSet):
            return self._in_patient_values(node, frame)
        lhs = self._child(node.lhs, frame)
        if not isinstance(node.rhs, qm.Value):
            raise TypeError("is_in() needs a constant collection of values")
        # A null in the set can never match (semantics compare with Python's
        # `in`, and no non-null value equals None), so it is dropped.
        values = sorted(
            {getattr(v, "value", v) for v in node.rhs.value if v is not None},
            key=lambda v: (str(type(v)), v),
        )
        if not values:
            # Nothing is in an empty collection, not even a null (see semantics).
            return sa.false()
        if len(values) <= self.dialect.max_in_list_size:
            return self.dialect.is_in(
                lhs, [self.dialect.literal(v) for v in values], node.lhs.type
            )
        table = self._value_set(node.rhs, values)
        return self.dialect.is_in(lhs, sa.select(table.c.value), node.lhs.type)

    def _in_patient_values(self, node: Function.In, frame) -> ColumnElement:
        """`x.is_in(event_series)`: whether x is one of the patient's non-null values of the series.

        Null where x is null. A patient-level x is the existence of a row of
        the series' frame holding x, which the compiler already knows how to
        build; a row-level x looks its value up, per row, among the patient's
        values (an EXISTS over them).
        """
        lhs = self._child(node.lhs, frame)
        source = node.rhs.source
        if frame is None:
            matching = qm.Filter(source.domain.source, Function.EQ(source, node.lhs))
            found = self.patient_series(Aggregate.Exists(matching))
        else:
            values = self._patient_values(source)
            outer = self.rows(frame)
            conditions = [
                values.c.patient_id == outer.c.patient_id,
                self.dialect.compare("=", values.c.value, lhs, source.type),
                *self._same_keys(values),
            ]
            found = sa.exists().where(*conditions)
        return sa.case((lhs.is_(None), sa.null()), else_=found)

    def _same_keys(self, values: FromClause) -> list[ColumnElement]:
        """Conditions matching `_patient_values` rows to the rows reading them,
        beyond the patient: none here (see `_IntervalCompiler`)."""
        return []

    def _patient_values(self, source: qm.Series) -> FromClause:
        """(patient_id, value) for each non-null value of an event series."""

        def build():
            frame = source.domain.source
            rows = self.rows(frame)
            value = self.row_series(source, frame)
            joined, keys = self._joined(rows, [value])
            query = sa.select(
                rows.c.patient_id, *_interval_ids(keys), value.label("value")
            ).select_from(joined)
            return query.where(value.is_not(None)).cte(self._name("patient_values"))

        return self._memoised(("patient_values", source), build)

    def _value_set(self, node: qm.Value, values) -> FromClause:
        def build():
            column_type = self.dialect.column_type(node.type.element_type)
            return self._temp_table_from_rows(
                "values", [("value", column_type)], [(v,) for v in values]
            )

        return self._memoised(("value_set", node), build)

    # -- functions: SQL for each function node, over its compiled arguments --

    @_compiles("series", *_COMPARISONS)
    def _comparison(self, node, frame) -> ColumnElement:
        lhs, rhs = self._arguments(node, frame)
        # Either side may be a null constant, which has no type of its own.
        return self.dialect.compare(
            _COMPARISONS[type(node)], lhs, rhs, node.lhs.type or node.rhs.type
        )

    @_compiles("series", *_OPERATORS)
    def _operator(self, node, frame) -> ColumnElement:
        return _OPERATORS[type(node)](*self._arguments(node, frame))

    @_compiles("series", Function.Not)
    def _not(self, node: Function.Not, frame) -> ColumnElement:
        return sa.not_(self._child(node.source, frame))

    @_compiles("series", Function.IsNull)
    def _is_null(self, node: Function.IsNull, frame) -> ColumnElement:
        return self._child(node.source, frame).is_(None)

    @_compiles("series", Function.FloorDivide)
    def _floor_divide(self, node: Function.FloorDivide, frame) -> ColumnElement:
        # Arithmetic is done in float if either side is a float.
        operand_type = float if float in {node.lhs.type, node.rhs.type} else int
        return self.dialect.floor_divide(*self._arguments(node, frame), operand_type)

    @_compiles("series", Function.Absolute)
    def _absolute(self, node: Function.Absolute, frame) -> ColumnElement:
        return sa.func.abs(self._child(node.source, frame))

    @_compiles("series", Function.Negate)
    def _negate(self, node: Function.Negate, frame) -> ColumnElement:
        return -self._child(node.source, frame)

    @_compiles("series", *_DIALECT_FUNCTIONS)
    def _dialect_function(self, node, frame) -> ColumnElement:
        return getattr(self.dialect, _DIALECT_FUNCTIONS[type(node)])(
            *self._arguments(node, frame)
        )

    @_compiles("series", *_CASTS)
    def _cast(self, node, frame) -> ColumnElement:
        return getattr(self.dialect, _CASTS[type(node)])(
            self._child(node.source, frame), node.source.type
        )

    @_compiles("series", *_DATE_PARTS)
    def _date_part(self, node, frame) -> ColumnElement:
        return self.dialect.date_part(
            _DATE_PARTS[type(node)], self._child(node.source, frame)
        )

    @_compiles("series", Function.MaximumOf)
    def _maximum_of(self, node: Function.MaximumOf, frame) -> ColumnElement:
        return self.dialect.greatest_ignoring_nulls(self._arguments(node, frame))

    @_compiles("series", Function.MinimumOf)
    def _minimum_of(self, node: Function.MinimumOf, frame) -> ColumnElement:
        return self.dialect.least_ignoring_nulls(self._arguments(node, frame))

    # -- aggregations -------------------------------------------------------

    @_compiles("series", Aggregate.CountEpisodes)
    def _count_episodes(self, node: Aggregate.CountEpisodes, frame) -> ColumnElement:
        """Episodes per patient: dates more than the maximum gap after the previous one (by LAG) start one."""

        def build():
            source = node.source.domain.source
            rows = self.rows(source)
            date = self.row_series(node.source, source)
            joined, keys = self._joined(rows, [date])
            partition = [rows.c.patient_id, *keys]
            previous = sa.func.lag(date).over(partition_by=partition, order_by=date)
            dated = (
                sa.select(
                    *(
                        c.label(n)
                        for c, n in zip(partition, ["patient_id", "interval_id"])
                    ),
                    date.label("event_date"),
                    previous.label("previous_date"),
                )
                .select_from(joined)
                .where(date.is_not(None))
                .subquery(self._name("dated"))
            )
            gap = self.dialect.date_difference_in_days(
                dated.c.event_date, dated.c.previous_date
            )
            starts = sa.case(
                (
                    sa.or_(
                        dated.c.previous_date.is_(None), gap > node.maximum_gap_days
                    ),
                    1,
                ),
                else_=0,
            )
            group = list(dated.c)[: len(partition)]
            query = sa.select(*group, sa.func.sum(starts).label("episodes")).group_by(
                *group
            )
            relation = self._keyed(query.cte(self._name("episodes")), keys)
            return self._patient_relation(relation)

        relation = self._memoised(("episodes", node), build)
        return sa.func.coalesce(
            self.dialect.cast(relation.c.episodes, int), EMPTY_AGGREGATE[type(node)]
        )

    @_compiles("series", Aggregate.Exists)
    def _exists(self, node: Aggregate.Exists, frame) -> ColumnElement:
        # A patient with no rows has no row in the relation, so its id is
        # null: false, as an empty aggregation means (semantics.EMPTY_AGGREGATE).
        if isinstance(node.source, qm.OneRowPerPatientFrame):
            return self.patient_frame(node.source).c.patient_id.is_not(None)
        relation, name = self._aggregation_column(node)
        if self._scan(node).conditions_of(node):
            # The scan reads rows this aggregation does not count.
            return sa.func.coalesce(relation.c[name], 0) > 0
        return relation.c.patient_id.is_not(None)

    @_compiles("series", *(a for a in _AGGREGATES if a is not Aggregate.Exists))
    def _aggregate(self, node, frame) -> ColumnElement:
        relation, name = self._aggregation_column(node)
        # A patient with no rows has no row in the relation: what an empty
        # aggregation means stands in for the null that would give.
        empty = EMPTY_AGGREGATE[type(node)]
        return (
            relation.c[name]
            if empty is None
            else sa.func.coalesce(relation.c[name], empty)
        )

    def _aggregation_column(self, node) -> tuple[FromClause, str]:
        """The GROUP BY relation computing an aggregation (or a picked sort key), and its column.

        Aggregations the planner (`scans.plan_scans`) put in one scan share
        one relation, so the rows are read once for all of them.
        """
        scan = self._scan(node)
        relation, names = self._memoised(
            ("aggregation", scan), lambda: self._aggregation(scan)
        )
        return relation, names[node]

    def _scan(self, node) -> Scan:
        return self._scans.get(node) or Scan(_aggregated_rows(node), (node,), ((),))

    def _aggregation(self, scan: Scan) -> tuple[FromClause, dict]:
        source, members = scan.rows, scan.members
        rows = self.rows(source)
        names = {n: f"value_{i}" for i, n in enumerate(members)}
        adapt = None
        conditions = list(dict.fromkeys(c for cs in scan.conditions for c in cs))
        if not conditions or self._joined(rows, ())[1]:
            wheres = [
                sa.and_(*(self.row_series(c, source) for c in cs)) if cs else None
                for cs in scan.conditions
            ]
        else:
            # Each member counts only the rows meeting its own filters'
            # conditions. Each condition is worked out once per row, in a
            # projection (where a database also turns a long IN list into a
            # hash lookup), not in every aggregate that reads it.
            joined, looked_up = self._code_lookups(
                source, rows, conditions, scan.conditions
            )
            flags = [
                (looked_up[c] if c in looked_up else self.row_series(c, source)).label(
                    f"condition_{i}"
                )
                for i, c in enumerate(conditions)
            ]
            flagged = (
                sa.select(*rows.c, *flags)
                .select_from(joined)
                .subquery(self._name("flagged"))
            )
            flag = dict(zip(conditions, (flagged.c[f.name] for f in flags)))
            wheres = [
                sa.and_(*(flag[c] for c in cs)) if cs else None
                for cs in scan.conditions
            ]
            adapt = sql_util.ClauseAdapter(flagged).traverse
            rows = flagged
        compiled = {
            n: self._handler("aggregate", n)(n, source, w)
            for n, w in zip(members, wheres)
        }
        values = [compiled[n][0] for n in members]
        if adapt is not None:
            values = [adapt(v) for v in values]
        values = [v.label(names[n]) for n, v in zip(members, values)]
        joined, keys = self._joined(rows, values)
        query = sa.select(rows.c.patient_id, *_interval_ids(keys), *values)
        query = query.select_from(joined).group_by(rows.c.patient_id, *keys)
        if all(w is not None for w in wheres):
            # Rows no member counts need not be grouped at all.
            query = query.where(sa.or_(*wheres))
        columns = [
            ("patient_id", self.patient_id_type),
            *((names[n], compiled[n][1]) for n in members),
            *(("interval_id", int) for _ in keys),
        ]
        materialise = any(n in self._shared for n in members)
        relation = self._relation(materialise, "aggregated", query, columns)
        return self._patient_relation(self._keyed(relation, keys)), names

    def _code_lookups(
        self, source, rows: FromClause, conditions, member_conditions
    ) -> tuple[FromClause, dict]:
        """`rows` joined to a lookup table per column that several `is_in` conditions
        test, and each such condition as a column of its lookup table.

        A lookup table holds each value in any of the column's sets once, with
        a 1 or 0 per set: one hash join finds which sets a row's value is in,
        where IN lists would be compared value by value in every row. When
        every member needs one of a column's sets, rows in none are dropped by
        the join (an inner join) before they are grouped.
        """
        by_column: dict = {}
        for condition in conditions:
            values = _constant_set(condition)
            if values is not None:
                # The same column, whichever filter of the rows it was selected from.
                by_column.setdefault(condition.lhs.name, []).append((condition, values))
        joined, looked_up = rows, {}
        for tests in by_column.values():
            if len(tests) < 2:
                continue
            column = tests[0][0].lhs
            everything = sorted(
                set().union(*(v for _, v in tests)), key=lambda v: (str(type(v)), v)
            )
            table = self._temp_table_from_rows(
                "lookup",
                [
                    ("value", self.dialect.column_type(column.type)),
                    *(
                        (f"in_{i}", self.dialect.column_type(int))
                        for i in range(len(tests))
                    ),
                ],
                [(v, *(int(v in values) for _, values in tests)) for v in everything],
            )
            on = self.dialect.compare(
                "=", table.c.value, self.row_series(column, source), column.type
            )
            needed = {c for c, _ in tests}
            if all(needed & set(cs) for cs in member_conditions):
                joined = joined.join(table, on)
            else:
                joined = joined.outerjoin(table, on)
            for i, (condition, _) in enumerate(tests):
                looked_up[condition] = table.c[f"in_{i}"] == 1
        return joined, looked_up

    # Each "aggregate" handler gives the aggregate function and the type of its
    # value, counting only the rows where `where` (if given) is true (see `_only`).

    @_compiles("aggregate", Aggregate.Exists, Aggregate.Count)
    def _count_rows(self, node, source, where=None) -> tuple[ColumnElement, type]:
        return _row_count(where), int

    @_compiles("aggregate", qm.PickOneRowPerPatient)
    def _picked_key_aggregate(
        self, node: qm.PickOneRowPerPatient, source, where=None
    ) -> tuple[ColumnElement, type]:
        # Sorted ascending with nulls first, the last row holds the largest
        # key (null only if all are), and the first row holds null if any
        # row does, else the smallest.
        primary = qm.sort_keys(node.source)[0]
        key = _only(where, self.rows(source).c[primary.name])
        if node.position is qm.Position.LAST:
            return self.dialect.maximum_aggregate(key, primary.type), primary.type
        smallest = self.dialect.minimum_aggregate(key, primary.type)
        return sa.case(
            (_row_count(where) > sa.func.count(key), sa.null()), else_=smallest
        ), primary.type

    @_compiles("aggregate", Aggregate.Sum)
    def _sum(
        self, node: Aggregate.Sum, source, where=None
    ) -> tuple[ColumnElement, type]:
        value = _only(where, self.row_series(node.source, source))
        return self.dialect.cast(sa.func.sum(value), node.type), node.type

    @_compiles("aggregate", Aggregate.Mean)
    def _mean(
        self, node: Aggregate.Mean, source, where=None
    ) -> tuple[ColumnElement, type]:
        return sa.func.avg(
            sa.cast(_only(where, self.row_series(node.source, source)), sa.Double())
        ), node.type

    @_compiles("aggregate", Aggregate.Min)
    def _min(
        self, node: Aggregate.Min, source, where=None
    ) -> tuple[ColumnElement, type]:
        return self.dialect.minimum_aggregate(
            _only(where, self.row_series(node.source, source)), node.type
        ), node.type

    @_compiles("aggregate", Aggregate.Max)
    def _max(
        self, node: Aggregate.Max, source, where=None
    ) -> tuple[ColumnElement, type]:
        return self.dialect.maximum_aggregate(
            _only(where, self.row_series(node.source, source)), node.type
        ), node.type

    @_compiles("aggregate", Aggregate.CountDistinct)
    def _count_distinct(
        self, node: Aggregate.CountDistinct, source, where=None
    ) -> tuple[ColumnElement, type]:
        value = _only(where, self.row_series(node.source, source))
        return sa.func.count(
            sa.distinct(self.dialect.comparable(value, node.source.type))
        ), node.type


class _IntervalCompiler(_Compiler):
    """Compiles every interval of a measures query at once.

    The intervals are a table. Whatever reads an interval's bounds has a row
    per patient and interval, keyed by `interval_id` (see `_joined`), while
    everything else keeps one row per patient and is computed once for all
    intervals. Only the methods below differ from a dataset's compilation.

    Pairing rows with intervals is where the time goes, so two common shapes
    avoid pairing every row with every interval: rows whose date lies within
    bounds of the interval (`date.is_during(INTERVAL)`) find their intervals
    by equality on the day (`_filter_rows`), and `exists_for_patient()` over
    rows that an interval bound must lie within (a registration in force on
    `INTERVAL.start_date`) is worked out from each patient's merged date
    ranges (`_exists_by_ranges`), with no grouping by patient and interval.
    Anything else is paired with the intervals table and filtered, which is
    correct whatever the condition.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The intervals table (made by `compile_totals`), and the relations
        # (and row sources) with a row per patient and interval, mapped to
        # their interval key.
        self._intervals: sa.TableClause | None = None
        self._interval_keys: dict = {}
        self._interval_bounds: tuple = ()

    def compile_totals(self, query: IntervalTotals) -> CompiledIntervalTotals:
        """All the statements for `query`; call once per compiler."""
        dataset = query.dataset
        self._varying = _parameter_dependent(dataset)
        self._key_only_picks = _key_only_picks(dataset)
        self._scans = _aggregation_scans(dataset, self._key_only_picks, self._varying)
        self._intervals = self._temp_table_from_rows(
            "intervals",
            [
                ("interval_id", sa.BigInteger()),
                ("interval_start", sa.Date()),
                ("interval_end", sa.Date()),
            ],
            [(i, start, end) for i, (start, end) in enumerate(query.intervals)],
        )
        self._interval_bounds = query.intervals
        population = self._population_table(dataset)
        group_columns = tuple(
            dict.fromkeys(n for grouping in query.groupings for n in grouping)
        )
        names = [*group_columns, *query.summed]
        # Group values are told apart as ehrQL does (text exactly, whatever the collation).
        values = [
            self.dialect.comparable(
                self.patient_series(dataset.variables[n]), dataset.variables[n].type
            ).label(f"value_{i}")
            for i, n in enumerate(names)
        ]
        # The population has a row per patient and interval, so its rows have an interval key.
        joined, (key,) = self._joined(population, values)
        per_patient = (
            sa.select(key.label("interval_id"), *values)
            .select_from(joined)
            .subquery("per_patient")
        )
        groups = [per_patient.c[f"value_{i}"] for i in range(len(group_columns))]
        summed = [
            per_patient.c[f"value_{i}"] for i in range(len(group_columns), len(names))
        ]
        interval_id = per_patient.c.interval_id
        if len({frozenset(g) for g in query.groupings}) > 1:
            # Each grouping is a roll-up of the finest one (by interval and
            # every group column), whose sums are summed again: over a few
            # rows per interval, where each grouping would otherwise read
            # every patient's row.
            finest = (
                sa.select(
                    interval_id,
                    *groups,
                    *(sa.func.sum(v).label(v.name) for v in summed),
                )
                .group_by(interval_id, *groups)
                .subquery("finest")
            )
            groups = [finest.c[g.name] for g in groups]
            summed = [finest.c[v.name] for v in summed]
            interval_id = finest.c.interval_id
        sums = [sa.func.coalesce(sa.func.sum(v), 0) for v in summed]
        if len({frozenset(g) for g in query.groupings}) == 1:
            select = sa.select(interval_id, *groups, *sums).group_by(
                interval_id, *groups
            )
        else:
            positions = dict(zip(group_columns, groups))
            column_sets = dict.fromkeys(frozenset(g) for g in query.groupings)
            sets = [
                sa.tuple_(interval_id, *(positions[n] for n in group_columns if n in g))
                for g in column_sets
            ]
            flags = [sa.func.grouping(g) for g in groups]
            select = sa.select(interval_id, *groups, *flags, *sums).group_by(
                sa.func.grouping_sets(*sets)
            )
        statements = CompiledDataset(
            tuple(self.setup),
            self.dialect.render(select),
            tuple(reversed(self.cleanup)),
        )
        return CompiledIntervalTotals(statements, group_columns, query.groupings)

    def _population_table(self, dataset: qm.Dataset) -> FromClause:
        # A patient is in the population of each interval in which the
        # condition holds. Read by one statement only, so a CTE will do.
        relation = self._population_query(dataset).cte(self._name("population"))
        self._interval_keys[relation] = relation.c.interval_id
        return relation

    def _population_rows(
        self, all_ids: FromClause, condition: ColumnElement
    ) -> tuple[FromClause, tuple]:
        joined, keys = self._joined(all_ids, [condition])
        if keys:
            return joined, keys
        # A condition that reads nothing of the interval holds (or not) in
        # every interval alike.
        return joined.join(self._intervals, sa.true()), (self._intervals.c.interval_id,)

    def _filter_rows(
        self, frame: qm.Filter, parent: FromClause, condition: ColumnElement
    ) -> tuple[FromClause, tuple]:
        # A row whose date must lie between bounds of the interval (such as
        # `date.is_during(INTERVAL)`) can only be in the intervals holding
        # that date: joining on the day, against a table of each interval's
        # days, finds them by equality, where a join with every interval
        # would test each row against each interval. The condition is still
        # tested in full on the rows found.
        days = self._interval_days(frame, parent)
        return self._joined(parent, [condition], days)

    def _interval_days(self, frame: qm.Filter, parent: FromClause):
        """(the row date, a table of (interval_id, day)) for a filter whose
        condition bounds one date of the row from both sides by the interval's
        parameters; None where it does not, or where that table would be large."""
        if self._interval_keys.get(parent) is not None:
            return None
        for node, (lower, upper) in _interval_date_bounds(frame.condition).items():
            date = self.row_series(node, frame.source)
            if _referenced_relations([date], self._patient_relations):
                continue
            table = self._memoised(
                ("interval_days", lower, upper),
                lambda lower=lower, upper=upper: self._days_table(lower, upper),
            )
            if table is not None:
                return date, table
        return None

    def _days_table(self, lower, upper) -> sa.TableClause | None:
        rows = []
        for interval_id, (start, end) in enumerate(self._interval_bounds):
            value = {INTERVAL_START: start, INTERVAL_END: end}
            first = max(value[p] for p in lower)
            last = min(value[p] for p in upper)
            for offset in range((last - first).days + 1):
                rows.append((interval_id, first + datetime.timedelta(days=offset)))
            if len(rows) > MAX_INTERVAL_DAYS:
                return None
        return self._temp_table_from_rows(
            "interval_days",
            [("interval_id", sa.BigInteger()), ("day", sa.Date())],
            rows,
        )

    def _joined(
        self, base: FromClause, expressions, days=None
    ) -> tuple[FromClause, tuple]:
        """As for a dataset, with the joined rows' interval key: none when
        nothing read varies by interval. When something does but `base` does
        not, each row of `base` is repeated for every interval (a join with
        the intervals table) before the per-interval relations are joined on
        patient and interval; or, given `days` (a date of `base`'s rows and a
        table of each interval's days, see `_filter_rows`), only for the
        intervals holding that date.
        """
        candidates = (self._patient_relations - {base}) | {self._intervals}
        joined, key = base, self._interval_keys.get(base)
        intervals_joined = False

        def join_intervals():
            nonlocal joined, key, intervals_joined
            if not intervals_joined:
                on = sa.true() if key is None else self._intervals.c.interval_id == key
                if key is None and days is not None:
                    date, table = days
                    joined = joined.join(table, table.c.day == date)
                    on = self._intervals.c.interval_id == table.c.interval_id
                joined = joined.join(self._intervals, on)
                key = self._intervals.c.interval_id if key is None else key
                intervals_joined = True

        for relation in _referenced_relations(expressions, candidates):
            if relation is self._intervals:
                join_intervals()
                continue
            on = relation.c.patient_id == base.c.patient_id
            if relation in self._interval_keys:
                if key is None:
                    join_intervals()
                on = sa.and_(on, self._interval_keys[relation] == key)
            joined = joined.outerjoin(relation, on)
        return joined, () if key is None else (key,)

    def _keyed(self, relation: FromClause, keys: tuple) -> FromClause:
        if keys:
            self._interval_keys[relation] = relation.c.interval_id
        return relation

    def _aggregation_column(self, node) -> tuple[FromClause, str]:
        if isinstance(node, Aggregate.Exists):
            relation = self._memoised(
                ("interval_ranges", node), lambda: self._exists_by_ranges(node)
            )
            if relation is not None:
                return relation, "value_0"
        return super()._aggregation_column(node)

    def _exists_by_ranges(self, node: Aggregate.Exists) -> FromClause | None:
        """For `exists_for_patient()` over rows that one interval bound must
        lie within bounds read from the row (a registration in force on
        `INTERVAL.start_date`, say): a relation with a row per patient and
        interval in which some row qualifies; None for other rows.

        Each row's bounds are a range of dates; a patient's overlapping ranges
        are merged (islands, by window functions), and the merged ranges
        joined to the intervals whose bound lies in one. A patient's merged
        ranges are disjoint, so each interval is found once, with no grouping
        by patient and interval (as many rows as the population) to remove
        repeats.
        """
        conditions, chain, base = [], set(), node.source
        while base in self._varying and isinstance(base, (qm.Filter, qm.Sort)):
            if isinstance(base, qm.Filter):
                conditions.extend(_conjuncts(base.condition))
            chain.add(base)
            base = base.source
        if not conditions or base in self._varying or not self._interval_bounds:
            return None
        # Every filter's columns are those of `base`'s rows, read through
        # the filters below it: those do not make a condition read the interval.
        through = frozenset(chain)
        plain = [c for c in conditions if not _reads_parameter(c, through)]
        found = [
            _interval_bounds(c, through)
            for c in conditions
            if _reads_parameter(c, through)
        ]
        if None in found:
            return None
        bounds = [b for bs in found for b in bs]
        if len({b.parameter for b in bounds}) != 1:
            return None
        rows = self.rows(base)
        if self._interval_keys.get(rows) is not None:
            return None
        parameter = bounds[0].parameter
        values = [
            start if parameter == INTERVAL_START else end
            for start, end in self._interval_bounds
        ]
        wheres = [self.row_series(c, base) for c in plain]
        lows, highs = (
            [self.dialect.literal(min(values))],
            [self.dialect.literal(max(values))],
        )
        for bound in bounds:
            value = self.row_series(bound.value, base)
            if bound.strict:
                value = self.dialect.date_add_days(value, 1 if bound.lower else -1)
            if bound.unless is not None:
                # Where `unless` holds, every interval meets the condition;
                # elsewhere (false or null) the bound must.
                unless = self.row_series(bound.unless, base)
                value = sa.case(
                    (unless, lows[0] if bound.lower else highs[0]), else_=value
                )
            lifted_where_null = (
                isinstance(bound.unless, Function.IsNull)
                and bound.unless.source == bound.value
            )
            if bound.strict or not lifted_where_null:
                wheres.append(value.is_not(None))
            (lows if bound.lower else highs).append(value)
        low = lows[0] if len(lows) == 1 else self.dialect.greatest_ignoring_nulls(lows)
        high = highs[0] if len(highs) == 1 else self.dialect.least_ignoring_nulls(highs)
        joined, keys = self._joined(rows, [*wheres, low, high])
        if keys:
            return None
        # Ranges that are empty (low after high) are kept: they meet no
        # interval, nor join two ranges into one (a range joins the one
        # before only if its low is within reach, and then its high, below
        # its low, reaches no further). Leaving them in keeps the database's
        # estimate of the rows from guessing far too few patients per
        # interval, which makes it hash the population (every patient in
        # every interval) instead of the smaller relations it is joined to.
        ranges = (
            sa.select(rows.c.patient_id, low.label("low"), high.label("high"))
            .select_from(joined)
            .where(*wheres)
            .subquery(self._name("ranges"))
        )
        order = [ranges.c.low, ranges.c.high]
        reach = sa.func.max(ranges.c.high).over(
            partition_by=ranges.c.patient_id, order_by=order, rows=(None, -1)
        )
        reached = sa.select(*ranges.c, reach.label("reach")).subquery(
            self._name("reached")
        )
        starts = sa.case(
            (sa.or_(reached.c.reach.is_(None), reached.c.low > reached.c.reach), 1),
            else_=0,
        )
        island = sa.func.sum(starts).over(
            partition_by=reached.c.patient_id,
            order_by=[reached.c.low, reached.c.high],
            rows=(None, 0),
        )
        islands = sa.select(*reached.c, island.label("island")).subquery(
            self._name("islands")
        )
        merged = (
            sa.select(
                islands.c.patient_id,
                sa.func.min(islands.c.low).label("low"),
                sa.func.max(islands.c.high).label("high"),
            )
            .group_by(islands.c.patient_id, islands.c.island)
            .subquery(self._name("merged"))
        )
        bound = self._intervals.c[_INTERVAL_COLUMNS[parameter]]
        query = sa.select(
            merged.c.patient_id,
            self._intervals.c.interval_id.label("interval_id"),
            sa.literal(1).label("value_0"),
        ).select_from(
            merged.join(
                self._intervals,
                sa.and_(bound >= merged.c.low, bound <= merged.c.high),
            )
        )
        relation = query.cte(self._name("in_ranges"))
        self._interval_keys[relation] = relation.c.interval_id
        return self._patient_relation(relation)

    def _parameter(self, node: qm.Parameter, frame) -> ColumnElement:
        if node.name in _INTERVAL_COLUMNS:
            return self._intervals.c[_INTERVAL_COLUMNS[node.name]]
        return super()._parameter(node, frame)

    def _same_keys(self, values: FromClause) -> list[ColumnElement]:
        # Values that differ by interval: reading the intervals table makes
        # whatever reads this expression take a row per interval (see
        # `_joined`), matched here.
        if "interval_id" in values.c:
            return [values.c.interval_id == self._intervals.c.interval_id]
        return []


def _shared_relation_nodes(dataset: qm.Dataset) -> frozenset:
    """Picked frames and aggregations read both by the population and by some variable."""

    def relation_nodes(*roots):
        return {
            n
            for root in roots
            for n in qm.all_nodes(root)
            if isinstance(n, (qm.PickOneRowPerPatient, *_AGGREGATES))
        }

    outputs = [
        *dataset.variables.values(),
        *(c for cs in dataset.events.values() for c in cs.values()),
    ]
    return frozenset(relation_nodes(dataset.population) & relation_nodes(*outputs))


def _key_only_picks(dataset: qm.Dataset) -> frozenset:
    """Picked frames from which only the primary sort key's column is read.

    Such a value is a plain minimum or maximum (see the dialect's
    `minimum_aggregate`), which is far cheaper than picking whole rows.
    """
    uses: dict = {}
    for parent in qm.all_nodes(dataset):
        for child in parent.children():
            if isinstance(child, qm.PickOneRowPerPatient):
                uses.setdefault(child, set()).add(
                    parent.name if isinstance(parent, qm.SelectColumn) else None
                )
    result = set()
    for pick, used in uses.items():
        primary = qm.sort_keys(pick.source)[0]
        if (
            isinstance(primary, qm.SelectColumn)
            # A patient-level sort key may share the column's name.
            and isinstance(primary.source, qm.ManyRowsPerPatientFrame)
            and used == {primary.name}
        ):
            result.add(pick)
    return frozenset(result)


def _aggregated_rows(node) -> qm.ManyRowsPerPatientFrame:
    """The row source an aggregation (or a picked sort key) groups: that of
    the frame it counts or picks from, or of the series it aggregates."""
    if isinstance(node.source, qm.Frame):
        return qm.row_source(node.source)
    return node.source.domain.source


def _aggregation_scans(
    dataset: qm.Dataset, key_only_picks: frozenset, varying: frozenset = frozenset()
) -> dict:
    """Aggregation -> the scan (`scans.Scan`) computing it with others in one GROUP BY.

    Only aggregations whose values read nothing patient-level are grouped:
    a value read from another aggregation might come from the same group,
    which would make the group's query depend on itself. Aggregations that
    vary by interval are kept apart from those that don't, which would
    otherwise be computed once per interval for nothing.
    """
    blocked = (
        qm.PickOneRowPerPatient,
        qm.SelectPatientTable,
        qm.InlinePatientTable,
        *_AGGREGATES,
    )

    # A folded condition is worked out on the scanned rows alone, so it may
    # read nothing computed per patient (not even a set of the patient's values).
    unfoldable = (*blocked, Aggregate._Base)

    def can_fold(frame: qm.Filter) -> bool:
        return not _reads_interval(frame) and not any(
            isinstance(n, unfoldable) for n in qm.all_nodes(frame.condition)
        )

    groups: dict = {}
    for node in qm.all_nodes(dataset):
        if isinstance(node, (Aggregate.Count, Aggregate.Exists)):
            if not isinstance(node.source, qm.ManyRowsPerPatientFrame):
                continue
        elif isinstance(node, _AGGREGATES):
            if any(isinstance(n, blocked) for n in qm.all_nodes(node.source)):
                continue
        elif node not in key_only_picks:
            continue
        groups.setdefault((_aggregated_rows(node), node in varying), []).append(node)
    return plan_scans(groups, can_fold, lambda frame: frame in varying)


def _reads_interval(frame: qm.Filter) -> bool:
    """Whether a filter's condition reads the interval's bounds, other than
    through the rows it filters."""
    return _reads_parameter(
        frame.condition, frozenset({frame.source, qm.row_source(frame.source)})
    )


def _reads_parameter(node: qm.Node, through: frozenset = frozenset()) -> bool:
    """Whether `node` reads a parameter (an interval's bound), other than
    through the frames `through`: rows whose columns are the same whichever
    interval they were paired with."""
    seen, stack = set(), [node]
    while stack:
        node = stack.pop()
        if node in seen or node in through:
            continue
        if isinstance(node, qm.Parameter):
            return True
        seen.add(node)
        stack.extend(node.children())
    return False


def _constant_set(condition: qm.Series) -> frozenset | None:
    """The values of `column.is_in(constant values)` on a row frame's column (nulls
    dropped, codes as their strings); None for any other condition."""
    if not (
        isinstance(condition, Function.In)
        and isinstance(condition.rhs, qm.Value)
        and isinstance(condition.lhs, qm.SelectColumn)
        and isinstance(condition.lhs.source, qm.ManyRowsPerPatientFrame)
    ):
        return None
    values = frozenset(
        getattr(v, "value", v) for v in condition.rhs.value if v is not None
    )
    return values or None


def _table_sort_key(table: qm.Frame):
    return (getattr(table, "name", ""), repr(table))


def _parameter_dependent(root: qm.Node) -> frozenset:
    """The nodes under `root` whose values depend on a parameter (the measure's interval)."""
    dependent: set = set()
    for node in qm.all_nodes(root):  # children come before their parents
        if isinstance(node, qm.Parameter) or any(
            c in dependent for c in node.children()
        ):
            dependent.add(node)
    return frozenset(dependent)


#: The most rows of (interval, day) that a join on an event's date is made
#: through (see `_IntervalCompiler._filter_rows`): about 270 years of
#: intervals, each day once, or a few years of long overlapping ones.
MAX_INTERVAL_DAYS = 100_000

#: Comparison -> the comparison with its sides swapped.
_FLIPPED = {
    Function.GE: Function.LE,
    Function.GT: Function.LT,
    Function.LE: Function.GE,
    Function.LT: Function.GT,
    Function.EQ: Function.EQ,
}


def _conjuncts(condition: qm.Series) -> list[qm.Series]:
    if isinstance(condition, Function.And):
        return [*_conjuncts(condition.lhs), *_conjuncts(condition.rhs)]
    return [condition]


def _interval_date_bounds(condition: qm.Series) -> dict:
    """Date series -> (the interval parameters it must be on or after, those
    it must be on or before), for each series that `condition` (read as a
    conjunction) bounds from both sides by the interval's parameters and that
    reads nothing of the interval itself."""
    bounds: dict = {}
    for conjunct in _conjuncts(condition):
        for bound in _comparison_bounds(conjunct):
            after, before = bounds.setdefault(bound.value, (set(), set()))
            # The parameter on or before the value: the value on or after it.
            (before if bound.lower else after).add(bound.parameter)
    return {
        value: (tuple(sorted(after)), tuple(sorted(before)))
        for value, (after, before) in bounds.items()
        if after and before
    }


@dataclasses.dataclass(frozen=True)
class _IntervalBound:
    """A condition that an interval parameter lies on one side of a row's value."""

    parameter: str
    value: qm.Series
    #: The parameter must be on or after the value (else on or before it).
    lower: bool
    #: Not on the value itself.
    strict: bool
    #: A condition of the row that, where true, lifts the bound (such as
    #: `value.is_null()` in `value >= parameter | value.is_null()`).
    unless: qm.Series | None = None


#: Comparison `parameter OP value` -> (lower, strict) of each bound it sets.
_PARAMETER_SIDES = {
    Function.GE: ((True, False),),
    Function.GT: ((True, True),),
    Function.LE: ((False, False),),
    Function.LT: ((False, True),),
    Function.EQ: ((True, False), (False, False)),
}


def _comparison_bounds(
    condition: qm.Series, through: frozenset = frozenset()
) -> list[_IntervalBound]:
    """The bounds a comparison of an interval parameter with a date that reads
    nothing of the interval (but through the frames `through`, see
    `_reads_parameter`) sets on the parameter (two for equality); none for
    any other condition."""
    if type(condition) not in _PARAMETER_SIDES:
        return []
    comparison, parameter, value = type(condition), condition.lhs, condition.rhs
    if isinstance(value, qm.Parameter):
        comparison, parameter, value = _FLIPPED[comparison], value, parameter
    if (
        not isinstance(parameter, qm.Parameter)
        or parameter.name not in _INTERVAL_COLUMNS
        or value.type is not datetime.date
        or _reads_parameter(value, through)
    ):
        return []
    return [
        _IntervalBound(parameter.name, value, lower, strict)
        for lower, strict in _PARAMETER_SIDES[comparison]
    ]


def _interval_bounds(
    condition: qm.Series, through: frozenset
) -> list[_IntervalBound] | None:
    """`condition` as bounds on an interval parameter by dates that read
    nothing of the interval (but through the frames `through`), a bound
    optionally lifted where another condition of the row holds (`| other`);
    None for any other condition."""
    if isinstance(condition, Function.Or):
        for bound, other in [
            (condition.lhs, condition.rhs),
            (condition.rhs, condition.lhs),
        ]:
            found = _comparison_bounds(bound, through)
            if len(found) == 1 and not _reads_parameter(other, through):
                return [dataclasses.replace(found[0], unless=other)]
        return None
    return _comparison_bounds(condition, through) or None


#: Interval parameter -> its column in the compiler's intervals table.
_INTERVAL_COLUMNS = {INTERVAL_START: "interval_start", INTERVAL_END: "interval_end"}


@dataclasses.dataclass(frozen=True)
class PatientTableCheck:
    """A query giving the first repeated patient ids of a patient-level table (none: fine)."""

    table_name: str
    sql: str

    def raise_for(self, rows, where: str) -> None:
        """Raise DuplicatePatientIdError if the query gave any rows; `where` names the table's source."""
        if rows:
            raise duplicate_patient_id_error(
                self.table_name, where, [row[0] for row in rows]
            )


class BaseSQLQueryEngine:
    """What every SQL engine shares: compiling a dataset for its dialect.

    Subclasses set `dialect`, say how to find each table (`resolve_table`) and
    run compiled statements (`run_compiled`).
    """

    dialect: SQLDialect
    #: The backend mapping ehrQL's tables onto the database's, if any.
    backend = None
    #: Permissions the connection was granted (e.g. to include opted-out patients).
    permissions: frozenset = frozenset()

    def resolve_table(self, table: qm.Frame) -> FromClause:
        """The relation holding a table's rows: the backend's mapping of it, less any
        rows its access rules keep back from a job holding `permissions`; with no
        backend, by default the table of that name.

        Excluded patients are not filtered here: the compiler applies the
        backend's inclusion condition to the population (`patient_filter`).
        """
        if self.backend is not None:
            return self.backend.resolve_table(table, self.permissions)
        return default_table(table)

    def grant(self, permissions) -> None:
        """Add `permissions` (those the job holds, e.g. from `EHRQL_PERMISSIONS`)
        to any the DSN granted; the backend refuses one it cannot grant.

        They can only lift the backend's access rules: with no backend there
        are none, and nothing is granted.
        """
        if self.backend is not None:
            self.permissions = self.backend.check_permissions(
                self.permissions | frozenset(permissions)
            )

    def patient_filter(self) -> PatientFilter | None:
        """The backend's condition on which patients may appear in results, if any."""
        if self.backend is None:
            return None
        backend, permissions = self.backend, self.permissions
        return lambda patient_id: backend.inclusion_condition(patient_id, permissions)

    def compile(self, dataset: qm.Dataset) -> CompiledDataset:
        """The statements computing `dataset` on this engine's database."""
        return compile_dataset(
            dataset,
            self.dialect,
            self.resolve_table,
            self.patient_filter(),
            self._patient_id_type(),
        )

    def _patient_id_type(self) -> type:
        return int if self.backend is None else self.backend.patient_id_type

    def patient_table_checks(self, dataset: qm.Dataset) -> list[PatientTableCheck]:
        """One query per patient-level table `dataset` reads, finding repeated patient ids.

        A patient table with two rows for a patient would silently repeat that
        patient's output rows (and double-count them in measures), so engines
        run these after their setup and before the results. Each is one
        grouping over `patient_id` alone, cheap next to the dataset's own query.
        """
        tables = [
            t
            for t in qm.get_table_nodes(dataset)
            if isinstance(t, qm.SelectPatientTable)
        ]
        checks = []
        for table in sorted(tables, key=lambda t: t.name):
            patient_id = self.resolve_table(table).c.patient_id
            query = (
                sa.select(patient_id)
                .group_by(patient_id)
                .having(sa.func.count() > 1)
                .order_by(patient_id)
                .limit(DUPLICATES_SHOWN + 1)
            )
            checks.append(PatientTableCheck(table.name, self.dialect.render(query)))
        return checks

    def get_queries(self, dataset: qm.Dataset) -> list[str]:
        """The SQL text that would run for `dataset`, in order."""
        return self.compile(dataset).all_statements()

    def with_table_reads(
        self, dataset: qm.Dataset, compiled: CompiledDataset
    ) -> CompiledDataset:
        """`compiled` with any statements the engine needs to make `dataset`'s tables readable."""
        return compiled

    def compile_totals(self, query: IntervalTotals) -> CompiledIntervalTotals:
        """The statements computing `query` on this engine's database."""
        compiled = compile_interval_totals(
            query,
            self.dialect,
            self.resolve_table,
            self.patient_filter(),
            self._patient_id_type(),
        )
        statements = self.with_table_reads(query.dataset, compiled.statements)
        return dataclasses.replace(compiled, statements=statements)

    #: `get_interval_totals` takes a `progress` function.
    reports_interval_progress = True

    #: Intervals computed by one SELECT; None: all of them. Database servers
    #: spill large intermediate results to disk, so they take every interval
    #: at once; an embedded engine may need to bound its memory (see DuckDB's).
    max_intervals_per_query: int | None = None

    def get_interval_totals(
        self, query: IntervalTotals, progress: Callable[[int], None] | None = None
    ) -> list[TotalsRow]:
        """Totals per interval and group (see `IntervalTotals`): one SELECT for
        all the intervals, or for every `max_intervals_per_query` of them.

        `progress`, if given, is called with the number of intervals done
        after each SELECT.
        """
        rows = []
        step = self.max_intervals_per_query or max(len(query.intervals), 1)
        for offset in range(0, len(query.intervals), step):
            part = dataclasses.replace(
                query, intervals=query.intervals[offset : offset + step]
            )
            compiled = self.compile_totals(part)
            for grouping, interval, key, sums in compiled.decode(
                self.run_compiled(part.dataset, compiled.statements)
            ):
                rows.append((grouping, interval + offset, key, sums))
            if progress is not None:
                progress(offset + len(part.intervals))
        return sorted_totals(rows)

    def get_results(self, dataset: qm.Dataset) -> Iterator[tuple]:
        """Rows of (patient_id, *variables) ordered by patient_id, streamed from the database."""
        with self.overflow_named(dataset):
            yield from self.run_compiled(dataset, self.compile(dataset))

    @contextlib.contextmanager
    def overflow_named(self, dataset: qm.Dataset) -> Iterator[None]:
        """Turn the database refusing an integer beyond 64 bits, raised inside
        the block, into the data error naming the column that overflows."""
        try:
            yield
        except Exception as error:
            if not self.is_integer_overflow(error):
                raise
            raise integer_overflow_error(self._overflowing_part(dataset)) from error

    def is_integer_overflow(self, error: Exception) -> bool:
        """Whether `error` is the database refusing an integer beyond 64 bits."""
        return False

    def _overflowing_part(self, dataset: qm.Dataset) -> str:
        """Which column (or the population) overflows, found by running each alone.

        Databases do not say where; this only runs once a run has failed.
        """
        parts = [("the population", qm.FrozenDict({}))]
        parts += [
            (f"column '{name}'", qm.FrozenDict({name: s}))
            for name, s in dataset.variables.items()
        ]
        for what, variables in parts:
            alone = qm.Dataset(
                population=dataset.population,
                variables=variables,
                events=qm.FrozenDict({}),
            )
            try:
                for _ in self.run_compiled(alone, self.compile(alone)):
                    pass
            except Exception as error:
                if self.is_integer_overflow(error):
                    return what
                raise
        return "a column"

    def get_event_table_results(
        self, dataset: qm.Dataset, name: str
    ) -> Iterator[tuple]:
        """Rows of (patient_id, *columns) of the dataset's event table `name`, streamed.

        Only what that table needs is computed: the population (with the
        backend's patient filter, as for every result) and the table's rows.
        """
        only = event_table_dataset(dataset, name)
        compiled = self.compile(only)
        ((_, select),) = compiled.event_selects
        yield from self.run_compiled(
            only, dataclasses.replace(compiled, select=select, event_selects=())
        )

    def run_compiled(
        self, dataset: qm.Dataset, compiled: CompiledDataset
    ) -> Iterator[tuple]:
        """Run the statements of `compiled` (made from `dataset`) and yield its select's rows."""
        return self.run_select(dataset, compiled, compiled.select)

    def run_select(
        self, dataset: qm.Dataset, compiled: CompiledDataset, select: str
    ) -> Iterator[tuple]:
        """Run the setup of `compiled` and the patient table checks, yield the rows of
        `select` (its select or one of its event selects), then clean up."""
        raise NotImplementedError(f"{type(self).__name__} does not run SQL")

    def get_event_results(self, dataset: qm.Dataset) -> dict[str, list[tuple]]:
        """For each event table of the dataset, its (patient_id, *columns) rows, sorted."""
        compiled = self.compile(dataset)
        return {
            name: list(self.run_select(dataset, compiled, select))
            for name, select in compiled.event_selects
        }

    @contextlib.contextmanager
    def open_results(
        self,
        dataset: qm.Dataset,
        event_table: str | None = None,
        compiled: CompiledDataset | None = None,
    ) -> Iterator[object]:
        """The rows of `dataset` (or of one of its event tables), as results for
        `ehrql.file_formats.write_results`, valid until the context exits.

        `compiled` is `self.compile(dataset)`, if the caller already has it.
        By default the results are the rows `run_compiled` streams; an engine
        whose database can hand over Arrow record batches, or write files
        itself, gives those instead.
        """
        dataset, compiled = self.compiled_for(dataset, event_table, compiled)
        # The results are read (or written by the database) inside the block,
        # where a failure arises: it is reported as `get_results` reports it.
        with (
            self.overflow_named(dataset),
            self.results_of(dataset, compiled) as results,
        ):
            yield results

    @contextlib.contextmanager
    def results_of(
        self, dataset: qm.Dataset, compiled: CompiledDataset
    ) -> Iterator[object]:
        """The results of `compiled` (made from `dataset`) for `open_results`:
        by default the rows `run_compiled` streams."""
        with contextlib.closing(self.run_compiled(dataset, compiled)) as rows:
            yield rows

    def compiled_for(
        self,
        dataset: qm.Dataset,
        event_table: str | None,
        compiled: CompiledDataset | None = None,
    ) -> tuple[qm.Dataset, CompiledDataset]:
        """What to run for the dataset's patient rows (event_table None; `compiled`
        may be given) or for one event table: the dataset run, and its compilation
        with the wanted rows as its select.

        An event table is compiled on its own (see `get_event_table_results`),
        so that only what it needs is computed.
        """
        if event_table is None:
            return dataset, compiled or self.compile(dataset)
        only = event_table_dataset(dataset, event_table)
        compiled = self.compile(only)
        ((_, select),) = compiled.event_selects
        return only, dataclasses.replace(compiled, select=select, event_selects=())
