"""The EMIS schema: what the OpenSAFELY-EMIS backend provides.

`clinical_events`, `medications` and `ons_deaths` are the core tables
themselves. `patients` is EMIS's own: besides demographics it carries the
patient's current practice registration and area data, since EMIS holds no
registration history.
"""

from __future__ import annotations

import datetime

from ehrql.codes import SNOMEDCTCode
from ehrql.query_language import BaseSeries, EventFrame, PatientFrame, Series, table
from ehrql.query_model.table_schema import Constraint
from ehrql.tables import core
from ehrql.tables.core import DateLike, clinical_events, medications, ons_deaths

__all__ = [
    "clinical_events",
    "medications",
    "ons_deaths",
    "patients",
    "practice_registrations",
    "vaccinations",
]


@table
class patients(PatientFrame):
    """One row per patient: demographics, current registration and area of residence.

    Dates of birth are rounded down to the first of the month. The date of
    death is the one the practice recorded; `ons_deaths` holds registered
    deaths. Only the current registration is known, not earlier ones.
    """

    date_of_birth = Series(
        datetime.date,
        description="The patient's month of birth, given as the first day of that month.",
        constraints=[Constraint.FirstOfMonth(), Constraint.NotNull()],
    )
    sex = Series(
        str,
        description="The patient's sex as recorded by the practice.",
        constraints=[
            Constraint.Categorical("female", "male", "unknown"),
            Constraint.NotNull(),
        ],
    )
    date_of_death = Series(
        datetime.date,
        description="The date of death the practice recorded, or null if none is recorded.",
    )
    registration_start_date = Series(
        datetime.date,
        description="The first day of the patient's current practice registration.",
        constraints=[Constraint.NotNull()],
    )
    registration_end_date = Series(
        datetime.date,
        description="The day the current registration ended, or null while it is still open.",
    )
    practice_pseudo_id = Series(
        str,
        description="A pseudonymous identifier standing for the patient's practice.",
        constraints=[Constraint.NotNull()],
    )
    rural_urban_classification = Series(
        int,
        description=(
            "The 2011 rural-urban classification of the patient's area, from 1 (urban "
            "major conurbation) to 8 (rural village and dispersed, in a sparse setting)."
        ),
        constraints=[Constraint.ClosedRange(1, 8)],
    )
    imd_rounded = Series(
        int,
        description=(
            "The English Index of Multiple Deprivation rank of the patient's area, rounded "
            "to the nearest 100; low ranks are the most deprived areas."
        ),
        constraints=[Constraint.ClosedRange(0, 32_800, 100)],
    )

    def age_on(self, date: DateLike) -> BaseSeries:
        """The patient's age in whole years on `date`, counted as birthdays are.

        It ignores whether the patient was alive on `date`, and is negative
        when `date` is before the month of birth.
        """
        return (date - self.date_of_birth).years

    def has_practice_registration_spanning(
        self, start_date: DateLike, end_date: DateLike
    ) -> BaseSeries:
        """True where the current registration covers the whole of `start_date` to `end_date`.

        That is, it started on or before `start_date` and is either still open
        or ended strictly after `end_date`.
        """
        return self.registration_start_date.is_on_or_before(start_date) & (
            self.registration_end_date.is_after(end_date)
            | self.registration_end_date.is_null()
        )


@table
class practice_registrations(core.practice_registrations.__class__):
    """Practice registrations with the columns and helpers of `core.practice_registrations`.

    EMIS holds only each patient's current registration, so there is at most
    one row per patient and no history.
    """


@table
class vaccinations(EventFrame):
    """Vaccinations given, one row each, coded by the SNOMED CT procedure.

    Vaccine products can also be found in `medications`. Vaccines given at
    work or in a pharmacy may be missing.
    """

    date = Series(
        datetime.date,
        description="The date the vaccine was given.",
    )
    procedure_code = Series(
        SNOMEDCTCode,
        description="The SNOMED CT concept of the vaccination procedure.",
    )
