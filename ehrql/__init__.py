"""ehrql: the ehrQL electronic health records query language, compiled to SQL.

A dataset definition imports what it needs from here and from `ehrql.tables`.
"""

from ehrql.codelists import codelist_from_csv
from ehrql.debugger import show
from ehrql.errors import Error
from ehrql.measures import INTERVAL, Measures, create_measures
from ehrql.permissions import claim_permissions
from ehrql.query_language import (
    Dataset,
    case,
    create_dataset,
    days,
    get_parameter,
    maximum_of,
    minimum_of,
    months,
    table_from_file,
    table_from_rows,
    weeks,
    when,
    years,
)

__version__ = "0.1.0"

__all__ = [
    "INTERVAL",
    "Dataset",
    "Error",
    "Measures",
    "case",
    "claim_permissions",
    "codelist_from_csv",
    "create_dataset",
    "create_measures",
    "days",
    "get_parameter",
    "maximum_of",
    "minimum_of",
    "months",
    "show",
    "table_from_file",
    "table_from_rows",
    "weeks",
    "when",
    "years",
]
