"""The small fixed tables that generative tests build queries over.

One patient-level table and two event-level tables. Every table has a column
of every series type, so a query wanting a column of some type can always find
one on any frame; the tables differ in names and in second columns so that
queries mixing them, and sorting on several keys, have something to work with.
"""

from __future__ import annotations

import datetime

from ehrql.codes import SNOMEDCTCode
from ehrql.query_model import nodes as qm
from ehrql.query_model.table_schema import Column, TableSchema

#: The code class used by every code column.
CODE_TYPE = SNOMEDCTCode

#: Valid SNOMED CT codes (their Verhoeff check digits are right) of different
#: lengths, so that code order (by string) differs from numeric order.
CODES: tuple[SNOMEDCTCode, ...] = tuple(
    SNOMEDCTCode(value)
    for value in ("100005", "123451", "999997", "1000004", "20000007", "31415922")
)


def _schema(**types) -> TableSchema:
    return TableSchema({name: Column(type_) for name, type_ in types.items()})


patients = qm.SelectPatientTable(
    "gen_patients",
    _schema(
        i1=int,
        f1=float,
        b1=bool,
        s1=str,
        d1=datetime.date,
        d2=datetime.date,
        c1=CODE_TYPE,
    ),
)

events = qm.SelectTable(
    "gen_events",
    _schema(i1=int, i2=int, f1=float, b1=bool, s1=str, d1=datetime.date, c1=CODE_TYPE),
)

others = qm.SelectTable(
    "gen_others",
    _schema(
        d1=datetime.date, i1=int, f1=float, f2=float, b1=bool, s1=str, c1=CODE_TYPE
    ),
)

#: The schema of generated inline patient tables (whose rows are part of the
#: query, so vary from example to example).
INLINE_SCHEMA = _schema(
    i1=int, f1=float, b1=bool, s1=str, d1=datetime.date, c1=CODE_TYPE
)

#: Every table, patient table first.
ALL_TABLES: tuple[qm.Frame, ...] = (patients, events, others)
#: The event-level tables.
EVENT_TABLES: tuple[qm.SelectTable, ...] = (events, others)

#: Every type a column (and so a generated series) can have.
SERIES_TYPES: tuple[type, ...] = (bool, int, float, str, datetime.date, CODE_TYPE)


def columns_of_type(frame: qm.Frame, type_) -> list[str]:
    """Names of the columns of `frame` holding values of `type_`, in schema order."""
    return [name for name, t in frame.schema.column_types if t == type_]
