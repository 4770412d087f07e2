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

`ehrql assure` runs the definition on exactly those records, with the
in-memory reference engine, and reports for each patient and column what was
expected and what came out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from ehrql.errors import DefinitionError
from ehrql.query_engines.in_memory import InMemoryDatabase, InMemoryQueryEngine
from ehrql.query_language import coerce_cell
from ehrql.query_model import nodes as qm

_RESERVED_KEYS = {"expected_in_population", "expected_columns"}


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
class PatientCheck:
    """Everything checked for one test patient."""

    patient_id: int
    expected_in_population: bool
    in_population: bool
    columns: tuple[ColumnCheck, ...]

    @property
    def ok(self) -> bool:
        return self.expected_in_population == self.in_population and all(c.ok for c in self.columns)


@dataclasses.dataclass(frozen=True)
class AssuranceReport:
    """The result of checking a definition against its test data."""

    patients: tuple[PatientCheck, ...]
    unused_tables: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return all(p.ok for p in self.patients)


def run_assurance(dataset: qm.Dataset, test_data: Mapping) -> AssuranceReport:
    """Run `dataset` on the records in `test_data` and compare with its expectations."""
    tables = {t.name: t for t in qm.get_table_nodes(dataset) if not isinstance(t, qm.InlinePatientTable)}
    rows, unused = _table_rows(test_data, tables)
    results = InMemoryQueryEngine(InMemoryDatabase(rows)).get_results(dataset)
    names = list(dataset.variables)
    by_patient = {row[0]: dict(zip(names, row[1:])) for row in results}
    checks = []
    for patient_id, record in test_data.items():
        expected_in = record.get("expected_in_population", True)
        got = by_patient.get(patient_id)
        columns = ()
        if expected_in and got is not None:
            expected_columns = record.get("expected_columns", {})
            unknown = set(expected_columns) - set(names)
            if unknown:
                raise TestDataError(
                    f"test patient {patient_id}: expected_columns names columns the dataset "
                    f"does not have: {', '.join(sorted(unknown))}; its columns are: {', '.join(names)}"
                )
            columns = tuple(
                ColumnCheck(name, _expected_value(expected, dataset.variables[name].type), got[name])
                for name, expected in expected_columns.items()
            )
        checks.append(PatientCheck(patient_id, bool(expected_in), got is not None, columns))
    return AssuranceReport(tuple(checks), tuple(sorted(unused)))


def _table_rows(test_data: Mapping, tables: dict) -> tuple[dict, set]:
    if not isinstance(test_data, Mapping):
        raise TestDataError("test_data must be a dict of patient_id -> that patient's records")
    rows: dict[str, list[dict]] = {name: [] for name in tables}
    unused = set()
    for patient_id, record in test_data.items():
        if not isinstance(patient_id, int) or isinstance(patient_id, bool):
            raise TestDataError(f"test_data keys must be integer patient ids, got {patient_id!r}")
        if not isinstance(record, Mapping):
            raise TestDataError(f"test patient {patient_id}: records must be a dict of table name -> rows")
        for table_name, table_rows in record.items():
            if table_name in _RESERVED_KEYS:
                continue
            if table_name not in tables:
                unused.add(table_name)
                continue
            table = tables[table_name]
            if isinstance(table, qm.SelectPatientTable):
                if not isinstance(table_rows, Mapping):
                    raise TestDataError(
                        f"test patient {patient_id}: '{table_name}' has one row per patient, "
                        "so give it a single dict"
                    )
                table_rows = [table_rows]
            elif isinstance(table_rows, Mapping) or not isinstance(table_rows, (list, tuple)):
                raise TestDataError(
                    f"test patient {patient_id}: '{table_name}' has many rows per patient, "
                    "so give it a list of dicts"
                )
            for row in table_rows:
                rows[table_name].append(_typed_row(patient_id, table_name, table.schema, row))
    return rows, unused


def _typed_row(patient_id, table_name, schema, row) -> dict:
    unknown = set(row) - set(schema.column_names)
    if unknown:
        raise TestDataError(
            f"test patient {patient_id}: table '{table_name}' has no column "
            f"{', '.join(repr(c) for c in sorted(unknown))}; its columns are: {', '.join(schema.column_names)}"
        )
    typed = {"patient_id": patient_id}
    for name, column in schema.columns:
        try:
            typed[name] = coerce_cell(row.get(name), column.type, name)
        except DefinitionError as e:
            raise TestDataError(f"test patient {patient_id}, table '{table_name}': {e}") from None
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
    return expected == got and type(expected) is type(got) or (expected is None and got is None)


def present(report: AssuranceReport) -> str:
    """The report as text for a terminal: one block per patient, failures first."""
    lines = []
    failures = [p for p in report.patients if not p.ok]
    for check in sorted(report.patients, key=lambda p: (p.ok, p.patient_id)):
        status = "PASS" if check.ok else "FAIL"
        lines.append(f"Patient {check.patient_id}: {status}")
        if check.expected_in_population != check.in_population:
            lines.append(
                f"  in population: expected {check.expected_in_population}, got {check.in_population}"
            )
        for column in check.columns:
            mark = "ok  " if column.ok else "FAIL"
            lines.append(f"  {mark} {column.column}: expected {column.expected!r}, got {column.got!r}")
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
