"""Alias of `ehrql.tables.core`, for studies written when it lived under `beta`."""

from ehrql.tables.core import *  # noqa: F403
from ehrql.tables.core import __all__  # noqa: F401
