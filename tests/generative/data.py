"""Strategies for random table data over the generative test schemas.

Data is small (at most 8 patients and 5 rows per patient in each event table)
because every example is run on every engine; small data also makes ties and
empty groups common, which is where engines tend to differ.
"""

from __future__ import annotations

from hypothesis import strategies as st

from ehrql.query_model import nodes as qm
from tests.generative.schemas import ALL_TABLES
from tests.generative.values import cells_of

MAX_PATIENTS = 8
MAX_ROWS_PER_PATIENT = 5
PATIENT_IDS = tuple(range(1, MAX_PATIENTS + 1))


def rows_for(
    table: qm.Frame, patient_id: int, extreme_dates: bool = False
) -> st.SearchStrategy[dict]:
    """One row of `table` for `patient_id`, every column filled (maybe with null)."""
    return st.fixed_dictionaries(
        {"patient_id": st.just(patient_id)}
        | {
            name: cells_of(type_, extreme_dates)
            for name, type_ in table.schema.column_types
        }
    )


@st.composite
def table_rows(draw, table: qm.Frame, extreme_dates: bool = False) -> list[dict]:
    """Rows of one table: one per patient for a patient table, 0-5 for an event table."""
    patient_ids = draw(
        st.lists(st.sampled_from(PATIENT_IDS), unique=True, max_size=MAX_PATIENTS)
    )
    rows_per_patient = (
        st.just(1)
        if isinstance(table, qm.OneRowPerPatientFrame)
        else st.integers(0, MAX_ROWS_PER_PATIENT)
    )
    rows = []
    for patient_id in sorted(patient_ids):
        for _ in range(draw(rows_per_patient)):
            rows.append(draw(rows_for(table, patient_id, extreme_dates)))
    return rows


@st.composite
def table_data(
    draw, tables=ALL_TABLES, extreme_dates: bool = False
) -> dict[qm.Frame, list[dict]]:
    """Data for every table in `tables`: {table node: [row dicts]}.

    With `extreme_dates`, date cells are often at the ends of the date range.
    """
    return {table: draw(table_rows(table, extreme_dates)) for table in tables}
