"""The in-memory reference engine: evaluates the query model in plain Python.

It is slow and simple on purpose. Its job is to state what every node means,
so that the SQL engines can be tested against it row for row; every scalar
operation comes from `ehrql.query_model.semantics`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping

from ehrql.codes import BaseCode
from ehrql.errors import (
    INT64_MAX,
    INT64_MIN,
    duplicate_patient_id_error,
    integer_overflow_error,
)
from ehrql.query_model import nodes as qm
from ehrql.query_model.interval_totals import (
    IntervalTotals,
    TotalsRow,
    totals_by_substitution,
)
from ehrql.query_model.semantics import (
    EMPTY_AGGREGATE,
    aggregate_function,
    apply_function,
    function_arguments,
)


class InMemoryDatabase:
    """Tables held as lists of row dicts, each with a `patient_id` key."""

    def __init__(self, tables: Mapping[str, Iterable[Mapping]] | None = None):
        self.tables: dict[str, list[dict]] = {
            name: [dict(row) for row in rows] for name, rows in (tables or {}).items()
        }

    def rows(self, table_name: str) -> list[dict]:
        """The rows of a table; a table that was never loaded has none."""
        return self.tables.get(table_name, [])


def _sort_value(value):
    """Sort key giving SQL Server's order: nulls before every value."""
    return (0, None) if value is None else (1, value)


def output_value(value):
    """Values as they leave an engine: codes become their plain strings."""
    return value.value if isinstance(value, BaseCode) else value


class InMemoryQueryEngine:
    """Evaluates a dataset against an `InMemoryDatabase`."""

    def __init__(self, database: InMemoryDatabase):
        self.database = database

    def get_results(self, dataset: qm.Dataset) -> list[tuple]:
        """One (patient_id, *variables) tuple per patient in the population, by patient_id."""
        evaluation = _Evaluation(self.database, dataset)
        population = _checked_for_overflow(
            "the population", evaluation.patient_series, dataset.population
        )
        columns = [
            _checked_for_overflow(f"column '{name}'", evaluation.patient_series, s)
            for name, s in dataset.variables.items()
        ]
        return [
            (patient_id, *(output_value(column.get(patient_id)) for column in columns))
            for patient_id in sorted(evaluation.patient_ids)
            if population.get(patient_id) is True
        ]

    def patient_values(self) -> Callable:
        """A function giving a patient-level series' values (patient_id ->
        value, absent meaning null) on this database, for every patient with
        a row in any of its tables. Each node is computed once for all the
        series asked, so many related series cost little more than one."""
        evaluation = _Evaluation(self.database)
        for rows in self.database.tables.values():
            evaluation.patient_ids.update(row["patient_id"] for row in rows)
        return evaluation.patient_series

    def get_interval_totals(self, query: IntervalTotals) -> list[TotalsRow]:
        """Totals per interval and group (see `IntervalTotals`), one interval at a time."""
        return totals_by_substitution(self.get_results, query)

    def get_event_results(self, dataset: qm.Dataset) -> dict[str, list[tuple]]:
        """For each event table of the dataset, its (patient_id, *columns) rows."""
        evaluation = _Evaluation(self.database, dataset)
        population = evaluation.patient_series(dataset.population)
        results = {}
        for name, columns in dataset.events.items():
            domain = qm.Domain.union(*(c.domain for c in columns.values()))
            rows = evaluation.event_rows(domain.source)
            results[name] = sorted(
                (
                    (
                        row["patient_id"],
                        *(
                            output_value(evaluation.row_value(c, row))
                            for c in columns.values()
                        ),
                    )
                    for row in rows
                    if population.get(row["patient_id"]) is True
                ),
                key=lambda r: tuple(_sort_value(v) for v in r),
            )
        return results

    def get_event_table_results(self, dataset: qm.Dataset, name: str) -> list[tuple]:
        """Rows of (patient_id, *columns) of the dataset's event table `name`."""
        return self.get_event_results(dataset)[name]


class _IntegerOverflow(Exception):
    """An integer value beyond 64 bits, where every SQL engine fails."""


def _checked_int(value):
    if type(value) is int and not INT64_MIN <= value <= INT64_MAX:
        raise _IntegerOverflow
    return value


def _checked_for_overflow(what: str, evaluate, series):
    try:
        return evaluate(series)
    except _IntegerOverflow:
        raise integer_overflow_error(what) from None


class _Evaluation:
    """One evaluation of one dataset: memoises every node it computes."""

    def __init__(self, database: InMemoryDatabase, dataset: qm.Dataset | None = None):
        self.database = database
        # Without a dataset, the caller says which patients there are.
        self.tables = qm.get_table_nodes(dataset) if dataset is not None else set()
        self.patient_ids = set()
        for table in self.tables:
            # Read straight from the rows: copying every row (`_table_rows`)
            # only to take its patient id doubled the work of a small query.
            if isinstance(table, qm.InlinePatientTable):
                self.patient_ids.update(row[0] for row in table.rows)
            else:
                self.patient_ids.update(
                    row["patient_id"] for row in self.database.rows(table.name)
                )
        self._patient_cache: dict = {}
        self._rows_cache: dict = {}

    def _table_rows(self, table) -> list[dict]:
        if isinstance(table, qm.InlinePatientTable):
            names = ["patient_id", *table.schema.column_names]
            return [dict(zip(names, row)) for row in table.rows]
        names = table.schema.column_names
        return [
            {"patient_id": row["patient_id"], **{n: row.get(n) for n in names}}
            for row in self.database.rows(table.name)
        ]

    # -- frames -------------------------------------------------------------

    def event_rows(self, frame: qm.ManyRowsPerPatientFrame) -> list[dict]:
        """The rows of an event frame (sorting does not change which rows)."""
        frame = qm.row_source(frame)
        if frame not in self._rows_cache:
            if isinstance(frame, qm.SelectTable):
                rows = self._table_rows(frame)
            elif isinstance(frame, qm.Filter):
                rows = [
                    row
                    for row in self.event_rows(frame.source)
                    if self.row_value(frame.condition, row) is True
                ]
            else:
                raise TypeError(f"not an event frame: {frame!r}")
            self._rows_cache[frame] = rows
        return self._rows_cache[frame]

    def patient_rows(self, frame: qm.OneRowPerPatientFrame) -> dict:
        """patient_id -> row for a one-row-per-patient frame."""
        if frame in self._rows_cache:
            return self._rows_cache[frame]
        if isinstance(frame, (qm.SelectPatientTable, qm.InlinePatientTable)):
            rows = {}
            for row in self._table_rows(frame):
                if row["patient_id"] in rows:
                    # Keeping one of the rows would give an answer the SQL engines do not.
                    raise duplicate_patient_id_error(
                        getattr(frame, "name", "inline"),
                        "the in-memory database",
                        [row["patient_id"]],
                    )
                rows[row["patient_id"]] = row
        elif isinstance(frame, qm.PickOneRowPerPatient):
            rows = self._pick(frame)
        else:
            raise TypeError(f"not a patient frame: {frame!r}")
        self._rows_cache[frame] = rows
        return rows

    def _pick(self, frame: qm.PickOneRowPerPatient) -> dict:
        keys = qm.sort_keys(frame.source)
        tie_breakers = frame.schema.column_names

        def order(row):
            return (
                tuple(_sort_value(self.row_value(k, row)) for k in keys),
                tuple(_sort_value(row[c]) for c in tie_breakers),
            )

        by_patient = defaultdict(list)
        for row in self.event_rows(frame.source):
            by_patient[row["patient_id"]].append(row)
        choose = min if frame.position is qm.Position.FIRST else max
        return {pid: choose(rows, key=order) for pid, rows in by_patient.items()}

    # -- series -------------------------------------------------------------

    def patient_series(self, series: qm.Series) -> dict:
        """patient_id -> value of a patient-level series (absent means null)."""
        if series in self._patient_cache:
            return self._patient_cache[series]
        if isinstance(series, qm.SelectColumn):
            rows = self.patient_rows(series.source)
            values = {pid: row[series.name] for pid, row in rows.items()}
        elif type(series) in EMPTY_AGGREGATE:
            values = self._aggregate(series)
        else:
            values = {
                pid: self._combine(
                    series, lambda child, pid=pid: self.patient_series(child).get(pid)
                )
                for pid in self.patient_ids
            }
        self._patient_cache[series] = values
        return values

    def row_value(self, series: qm.Series, row: dict):
        """The value of `series` on one row of an event frame."""
        if series.domain.is_patient:
            return self.patient_series(series).get(row["patient_id"])
        if isinstance(series, qm.SelectColumn):
            return row[series.name]
        return self._combine(series, lambda child: self.row_value(child, row))

    def _combine(self, series: qm.Series, value_of):
        """Evaluate a value, case or function node given a way to evaluate its children."""
        if isinstance(series, qm.Value):
            return series.value
        if isinstance(series, qm.Parameter):
            raise ValueError(f"parameter '{series.name}' has no value in this run")
        if isinstance(series, qm.Case):
            for condition, value in series.cases.items():
                if value_of(condition) is True:
                    return None if value is None else value_of(value)
            return None if series.default is None else value_of(series.default)
        return _checked_int(
            apply_function(series, *(value_of(a) for a in function_arguments(series)))
        )

    def _aggregate(self, node) -> dict:
        empty = EMPTY_AGGREGATE[type(node)]
        values = dict.fromkeys(self.patient_ids, empty)
        if isinstance(
            node, (qm.AggregateByPatient.Exists, qm.AggregateByPatient.Count)
        ):
            if isinstance(node.source, qm.OneRowPerPatientFrame):
                for pid in self.patient_rows(node.source):
                    values[pid] = True
                return values
            counts = defaultdict(int)
            for row in self.event_rows(node.source):
                counts[row["patient_id"]] += 1
            for pid, count in counts.items():
                values[pid] = (
                    True if isinstance(node, qm.AggregateByPatient.Exists) else count
                )
            return values
        groups = defaultdict(list)
        for row in self.event_rows(node.source.domain.source):
            value = self.row_value(node.source, row)
            if value is not None:
                groups[row["patient_id"]].append(value)
        for pid, group in groups.items():
            values[pid] = _checked_int(aggregate_function(node)(group))
        return values
