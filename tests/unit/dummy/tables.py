"""Small tables for the dummy data tests, one per kind of constraint and shape."""

import datetime

from ehrql.codes import ICD10Code, SNOMEDCTCode
from ehrql.tables import Constraint, EventFrame, PatientFrame, Series, table


@table
class people(PatientFrame):
    birth_month = Series(
        datetime.date, constraints=[Constraint.FirstOfMonth(), Constraint.NotNull()]
    )
    gender = Series(
        str, constraints=[Constraint.Categorical("f", "m", "x"), Constraint.NotNull()]
    )
    died_on = Series(datetime.date)
    region = Series(str, constraints=[Constraint.Regex(r"R[0-9]{2}")])
    score = Series(int, constraints=[Constraint.ClosedRange(0, 50, 5)])
    nhs_ref = Series(int, constraints=[Constraint.Unique(), Constraint.NotNull()])


@table
class events(EventFrame):
    day = Series(datetime.date)
    code = Series(SNOMEDCTCode)
    reading = Series(float)
    flagged = Series(bool)


@table
class spells(EventFrame):
    began = Series(datetime.date, constraints=[Constraint.NotNull()])
    ended = Series(datetime.date, constraints=[Constraint.DateAfter("began")])
    site = Series(int, constraints=[Constraint.NotNull()])


@table
class death_records(PatientFrame):
    died = Series(datetime.date, constraints=[Constraint.NotNull()])
    cause = Series(ICD10Code)


@table
class appointments(EventFrame):
    day = Series(datetime.date)
    code = Series(SNOMEDCTCode)
    consultation = Series(int)


@table
class prescriptions(EventFrame):
    day = Series(datetime.date)
    drug = Series(SNOMEDCTCode)
    consultation = Series(int)
