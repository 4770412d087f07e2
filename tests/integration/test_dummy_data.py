"""Dummy data for a realistic definition over the public core tables."""

import datetime

import pytest

from ehrql import case, codelist_from_csv, create_dataset, days, when, years
from ehrql.dummy import generate_dummy_data
from ehrql.tables.core import (
    clinical_events,
    medications,
    ons_deaths,
    patients,
    practice_registrations,
)
from tests.unit.dummy.checks import (
    assert_all_in_population,
    assert_schema_respected,
    assert_variables_vary,
    run,
)

INDEX = datetime.date(2023, 4, 1)


def definition(codelist_dir):
    (codelist_dir / "diabetes.csv").write_text(
        "code,term\n44054006,Type 2\n46635009,Type 1\n"
    )
    (codelist_dir / "metformin.csv").write_text("dmd_id\n325278007\n")
    diabetes = codelist_from_csv(codelist_dir / "diabetes.csv", column="code")
    metformin = codelist_from_csv(codelist_dir / "metformin.csv", column="dmd_id")

    ds = create_dataset()
    age = patients.age_on(INDEX)
    registered = practice_registrations.spanning(
        INDEX - years(1), INDEX
    ).exists_for_patient()
    diagnosed = clinical_events.where(
        clinical_events.snomedct_code.is_in(diabetes)
        & clinical_events.date.is_on_or_before(INDEX)
    )
    ds.define_population(
        registered
        & (age >= 18)
        & (age <= 90)
        & patients.sex.is_in(["female", "male"])
        & patients.is_alive_on(INDEX)
        & diagnosed.exists_for_patient()
    )
    ds.age = age
    ds.sex = patients.sex
    ds.age_band = case(
        when(age < 40).then("18-39"), when(age < 65).then("40-64"), otherwise="65+"
    )
    ds.practice = practice_registrations.for_patient_on(INDEX).practice_pseudo_id
    ds.diagnosed_on = diagnosed.sort_by(clinical_events.date).first_for_patient().date
    ds.latest_hba1c = (
        clinical_events.where(clinical_events.date.is_on_or_after(INDEX - days(365)))
        .sort_by(clinical_events.date)
        .last_for_patient()
        .numeric_value
    )
    ds.metformin_issues = medications.where(
        medications.dmd_code.is_in(metformin)
        & medications.date.is_on_or_between(INDEX - years(1), INDEX)
    ).count_for_patient()
    ds.died_later = ons_deaths.date.is_after(INDEX)
    return ds._compile()


def test_core_definition_gets_a_full_population_of_varied_valid_patients(tmp_path):
    dataset = definition(tmp_path)
    data = generate_dummy_data(dataset, population_size=200, seed=1)
    assert data.report.complete
    assert not data.report.used_rejection_sampling
    assert_all_in_population(data.tables, dataset, 200)
    assert_schema_respected(data.tables)
    assert_variables_vary(data.tables, dataset)
    results = run(data.tables, dataset)
    # Every age band and some metformin users appear.
    assert {r[3] for r in results} == {"18-39", "40-64", "65+"}
    assert any(r[7] > 0 for r in results)


def _public_tables():
    import importlib

    from ehrql.query_language import BaseFrame

    found = []
    for module_name in ("ehrql.tables.core", "ehrql.tables.tpp", "ehrql.tables.emis"):
        module = importlib.import_module(module_name)
        for name, value in sorted(vars(module).items()):
            if isinstance(value, BaseFrame) and not name.startswith("_"):
                found.append(
                    pytest.param(value, id=f"{module_name.rsplit('.', 1)[1]}.{name}")
                )
    return found


@pytest.mark.parametrize("frame", _public_tables())
def test_every_public_table_gets_valid_rows(frame):
    ds = create_dataset()
    ds.define_population(frame.exists_for_patient())
    dataset = ds._compile()
    data = generate_dummy_data(dataset, population_size=20, timeout=20)
    assert data.report.complete
    assert_all_in_population(data.tables, dataset, 20)
    assert_schema_respected(data.tables)
