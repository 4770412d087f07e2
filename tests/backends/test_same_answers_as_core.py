"""The TPP and EMIS mappings give the same answers as the public core tables.

Public core-table rows are turned into raw rows by the inverses in
`tests.lib.raw_from_public`, loaded into a raw DuckDB database, and read back
through each backend: table by table, through the example study, and through
random data with a fixed set of varied datasets. See that module for what each
backend cannot hold, which the data here avoids.
"""

from __future__ import annotations

import datetime
import shutil
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
    # By column name, so that the order the columns were read in does not matter.
    values = [row[name] for name in sorted(row)] if isinstance(row, dict) else row
    return tuple(
        (value is not None, str(value) if value is not None else "") for value in values
    )


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
        load_tables(
            connection,
            {CORE_TABLES[name]: public.get(name, []) for name in CORE_TABLES},
        )
    finally:
        connection.close()
    return path


#: The public core data says nothing of national data opt-outs or GP
#: activation, so these tests lift those rules (the type 1 rule stays):
#: tests/backends/test_access_rules.py covers them.
LIFTED_RULES = frozenset({"include_ndoo", "include_gp_unactivated"})


def _engine(engine_class, dsn, backend):
    engine = engine_class(str(dsn), backend=backend)
    if isinstance(backend, TPPBackend):
        engine.grant(LIFTED_RULES)
    return engine


def results(dsn, dataset, backend=None) -> list[tuple]:
    """A dataset's rows, sorted, with patient ids as text (EMIS's ids are text)."""
    rows = _engine(DuckDBQueryEngine, dsn, backend).get_results(dataset)
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
    return public, inverse.load_raw_database(
        TPPBackend(), path, inverse.tpp_raw_tables(public)
    )


@pytest.fixture(scope="module")
def emis_example(example_data, tmp_path_factory):
    """The example data EMIS can hold, and the raw EMIS database holding it."""
    public = inverse.emis_representable(example_data)
    path = tmp_path_factory.mktemp("emis") / "raw.duckdb"
    return public, inverse.load_raw_database(
        EMISBackend(), path, inverse.emis_raw_tables(public)
    )


def mapped_rows(backend, path: Path, table_name: str) -> list[dict]:
    """A core table's rows as the backend maps them from the raw database at `path`."""
    database = RawDatabase(backend, sa.create_engine(f"duckdb:///{path}"))
    try:
        return sorted_rows(database.table(table_name, CORE_TABLES[table_name].schema))
    finally:
        database.dispose()


# -- the inverses themselves ---------------------------------------------------


def test_the_example_data_covers_what_the_inverses_convert(example_data):
    # Without these the round trips below would not exercise the sentinels,
    # every sex, float32 rounding or EMIS's one-registration reduction. (The
    # example data has no event without a code: the random and boundary data
    # cover TPP's CTV3 table.)
    assert any(row["date_of_death"] is None for row in example_data["patients"])
    patient_ids = [row["patient_id"] for row in example_data["practice_registrations"]]
    assert len(set(patient_ids)) < len(patient_ids)
    assert any(
        row["end_date"] is None for row in example_data["practice_registrations"]
    )
    assert {row["sex"] for row in example_data["patients"]} == {
        "male",
        "female",
        "intersex",
        "unknown",
    }
    assert any(
        row["numeric_value"] is not None for row in example_data["clinical_events"]
    )


def test_tpp_cannot_hold_its_own_sentinel_or_non_float32_values():
    with pytest.raises(inverse.UnrepresentableError):
        inverse.tpp_patients(
            [
                dict(
                    patient_id=1,
                    date_of_birth=d(1980, 1, 1),
                    sex="male",
                    date_of_death=d(9999, 12, 31),
                )
            ]
        )
    for value in (0.1, 1e300):
        with pytest.raises(inverse.UnrepresentableError):
            inverse.tpp_clinical_events(
                [dict(patient_id=1, date=None, snomedct_code=None, numeric_value=value)]
            )


def test_emis_cannot_hold_what_its_tables_lack():
    patient = dict(
        patient_id=1, date_of_birth=d(1980, 1, 1), sex="male", date_of_death=None
    )
    registration = dict(
        patient_id=1, start_date=d(2000, 1, 1), end_date=None, practice_pseudo_id=3
    )
    with pytest.raises(inverse.UnrepresentableError):
        inverse.emis_patients([patient], [registration, registration])
    with pytest.raises(inverse.UnrepresentableError):
        inverse.emis_patients([{**patient, "sex": "intersex"}], [registration])
    with pytest.raises(inverse.UnrepresentableError):
        inverse.emis_patients([patient], [{**registration, "practice_pseudo_id": -1}])
    with pytest.raises(inverse.UnrepresentableError):
        inverse.emis_ons_deaths([dict(patient_id=2, date=None)], patient_ids=[1])
    with pytest.raises(inverse.UnrepresentableError):
        inverse.emis_clinical_events(
            [dict(patient_id=1, date=None, snomedct_code=None, numeric_value=0.125)]
        )
    assert (
        inverse.emis_patients([patient], [registration])["patient_all_orgs_v2"][0][
            "gender"
        ]
        == 1
    )


def test_emis_representable_keeps_the_latest_registration():
    registrations = [
        dict(
            patient_id=1,
            start_date=d(2000, 1, 1),
            end_date=d(2010, 1, 1),
            practice_pseudo_id=3,
        ),
        dict(
            patient_id=1, start_date=d(2010, 1, 2), end_date=None, practice_pseudo_id=4
        ),
    ]
    patient = dict(
        patient_id=1, date_of_birth=d(1980, 1, 1), sex="female", date_of_death=None
    )
    reduced = inverse.emis_representable(
        {"patients": [patient], "practice_registrations": registrations}
    )
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


def _boundary_data() -> dict[str, list[dict]]:
    """Extreme but valid public values that both backends can hold."""
    big_id, largest_practice, longest_code = 2**62, 2**63 - 1, "999999999999999994"
    first, last = d(1, 1, 1), d(9999, 12, 30)
    causes = {f"cause_of_death_{i:02d}": None for i in range(1, 16)}
    return {
        "patients": [
            dict(patient_id=1, date_of_birth=first, sex="unknown", date_of_death=last),
            dict(
                patient_id=big_id,
                date_of_birth=d(9999, 12, 1),
                sex="female",
                date_of_death=first,
            ),
        ],
        "practice_registrations": [
            dict(
                patient_id=1,
                start_date=first,
                end_date=last,
                practice_pseudo_id=largest_practice,
            ),
            dict(
                patient_id=big_id, start_date=last, end_date=first, practice_pseudo_id=0
            ),
        ],
        "clinical_events": [
            dict(
                patient_id=1,
                date=first,
                snomedct_code=longest_code,
                numeric_value=2.0**40,
            ),
            dict(patient_id=1, date=last, snomedct_code=None, numeric_value=-0.5),
            dict(
                patient_id=big_id,
                date=None,
                snomedct_code="100000000000000008",
                numeric_value=None,
            ),
        ],
        "medications": [
            dict(patient_id=1, date=first, dmd_code=longest_code),
            dict(patient_id=1, date=last, dmd_code=None),
            dict(patient_id=big_id, date=None, dmd_code="22298006"),
        ],
        "ons_deaths": [
            dict(
                patient_id=1,
                date=first,
                underlying_cause_of_death="I21",
                **{**causes, "cause_of_death_15": "Z9999"},
            ),
            dict(
                patient_id=big_id, date=None, underlying_cause_of_death=None, **causes
            ),
        ],
    }


@pytest.mark.parametrize(
    "backend, to_raw, expected_form",
    [
        (TPPBackend(), inverse.tpp_raw_tables, lambda public: public),
        (EMISBackend(), inverse.emis_raw_tables, inverse.public_with_text_ids),
    ],
    ids=["tpp", "emis"],
)
def test_round_trip_of_boundary_values(tmp_path, backend, to_raw, expected_form):
    public = _boundary_data()
    path = inverse.load_raw_database(backend, tmp_path / "raw.duckdb", to_raw(public))
    expected = expected_form(public)
    for table_name in inverse.CORE_TABLE_NAMES:
        assert mapped_rows(backend, path, table_name) == sorted_rows(
            _public_form(row) for row in expected[table_name]
        ), table_name


# -- (b) the example study ---------------------------------------------------


def test_example_study_on_tpp_matches_the_example_data(
    tpp_example, example_study, tmp_path
):
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
    assert [row[:bmi] + row[bmi + 1 :] for row in on_tpp] == [
        row[:bmi] + row[bmi + 1 :] for row in original
    ]
    assert [row[bmi] for row in on_tpp] == [
        None if row[bmi] is None else inverse.float32(row[bmi]) for row in original
    ]
    assert any(
        row[bmi] != inverse.float32(row[bmi])
        for row in original
        if row[bmi] is not None
    )


def test_tpp_opt_outs_remove_exactly_those_patients(
    tpp_example, example_study, tmp_path
):
    public, _ = tpp_example
    everyone = results(load_public(tmp_path / "public.duckdb", public), example_study)
    opted_out = {int(row[0]) for row in everyone[::7]}
    raw = inverse.tpp_raw_tables(public)
    raw["PatientsWithTypeOneDissent"] = [
        {"Patient_ID": pid} for pid in sorted(opted_out)
    ]
    path = inverse.load_raw_database(TPPBackend(), tmp_path / "tpp.duckdb", raw)
    assert results(path, example_study, TPPBackend()) == [
        row for row in everyone if int(row[0]) not in opted_out
    ]
    assert (
        results(f"{path}?opensafely_include_t1oo=true", example_study, TPPBackend())
        == everyone
    )


def test_example_study_on_emis_matches_the_example_data(
    emis_example, example_study, tmp_path
):
    # EMIS holds only each patient's latest registration, so both sides run on
    # the example data reduced to that (see `emis_representable`).
    public, path = emis_example
    expected = results(load_public(tmp_path / "public.duckdb", public), example_study)
    assert len(expected) > 100
    assert results(path, example_study, EMISBackend()) == expected


# -- (c) random public data, a fixed set of datasets -------------------------

PATIENT_IDS = range(1, 7)
SNOMED_CODES = ["271649006", "271650006", "60621009", "22298006"]
DMD_CODES = ["319773006", "39113611000001102", "325278007"]
ICD10_CODES = ["I21", "I64", "J18", "U071"]
DATES = [d(2018, 3, 1), d(2019, 12, 31), d(2020, 1, 1), d(2021, 6, 15)]
#: Values both a REAL and a DECIMAL(20, 2) hold exactly.
NUMERIC_VALUES = [None, 0.0, 1.5, 27.25, 70.0, -3.75]
INDEX_DATE = "2020-01-01"

maybe_date = st.sampled_from([None, *DATES])
public_patient = st.fixed_dictionaries(
    {
        "date_of_birth": st.sampled_from(
            [d(1940, 1, 1), d(1985, 6, 1), d(2019, 12, 1)]
        ),
        "sex": st.sampled_from(["female", "male", "intersex", "unknown"]),
        "date_of_death": maybe_date,
    }
)
public_registration = st.fixed_dictionaries(
    {
        "start_date": st.sampled_from(DATES),
        "end_date": maybe_date,
        "practice_pseudo_id": st.integers(0, 3),
    }
)
public_event = st.fixed_dictionaries(
    {
        "date": maybe_date,
        "snomedct_code": st.sampled_from([None, *SNOMED_CODES]),
        "numeric_value": st.sampled_from(NUMERIC_VALUES),
    }
)
public_medication = st.fixed_dictionaries(
    {"date": maybe_date, "dmd_code": st.sampled_from([None, *DMD_CODES])}
)
maybe_icd10 = st.sampled_from([None, *ICD10_CODES])
public_death = st.fixed_dictionaries(
    {
        "date": maybe_date,
        "underlying_cause_of_death": maybe_icd10,
        **{
            f"cause_of_death_{i:02d}": (maybe_icd10 if i <= 2 else st.none())
            for i in range(1, 16)
        },
    }
)


@st.composite
def public_data(draw):
    """Small public core-table rows respecting each column's constraints.

    Patients may lack a patient row, have several registrations, or none;
    `emis_representable` trims what EMIS cannot hold.
    """
    tables = {name: [] for name in inverse.CORE_TABLE_NAMES}
    for pid in draw(st.sets(st.sampled_from(PATIENT_IDS), min_size=1)):
        if draw(st.booleans()):
            tables["patients"].append({"patient_id": pid, **draw(public_patient)})
        if draw(st.integers(0, 3)) == 0:
            tables["ons_deaths"].append({"patient_id": pid, **draw(public_death)})
        for name, rows in (
            ("practice_registrations", public_registration),
            ("clinical_events", public_event),
            ("medications", public_medication),
        ):
            tables[name].extend(
                {"patient_id": pid, **row} for row in draw(st.lists(rows, max_size=3))
            )
    return tables


def _anyone():
    return (
        core.patients.exists_for_patient()
        | core.practice_registrations.exists_for_patient()
        | core.clinical_events.exists_for_patient()
        | core.medications.exists_for_patient()
        | core.ons_deaths.exists_for_patient()
    )


def add_patients_and_registrations(dataset):
    """Demographics, and registrations on a date."""
    patients, registrations = core.patients, core.practice_registrations
    registered = registrations.for_patient_on(INDEX_DATE)
    dataset.sex = patients.sex
    dataset.age = patients.age_on(INDEX_DATE)
    dataset.alive = patients.is_alive_on(INDEX_DATE)
    dataset.dead = patients.is_dead_on(INDEX_DATE)
    dataset.practice = registered.practice_pseudo_id
    dataset.registered_since = registered.start_date
    dataset.registered = registrations.exists_for_patient_on(INDEX_DATE)
    dataset.spanning = registrations.spanning(
        "2019-12-31", "2020-01-01"
    ).count_for_patient()
    dataset.registrations = registrations.count_for_patient()
    dataset.latest_end = registrations.end_date.maximum_for_patient()


def add_events(dataset):
    """Aggregations, codelist membership and first/last picks over events and medications."""
    events, medications = core.clinical_events, core.medications
    in_codelist = events.where(events.snomedct_code.is_in(SNOMED_CODES[:2]))
    ordered = events.sort_by(events.date, events.snomedct_code, events.numeric_value)
    dataset.events = events.count_for_patient()
    dataset.coded = in_codelist.count_for_patient()
    dataset.has_bmi = events.where(
        events.snomedct_code == SNOMED_CODES[2]
    ).exists_for_patient()
    dataset.distinct_codes = events.snomedct_code.count_distinct_for_patient()
    dataset.lowest = events.numeric_value.minimum_for_patient()
    dataset.highest = events.numeric_value.maximum_for_patient()
    dataset.total = events.numeric_value.sum_for_patient()
    dataset.mean = events.numeric_value.mean_for_patient()
    dataset.first_date = ordered.first_for_patient().date
    dataset.first_code = ordered.first_for_patient().snomedct_code
    dataset.last_value = ordered.last_for_patient().numeric_value
    dataset.before_index = events.where(
        events.date.is_before(INDEX_DATE)
    ).count_for_patient()
    ordered_medications = medications.sort_by(medications.date, medications.dmd_code)
    dataset.medications = medications.where(
        medications.dmd_code.is_in(DMD_CODES[:2])
    ).count_for_patient()
    dataset.last_medication = ordered_medications.last_for_patient().dmd_code
    dataset.first_medication_date = ordered_medications.first_for_patient().date


def add_deaths(dataset):
    """ONS deaths, with causes."""
    deaths = core.ons_deaths
    dataset.death_date = deaths.date
    dataset.underlying = deaths.underlying_cause_of_death
    dataset.cardiovascular = deaths.cause_of_death_is_in(ICD10_CODES[:2])
    dataset.died_before_index = deaths.date.is_before(INDEX_DATE)


def varied_datasets() -> list:
    """The datasets compared on random data.

    One holds every theme over everyone (so one engine run covers them all);
    the other narrows the population to patients registered on the index
    date, whose answers depend on the registration picked.
    """
    everything = create_dataset()
    everything.define_population(_anyone())
    for add in (add_patients_and_registrations, add_events, add_deaths):
        add(everything)
    registered = create_dataset()
    registered.define_population(
        core.practice_registrations.exists_for_patient_on(INDEX_DATE)
        & core.patients.is_alive_on(INDEX_DATE)
    )
    registered.practice = core.practice_registrations.for_patient_on(
        INDEX_DATE
    ).practice_pseudo_id
    registered.events = core.clinical_events.count_for_patient()
    registered.died = core.ons_deaths.exists_for_patient()
    return [everything._compile(), registered._compile()]


VARIED_DATASETS = varied_datasets()


@pytest.fixture(scope="module")
def scratch():
    """A directory for the random examples' databases, with an empty raw database per backend."""
    with tempfile.TemporaryDirectory() as directory:
        directory = Path(directory)
        for backend in (TPPBackend(), EMISBackend()):
            RawDatabase.create(
                backend, directory / f"empty_{backend.name}.duckdb"
            ).dispose()
        yield directory


def load_raw_copy(scratch: Path, backend, raw_tables: dict) -> Path:
    """A copy of the backend's empty raw database holding `raw_tables` (copying beats creating)."""
    path = _fresh(scratch / "raw.duckdb")
    shutil.copyfile(scratch / f"empty_{backend.name}.duckdb", path)
    database = RawDatabase(backend, sa.create_engine(f"duckdb:///{path}"))
    try:
        for name, rows in raw_tables.items():
            if rows:
                database.insert(name, *rows)
    finally:
        database.dispose()
    return path


def _fresh(path: Path) -> Path:
    if path.exists():
        path.unlink()
    return path


class _CompileOnceEngine(DuckDBQueryEngine):
    """The DuckDB engine, compiling each of `VARIED_DATASETS` once per backend.

    The SQL depends only on the dataset and the backend, not on the data, and
    compiling is half the cost of a random example.
    """

    _compiled: dict = {}

    def compile(self, dataset):
        key = (getattr(self.backend, "name", None), VARIED_DATASETS.index(dataset))
        if key not in self._compiled:
            self._compiled[key] = super().compile(dataset)
        return self._compiled[key]


def _quick_results(path: Path, dataset, backend=None) -> list[tuple]:
    rows = _engine(_CompileOnceEngine, path, backend).get_results(dataset)
    return sorted_rows((str(row[0]), *row[1:]) for row in rows)


def _same_answers(scratch: Path, public: dict, backend, raw_tables: dict) -> None:
    public_path = load_public(_fresh(scratch / "public.duckdb"), public)
    raw_path = load_raw_copy(scratch, backend, raw_tables)
    for dataset in VARIED_DATASETS:
        assert _quick_results(raw_path, dataset, backend) == _quick_results(
            public_path, dataset
        )


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(public=public_data())
def test_tpp_gives_the_same_answers_on_random_data(scratch, public):
    _same_answers(scratch, public, TPPBackend(), inverse.tpp_raw_tables(public))


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(public=public_data())
def test_emis_gives_the_same_answers_on_random_data(scratch, public):
    public = inverse.emis_representable(public)
    _same_answers(scratch, public, EMISBackend(), inverse.emis_raw_tables(public))


# -- what EMIS's own docstring promises about ambiguous registration ids ------


def test_emis_leaves_ambiguous_registration_ids_out_of_every_core_table(emis_db):
    public = {
        "patients": [
            dict(
                patient_id=1,
                date_of_birth=d(1980, 1, 1),
                sex="male",
                date_of_death=None,
            )
        ],
        "practice_registrations": [
            dict(
                patient_id=1,
                start_date=d(2000, 1, 1),
                end_date=None,
                practice_pseudo_id=5,
            )
        ],
        "clinical_events": [
            dict(
                patient_id=1,
                date=d(2020, 1, 1),
                snomedct_code="22298006",
                numeric_value=None,
            )
        ],
        "medications": [dict(patient_id=1, date=d(2020, 1, 1), dmd_code="325278007")],
    }
    raw = inverse.emis_raw_tables(public)
    # A second patient row with the same registration id makes the id ambiguous.
    twin = {**raw["patient_all_orgs_v2"][0], "nhs_no": "nhs-twin", "gender": 2}
    raw["patient_all_orgs_v2"].append(twin)
    for name, rows in raw.items():
        if rows:
            emis_db.insert(name, *rows)
    assert emis_db.table("patients", CORE_TABLES["patients"].schema) == []
    for table_name in ("practice_registrations", "clinical_events", "medications"):
        assert emis_db.table(table_name, CORE_TABLES[table_name].schema) == [], (
            table_name
        )
