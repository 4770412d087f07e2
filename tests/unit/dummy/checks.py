"""Checks shared by the dummy data tests."""

import datetime
import re

from ehrql.dummy import generate_dummy_data
from ehrql.query_engines.in_memory import InMemoryDatabase, InMemoryQueryEngine
from ehrql.query_model import nodes as qm
from ehrql.query_model.table_schema import (
    CategoricalConstraint,
    ClosedRangeConstraint,
    DateAfterConstraint,
    FirstOfMonthConstraint,
    NotNullConstraint,
    RegexConstraint,
    UniqueConstraint,
)


def run(tables: dict, dataset: qm.Dataset) -> list[tuple]:
    """The dataset's results over generated tables, with the reference engine."""
    database = InMemoryDatabase({table.name: rows for table, rows in tables.items()})
    return InMemoryQueryEngine(database).get_results(dataset)


def patient_ids(tables: dict) -> set:
    return {row["patient_id"] for rows in tables.values() for row in rows}


def assert_all_in_population(tables: dict, dataset: qm.Dataset, size: int):
    results = run(tables, dataset)
    assert len(results) == size
    # Nobody outside the population was generated.
    assert {r[0] for r in results} == patient_ids(tables)


def assert_solved(dataset: qm.Dataset, size: int, **options):
    """Generate `size` patients and check the solver made them all on its own.

    No rejection sampling, few candidates thrown away, and every patient made
    is in the population. Returns the generated data for further checks.
    """
    data = generate_dummy_data(dataset, population_size=size, **options)
    assert not data.report.used_rejection_sampling
    assert data.report.acceptance_rate > 0.75
    assert_all_in_population(data.tables, dataset, size)
    return data


def assert_variables_vary(tables: dict, dataset: qm.Dataset):
    results = run(tables, dataset)
    names = list(dataset.variables)
    for i, name in enumerate(names, start=1):
        values = [r[i] for r in results]
        assert any(v is not None for v in values), f"{name} is always null"
        assert len(set(values)) > 1, f"{name} is always {values[0]!r}"


def _python_type_ok(value, type_) -> bool:
    if type_ is int:
        return type(value) is int
    if type_ is float:
        return type(value) is float
    if type_ is datetime.date:
        return type(value) is datetime.date
    return isinstance(value, type_) and not (
        type_ is not bool and isinstance(value, bool)
    )


def assert_schema_respected(tables: dict):
    for table, rows in tables.items():
        names = ["patient_id", *table.schema.column_names]
        for row in rows:
            assert list(row) == names or set(row) == set(names)
            assert type(row["patient_id"]) is int
        if isinstance(table, qm.OneRowPerPatientFrame):
            ids = [row["patient_id"] for row in rows]
            assert len(ids) == len(set(ids)), (
                f"{table.name} has two rows for one patient"
            )
        for name, column in table.schema.columns:
            values = [row[name] for row in rows]
            present = [v for v in values if v is not None]
            for value in present:
                assert _python_type_ok(value, column.type), (table.name, name, value)
            for constraint in column.constraints:
                if isinstance(constraint, NotNullConstraint):
                    assert None not in values, (table.name, name)
                elif isinstance(constraint, UniqueConstraint):
                    assert len(present) == len(set(present)), (table.name, name)
                elif isinstance(constraint, CategoricalConstraint):
                    assert all(v in constraint.values for v in present), (
                        table.name,
                        name,
                    )
                elif isinstance(constraint, FirstOfMonthConstraint):
                    assert all(v.day == 1 for v in present), (table.name, name)
                elif isinstance(constraint, RegexConstraint):
                    assert all(re.fullmatch(constraint.regex, v) for v in present), (
                        table.name,
                        name,
                    )
                elif isinstance(constraint, ClosedRangeConstraint):
                    assert all(
                        constraint.minimum <= v <= constraint.maximum
                        and (v - constraint.minimum) % constraint.step == 0
                        for v in present
                    ), (table.name, name)
                elif isinstance(constraint, DateAfterConstraint):
                    for row in rows:
                        for other in constraint.columns:
                            if row[name] is not None and row[other] is not None:
                                assert row[name] >= row[other], (table.name, name, row)
