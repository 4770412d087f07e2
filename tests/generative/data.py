"""Strategies for random table data over the generative test schemas.

Data is small (8 patients, at most 5 rows per patient in each event table)
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
def table_rows(
    draw, table: qm.Frame, patient_ids: tuple, extreme_dates: bool = False
) -> list[dict]:
    """Rows of one table for some of `patient_ids`: a patient table has a row
    for about three patients in four, an event table 0-5 rows per patient."""
    rows = []
    for patient_id in patient_ids:
        if isinstance(table, qm.OneRowPerPatientFrame):
            # 0 (no row) is what hypothesis shrinks towards.
            count = 1 if draw(st.integers(0, 3)) > 0 else 0
        else:
            count = draw(st.integers(0, MAX_ROWS_PER_PATIENT))
        rows += [draw(rows_for(table, patient_id, extreme_dates)) for _ in range(count)]
    return rows


@st.composite
def table_data(
    draw, tables=ALL_TABLES, extreme_dates: bool = False
) -> dict[qm.Frame, list[dict]]:
    """Data for every table in `tables`: {table node: [row dicts]}.

    Every table draws rows for each of the same eight patients (drawing the
    patients first, or per table, left most examples with one patient or none,
    as hypothesis favours the low end of a range; fewer rows still come from
    shrinking, which drops rows one by one). With `extreme_dates`, date cells
    are often at the ends of the date range.
    """
    patient_ids = PATIENT_IDS
    return {
        table: draw(table_rows(table, patient_ids, extreme_dates)) for table in tables
    }
