"""The smoke-test schema: the smallest table, for checking a backend works end to end.

A definition using only this schema (for example, the distribution of ages)
can be run on every backend to show the platform is working.
"""

from __future__ import annotations

import datetime

from ehrql.query_language import PatientFrame, Series, table
from ehrql.query_model.table_schema import Constraint

__all__ = [
    "patients",
]


@table
class patients(PatientFrame):
    """One row per patient, holding only the month of birth."""

    date_of_birth = Series(
        datetime.date,
        description="The patient's month of birth, given as the first day of that month.",
        constraints=[Constraint.FirstOfMonth(), Constraint.NotNull()],
    )
