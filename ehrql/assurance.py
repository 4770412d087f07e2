"""Assurance tests: a definition checked against patients its author wrote down.

A definition may hold test data, one entry per made-up patient:

    test_data = {
        1: {
            "patients": {"date_of_birth": date(1950, 1, 1), "sex": "female"},
            "clinical_events": [{"date": date(2020, 5, 1), "snomedct_code": "22298006"}],
            "expected_in_population": True,
            "expected_columns": {"age": 70, "had_mi": True},
        },
    }

Event tables can be checked too, with `"expected_events": {table name: [row
dicts, without patient_id]}`. Every value given must obey its table column's
constraints (a `sex` of "bogus" fails), a patient-level table takes at most
one row, and any other key is an error naming the nearest valid key.

`ehrql assure` runs the definition on exactly those records, with the
in-memory reference engine, and reports for each patient and column what was
expected and what came out.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import importlib
from collections.abc import Mapping

from ehrql.errors import DefinitionError
from ehrql.query_engines.in_memory import InMemoryDatabase, InMemoryQueryEngine
from ehrql.query_language import coerce_cell
from ehrql.query_model import nodes as qm
from ehrql.query_model.table_schema import NotNullConstraint

_RESERVED_KEYS = ("expected_in_population", "expected_columns", "expected_events")


class TestDataError(DefinitionError):
    """The test data itself is malformed (unknown table or column, wrong type)."""

    __test__ = False  # not a pytest test class


@dataclasses.dataclass(frozen=True)
class ColumnCheck:
    """One expected value compared with the value the definition gave."""

    column: str
    expected: object
    got: object

    @property
    def ok(self) -> bool:
        return _same(self.expected, self.got)


@dataclasses.dataclass(frozen=True)
class EventsCheck:
    """The rows expected of an event table for one patient, and the rows it gave."""

    table: str
    expected: tuple
    got: tuple

    @property
    def ok(self) -> bool:
        return len(self.expected) == len(self.got) and all(
            set(e) == set(g) and all(_same(e[k], g[k]) for k in e)
            for e, g in zip(self.expected, self.got)
        )


@dataclasses.dataclass(frozen=True)
class BadTestValue:
    """A value in the test data that its table column's constraints do not allow."""

    table: str
    column: str
    value: object
    rule: str


@dataclasses.dataclass(frozen=True)
class PatientCheck:
    """Everything checked for one test patient."""

    patient_id: int
    expected_in_population: bool
    in_population: bool
    columns: tuple[ColumnCheck, ...]
    events: tuple[EventsCheck, ...] = ()
    bad_values: tuple[BadTestValue, ...] = ()

    @property
    def ok(self) -> bool:
        return (
            not self.bad_values
            and self.expected_in_population == self.in_population
            and all(c.ok for c in self.columns)
            and all(e.ok for e in self.events)
        )


@dataclasses.dataclass(frozen=True)
class AssuranceReport:
    """The result of checking a definition against its test data."""

    patients: tuple[PatientCheck, ...]
    unused_tables: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return bool(self.patients) and all(p.ok for p in self.patients)


def run_assurance(dataset: qm.Dataset, test_data: Mapping) -> AssuranceReport:
    """Run `dataset` on the records in `test_data` and compare with its expectations."""
    tables = {
        t.name: t
        for t in qm.get_table_nodes(dataset)
        if not isinstance(t, qm.InlinePatientTable)
    }
    if isinstance(test_data, Mapping) and not test_data:
        raise TestDataError(
            "test_data holds no test patients: add at least one, or nothing is tested"
        )
    rows, unused = _table_rows(test_data, tables, dataset)
    bad_values = _bad_values(rows, tables)
    # A patient given two rows of a patient table has failed already (above); the
    # engine, which refuses such a table, runs on the first row.
    rows = {
        name: _first_row_per_patient(table_rows)
        if isinstance(tables[name], qm.SelectPatientTable)
        else table_rows
        for name, table_rows in rows.items()
    }
    engine = InMemoryQueryEngine(InMemoryDatabase(rows))
    results = engine.get_results(dataset)
    names = list(dataset.variables)
    by_patient = {row[0]: dict(zip(names, row[1:])) for row in results}
    event_rows = _events_by_patient(engine, dataset) if dataset.events else {}
    checks = []
    for patient_id, record in test_data.items():
        expected_in = record.get("expected_in_population", True)
        got = by_patient.get(patient_id)
        columns = ()
        events = ()
        if expected_in and got is not None:
            expected_columns = record.get("expected_columns", {})
            unknown = set(expected_columns) - set(names)
            if unknown:
                raise TestDataError(
                    f"test patient {patient_id}: expected_columns names columns the dataset "
                    f"does not have: {', '.join(sorted(unknown))}; its columns are: {', '.join(names)}"
                )
            columns = tuple(
                ColumnCheck(
                    name,
                    _expected_value(expected, dataset.variables[name].type),
                    got[name],
                )
                for name, expected in expected_columns.items()
            )
            events = tuple(
                EventsCheck(
                    name,
                    _expected_events(patient_id, name, expected, dataset),
                    event_rows[name].get(patient_id, ()),
                )
                for name, expected in record.get("expected_events", {}).items()
            )
        checks.append(
            PatientCheck(
                patient_id,
                bool(expected_in),
                got is not None,
                columns,
                events,
                tuple(bad_values.get(patient_id, ())),
            )
        )
    return AssuranceReport(tuple(checks), tuple(sorted(unused)))


def _first_row_per_patient(rows: list[dict]) -> list[dict]:
    first: dict = {}
    for row in rows:
        first.setdefault(row["patient_id"], row)
    return list(first.values())


def _events_by_patient(engine, dataset: qm.Dataset) -> dict[str, dict[int, tuple]]:
    """For each event table, its rows (as dicts without patient_id) by patient."""
    result = {}
    for name, rows in engine.get_event_results(dataset).items():
        columns = list(dataset.events[name])
        by_patient: dict[int, list] = {}
        for row in rows:
            by_patient.setdefault(row[0], []).append(dict(zip(columns, row[1:])))
        result[name] = {
            patient_id: tuple(found) for patient_id, found in by_patient.items()
        }
    return result


def _expected_events(patient_id, name: str, expected, dataset: qm.Dataset) -> tuple:
    """Expected event rows with their values read as the columns' types, in the
    order the engine gives rows (by every column), so that order does not matter."""
    if name not in dataset.events:
        raise TestDataError(
            f"test patient {patient_id}: expected_events names an event table the dataset does not "
            f"have: {name}" + _did_you_mean(name, dataset.events)
        )
    columns = dataset.events[name]
    if isinstance(expected, Mapping) or not isinstance(expected, (list, tuple)):
        raise TestDataError(
            f"test patient {patient_id}: expected_events['{name}'] must be a list of row dicts"
        )
    typed = []
    for row in expected:
        unknown = set(row) - set(columns)
        if unknown:
            raise TestDataError(
                f"test patient {patient_id}: event table '{name}' has no column "
                f"{', '.join(repr(c) for c in sorted(unknown))}; its columns are: {', '.join(columns)}"
            )
        typed.append(
            {
                c: _expected_value(row.get(c), series.type)
                for c, series in columns.items()
            }
        )
    return tuple(sorted(typed, key=lambda r: tuple(_order_key(v) for v in r.values())))


def _order_key(value):
    # The in-memory engine's order for event rows: nulls first, then by value.
    return (value is not None, value if value is not None else 0)


def _bad_values(rows: dict, tables: dict) -> dict[int, list[BadTestValue]]:
    """Per patient, the given values that break a column constraint, and patient
    tables given more than one row."""
    bad: dict[int, list[BadTestValue]] = {}
    for table_name, table_rows in rows.items():
        schema = tables[table_name].schema
        counts: dict[int, int] = {}
        for row in table_rows:
            patient_id = row["patient_id"]
            counts[patient_id] = counts.get(patient_id, 0) + 1
            for name in row["__given__"]:
                value = row[name]
                for constraint in schema.get_column(name).constraints:
                    if not _obeys(constraint, value):
                        bad.setdefault(patient_id, []).append(
                            BadTestValue(
                                table_name, name, _plain(value), _rule(constraint)
                            )
                        )
        if isinstance(tables[table_name], qm.SelectPatientTable):
            for patient_id, count in counts.items():
                if count > 1:
                    bad.setdefault(patient_id, []).append(
                        BadTestValue(
                            table_name, "", count, "at most one row per patient"
                        )
                    )
    for table_rows in rows.values():
        for row in table_rows:
            del row["__given__"]
    return bad


def _obeys(constraint, value) -> bool:
    if value is None:
        return not isinstance(constraint, NotNullConstraint)
    try:
        return bool(constraint.validate(_plain(value)))
    except TypeError:
        return False


def _plain(value):
    return (
        value.value
        if hasattr(value, "value") and qm.is_code_type(type(value))
        else value
    )


def _rule(constraint) -> str:
    try:
        return constraint.description
    except NotImplementedError:
        return type(constraint).__name__


@functools.cache
def _known_table_names() -> frozenset:
    """The names of every table ehrQL's table modules define."""
    names = set()
    for module_name in (
        "core",
        "tpp",
        "emis",
        "emisv2",
        "raw.core",
        "raw.tpp",
        "raw.emis",
    ):
        try:
            module = importlib.import_module(f"ehrql.tables.{module_name}")
        except ImportError:
            continue
        for value in vars(module).values():
            node = getattr(value, "_qm_node", None)
            if isinstance(node, (qm.SelectTable, qm.SelectPatientTable)):
                names.add(node.name)
    return frozenset(names)


def _did_you_mean(key: str, choices) -> str:
    close = difflib.get_close_matches(key, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _check_key(patient_id, key, tables: dict, unused: set) -> bool:
    """Whether `key` of a test patient is a table the dataset reads; an unknown key is an error."""
    if key in tables:
        return True
    if key in _RESERVED_KEYS:
        return False
    valid = [*_RESERVED_KEYS, *tables]
    close = difflib.get_close_matches(str(key), valid, n=1, cutoff=0.8)
    if isinstance(key, str) and key in _known_table_names() and not close:
        # Rows for a real table this definition does not read: harmless, noted.
        unused.add(key)
        return False
    raise TestDataError(
        f"test patient {patient_id}: unknown key {key!r}"
        + (f"; did you mean '{close[0]}'?" if close else _did_you_mean(str(key), valid))
        + f" (the keys are: {', '.join(_RESERVED_KEYS)}, and the names of the tables the "
        f"definition reads: {', '.join(sorted(tables)) or 'none'})"
    )


def _table_rows(
    test_data: Mapping, tables: dict, dataset: qm.Dataset
) -> tuple[dict, set]:
    if not isinstance(test_data, Mapping):
        raise TestDataError(
            "test_data must be a dict of patient_id -> that patient's records"
        )
    rows: dict[str, list[dict]] = {name: [] for name in tables}
    unused: set = set()
    for patient_id, record in test_data.items():
        if not isinstance(patient_id, int) or isinstance(patient_id, bool):
            raise TestDataError(
                f"test_data keys must be integer patient ids, got {patient_id!r}"
            )
        if not isinstance(record, Mapping):
            raise TestDataError(
                f"test patient {patient_id}: records must be a dict of table name -> rows"
            )
        for table_name, table_rows in record.items():
            if not _check_key(patient_id, table_name, tables, unused):
                continue
            table = tables[table_name]
            if isinstance(table, qm.SelectPatientTable):
                if isinstance(table_rows, Mapping):
                    table_rows = [table_rows]
                elif not isinstance(table_rows, (list, tuple)):
                    raise TestDataError(
                        f"test patient {patient_id}: '{table_name}' has one row per patient, "
                        "so give it a single dict"
                    )
            elif isinstance(table_rows, Mapping) or not isinstance(
                table_rows, (list, tuple)
            ):
                raise TestDataError(
                    f"test patient {patient_id}: '{table_name}' has many rows per patient, "
                    "so give it a list of dicts"
                )
            for row in table_rows:
                if not isinstance(row, Mapping):
                    raise TestDataError(
                        f"test patient {patient_id}: each row of '{table_name}' must be a dict"
                    )
                rows[table_name].append(
                    _typed_row(patient_id, table_name, table.schema, row)
                )
    return rows, unused


def _typed_row(patient_id, table_name, schema, row) -> dict:
    unknown = set(row) - set(schema.column_names)
    if unknown:
        raise TestDataError(
            f"test patient {patient_id}: table '{table_name}' has no column "
            f"{', '.join(repr(c) for c in sorted(unknown))}; its columns are: {', '.join(schema.column_names)}"
        )
    # Which columns were given, for checking their constraints (removed before running).
    typed = {
        "patient_id": patient_id,
        "__given__": tuple(name for name in schema.column_names if name in row),
    }
    for name, column in schema.columns:
        try:
            typed[name] = coerce_cell(row.get(name), column.type, name)
        except DefinitionError as e:
            raise TestDataError(
                f"test patient {patient_id}, table '{table_name}': {e}"
            ) from None
    return typed


def _expected_value(value, type_):
    try:
        value = coerce_cell(value, type_, "expected")
    except DefinitionError:
        return value
    return value.value if qm.is_code_type(type_) and value is not None else value


def _same(expected, got) -> bool:
    if isinstance(expected, float) and isinstance(got, float):
        return abs(expected - got) <= 1e-9 * max(1.0, abs(expected), abs(got))
    return (
        expected == got
        and type(expected) is type(got)
        or (expected is None and got is None)
    )


def present(report: AssuranceReport) -> str:
    """The report as text for a terminal: one block per patient, failures first."""
    lines = []
    failures = [p for p in report.patients if not p.ok]
    for check in sorted(report.patients, key=lambda p: (p.ok, p.patient_id)):
        status = "PASS" if check.ok else "FAIL"
        lines.append(f"Patient {check.patient_id}: {status}")
        for bad in check.bad_values:
            if bad.column:
                lines.append(
                    f"  FAIL test data: table '{bad.table}', column '{bad.column}' has {bad.value!r}, "
                    f"which breaks its constraint ({bad.rule})"
                )
            else:
                lines.append(
                    f"  FAIL test data: table '{bad.table}' has {bad.value} rows, but takes {bad.rule}"
                )
        if check.expected_in_population != check.in_population:
            lines.append(
                f"  in population: expected {check.expected_in_population}, got {check.in_population}"
            )
        for column in check.columns:
            mark = "ok  " if column.ok else "FAIL"
            lines.append(
                f"  {mark} {column.column}: expected {column.expected!r}, got {column.got!r}"
            )
        for events in check.events:
            mark = "ok  " if events.ok else "FAIL"
            lines.append(
                f"  {mark} event table {events.table}: expected {list(events.expected)!r}, got {list(events.got)!r}"
            )
    if report.unused_tables:
        lines.append(
            "Note: the test data gives rows for tables the definition does not use: "
            + ", ".join(report.unused_tables)
        )
    total = len(report.patients)
    lines.append(
        f"{total - len(failures)} of {total} test patients passed"
        + ("" if not failures else f"; {len(failures)} failed")
    )
    return "\n".join(lines)
