"""Alias of `ehrql.tables.tpp`, for studies written when it lived under `beta`."""

from ehrql.tables.tpp import *  # noqa: F403
from ehrql.tables.tpp import __all__  # noqa: F401
