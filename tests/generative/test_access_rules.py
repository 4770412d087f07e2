"""TPP's access rules on random query models: a rule is as good as deleting the data.

Random datasets over the generative tables run through a test subclass of the
TPP backend that maps those tables over TPP-style raw tables (with
`gen_events` counted as GP-recorded, dated by `d1`), under random opt-out
lists, acknowledged practices, registrations and permissions. The result must
equal that of a run holding every permission on data from which what the
rules keep back has been deleted (a patient's `gen_events` rows after their
GP activation cut-off, or undated), less the excluded patients; and it must
never hold an excluded patient.
"""

from __future__ import annotations

import datetime
import itertools

import duckdb
import sqlalchemy as sa
from hypothesis import assume, given
from hypothesis import strategies as st
from sqlalchemy.sql.selectable import Select

from ehrql.backends.base import mapping
from ehrql.backends.tpp import GP_RECORD_DATE_COLUMNS, TPPBackend
from ehrql.query_engines.duckdb import DuckDBQueryEngine
from ehrql.query_model import nodes as qm
from ehrql.query_model.table_schema import TableSchema
from tests.generative.budget import generative_settings
from tests.generative.compare import describe_difference, rows_match
from tests.generative.data import PATIENT_IDS
from tests.generative.examples import examples
from tests.generative.known_issues import hits_known_issue
from tests.generative.schemas import ALL_TABLES
from tests.lib.spec_backends import create_raw_tables, insert_raw_rows

T1OO, NDOO, GP = "include_t1oo", "include_ndoo", "include_gp_unactivated"
EVERY_PERMISSION = frozenset({T1OO, NDOO, GP})
PERMISSION_SETS = [
    frozenset(c)
    for n in range(4)
    for c in itertools.combinations(sorted(EVERY_PERMISSION), n)
]
PRACTICES = (1, 2)
FAR_FUTURE = datetime.datetime(9999, 12, 31)

#: Raw table holding each generative table.
RAW_NAMES = {table.name: "Raw_" + table.name for table in ALL_TABLES}

_RAW_TYPES = {
    int: sa.BigInteger(),
    float: sa.Double(),
    bool: sa.Boolean(),
    str: sa.String(),
    datetime.date: sa.Date(),
}


def _raw_type(type_):
    return _RAW_TYPES.get(type_, sa.String(50))  # codes are text


def _metadata() -> sa.MetaData:
    metadata = sa.MetaData()
    for name in (
        "PatientsWithTypeOneDissent",
        "PatientsWithoutNDOO",
        "RegistrationHistory",
        "DirectionsAcknowledged",
    ):
        TPPBackend.raw_metadata.tables[name].to_metadata(metadata)
    for table in ALL_TABLES:
        sa.Table(
            RAW_NAMES[table.name],
            metadata,
            sa.Column("Patient_ID", sa.BigInteger()),
            *(
                sa.Column(name, _raw_type(type_))
                for name, type_ in table.schema.column_types
            ),
        )
    return metadata


class GenerativeTPPBackend(TPPBackend):
    """TPP, also mapping the generative tables, with `gen_events` GP-recorded."""

    raw_metadata = _metadata()
    gp_record_date_columns = {**GP_RECORD_DATE_COLUMNS, "gen_events": "d1"}

    def _generative(self, name: str, schema: TableSchema) -> Select:
        raw = self.raw_table(RAW_NAMES[name])
        return sa.select(
            raw.c.Patient_ID.label("patient_id"),
            *(raw.c[n] for n in schema.column_names),
        )

    @mapping("gen_patients")
    def _gen_patients(self, schema):
        return self._generative("gen_patients", schema)

    @mapping("gen_events")
    def _gen_events(self, schema):
        return self._generative("gen_events", schema)

    @mapping("gen_others")
    def _gen_others(self, schema):
        return self._generative("gen_others", schema)


BACKEND = GenerativeTPPBackend()

registrations = st.lists(
    st.tuples(
        st.sampled_from(PRACTICES),
        st.sampled_from(
            [
                FAR_FUTURE,
                None,
                datetime.datetime(2010, 6, 1, 9),
                datetime.datetime(2020, 3, 1),
            ]
        ),
    ),
    max_size=2,
)


@st.composite
def access_lists(draw):
    """Random lists for the rules: opt-outs, acknowledged practices, registrations."""
    return {
        "opted_out": draw(st.frozensets(st.sampled_from(PATIENT_IDS))),
        "without_ndoo": draw(st.frozensets(st.sampled_from(PATIENT_IDS))),
        "acknowledged": draw(st.frozensets(st.sampled_from(PRACTICES))),
        "registrations": {pid: draw(registrations) for pid in PATIENT_IDS},
    }


def is_excluded(patient_id, lists, permissions) -> bool:
    registered = lists["registrations"].get(patient_id, [])
    return (
        (T1OO not in permissions and patient_id in lists["opted_out"])
        or (NDOO not in permissions and patient_id not in lists["without_ndoo"])
        or (
            GP not in permissions
            and not any(org in lists["acknowledged"] for org, _ in registered)
        )
    )


def cutoff(patient_id, lists):
    """The patient's GP activation cut-off date, or None."""
    ends = {True: [], False: []}
    for org, end in lists["registrations"].get(patient_id, []):
        ends[org in lists["acknowledged"]].append(end or FAR_FUTURE)
    if ends[True] and ends[False] and max(ends[False]) > max(ends[True]):
        return max(ends[True]).date()
    return None


def raw_rows(data, lists) -> dict:
    rows = {}
    for table, table_rows in data.items():
        rows[RAW_NAMES[table.name]] = [
            {
                "Patient_ID": r["patient_id"],
                **{
                    k: getattr(v, "value", v) for k, v in r.items() if k != "patient_id"
                },
            }
            for r in table_rows
        ]
    rows["PatientsWithTypeOneDissent"] = [
        {"Patient_ID": p} for p in sorted(lists["opted_out"])
    ]
    rows["PatientsWithoutNDOO"] = [
        {"Patient_ID": p} for p in sorted(lists["without_ndoo"])
    ]
    rows["DirectionsAcknowledged"] = [
        {"Organisation_ID": o} for o in sorted(lists["acknowledged"])
    ]
    rows["RegistrationHistory"] = [
        {
            "Patient_ID": p,
            "Organisation_ID": org,
            "StartDate": datetime.datetime(2000, 1, 1),
            "EndDate": end,
        }
        for p, held in lists["registrations"].items()
        for org, end in held
    ]
    return rows


def past_cutoff(row, lists) -> bool:
    limit = cutoff(row["patient_id"], lists)
    return limit is not None and (row["d1"] is None or row["d1"] > limit)


def run(data, lists, dataset, permissions) -> list[tuple]:
    connection = duckdb.connect()
    try:
        create_raw_tables(connection, BACKEND)
        insert_raw_rows(connection, BACKEND, raw_rows(data, lists))
        engine = DuckDBQueryEngine(connection, backend=BACKEND)
        engine.grant(permissions)
        return list(engine.get_results(dataset))
    finally:
        connection.close()


@generative_settings(15)
@given(
    example=examples(),
    lists=access_lists(),
    permissions=st.sampled_from(PERMISSION_SETS),
)
def test_each_rule_is_as_good_as_deleting_what_it_keeps_back(
    example, lists, permissions
):
    assume(not hits_known_issue(example.dataset))
    dataset = qm.Dataset(
        population=example.dataset.population, variables=example.dataset.variables
    )

    actual = run(example.data, lists, dataset, permissions)
    assert not [row[0] for row in actual if is_excluded(row[0], lists, permissions)]

    deleted = dict(example.data)
    if GP not in permissions:
        events = next(t for t in example.data if t.name == "gen_events")
        deleted[events] = [
            row for row in example.data[events] if not past_cutoff(row, lists)
        ]
    expected = [
        row
        for row in run(deleted, lists, dataset, EVERY_PERMISSION)
        if not is_excluded(row[0], lists, permissions)
    ]
    assert rows_match(expected, actual), describe_difference(expected, actual)
