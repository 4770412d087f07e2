"""The TPP and EMIS mappings give the same answers as the public core tables.

Public core-table rows are turned into raw rows by the inverses in
`tests.lib.raw_from_public`, loaded into a raw DuckDB database, and read back
through each backend: table by table, through the example study, and through
random data with a fixed set of varied datasets. See that module for what each
backend cannot hold, which the data here avoids.
"""

from __future__ import annotations

import datetime
import tempfile
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ehrql import create_dataset
from ehrql.backends.emis import EMISBackend
from ehrql.backends.tpp import TPPBackend
from ehrql.loaders import load_dataset
from ehrql.main import read_table_directory
from ehrql.query_engines.duckdb import DuckDBQueryEngine, load_tables
from ehrql.tables import core
from tests.lib import raw_from_public as inverse
from tests.lib.raw_databases import RawDatabase

REPO = Path(__file__).parents[2]
EXAMPLE_DATA = REPO / "ehrql" / "example-data"
EXAMPLE_STUDY = REPO / "examples" / "dataset_definition.py"
CORE_TABLES = {name: getattr(core, name)._qm_node for name in inverse.CORE_TABLE_NAMES}

d = datetime.date


# -- helpers -----------------------------------------------------------------


def _sort_key(row: dict | tuple) -> tuple:
    values = row.values() if isinstance(row, dict) else row
    return tuple((value is not None, str(value) if value is not None else "") for value in values)


def _public_form(row: dict) -> dict:
    """A public row with codes as text, as a mapping returns them."""
    return {name: inverse.code_text(value) for name, value in row.items()}


def sorted_rows(rows) -> list:
    """Rows (dicts or tuples) in a fixed order, nulls first."""
    return sorted(rows, key=_sort_key)


def load_public(path: Path, public: dict[str, list[dict]]) -> Path:
    """A DuckDB database at `path` holding the public core tables under their own names."""
    connection = duckdb.connect(str(path))
    try:
        load_tables(connection, {CORE_TABLES[name]: public.get(name, []) for name in CORE_TABLES})
    finally:
        connection.close()
    return path


def results(dsn, dataset, backend=None) -> list[tuple]:
    """A dataset's rows, sorted, with patient ids as text (EMIS's ids are text)."""
    rows = DuckDBQueryEngine(str(dsn), backend=backend).get_results(dataset)
    return sorted_rows((str(row[0]), *row[1:]) for row in rows)


@pytest.fixture(scope="module")
def example_data():
    """The example data: 300 patients in the core tables."""
    return read_table_directory(EXAMPLE_DATA, CORE_TABLES.values())


@pytest.fixture(scope="module")
def example_study():
    """The query model of the example study."""
    return load_dataset(EXAMPLE_STUDY)


@pytest.fixture(scope="module")
def tpp_example(example_data, tmp_path_factory):
    """The example data TPP can hold, and the raw TPP database holding it."""
    public = inverse.tpp_representable(example_data)
    path = tmp_path_factory.mktemp("tpp") / "raw.duckdb"
    return public, inverse.load_raw_database(TPPBackend(), path, inverse.tpp_raw_tables(public))


@pytest.fixture(scope="module")
def emis_example(example_data, tmp_path_factory):
    """The example data EMIS can hold, and the raw EMIS database holding it."""
    public = inverse.emis_representable(example_data)
    path = tmp_path_factory.mktemp("emis") / "raw.duckdb"
    return public, inverse.load_raw_database(EMISBackend(), path, inverse.emis_raw_tables(public))


def mapped_rows(backend, path: Path, table_name: str) -> list[dict]:
    """A core table's rows as the backend maps them from the raw database at `path`."""
    database = RawDatabase(backend, sa.create_engine(f"duckdb:///{path}"))
    try:
        return sorted_rows(database.table(table_name, CORE_TABLES[table_name].schema))
    finally:
        database.dispose()


# -- the inverses themselves ---------------------------------------------------


def test_the_example_data_covers_what_the_inverses_convert(example_data):
    # Without these the round trips below would not exercise sentinels,
    # CTV3 events or repeated registrations.
    assert any(row["date_of_death"] is None for row in example_data["patients"])
    assert any(row["end_date"] is None for row in example_data["practice_registrations"])
    assert {row["sex"] for row in example_data["patients"]} == {"male", "female", "intersex", "unknown"}
    assert any(row["numeric_value"] is not None for row in example_data["clinical_events"])


def test_tpp_cannot_hold_its_own_sentinel_or_non_float32_values():
    with pytest.raises(inverse.UnrepresentableError):
        inverse.tpp_patients([dict(patient_id=1, date_of_birth=d(1980, 1, 1), sex="male", date_of_death=d(9999, 12, 31))])
    with pytest.raises(inverse.UnrepresentableError):
        inverse.tpp_clinical_events([dict(patient_id=1, date=None, snomedct_code=None, numeric_value=0.1)])


def test_emis_cannot_hold_a_second_registration_or_intersex():
    patient = dict(patient_id=1, date_of_birth=d(1980, 1, 1), sex="male", date_of_death=None)
    registration = dict(patient_id=1, start_date=d(2000, 1, 1), end_date=None, practice_pseudo_id=3)
    with pytest.raises(inverse.UnrepresentableError):
        inverse.emis_patients([patient], [registration, registration])
    with pytest.raises(inverse.UnrepresentableError):
        inverse.emis_patients([{**patient, "sex": "intersex"}], [registration])
    assert inverse.emis_patients([patient], [registration])["patient_all_orgs_v2"][0]["gender"] == 1


def test_emis_representable_keeps_the_latest_registration():
    registrations = [
        dict(patient_id=1, start_date=d(2000, 1, 1), end_date=d(2010, 1, 1), practice_pseudo_id=3),
        dict(patient_id=1, start_date=d(2010, 1, 2), end_date=None, practice_pseudo_id=4),
    ]
    patient = dict(patient_id=1, date_of_birth=d(1980, 1, 1), sex="female", date_of_death=None)
    reduced = inverse.emis_representable({"patients": [patient], "practice_registrations": registrations})
    assert reduced["practice_registrations"] == [registrations[1]]


# -- (a) round trip, table by table ------------------------------------------


@pytest.mark.parametrize("table_name", inverse.CORE_TABLE_NAMES)
def test_tpp_round_trip(tpp_example, table_name):
    public, path = tpp_example
    expected = sorted_rows(_public_form(row) for row in public[table_name])
    assert mapped_rows(TPPBackend(), path, table_name) == expected


@pytest.mark.parametrize("table_name", inverse.CORE_TABLE_NAMES)
def test_emis_round_trip(emis_example, table_name):
    public, path = emis_example
    text_ids = inverse.public_with_text_ids(public)
    expected = sorted_rows(_public_form(row) for row in text_ids[table_name])
    assert mapped_rows(EMISBackend(), path, table_name) == expected


# -- (b) the example study ---------------------------------------------------


def test_example_study_on_tpp_matches_the_example_data(tpp_example, example_study, tmp_path):
    public, path = tpp_example
    expected = results(load_public(tmp_path / "public.duckdb", public), example_study)
    assert len(expected) > 100
    assert results(path, example_study, TPPBackend()) == expected


def test_tpp_float32_rounding_changes_only_the_studys_bmi(tpp_example, example_study):
    # The one way TPP's version of the example data differs from the files:
    # REAL numeric values. Everything but the BMI column agrees with the files.
    public, path = tpp_example
    original = results(EXAMPLE_DATA, example_study)
    on_tpp = results(path, example_study, TPPBackend())
    bmi = list(example_study.variables).index("bmi") + 1
    assert [row[:bmi] + row[bmi + 1 :] for row in on_tpp] == [row[:bmi] + row[bmi + 1 :] for row in original]
    assert [row[bmi] for row in on_tpp] == [
        None if row[bmi] is None else inverse.float32(row[bmi]) for row in original
    ]
    assert any(row[bmi] != inverse.float32(row[bmi]) for row in original if row[bmi] is not None)


def test_tpp_opt_outs_remove_exactly_those_patients(tpp_example, example_study, tmp_path):
    public, _ = tpp_example
    everyone = results(load_public(tmp_path / "public.duckdb", public), example_study)
    opted_out = {int(row[0]) for row in everyone[::7]}
    raw = inverse.tpp_raw_tables(public)
    raw["PatientsWithTypeOneDissent"] = [{"Patient_ID": pid} for pid in sorted(opted_out)]
    path = inverse.load_raw_database(TPPBackend(), tmp_path / "tpp.duckdb", raw)
    assert results(path, example_study, TPPBackend()) == [
        row for row in everyone if int(row[0]) not in opted_out
    ]
    assert results(f"{path}?opensafely_include_t1oo=true", example_study, TPPBackend()) == everyone


def test_example_study_on_emis_matches_the_example_data(emis_example, example_study, tmp_path):
    # EMIS holds only each patient's latest registration, so both sides run on
    # the example data reduced to that (see `emis_representable`).
    public, path = emis_example
    expected = results(load_public(tmp_path / "public.duckdb", public), example_study)
    assert len(expected) > 100
    assert results(path, example_study, EMISBackend()) == expected
