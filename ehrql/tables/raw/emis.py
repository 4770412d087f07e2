"""The raw EMIS schema: minimally processed tables of the OpenSAFELY-EMIS backend.

EMIS provides exactly the raw core tables.
"""

from ehrql.tables.raw.core import medications, ons_deaths

__all__ = [
    "medications",
    "ons_deaths",
]
