"""Declaring tables: `@table` classes with typed, documented, constrained columns.

The concrete schemas live in `ehrql.tables.core`, `ehrql.tables.tpp` and
`ehrql.tables.emis`.
"""

from ehrql.query_language import (
    EventFrame,
    PatientFrame,
    Series,
    table,
    table_from_file,
    table_from_rows,
)
from ehrql.query_model.table_schema import Constraint

__all__ = [
    "Constraint",
    "EventFrame",
    "PatientFrame",
    "Series",
    "table",
    "table_from_file",
    "table_from_rows",
]
