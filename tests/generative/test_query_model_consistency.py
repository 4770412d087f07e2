"""The query model's own rules agree with its reference meaning.

Every node the strategies build passed its own validation; these properties
check that such a node then means something: the in-memory engine evaluates it
without error, and every value it gives has the type the node declares.
"""

from __future__ import annotations

from hypothesis import assume, given

from ehrql.query_engines.in_memory import output_value
from ehrql.query_model import nodes as qm
from ehrql.query_model.semantics import UNKNOWN, value_for_patient_with_no_records
from ehrql.query_model.table_schema import TableSchema
from tests.generative.budget import generative_settings
from tests.generative.examples import examples
from tests.generative.known_issues import hits_known_issue
from tests.lib.engines import run_in_memory

generative = generative_settings(30)


def output_type(series_type) -> type:
    """The Python type of a value leaving an engine for a series of `series_type`."""
    return str if qm.is_code_type(series_type) else series_type


def patients_in(data, dataset) -> set[int]:
    """Patients with a row in a table the dataset reads (inline ones included)."""
    patient_ids = set()
    for table in qm.get_table_nodes(dataset):
        if isinstance(table, qm.InlinePatientTable):
            patient_ids.update(row[0] for row in table.rows)
        else:
            patient_ids.update(row["patient_id"] for row in data.get(table, []))
    return patient_ids


@generative
@given(example=examples())
def test_in_memory_results_have_declared_shape_and_types(example):
    dataset, data = example.dataset, example.data
    assume(not hits_known_issue(dataset))
    rows = run_in_memory(data, dataset)

    patient_ids = [row[0] for row in rows]
    assert patient_ids == sorted(set(patient_ids))
    assert set(patient_ids) <= patients_in(data, dataset)

    types = [output_type(series.type) for series in dataset.variables.values()]
    for row in rows:
        assert len(row) == 1 + len(types)
        for value, type_ in zip(row[1:], types):
            assert value is None or type(value) is type_, (value, type_)


#: A table only patient 0 has a row in, read by nothing but the probe below.
ONLY_PATIENT_ZERO = qm.SelectPatientTable("gen_only_patient_zero", TableSchema())


@generative
@given(example=examples())
def test_engine_agrees_with_value_for_patient_with_no_records(example):
    dataset, data = example.dataset, example.data
    # Population validation predicts each series' value for a patient with no
    # records; patient 0 is such a patient as far as every generated series
    # can see, so the engine must give exactly that prediction for them.
    probe = qm.Dataset(
        population=qm.Function.Or(
            dataset.population, qm.AggregateByPatient.Exists(ONLY_PATIENT_ZERO)
        ),
        variables=qm.FrozenDict(
            {"population": dataset.population, **dataset.variables}
        ),
    )
    rows = run_in_memory({**data, ONLY_PATIENT_ZERO: [{"patient_id": 0}]}, probe)

    patient_id, *values = rows[0]
    assert patient_id == 0
    for value, series in zip(values, probe.variables.values()):
        predicted = value_for_patient_with_no_records(series)
        if predicted is not UNKNOWN:
            assert value == output_value(predicted), series
    assert values[0] is not True
