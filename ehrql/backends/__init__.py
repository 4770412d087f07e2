"""Backends: how each data provider's raw tables become the public ehrQL tables.

`BACKENDS` names every backend; `get_backend` builds one by name. These are
the only lookup of backends: the command line takes its choices from here.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping

from ehrql.backends.base import Backend, BackendError


class _BackendClasses(Mapping):
    """Backend classes by name, each module imported only when its class is
    asked for: a backend's raw table definitions take a while to build, and
    a run against a DuckDB file or dummy data needs none of them."""

    def __init__(self, locations: Mapping[str, str]):
        self._locations = dict(locations)

    def __getitem__(self, name: str) -> type[Backend]:
        module_name, _, class_name = self._locations[name].partition(":")
        return getattr(importlib.import_module(module_name), class_name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._locations)

    def __len__(self) -> int:
        return len(self._locations)


#: Every backend, by the name a researcher or the job runner selects it with
#: (its class's `name`): name -> backend class.
BACKENDS: Mapping[str, type[Backend]] = _BackendClasses(
    {
        "tpp": "ehrql.backends.tpp:TPPBackend",
        "emis": "ehrql.backends.emis:EMISBackend",
        "emisv2": "ehrql.backends.emisv2:EMISv2Backend",
    }
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
