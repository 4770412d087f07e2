"""Query engines: the one registry of every engine, by the name the command line and tests use.

Each engine compiles or evaluates a query model dataset against one kind of
database. `ENGINES` holds one `EngineRecord` per engine: its name, where its
class is, the DSN schemes that call for it and the package extra its driver
comes in. Every other list of engines (`ENGINE_CLASSES`, `DSN_SCHEME_ENGINES`,
`DRIVER_EXTRAS`, the CLI's `--query-engine` choices, the tests' engines) is
derived from it, so adding an engine is one record here plus its own module.
"""

from __future__ import annotations

import dataclasses
import importlib
import types


@dataclasses.dataclass(frozen=True)
class EngineRecord:
    """One query engine, as the registry knows it."""

    #: The name `--query-engine` and `OPENSAFELY_QUERY_ENGINE` take.
    name: str
    #: "module:Class", imported only when asked for so that an engine's
    #: database driver is not needed by people who never use it.
    engine_class: str
    #: URL schemes (as SQLAlchemy spells them, lower case) of DSNs only this engine can run.
    dsn_schemes: tuple[str, ...] = ()
    #: The `pip install 'ehrql[extra]'` extra that installs the engine's driver, if it needs one.
    extra: str | None = None

    def load_class(self) -> type:
        """The engine class (importing its module, and so its driver)."""
        module_name, class_name = self.engine_class.split(":")
        return getattr(importlib.import_module(module_name), class_name)


def _by_name(*records: EngineRecord) -> types.MappingProxyType:
    return types.MappingProxyType({record.name: record for record in records})


#: Every engine, by name.
ENGINES: types.MappingProxyType = _by_name(
    EngineRecord("in_memory", "ehrql.query_engines.in_memory:InMemoryQueryEngine"),
    EngineRecord("duckdb", "ehrql.query_engines.duckdb:DuckDBQueryEngine"),
    EngineRecord(
        "mssql",
        "ehrql.query_engines.mssql:MSSQLQueryEngine",
        dsn_schemes=("mssql", "mssql+pyodbc"),
        extra="mssql",
    ),
    EngineRecord(
        "trino",
        "ehrql.query_engines.trino:TrinoQueryEngine",
        dsn_schemes=("trino",),
        extra="trino",
    ),
    EngineRecord(
        "spark",
        "ehrql.query_engines.spark:SparkQueryEngine",
        dsn_schemes=("spark",),
        extra="spark",
    ),
)

#: Engine name -> "module:Class".
ENGINE_CLASSES: types.MappingProxyType = types.MappingProxyType(
    {name: record.engine_class for name, record in ENGINES.items()}
)

#: URL scheme -> the only engine that can run a DSN of that scheme.
DSN_SCHEME_ENGINES: types.MappingProxyType = types.MappingProxyType(
    {
        scheme: record.name
        for record in ENGINES.values()
        for scheme in record.dsn_schemes
    }
)

#: URL scheme (SQLAlchemy driver name) -> the ehrql extra that installs its driver's package.
DRIVER_EXTRAS: types.MappingProxyType = types.MappingProxyType(
    {
        scheme: record.extra
        for record in ENGINES.values()
        for scheme in record.dsn_schemes
        if record.extra
    }
)


def get_engine_class(name: str) -> type:
    """The engine class registered under `name`."""
    try:
        record = ENGINES[name]
    except KeyError:
        known = ", ".join(sorted(ENGINES))
        raise ValueError(
            f"unknown query engine '{name}'; known engines: {known}"
        ) from None
    return record.load_class()
