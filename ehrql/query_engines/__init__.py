"""Query engines, by the names the command line and tests use for them.

Each engine compiles or evaluates a query model dataset against one kind of
database. `get_engine_class` turns a name into the class, with a clear error
for a name that is not known.
"""

from __future__ import annotations

import importlib

#: Engine name -> "module:class", imported only when asked for so that an
#: engine's database driver is not needed by people who never use it.
ENGINE_CLASSES: dict[str, str] = {
    "in_memory": "ehrql.query_engines.in_memory:InMemoryQueryEngine",
    "duckdb": "ehrql.query_engines.duckdb:DuckDBQueryEngine",
    "mssql": "ehrql.query_engines.mssql:MSSQLQueryEngine",
    "trino": "ehrql.query_engines.trino:TrinoQueryEngine",
    "spark": "ehrql.query_engines.spark:SparkQueryEngine",
}


def get_engine_class(name: str) -> type:
    """The engine class registered under `name`."""
    try:
        module_name, class_name = ENGINE_CLASSES[name].split(":")
    except KeyError:
        known = ", ".join(sorted(ENGINE_CLASSES))
        raise ValueError(f"unknown query engine '{name}'; known engines: {known}") from None
    return getattr(importlib.import_module(module_name), class_name)
