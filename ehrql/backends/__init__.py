"""Backends: how each data provider's raw tables become the public ehrQL tables.

`BACKENDS` names every backend; `get_backend` builds one by name. These are
the only lookup of backends: the command line takes its choices from here.
"""

from __future__ import annotations

import types

from ehrql.backends.base import Backend, BackendError
from ehrql.backends.emis import EMISBackend
from ehrql.backends.emisv2 import EMISv2Backend
from ehrql.backends.tpp import TPPBackend

#: Every backend, by the name a researcher or the job runner selects it with.
BACKENDS: types.MappingProxyType = types.MappingProxyType(
    {backend.name: backend for backend in (TPPBackend, EMISBackend, EMISv2Backend)}
)


def get_backend(name: str) -> Backend:
    """A new instance of the backend called `name` ("tpp", "emis" or "emisv2")."""
    try:
        return BACKENDS[name]()
    except KeyError:
        known = ", ".join(sorted(BACKENDS))
        raise BackendError(
            f"unknown backend '{name}'; valid backends: {known}"
        ) from None
