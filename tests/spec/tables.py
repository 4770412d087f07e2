"""The two small tables every spec test reads from.

`p` has one row per patient and `e` many; both have a column of each type,
named by type and number: i1 (int), f1 (float), b1 (bool), d1 (date),
s1 (str), c1 (SNOMED CT code), and second columns i2, d2, s2 for tests that
combine two columns of one type.
"""

import datetime

from ehrql.codes import SNOMEDCTCode
from ehrql.tables import EventFrame, PatientFrame, Series, table


@table
class p(PatientFrame):
    i1 = Series(int)
    i2 = Series(int)
    f1 = Series(float)
    f2 = Series(float)
    b1 = Series(bool)
    b2 = Series(bool)
    d1 = Series(datetime.date)
    d2 = Series(datetime.date)
    s1 = Series(str)
    s2 = Series(str)
    c1 = Series(SNOMEDCTCode)


@table
class e(EventFrame):
    i1 = Series(int)
    i2 = Series(int)
    f1 = Series(float)
    f2 = Series(float)
    b1 = Series(bool)
    b2 = Series(bool)
    d1 = Series(datetime.date)
    d2 = Series(datetime.date)
    s1 = Series(str)
    s2 = Series(str)
    c1 = Series(SNOMEDCTCode)
