"""The spec tables (`tests.spec.tables`) served by the TPP and EMIS backends, on DuckDB.

The spec tables `p` and `e` are not public tables, so no real backend maps
them. Each backend here is a test subclass of the real one that maps them
the way the real backend maps its public tables: `@mapping` methods over raw
tables in that provider's conventions (TPP: `Patient_ID` BIGINT, CamelCase
columns, event dates as DATETIME; EMIS: text `registration_id`, snake_case
columns, SNOMED CT codes as BIGINT, event dates as TIMESTAMP, rows of
ambiguous registrations left out). Running a spec case through one goes the
whole way a real job goes: raw rows in DuckDB, the backend's `resolve_table`,
the compiler's patient filter (TPP's type 1 opt-outs), the engine.

Every spec patient gets twins with the same rows whom the backend must leave
out: for TPP, one with a type 1 opt-out, one with a national data opt-out and
one registered only at a practice that has not acknowledged the directions
(every original is listed as without a national opt-out and registered at an
acknowledged practice, so it passes every rule); for EMIS, a patient whose
registration id is shared. A twin is in the population exactly when its original is (patients
never affect each other's results), so a result holding any twin shows that
the exclusion failed; the spec's expected rows stay as they are.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from typing import NamedTuple

import duckdb
import sqlalchemy as sa
from sqlalchemy.sql.selectable import Select

from ehrql.backends.base import Backend, mapping
from ehrql.backends.emis import EMISBackend
from ehrql.backends.expressions import as_date, text
from ehrql.backends.tpp import TPPBackend
from ehrql.query_engines.duckdb import DuckDBDialect, DuckDBQueryEngine
from ehrql.query_model import nodes as qm
from ehrql.query_model.table_schema import TableSchema
from tests.lib.engines import run_query
from tests.spec.tables import e, p

#: The spec tables' schemas, by public name.
SPEC_SCHEMAS: dict[str, TableSchema] = {"p": p._qm_node.schema, "e": e._qm_node.schema}

#: Time of day given to raw DATETIME values, so that the mappings must drop it.
RAW_TIME_OF_DAY = datetime.time(10, 30)

#: Added to a spec patient id to make the id of its opted-out TPP twin.
TPP_TWIN_OFFSET = 1_000_000
#: Added to a spec patient id to make the id of its TPP twin with a national data opt-out.
TPP_NDOO_TWIN_OFFSET = 2_000_000
#: Added to a spec patient id to make the id of its TPP twin registered only at
#: a practice that has not acknowledged the directions.
TPP_UNACTIVATED_TWIN_OFFSET = 3_000_000
#: The practices every TPP spec patient is registered at: one that has
#: acknowledged the directions, and one that has not.
TPP_ACTIVATED_PRACTICE, TPP_UNACTIVATED_PRACTICE = 1, 2

#: Appended to a spec patient id to make the shared registration id of its EMIS twin.
EMIS_TWIN_SUFFIX = "-shared"


def _kind(type_) -> str:
    """The kind of a spec column's type: int, float, bool, date, str or code."""
    if qm.is_code_type(type_):
        return "code"
    return {
        int: "int",
        float: "float",
        bool: "bool",
        datetime.date: "date",
        str: "str",
    }[type_]


def _spec_type(name: str):
    # `p` and `e` have the same columns.
    return SPEC_SCHEMAS["p"].get_column_type(name)


# -- shared by both backends -------------------------------------------------


def _spec_metadata(
    copied: list[sa.Table], raw_tables: dict, id_columns, column_name, column_type
) -> sa.MetaData:
    """Raw tables for the spec tables, plus copies of some of the backend's own raw tables.

    `id_columns(public)` gives the key columns of a raw table; `column_name`
    names the raw column of a spec column; `column_type(kind, event_level)`
    types it.
    """
    metadata = sa.MetaData()
    for table in copied:
        table.to_metadata(metadata)
    for public, raw in raw_tables.items():
        sa.Table(
            raw,
            metadata,
            *id_columns(public),
            *(
                sa.Column(column_name(n), column_type(_kind(t), public == "e"))
                for n, t in SPEC_SCHEMAS[public].column_types
            ),
        )
    return metadata


class _SpecTableMappings:
    """The spec tables' `@mapping`s; the backend says how it reads one (`_spec_table`)."""

    @mapping("p")
    def _spec_patients(self, schema: TableSchema) -> Select:
        return self._spec_table("p", schema)

    @mapping("e")
    def _spec_events(self, schema: TableSchema) -> Select:
        return self._spec_table("e", schema)


def _raw_rows(
    table_data, raw_tables: dict, ids, key_columns, column_name, raw_value
) -> dict[str, list[dict]]:
    """Raw rows holding the spec rows, each row written again for the patient's twin.

    `ids(patient_id)` gives the raw ids of a patient and of its twin;
    `key_columns(public, raw_id)` the raw row's key columns;
    `raw_value(value, kind, event_level)` a spec value as the raw column holds it.
    """
    rows: dict[str, list[dict]] = {raw: [] for raw in raw_tables.values()}
    for frame, public_rows in table_data.items():
        for row in public_rows:
            for raw_id in ids(row["patient_id"]):
                raw = key_columns(frame.name, raw_id)
                for name, value in row.items():
                    if name != "patient_id":
                        raw[column_name(name)] = raw_value(
                            value, _kind(_spec_type(name)), frame.name == "e"
                        )
                rows[raw_tables[frame.name]].append(raw)
    return rows


def _code_text(value) -> str:
    return value.value if hasattr(value, "value") else value


def _raw_value(value, kind: str, event_level: bool, code=_code_text):
    """A spec value as a raw column holds it: event dates with a time of day, codes by `code`."""
    if value is None:
        return None
    if kind == "date" and event_level:
        return datetime.datetime.combine(value, RAW_TIME_OF_DAY)
    if kind == "code":
        return code(value)
    return value


# -- TPP ---------------------------------------------------------------------

#: TPP-style raw column name stem for each kind of spec column.
_TPP_STEMS = {
    "int": "Integer",
    "float": "Float",
    "bool": "Flag",
    "date": "Date",
    "str": "Text",
    "code": "ConceptId",
}
#: TPP's raw tables holding the spec tables.
TPP_RAW_TABLES = {"p": "SpecPatient", "e": "SpecCodedEvent"}


def tpp_column(name: str) -> str:
    """The raw TPP column holding spec column `name` (i1 -> Integer1)."""
    return _TPP_STEMS[_kind(_spec_type(name))] + name[1:]


def _tpp_type(kind: str, event_level: bool) -> sa.types.TypeEngine:
    if kind == "date":
        # SystmOne records events with a time of day; patient dates are DATE.
        return sa.DateTime() if event_level else sa.Date()
    return {
        "int": sa.BigInteger(), "float": sa.Double(), "bool": sa.Boolean(),
        "str": sa.String(255), "code": sa.String(50),
    }[kind]  # fmt: skip


def _tpp_key_columns(public: str) -> list[sa.Column]:
    columns = [sa.Column("Patient_ID", sa.BigInteger())]
    if public == "e":
        columns.append(sa.Column("CodedEvent_ID", sa.BigInteger()))
    return columns


class SpecTPPBackend(_SpecTableMappings, TPPBackend):
    """The TPP backend, also mapping the spec tables over TPP-style raw tables."""

    raw_metadata = _spec_metadata(
        [
            TPPBackend.raw_metadata.tables[name]
            for name in (
                "PatientsWithTypeOneDissent",
                "PatientsWithoutNDOO",
                "RegistrationHistory",
                "DirectionsAcknowledged",
            )
        ],
        TPP_RAW_TABLES,
        _tpp_key_columns,
        tpp_column,
        _tpp_type,
    )

    def _spec_table(self, public: str, schema: TableSchema) -> Select:
        raw = self.raw_table(TPP_RAW_TABLES[public])

        def column(name, type_):
            value = raw.c[tpp_column(name)]
            return as_date(value) if _kind(type_) == "date" else value

        return sa.select(
            raw.c.Patient_ID.label("patient_id"),
            *(column(n, t).label(n) for n, t in schema.column_types),
        )


def tpp_raw_rows(
    table_data: Mapping[qm.Frame, list[dict]], other_patients=()
) -> dict[str, list[dict]]:
    """Raw TPP rows holding the spec rows, plus a twin of every patient for each
    of TPP's rules, which that rule must leave out.

    `other_patients` are patients the case names elsewhere (in an inline
    table): they pass every rule, like the spec's own patients.
    """
    event_ids = iter(range(1, 1_000_000))

    def key_columns(public, patient_id):
        return {
            "Patient_ID": patient_id,
            **({"CodedEvent_ID": next(event_ids)} if public == "e" else {}),
        }

    offsets = (TPP_TWIN_OFFSET, TPP_NDOO_TWIN_OFFSET, TPP_UNACTIVATED_TWIN_OFFSET)
    rows = _raw_rows(
        table_data,
        TPP_RAW_TABLES,
        lambda pid: (pid, *(pid + o for o in offsets)),
        key_columns,
        tpp_column,
        _raw_value,
    )
    patients = sorted(
        {r["Patient_ID"] for raw in TPP_RAW_TABLES.values() for r in rows[raw]}
        | set(other_patients)
    )
    twin_of = {
        pid: max((o for o in offsets if pid >= o), default=0) for pid in patients
    }
    rows["PatientsWithTypeOneDissent"] = [
        {"Patient_ID": p} for p in patients if twin_of[p] == TPP_TWIN_OFFSET
    ]
    rows["PatientsWithoutNDOO"] = [
        {"Patient_ID": p} for p in patients if twin_of[p] != TPP_NDOO_TWIN_OFFSET
    ]
    rows["RegistrationHistory"] = [
        {
            "Patient_ID": p,
            "Organisation_ID": TPP_UNACTIVATED_PRACTICE
            if twin_of[p] == TPP_UNACTIVATED_TWIN_OFFSET
            else TPP_ACTIVATED_PRACTICE,
            "StartDate": datetime.datetime(2000, 1, 1),
            "EndDate": datetime.datetime(9999, 12, 31),
        }
        for p in patients
    ]
    rows["DirectionsAcknowledged"] = [{"Organisation_ID": TPP_ACTIVATED_PRACTICE}]
    return rows


# -- EMIS --------------------------------------------------------------------

#: EMIS-style raw column name stem for each kind of spec column.
_EMIS_STEMS = {
    "int": "integer",
    "float": "float",
    "bool": "flag",
    "date": "date",
    "str": "text",
    "code": "snomed_concept_id",
}
#: EMIS's raw tables holding the spec tables.
EMIS_RAW_TABLES = {"p": "spec_patient_all_orgs_v2", "e": "spec_observation_all_orgs_v2"}


def emis_column(name: str) -> str:
    """The raw EMIS column holding spec column `name` (i1 -> integer_1)."""
    return f"{_EMIS_STEMS[_kind(_spec_type(name))]}_{name[1:]}"


def _emis_type(kind: str, event_level: bool) -> sa.types.TypeEngine:
    if kind == "date":
        # EMIS records events with a time of day; patient dates are DATE.
        return sa.DateTime() if event_level else sa.Date()
    return {
        "int": sa.BigInteger(), "float": sa.Double(), "bool": sa.Boolean(),
        "str": sa.VARCHAR(), "code": sa.BigInteger(),
    }[kind]  # fmt: skip


def _emis_key_columns(public: str) -> list[sa.Column]:
    return [
        sa.Column("registration_id", sa.VARCHAR(128)),
        sa.Column("hashed_organisation", sa.VARCHAR()),
    ]


class SpecEMISBackend(_SpecTableMappings, EMISBackend):
    """The EMIS backend, also mapping the spec tables over EMIS-style raw tables."""

    raw_metadata = _spec_metadata(
        [EMISBackend.raw_metadata.tables["patient_all_orgs_v2"]],
        EMIS_RAW_TABLES,
        _emis_key_columns,
        emis_column,
        _emis_type,
    )

    def _spec_table(self, public: str, schema: TableSchema) -> Select:
        raw = self.raw_table(EMIS_RAW_TABLES[public])
        readers = {"date": as_date, "code": text}

        def column(name, type_):
            return readers.get(_kind(type_), lambda value: value)(
                raw.c[emis_column(name)]
            )

        return sa.select(
            raw.c.registration_id.label("patient_id"),
            *(column(n, t).label(n) for n, t in schema.column_types),
        ).where(self._is_unambiguous(raw.c.registration_id))


def emis_raw_rows(
    table_data: Mapping[qm.Frame, list[dict]], other_patients=()
) -> dict[str, list[dict]]:
    """Raw EMIS rows holding the spec rows, plus a twin of every patient under a shared id."""

    def ids(patient_id):
        return str(patient_id), f"{patient_id}{EMIS_TWIN_SUFFIX}"

    def key_columns(public, registration_id):
        return {"registration_id": registration_id, "hashed_organisation": "0A"}

    def raw_value(value, kind, event_level):
        return _raw_value(value, kind, event_level, code=lambda c: int(_code_text(c)))

    rows = _raw_rows(
        table_data, EMIS_RAW_TABLES, ids, key_columns, emis_column, raw_value
    )
    shared = {
        r["registration_id"] for raw in EMIS_RAW_TABLES.values() for r in rows[raw]
    }
    shared = {
        registration_id
        for registration_id in shared
        if registration_id.endswith(EMIS_TWIN_SUFFIX)
    }
    # Two patient rows under one registration id make it ambiguous.
    rows["patient_all_orgs_v2"] = [
        {"registration_id": twin, "gender": gender}
        for twin in sorted(shared)
        for gender in (1, 2)
    ]
    return rows


def emis_spec_patient_id(registration_id: str):
    """The spec's integer patient id for an EMIS registration id; a twin's id stays text."""
    return int(registration_id) if registration_id.isdigit() else registration_id


# -- running -----------------------------------------------------------------


#: The SQLAlchemy dialect the DuckDB engine renders its SQL with.
_DUCKDB = DuckDBDialect.sqlalchemy_dialect


def duckdb_type_sql(type_: sa.types.TypeEngine) -> str:
    """DuckDB's name for a raw column's SQL type."""
    return type_.compile(dialect=_DUCKDB)


def create_raw_tables(connection: duckdb.DuckDBPyConnection, backend: Backend) -> None:
    """Create the backend's raw tables, empty, in a DuckDB connection (replacing any there)."""
    for table in backend.raw_metadata.sorted_tables:
        create = str(sa.schema.CreateTable(table).compile(dialect=_DUCKDB))
        connection.execute(create.replace("CREATE TABLE", "CREATE OR REPLACE TABLE", 1))


def insert_raw_rows(
    connection: duckdb.DuckDBPyConnection, backend: Backend, rows: dict[str, list[dict]]
) -> None:
    """Add raw rows (a column a row leaves out is NULL) to the backend's raw tables."""
    for table_name, table_rows in rows.items():
        if not table_rows:
            continue
        columns = list(backend.raw_table(table_name).c.keys())
        row_placeholder = "(" + ", ".join("?" for _ in columns) + ")"
        # One statement for all rows: DuckDB's executemany is slow for small batches.
        connection.execute(
            f'INSERT INTO "{table_name}" VALUES '
            + ", ".join(row_placeholder for _ in table_rows),
            [row.get(c) for row in table_rows for c in columns],
        )


class SpecBackend(NamedTuple):
    """A backend serving the spec tables, and how spec data goes in and comes out."""

    backend: Backend
    #: Spec table data, and ids of patients found only in inline tables ->
    #: raw rows by raw table name, twins included.
    raw_rows: Callable[[Mapping[qm.Frame, list[dict]]], dict[str, list[dict]]]
    #: A patient id the backend returns -> the spec's patient id.
    spec_patient_id: Callable


SPEC_BACKENDS: dict[str, SpecBackend] = {
    "tpp_backend": SpecBackend(SpecTPPBackend(), tpp_raw_rows, int),
    "emis_backend": SpecBackend(SpecEMISBackend(), emis_raw_rows, emis_spec_patient_id),
}


def load_spec_data(
    connection: duckdb.DuckDBPyConnection, name: str, table_data, dataset=None
) -> Backend:
    """Fill a DuckDB connection with the raw tables of spec backend `name`; return the backend.

    Patients of `dataset`'s inline tables, if given, are recorded as passing
    the backend's access rules, as the spec's own patients do.
    """
    backend, raw_rows, _ = SPEC_BACKENDS[name]
    inline = (
        []
        if dataset is None
        else [
            t
            for t in qm.get_table_nodes(dataset)
            if isinstance(t, qm.InlinePatientTable)
        ]
    )
    create_raw_tables(connection, backend)
    insert_raw_rows(
        connection,
        backend,
        raw_rows(table_data, sorted({row[0] for t in inline for row in t.rows})),
    )
    return backend


def runner(
    name: str,
) -> Callable[[Mapping[qm.Frame, list[dict]], qm.Dataset], list[tuple]]:
    """A function running a spec dataset through spec backend `name`, as the engines in ENGINES do."""
    _, _, spec_patient_id = SPEC_BACKENDS[name]

    connections: list[duckdb.DuckDBPyConnection] = []

    def run(table_data, dataset) -> list[tuple]:
        # One connection for every case: opening a database costs more than
        # a case does. Each case replaces every raw table, and the engine
        # drops its own intermediate tables.
        if not connections:
            connections.append(duckdb.connect())
        connection = connections[0]
        # An event table query runs its dataset's inline tables too.
        backend = load_spec_data(
            connection, name, table_data, getattr(dataset, "dataset", dataset)
        )
        rows = run_query(DuckDBQueryEngine(connection, backend=backend), dataset)
        return [(spec_patient_id(row[0]), *row[1:]) for row in rows]

    return run


#: Spec backend name -> function running a spec dataset through it.
SPEC_BACKEND_RUNNERS = {name: runner(name) for name in SPEC_BACKENDS}
