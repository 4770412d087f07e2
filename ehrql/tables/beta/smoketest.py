"""Alias of `ehrql.tables.smoketest`, for studies written when it lived under `beta`."""

from ehrql.tables.smoketest import *  # noqa: F403
from ehrql.tables.smoketest import __all__  # noqa: F401
