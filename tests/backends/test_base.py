"""The backend base class, registry and permission handling."""

import pytest
import sqlalchemy as sa

from ehrql.backends import BACKENDS, get_backend
from ehrql.backends.base import (
    Backend,
    BackendError,
    MissingColumnError,
    PermissionNotGrantedError,
    UnknownTableError,
    mapping,
    split_dsn_permissions,
)
from ehrql.backends.emis import EMISBackend
from ehrql.backends.emisv2 import EMISv2Backend
from ehrql.backends.tpp import TPPBackend
from ehrql.query_model.table_schema import Column, TableSchema

metadata = sa.MetaData()
raw_things = sa.Table(
    "Things", metadata, sa.Column("pid", sa.Integer()), sa.Column("v", sa.String())
)


class ToyBackend(Backend):
    name = "toy"
    display_name = "Toy"
    query_engine = "duckdb"
    raw_metadata = metadata
    permissions = frozenset({"extra"})

    @mapping("things")
    def _things(self, schema):
        return sa.select(
            raw_things.c.v.label("value"),
            raw_things.c.pid.label("patient_id"),
            raw_things.c.v.label("unused"),
        )

    @mapping("broken")
    def _broken(self, schema):
        return sa.select(raw_things.c.pid.label("patient_id"))


class ToyOverride(ToyBackend):
    @mapping("things")
    def _other_things(self, schema):
        return sa.select(
            raw_things.c.pid.label("patient_id"), sa.literal("x").label("value")
        )


SCHEMA = TableSchema(value=Column(str))


def test_table_expression_projects_patient_id_and_schema_columns_in_order():
    expression = ToyBackend().table_expression("things", SCHEMA)
    assert list(expression.c.keys()) == ["patient_id", "value"]
    assert expression.name == "things"


def test_unknown_table_names_the_backend():
    with pytest.raises(
        UnknownTableError, match="Toy backend does not provide the table 'nope'"
    ):
        ToyBackend().table_expression("nope", SCHEMA)


def test_mapping_missing_a_schema_column_is_refused():
    with pytest.raises(MissingColumnError, match="'value'"):
        ToyBackend().table_expression("broken", SCHEMA)


def test_subclass_mappings_override_inherited_ones():
    assert ToyBackend.mappings == {"things": "_things", "broken": "_broken"}
    assert ToyOverride.mappings == {"things": "_other_things", "broken": "_broken"}


def test_resolve_table_reads_a_query_model_node():
    node = type("Node", (), {"name": "things", "schema": SCHEMA})()
    assert list(ToyBackend().resolve_table(node).c.keys()) == ["patient_id", "value"]


def test_base_backend_excludes_nobody_but_checks_permissions():
    assert ToyBackend().patient_exclusions({"extra"}) is None
    with pytest.raises(PermissionNotGrantedError, match="other"):
        ToyBackend().patient_exclusions({"other", "extra"})


def test_registry():
    assert dict(BACKENDS) == {
        "tpp": TPPBackend,
        "emis": EMISBackend,
        "emisv2": EMISv2Backend,
    }
    assert all(backend.name == name for name, backend in BACKENDS.items())
    assert isinstance(get_backend("emis"), EMISBackend)
    assert isinstance(get_backend("emisv2"), EMISv2Backend)
    with pytest.raises(BackendError, match="emis, emisv2, tpp"):
        get_backend("vision")


def test_backend_attributes():
    assert (TPPBackend.query_engine, EMISBackend.query_engine) == ("mssql", "trino")
    assert TPPBackend.permissions == {
        "include_t1oo",
        "include_ndoo",
        "include_gp_unactivated",
    }
    assert EMISBackend.permissions == frozenset()


def test_every_table_a_backend_implements_is_mapped():
    for backend in BACKENDS.values():
        names = {
            getattr(m, a)._qm_node.name for m in backend.implements for a in m.__all__
        }
        assert names <= backend().implemented_table_names(), backend.name


@pytest.mark.parametrize(
    "dsn,clean,granted",
    [
        ("mssql://u:p@host/db", "mssql://u:p@host/db", set()),
        (
            "mssql://host/db?driver=ODBC%20Driver%2018",
            "mssql://host/db?driver=ODBC%20Driver%2018",
            set(),
        ),
        (
            "mssql://host/db?opensafely_include_t1oo=true",
            "mssql://host/db",
            {"include_t1oo"},
        ),
        (
            "mssql://host/db?a=1&opensafely_include_t1oo=TRUE&b=2",
            "mssql://host/db?a=1&b=2",
            {"include_t1oo"},
        ),
        ("mssql://host/db?opensafely_include_t1oo=false", "mssql://host/db", set()),
    ],
)
def test_split_dsn_permissions(dsn, clean, granted):
    assert split_dsn_permissions(dsn) == (clean, frozenset(granted))


def test_split_dsn_permissions_refuses_a_repeated_permission():
    with pytest.raises(BackendError, match="more than once"):
        split_dsn_permissions(
            "mssql://h/db?opensafely_include_t1oo=false&opensafely_include_t1oo=true"
        )
