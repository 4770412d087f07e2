"""Alias of `ehrql.tables.emis`, for studies written when it lived under `beta`."""

from ehrql.tables.emis import *  # noqa: F403
from ehrql.tables.emis import __all__  # noqa: F401
