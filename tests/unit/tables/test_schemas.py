"""The public table schemas: names, types, documentation, and the helper methods.

The expected columns are written out here so that any change to a public
schema, deliberate or not, shows up as a failing test.
"""

import datetime
import importlib
import inspect

import pytest

from ehrql.codes import (
    CTV3Code,
    DMDCode,
    ICD10Code,
    ICD10MultiCodeString,
    OPCS4Code,
    OPCS4MultiCodeString,
    SNOMEDCTCode,
)
from ehrql.query_language import BaseFrame, EventFrame, PatientFrame
from ehrql.query_model.table_schema import NotNullConstraint

date = datetime.date


def numbered(prefix, count, type_):
    return [(f"{prefix}{i:02d}", type_) for i in range(1, count + 1)]


CORE_ONS_DEATHS = [
    ("date", date),
    ("underlying_cause_of_death", ICD10Code),
    *numbered("cause_of_death_", 15, ICD10Code),
]

CORE = {
    "patients": [("date_of_birth", date), ("sex", str), ("date_of_death", date)],
    "practice_registrations": [
        ("start_date", date),
        ("end_date", date),
        ("practice_pseudo_id", int),
    ],
    "ons_deaths": CORE_ONS_DEATHS,
    "clinical_events": [
        ("date", date),
        ("snomedct_code", SNOMEDCTCode),
        ("numeric_value", float),
    ],
    "medications": [("date", date), ("dmd_code", DMDCode)],
}

TPP = {
    "addresses": [
        ("address_id", int),
        ("start_date", date),
        ("end_date", date),
        ("address_type", int),
        ("rural_urban_classification", int),
        ("imd_rounded", int),
        ("msoa_code", str),
        ("has_postcode", bool),
        ("care_home_is_potential_match", bool),
        ("care_home_requires_nursing", bool),
        ("care_home_does_not_require_nursing", bool),
    ],
    "apcs": [
        ("apcs_ident", int),
        ("admission_date", date),
        ("discharge_date", date),
        ("discharge_destination", str),
        ("discharge_method", str),
        ("spell_core_hrg_sus", str),
        ("admission_method", str),
        ("primary_diagnosis", ICD10Code),
        ("secondary_diagnosis", ICD10Code),
        ("all_diagnoses", ICD10MultiCodeString),
        ("all_procedures", OPCS4MultiCodeString),
        ("days_in_critical_care", int),
        ("patient_classification", str),
    ],
    "apcs_cost": [
        ("apcs_ident", int),
        ("grand_total_payment_mff", float),
        ("tariff_initial_amount", float),
        ("tariff_total_payment", float),
        ("admission_date", date),
        ("discharge_date", date),
    ],
    "appointments": [
        ("booked_date", date),
        ("start_date", date),
        ("seen_date", date),
        ("status", str),
    ],
    "clinical_events": [
        ("date", date),
        ("snomedct_code", SNOMEDCTCode),
        ("ctv3_code", CTV3Code),
        ("numeric_value", float),
        ("consultation_id", int),
    ],
    "clinical_events_ranges": [
        ("date", date),
        ("snomedct_code", SNOMEDCTCode),
        ("ctv3_code", CTV3Code),
        ("numeric_value", float),
        ("lower_bound", float),
        ("upper_bound", float),
        ("comparator", str),
        ("consultation_id", int),
    ],
    "covid_therapeutics": [
        ("covid_indication", str),
        ("current_status", str),
        ("intervention", str),
        ("received", date),
        ("region", str),
        ("risk_cohort", str),
        ("treatment_start_date", date),
    ],
    "decision_support_values": [
        ("calculation_date", date),
        ("numeric_value", float),
        ("algorithm_description", str),
        ("algorithm_version", str),
    ],
    "ec": [("ec_ident", int), ("arrival_date", date), ("sus_hrg_code", str)],
    "ec_cost": [
        ("ec_ident", int),
        ("grand_total_payment_mff", float),
        ("tariff_total_payment", float),
        ("arrival_date", date),
        ("ec_decision_to_admit_date", date),
        ("ec_injury_date", date),
    ],
    "emergency_care_attendances": [
        ("id", int),
        ("arrival_date", date),
        ("discharge_destination", SNOMEDCTCode),
        *numbered("diagnosis_", 24, SNOMEDCTCode),
    ],
    "ethnicity_from_sus": [("code", str)],
    "household_memberships_2020": [
        ("household_pseudo_id", int),
        ("household_size", int),
    ],
    "medications": [("date", date), ("dmd_code", DMDCode), ("consultation_id", int)],
    "occupation_on_covid_vaccine_record": [("is_healthcare_worker", bool)],
    "ons_deaths": [*CORE_ONS_DEATHS, ("place", str)],
    "opa": [
        ("opa_ident", int),
        ("appointment_date", date),
        ("attendance_status", str),
        ("consultation_medium_used", str),
        ("first_attendance", str),
        ("hrg_code", str),
        ("treatment_function_code", str),
        ("outcome_of_attendance", str),
        ("referral_request_received_date", date),
    ],
    "opa_cost": [
        ("opa_ident", int),
        ("tariff_opp", float),
        ("grand_total_payment_mff", float),
        ("tariff_total_payment", float),
        ("appointment_date", date),
        ("referral_request_received_date", date),
    ],
    "opa_diag": [
        ("opa_ident", int),
        ("primary_diagnosis_code", ICD10Code),
        ("primary_diagnosis_code_read", CTV3Code),
        ("secondary_diagnosis_code_1", ICD10Code),
        ("secondary_diagnosis_code_1_read", CTV3Code),
        ("appointment_date", date),
        ("referral_request_received_date", date),
    ],
    "opa_proc": [
        ("opa_ident", int),
        ("primary_procedure_code", OPCS4Code),
        ("primary_procedure_code_read", CTV3Code),
        ("procedure_code_2", OPCS4Code),
        ("procedure_code_2_read", CTV3Code),
        ("appointment_date", date),
        ("referral_request_received_date", date),
    ],
    "open_prompt": [
        ("ctv3_code", CTV3Code),
        ("snomedct_code", SNOMEDCTCode),
        ("creation_date", date),
        ("consultation_date", date),
        ("consultation_id", int),
        ("numeric_value", float),
    ],
    "parents": [("mother_id", int)],
    "patients": CORE["patients"],
    "practice_registrations": [
        *CORE["practice_registrations"],
        ("practice_stp", str),
        ("practice_nuts1_region_name", str),
        ("practice_systmone_go_live_date", date),
    ],
    "sgss_covid_all_tests": [
        ("specimen_taken_date", date),
        ("is_positive", bool),
        ("lab_report_date", date),
        ("was_symptomatic", bool),
        ("sgtf_status", int),
        ("variant", str),
        ("variant_detection_method", str),
    ],
    "ukrr": [
        ("dataset", str),
        ("renal_centre", str),
        ("rrt_start_date", date),
        ("latest_creatinine", float),
        ("latest_egfr", float),
        ("treatment_modality_start", str),
        ("treatment_modality_prevalence", str),
    ],
    "vaccinations": [
        ("vaccination_id", int),
        ("date", date),
        ("target_disease", str),
        ("product_name", str),
    ],
    "wl_clockstops": [
        ("activity_treatment_function_code", str),
        ("priority_type_code", str),
        ("pseudo_organisation_code_patient_pathway_identifier_issuer", str),
        ("pseudo_patient_pathway_identifier", str),
        ("pseudo_referral_identifier", str),
        ("referral_request_received_date", date),
        ("referral_to_treatment_period_end_date", date),
        ("referral_to_treatment_period_start_date", date),
        ("source_of_referral_for_outpatients", str),
        ("waiting_list_type", str),
        ("week_ending_date", date),
    ],
    "wl_openpathways": [
        ("activity_treatment_function_code", str),
        ("current_pathway_period_start_date", date),
        ("priority_type_code", str),
        ("pseudo_organisation_code_patient_pathway_identifier_issuer", str),
        ("pseudo_patient_pathway_identifier", str),
        ("pseudo_referral_identifier", str),
        ("referral_request_received_date", date),
        ("referral_to_treatment_period_end_date", date),
        ("referral_to_treatment_period_start_date", date),
        ("source_of_referral", str),
        ("waiting_list_type", str),
        ("week_ending_date", date),
    ],
}

EMIS = {
    "clinical_events": CORE["clinical_events"],
    "medications": CORE["medications"],
    "ons_deaths": CORE_ONS_DEATHS,
    "patients": [
        ("date_of_birth", date),
        ("sex", str),
        ("date_of_death", date),
        ("registration_start_date", date),
        ("registration_end_date", date),
        ("practice_pseudo_id", str),
        ("rural_urban_classification", int),
        ("imd_rounded", int),
    ],
    "practice_registrations": CORE["practice_registrations"],
    "vaccinations": [("date", date), ("procedure_code", SNOMEDCTCode)],
}

YES_NO_UNKNOWN_HISTORY = [
    "chrincard",
    "hypertension_mhyn",
    "chronicpul_mhyn",
    "asthma_mhyn",
    "renal_mhyn",
    "mildliver",
    "modliv",
    "chronicneu_mhyn",
    "malignantneo_mhyn",
    "chronichaemo_mhyn",
    "aidshiv_mhyn",
    "obesity_mhyn",
    "diabetes_type_mhyn",
    "diabetescom_mhyn",
    "diabetes_mhyn",
    "rheumatologic_mhyn",
    "dementia_mhyn",
    "malnutrition_mhyn",
    "smoking_mhyn",
]

RAW_CORE = {
    "medications": CORE["medications"],
    "ons_deaths": CORE_ONS_DEATHS,
}

RAW_TPP = {
    "apcs_cost_historical": TPP["apcs_cost"],
    "apcs_historical": [
        ("apcs_ident", int),
        ("admission_date", date),
        ("discharge_date", date),
        ("spell_core_hrg_sus", str),
    ],
    "covid_therapeutics_raw": [
        ("current_status", str),
        ("covid_indication", str),
        ("diagnosis", str),
        ("intervention", str),
        ("treatment_start_date", date),
        ("CASIM05_risk_cohort", str),
        ("MOL1_high_risk_cohort", str),
        ("SOT02_risk_cohorts", str),
        ("form_name", str),
        ("received", date),
        ("count", int),
        ("age_at_received_date", int),
        ("region", str),
        ("load_date", date),
    ],
    "isaric": [
        ("age", str),
        ("age_factor", str),
        ("calc_age", str),
        ("sex", str),
        *[(f"ethnic___{i}", str) for i in range(1, 11)],
        ("covid19_vaccine", str),
        ("covid19_vaccined", date),
        ("covid19_vaccine2d", date),
        ("covid19_vaccined_nk", str),
        ("corona_ieorres", str),
        ("coriona_ieorres2", str),
        ("coriona_ieorres3", str),
        ("inflammatory_mss", str),
        ("cestdat", date),
        *[(name, str) for name in YES_NO_UNKNOWN_HISTORY],
        ("hostdat", date),
        ("hooccur", str),
        ("hostdat_transfer", date),
        ("hostdat_transfernk", str),
        ("readm_cov19", str),
        ("dsstdat", date),
        ("dsstdtc", date),
    ],
    "medications": [
        ("date", date),
        ("dmd_code", DMDCode),
        ("consultation_id", int),
        ("medication_status", int),
        ("quantity", str),
        ("repeat_medication_id", int),
    ],
    "ons_deaths": [
        ("date", date),
        ("place", str),
        ("underlying_cause_of_death", ICD10Code),
        *numbered("cause_of_death_", 15, ICD10Code),
    ],
    "repeat_medications": [
        ("date", date),
        ("dmd_code", DMDCode),
        ("consultation_id", int),
        ("repeat_medication_id", int),
        ("medication_status", int),
        ("quantity", str),
        ("start_date", date),
        ("end_date", date),
    ],
    # The raw waiting list tables keep every value as the source's text.
    "wl_clockstops": [(name, str) for name, _ in TPP["wl_clockstops"]],
    "wl_openpathways": [(name, str) for name, _ in TPP["wl_openpathways"]],
}

SMOKETEST = {"patients": [("date_of_birth", date)]}

SCHEMAS = {
    "ehrql.tables.core": CORE,
    "ehrql.tables.tpp": TPP,
    "ehrql.tables.emis": EMIS,
    "ehrql.tables.raw.core": RAW_CORE,
    "ehrql.tables.raw.tpp": RAW_TPP,
    "ehrql.tables.raw.emis": RAW_CORE,
    "ehrql.tables.smoketest": SMOKETEST,
}

ALL_TABLES = [
    (module_name, table_name)
    for module_name, tables in SCHEMAS.items()
    for table_name in tables
]


def get_table(module_name, table_name):
    return getattr(importlib.import_module(module_name), table_name)


@pytest.mark.parametrize("module_name", list(SCHEMAS))
def test_module_exports_exactly_the_public_tables(module_name):
    module = importlib.import_module(module_name)
    assert sorted(module.__all__) == sorted(SCHEMAS[module_name])
    for name in module.__all__:
        assert isinstance(getattr(module, name), BaseFrame), name


@pytest.mark.parametrize("module_name,table_name", ALL_TABLES)
def test_table_columns_and_types(module_name, table_name):
    frame = get_table(module_name, table_name)
    assert frame._qm_node.schema.column_types == SCHEMAS[module_name][table_name]


@pytest.mark.parametrize("module_name,table_name", ALL_TABLES)
def test_every_column_has_a_description(module_name, table_name):
    schema = get_table(module_name, table_name)._qm_node.schema
    undescribed = [
        name for name, column in schema.columns if not column.description.strip()
    ]
    assert undescribed == []


@pytest.mark.parametrize("module_name,table_name", ALL_TABLES)
def test_table_and_helpers_have_docstrings(module_name, table_name):
    cls = type(get_table(module_name, table_name))
    assert inspect.getdoc(cls) and inspect.getdoc(cls) != inspect.getdoc(EventFrame)
    assert inspect.getdoc(cls) != inspect.getdoc(PatientFrame)
    for klass in cls.__mro__:
        if not klass.__module__.startswith("ehrql.tables"):
            continue
        for name, value in vars(klass).items():
            if name.startswith("_"):
                continue
            if inspect.isfunction(value) or isinstance(value, property):
                assert inspect.getdoc(value), (
                    f"{klass.__name__}.{name} has no docstring"
                )


@pytest.mark.parametrize(
    "module_name,table_name,kind",
    [
        ("ehrql.tables.core", "patients", PatientFrame),
        ("ehrql.tables.core", "ons_deaths", PatientFrame),
        ("ehrql.tables.core", "practice_registrations", EventFrame),
        ("ehrql.tables.tpp", "ethnicity_from_sus", PatientFrame),
        ("ehrql.tables.tpp", "household_memberships_2020", PatientFrame),
        ("ehrql.tables.tpp", "parents", PatientFrame),
        ("ehrql.tables.tpp", "ons_deaths", PatientFrame),
        ("ehrql.tables.tpp", "addresses", EventFrame),
        ("ehrql.tables.emis", "patients", PatientFrame),
        ("ehrql.tables.raw.core", "ons_deaths", EventFrame),
        ("ehrql.tables.raw.tpp", "ons_deaths", EventFrame),
        ("ehrql.tables.smoketest", "patients", PatientFrame),
    ],
)
def test_rows_per_patient(module_name, table_name, kind):
    assert isinstance(get_table(module_name, table_name), kind)


def test_shared_tables_are_the_core_tables():
    from ehrql.tables import core, emis, tpp
    from ehrql.tables.raw import core as raw_core
    from ehrql.tables.raw import emis as raw_emis

    assert tpp.patients is core.patients
    assert emis.clinical_events is core.clinical_events
    assert emis.medications is core.medications
    assert emis.ons_deaths is core.ons_deaths
    assert raw_emis.ons_deaths is raw_core.ons_deaths
    assert raw_emis.medications is raw_core.medications


def test_tpp_extensions_keep_core_helpers():
    from ehrql.tables import core, emis, tpp

    assert isinstance(tpp.medications, type(core.medications))
    assert isinstance(tpp.ons_deaths, type(core.ons_deaths))
    assert isinstance(tpp.practice_registrations, type(core.practice_registrations))
    assert isinstance(emis.practice_registrations, type(core.practice_registrations))
    assert callable(tpp.practice_registrations.for_patient_on)
    assert callable(tpp.ons_deaths.cause_of_death_is_in)


def test_raw_tables_do_not_share_names_with_cleaned_tables():
    # Both kinds live in one database, so their table names must differ.
    from ehrql.tables import core, tpp
    from ehrql.tables.raw import core as raw_core
    from ehrql.tables.raw import tpp as raw_tpp

    assert raw_core.ons_deaths._qm_node.name == "ons_deaths_raw"
    assert raw_tpp.medications._qm_node.name == "medications_raw"
    assert raw_tpp.isaric._qm_node.name == "isaric_raw"
    assert core.ons_deaths._qm_node.name == "ons_deaths"
    assert tpp.medications._qm_node.name == "medications"


@pytest.mark.parametrize(
    "module_name,table_name,column,good,bad",
    [
        ("ehrql.tables.core", "patients", "sex", "intersex", "m"),
        ("ehrql.tables.emis", "patients", "sex", "unknown", "intersex"),
        (
            "ehrql.tables.core",
            "patients",
            "date_of_birth",
            date(1970, 3, 1),
            date(1970, 3, 2),
        ),
        ("ehrql.tables.tpp", "addresses", "imd_rounded", 32_800, 32_850),
        ("ehrql.tables.tpp", "addresses", "address_type", 3, 2),
        ("ehrql.tables.tpp", "addresses", "msoa_code", "E02001234", "W02001234"),
        ("ehrql.tables.tpp", "ec", "sus_hrg_code", "VB09Z", "VB9Z"),
        ("ehrql.tables.tpp", "ethnicity_from_sus", "code", "N", "I"),
        (
            "ehrql.tables.tpp",
            "practice_registrations",
            "practice_stp",
            "E54000027",
            "E54000127",
        ),
        ("ehrql.tables.tpp", "sgss_covid_all_tests", "sgtf_status", 9, 10),
        ("ehrql.tables.raw.tpp", "medications", "medication_status", 28, 29),
        ("ehrql.tables.raw.tpp", "isaric", "smoking_mhyn", "Former Smoker", "YES"),
    ],
)
def test_value_constraints(module_name, table_name, column, good, bad):
    constraints = (
        get_table(module_name, table_name)
        ._qm_node.schema.get_column(column)
        .constraints
    )
    checked = [c for c in constraints if not isinstance(c, NotNullConstraint)]
    assert checked, f"{table_name}.{column} has no value constraint"
    assert all(c.validate(good) for c in checked)
    assert not all(c.validate(bad) for c in checked)


@pytest.mark.parametrize(
    "module_name,table_name,column",
    [
        ("ehrql.tables.core", "patients", "date_of_birth"),
        ("ehrql.tables.core", "patients", "sex"),
        ("ehrql.tables.core", "practice_registrations", "start_date"),
        ("ehrql.tables.core", "practice_registrations", "practice_pseudo_id"),
        ("ehrql.tables.tpp", "apcs", "apcs_ident"),
        ("ehrql.tables.tpp", "emergency_care_attendances", "id"),
        ("ehrql.tables.tpp", "open_prompt", "consultation_id"),
        ("ehrql.tables.tpp", "sgss_covid_all_tests", "is_positive"),
        ("ehrql.tables.emis", "patients", "practice_pseudo_id"),
    ],
)
def test_not_null_columns(module_name, table_name, column):
    schema = get_table(module_name, table_name)._qm_node.schema
    assert not schema.get_column(column).nullable


def test_optional_columns_are_nullable():
    from ehrql.tables import core

    assert core.patients._qm_node.schema.get_column("date_of_death").nullable
    assert core.practice_registrations._qm_node.schema.get_column("end_date").nullable
