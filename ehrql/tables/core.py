"""The core schema: tables every primary care backend provides.

A dataset definition that imports only from this module runs unchanged on any
backend (TPP or EMIS). Backend schemas (`ehrql.tables.tpp`, `ehrql.tables.emis`)
reuse or extend these tables.
"""

from __future__ import annotations

import datetime
import functools
import operator
from collections.abc import Iterable

from ehrql.codes import DMDCode, ICD10Code, SNOMEDCTCode
from ehrql.query_language import BaseSeries, EventFrame, PatientFrame, Series, table
from ehrql.query_model.table_schema import Constraint

__all__ = [
    "clinical_events",
    "medications",
    "ons_deaths",
    "patients",
    "practice_registrations",
]

#: A date given as 'YYYY-MM-DD', a `datetime.date`, or a date series.
DateLike = str | datetime.date | BaseSeries


@table
class patients(PatientFrame):
    """One row per patient: date of birth, sex and any date of death in the GP record.

    Dates of birth are rounded down to the first of the month to protect
    privacy. The date of death here is the one the practice recorded; the
    `ons_deaths` table holds the registered death, which is usually the better
    source for research on mortality.
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
            Constraint.Categorical("female", "male", "intersex", "unknown"),
            Constraint.NotNull(),
        ],
    )
    date_of_death = Series(
        datetime.date,
        description="The date of death the practice recorded, or null if none is recorded.",
    )

    def age_on(self, date: DateLike) -> BaseSeries:
        """The patient's age in whole years on `date`, counted as birthdays are.

        It ignores whether the patient was alive on `date`, and is negative
        when `date` is before the month of birth.
        """
        return (date - self.date_of_birth).years

    def is_alive_on(self, date: DateLike) -> BaseSeries:
        """True unless the GP record gives a date of death on or before `date`.

        Patients not yet born on `date` also count as alive: only death is
        looked at.
        """
        return self.date_of_death.is_after(date) | self.date_of_death.is_null()

    def is_dead_on(self, date: DateLike) -> BaseSeries:
        """True when the GP record gives a date of death strictly before `date`."""
        return self.date_of_death.is_not_null() & self.date_of_death.is_before(date)


@table
class practice_registrations(EventFrame):
    """One row per period of registration with a GP practice.

    A patient may have several rows, some overlapping; `end_date` is null for a
    registration still open.
    """

    start_date = Series(
        datetime.date,
        description="The first day of the registration.",
        constraints=[Constraint.NotNull()],
    )
    end_date = Series(
        datetime.date,
        description="The day the registration ended, or null while it is still open.",
    )
    practice_pseudo_id = Series(
        int,
        description="A pseudonymous number standing for the practice.",
        constraints=[Constraint.NotNull()],
    )

    def for_patient_on(self, date: DateLike) -> PatientFrame:
        """Each patient's registration in force on `date`, at most one per patient.

        A registration is in force when it started on or before `date` and had
        not ended before it. When several are, the one that started last wins;
        then the one ending last (an open one counts as ending earliest, as
        nulls sort first); then the highest practice id.
        """
        current = self.where(self.start_date <= date).except_where(self.end_date < date)
        return current.sort_by(
            current.start_date, current.end_date, current.practice_pseudo_id
        ).last_for_patient()

    def exists_for_patient_on(self, date: DateLike) -> BaseSeries:
        """True for each patient registered with some practice on `date`."""
        return self.spanning(date, date).exists_for_patient()

    def spanning(self, start_date: DateLike, end_date: DateLike) -> EventFrame:
        """The registrations covering the whole of `start_date` to `end_date`, both included.

        That is, registrations starting on or before `start_date` and either
        still open or ending on or after `end_date`, as in public ehrQL. A
        registration ending on a date is in force on it, as `for_patient_on()`
        has it too.
        """
        return self.where(
            self.start_date.is_on_or_before(start_date)
            & (self.end_date.is_on_or_after(end_date) | self.end_date.is_null())
        )


#: The names of the columns of `ons_deaths` that may hold a cause of death.
CAUSE_OF_DEATH_COLUMNS = (
    "underlying_cause_of_death",
    *(f"cause_of_death_{i:02d}" for i in range(1, 16)),
)

_MENTIONED = "A condition mentioned on the death certificate (the 15 are in no particular order)."


@table
class ons_deaths(PatientFrame):
    """Deaths registered with the Office for National Statistics, from February 2019.

    One row per patient who has a registered death: where a patient has more
    than one registration, the earliest is kept (the raw table
    `ehrql.tables.raw.core.ons_deaths` has them all). Besides the underlying
    cause there are up to 15 other conditions from the certificate. Registration
    can lag the death by weeks or months.
    """

    date = Series(
        datetime.date,
        description="The date of death as registered.",
    )
    underlying_cause_of_death = Series(
        ICD10Code,
        description="The ICD-10 code of the disease or injury that started the events leading to death.",
    )
    cause_of_death_01 = Series(ICD10Code, description=_MENTIONED)
    cause_of_death_02 = Series(ICD10Code, description=_MENTIONED)
    cause_of_death_03 = Series(ICD10Code, description=_MENTIONED)
    cause_of_death_04 = Series(ICD10Code, description=_MENTIONED)
    cause_of_death_05 = Series(ICD10Code, description=_MENTIONED)
    cause_of_death_06 = Series(ICD10Code, description=_MENTIONED)
    cause_of_death_07 = Series(ICD10Code, description=_MENTIONED)
    cause_of_death_08 = Series(ICD10Code, description=_MENTIONED)
    cause_of_death_09 = Series(ICD10Code, description=_MENTIONED)
    cause_of_death_10 = Series(ICD10Code, description=_MENTIONED)
    cause_of_death_11 = Series(ICD10Code, description=_MENTIONED)
    cause_of_death_12 = Series(ICD10Code, description=_MENTIONED)
    cause_of_death_13 = Series(ICD10Code, description=_MENTIONED)
    cause_of_death_14 = Series(ICD10Code, description=_MENTIONED)
    cause_of_death_15 = Series(ICD10Code, description=_MENTIONED)

    def cause_of_death_is_in(self, codelist: Iterable) -> BaseSeries:
        """True where any cause on the certificate, underlying or mentioned, is in `codelist`.

        Columns that are null do not count as a match, so a patient whose
        causes are all outside the codelist or null gets False or null.
        """
        matches = [
            getattr(self, name).is_in(codelist) for name in CAUSE_OF_DEATH_COLUMNS
        ]
        return functools.reduce(operator.or_, matches)


@table
class clinical_events(EventFrame):
    """One row per coded event in the GP record: diagnoses, symptoms, tests, measurements.

    Codes are stored as they were entered, even if later retired, so
    codelists should include inactive codes too.
    """

    date = Series(
        datetime.date,
        description="The date the event was recorded as happening.",
    )
    snomedct_code = Series(
        SNOMEDCTCode,
        description="The SNOMED CT concept the event was coded with.",
    )
    numeric_value = Series(
        float,
        description="The number recorded with the event, such as a test result, if any.",
    )


@table
class medications(EventFrame):
    """One row per issue of a prescription in primary care, coded with dm+d.

    The date is when the prescription was issued, which need not be when it
    was dispensed or taken.
    """

    date = Series(
        datetime.date,
        description="The date the prescription was issued.",
    )
    dmd_code = Series(
        DMDCode,
        description="The dm+d code of the product prescribed.",
    )
