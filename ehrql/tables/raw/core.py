"""The raw core schema: minimally processed tables every primary care backend provides."""

from __future__ import annotations

import datetime

from ehrql.codes import DMDCode, ICD10Code
from ehrql.query_language import EventFrame, Series, table

__all__ = [
    "medications",
    "ons_deaths",
]

_MENTIONED = "A condition mentioned on the death certificate (the 15 are in no particular order)."


class ons_deaths_raw(EventFrame):
    """Every registered death of each patient, from the Office for National Statistics.

    A few patients have more than one death registration; all are kept here,
    one row each, whereas `ehrql.tables.core.ons_deaths` keeps the earliest.
    Use `ons_deaths.sort_by(ons_deaths.date).last_for_patient()` (or
    `first_for_patient()`) to choose one.
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


# The class is named after the backend table so it does not clash with the
# cleaned `ons_deaths` table; researchers import it as `ons_deaths`.
ons_deaths = table(ons_deaths_raw)


class medications_raw(EventFrame):
    """Prescriptions issued in primary care, as recorded, one row per issue."""

    date = Series(
        datetime.date,
        description="The date the prescription was issued.",
    )
    dmd_code = Series(
        DMDCode,
        description="The dm+d code of the product prescribed.",
    )


medications = table(medications_raw)
