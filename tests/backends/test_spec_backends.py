"""The spec backends (tests/lib/spec_backends.py) exercise what they claim to.

Every spec case runs through them; these tests show that the twins they add
would appear in results if the backends did not leave them out, so that the
spec cases passing means the exclusions worked.
"""

import datetime

import duckdb
import pytest
import sqlalchemy as sa

from ehrql.backends.emis import EMISBackend
from ehrql.backends.tpp import TPPBackend
from ehrql.query_engines.duckdb import DuckDBQueryEngine
from tests.lib.spec_backends import (
    EMIS_TWIN_SUFFIX,
    SPEC_BACKEND_RUNNERS,
    SPEC_SCHEMAS,
    TPP_NDOO_TWIN_OFFSET,
    TPP_TWIN_OFFSET,
    TPP_UNACTIVATED_TWIN_OFFSET,
    SpecEMISBackend,
    SpecTPPBackend,
    load_spec_data,
)
from tests.lib.table_text import parse_table
from tests.spec.conftest import build_spec_dataset
from tests.spec.tables import e, p

TABLE_DATA = {
    p: """
      |  i1 |     d1     | s1 | b1 |    c1
    --+-----+------------+----+----+----------
    1 | 101 | 2020-01-01 | a  | T  | 22298006
    2 |     |            |    |    |
    """,
    e: """
      |  i1 |     d1     | s1
    --+-----+------------+----
    1 |  11 | 2021-05-06 | x
    1 |  12 | 2022-05-06 | y
    3 |  31 |            | z
    """,
}


def typed(table_data):
    return {
        frame._qm_node: parse_table(text, frame._qm_node.schema)
        for frame, text in table_data.items()
    }


def test_spec_backends_map_the_spec_tables_and_every_real_table():
    for spec_backend, real in [
        (SpecTPPBackend(), TPPBackend()),
        (SpecEMISBackend(), EMISBackend()),
    ]:
        assert (
            spec_backend.implemented_table_names()
            == real.implemented_table_names() | {"p", "e"}
        )
        assert spec_backend.patient_id_type is real.patient_id_type


def test_spec_data_round_trips_through_each_backend():
    dataset = build_spec_dataset(TABLE_DATA, p.d1)
    dataset_events = build_spec_dataset(
        TABLE_DATA, e.sort_by(e.i1).last_for_patient().d1
    )
    for name, run in SPEC_BACKEND_RUNNERS.items():
        assert run(typed(TABLE_DATA), dataset) == [
            (1, datetime.date(2020, 1, 1)), (2, None), (3, None)
        ], name  # fmt: skip
        assert run(typed(TABLE_DATA), dataset_events) == [
            (1, datetime.date(2022, 5, 6)), (2, None), (3, None)
        ], name  # fmt: skip


@pytest.mark.parametrize(
    "offset,permission",
    [
        (TPP_TWIN_OFFSET, "include_t1oo"),
        (TPP_NDOO_TWIN_OFFSET, "include_ndoo"),
        (TPP_UNACTIVATED_TWIN_OFFSET, "include_gp_unactivated"),
    ],
)
def test_each_tpp_twin_appears_only_with_the_permission_lifting_its_rule(
    tmp_path, offset, permission
):
    path = tmp_path / "spec_tpp.duckdb"
    with duckdb.connect(str(path)) as connection:
        load_spec_data(connection, "tpp_backend", typed(TABLE_DATA))
    twins = [pid + offset for pid in (1, 2, 3)]
    dataset = build_spec_dataset(TABLE_DATA, p.i1)
    without = DuckDBQueryEngine(str(path), backend=SpecTPPBackend()).get_results(
        dataset
    )
    assert [row[0] for row in without] == [1, 2, 3]
    granted = DuckDBQueryEngine(str(path), backend=SpecTPPBackend())
    granted.grant({permission})
    assert [row[0] for row in granted.get_results(dataset)] == [1, 2, 3, *twins]


def test_emis_twins_have_raw_rows_that_the_mappings_leave_out():
    with duckdb.connect() as connection:
        backend = load_spec_data(connection, "emis_backend", typed(TABLE_DATA))
        raw = {
            row[0]
            for row in connection.execute(
                "SELECT registration_id FROM spec_observation_all_orgs_v2"
            ).fetchall()
        }
        query = sa.select(backend.table_expression("e", SPEC_SCHEMAS["e"]).c.patient_id)
        sql = str(
            query.compile(
                dialect=DuckDBQueryEngine.dialect.sqlalchemy_dialect,
                compile_kwargs={"literal_binds": True},
            )
        )
        mapped = {row[0] for row in connection.execute(sql).fetchall()}
    twins = {f"1{EMIS_TWIN_SUFFIX}", f"3{EMIS_TWIN_SUFFIX}"}
    assert raw == {"1", "3"} | twins
    assert mapped == {"1", "3"}
