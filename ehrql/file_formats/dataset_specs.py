"""The column specs of a dataset's output, read from its query model.

A column's categories are known when its values can only come from a
categorical table column or from string constants (a `case()` or
`map_values()` of strings). In every other case they are left unknown rather
than guessed, because a wrong guess would make writing fail.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ehrql.file_formats.base import ColumnSpec, patient_id_spec, plain_value
from ehrql.query_model import nodes as qm
from ehrql.query_model.table_schema import CategoricalConstraint


def dataset_column_specs(
    dataset: qm.Dataset, patient_id_type: type = int
) -> list[ColumnSpec]:
    """`patient_id` (of `patient_id_type`) then one spec per dataset variable, in definition order."""
    return [
        patient_id_spec(patient_id_type),
        *(
            ColumnSpec(
                name, series.type, nullable=True, categories=series_categories(series)
            )
            for name, series in dataset.variables.items()
        ),
    ]


def event_table_column_specs(
    columns: Mapping[str, qm.Series], patient_id_type: type = int
) -> list[ColumnSpec]:
    """`patient_id` then one spec per column of an event table, in definition order."""
    return [
        patient_id_spec(patient_id_type),
        *(
            ColumnSpec(
                name, series.type, nullable=True, categories=series_categories(series)
            )
            for name, series in columns.items()
        ),
    ]


#: The name of the patient-level table among a dataset's output tables.
DATASET_TABLE_NAME = "dataset"


def dataset_table_specs(
    dataset: qm.Dataset, patient_id_type: type = int
) -> dict[str, list[ColumnSpec]]:
    """The column specs of every table a dataset outputs: `dataset` (one row per
    patient), then each event table, in definition order."""
    return {
        DATASET_TABLE_NAME: dataset_column_specs(dataset, patient_id_type),
        **{
            name: event_table_column_specs(columns, patient_id_type)
            for name, columns in dataset.events.items()
        },
    }


def series_categories(series: qm.Series) -> tuple | None:
    """Every value `series` can take, when that is known for certain; else None."""
    if isinstance(series, qm.Value):
        return () if series.value is None else (plain_value(series.value),)
    if isinstance(series, qm.SelectColumn):
        column = series.source.schema.get_column(series.name)
        constraint = column.get_constraint(CategoricalConstraint)
        return None if constraint is None else tuple(constraint.values)
    if isinstance(series, (qm.AggregateByPatient.Min, qm.AggregateByPatient.Max)):
        return series_categories(series.source)
    if isinstance(series, qm.Case):
        outputs = [*series.cases.values(), series.default]
        return _union(series_categories(o) if o is not None else () for o in outputs)
    return None


def _union(parts: Iterable[tuple | None]) -> tuple | None:
    combined: list = []
    for part in parts:
        if part is None:
            return None
        combined.extend(v for v in part if v not in combined)
    return tuple(combined)
