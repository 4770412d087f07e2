"""The EMISv2 schema: the tables public ehrQL names `ehrql.tables.emisv2`.

`patients`, `clinical_events` and `medications` are the core tables
themselves. EMIS hold only each patient's current registration, so
`practice_registrations` and `addresses` have at most one row per patient,
both taken from it.
"""

from __future__ import annotations

import datetime

from ehrql.query_language import BaseFrame, BaseSeries, EventFrame, Series, table
from ehrql.query_model.table_schema import Constraint
from ehrql.tables.core import DateLike, clinical_events, medications, patients

__all__ = [
    "addresses",
    "clinical_events",
    "medications",
    "patients",
    "practice_registrations",
]

_IMD_2019 = (
    "the 2019 Index of Multiple Deprivation, for the lower layer super output area "
    "(2011 boundaries) of the address"
)
_IMD_2025 = (
    "the 2025 Index of Multiple Deprivation, for the lower layer super output area "
    "(2021 boundaries) of the address"
)


@table
class addresses(EventFrame):
    """The area of the home address the patient registered with, one row per registration.

    Lower ranks and deciles are more deprived.
    """

    start_date = Series(datetime.date, description="The first day of the registration.")
    end_date = Series(
        datetime.date,
        description="The day the registration ended, or null while it is still open.",
        dummy_data_constraints=[Constraint.DateAfter("start_date")],
    )
    imd_rounded_2019 = Series(
        int,
        description=f"The rank in {_IMD_2019}, rounded to the nearest 100 (0 to 32,800).",
        constraints=[Constraint.ClosedRange(0, 32_800, 100)],
    )
    imd_rounded_2025 = Series(
        int,
        description=f"The rank in {_IMD_2025}, rounded to the nearest 100 (0 to 33,800).",
        constraints=[Constraint.ClosedRange(0, 33_800, 100)],
    )
    imd_decile_2019 = Series(
        int,
        description=f"The decile (1 most deprived, 10 least) in {_IMD_2019}.",
        constraints=[Constraint.ClosedRange(1, 10)],
    )
    imd_decile_2025 = Series(
        int,
        description=f"The decile (1 most deprived, 10 least) in {_IMD_2025}.",
        constraints=[Constraint.ClosedRange(1, 10)],
    )
    msoa_code_2011 = Series(
        str,
        description="The middle layer super output area of the address (2011 boundaries).",
        constraints=[Constraint.Regex("E020[0-9]{5}")],
    )
    msoa_code_2021 = Series(
        str,
        description="The middle layer super output area of the address (2021 boundaries).",
        constraints=[Constraint.Regex("E020[0-9]{5}")],
    )

    def for_patient_on(self, date: DateLike) -> BaseFrame:
        """Each patient's address on `date`: the one whose registration covers it, if any."""
        current = self.where(self.start_date <= date).except_where(self.end_date < date)
        return current.sort_by(current.start_date).last_for_patient()


@table
class practice_registrations(EventFrame):
    """The patient's current registration with a GP practice (EMIS hold no earlier ones)."""

    start_date = Series(
        datetime.date,
        description="The first day of the registration.",
        constraints=[Constraint.NotNull()],
    )
    end_date = Series(
        datetime.date,
        description="The day the registration ended, or null while it is still open.",
    )

    def for_patient_on(self, date: DateLike) -> BaseFrame:
        """Each patient's registration in force on `date`, if any."""
        return self.spanning(date, date).sort_by(self.start_date).last_for_patient()

    def exists_for_patient_on(self, date: DateLike) -> BaseSeries:
        """True for each patient registered on `date`."""
        return self.spanning(date, date).exists_for_patient()

    def spanning(self, start_date: DateLike, end_date: DateLike):
        """The registrations covering the whole of `start_date` to `end_date`, both included."""
        return self.where(
            self.start_date.is_on_or_before(start_date)
            & (self.end_date.is_on_or_after(end_date) | self.end_date.is_null())
        )
