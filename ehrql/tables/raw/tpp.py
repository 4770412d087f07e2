"""The raw TPP schema: minimally processed tables of the OpenSAFELY-TPP backend.

These are for data development and curation: column types follow the source
tables (the waiting list tables are all strings, for instance) and nothing is
deduplicated. Several classes are named after their backend table
(`medications_raw`, ...) so they do not clash with the cleaned tables of the
same public name.
"""

from __future__ import annotations

import datetime

from ehrql.codes import DMDCode, ICD10Code
from ehrql.query_language import EventFrame, Series, table
from ehrql.query_model.table_schema import Constraint

__all__ = [
    "apcs_cost_historical",
    "apcs_historical",
    "covid_therapeutics_raw",
    "isaric",
    "medications",
    "ons_deaths",
    "repeat_medications",
    "wl_clockstops",
    "wl_openpathways",
]


# ---------------------------------------------------------------------------
# ISARIC
# ---------------------------------------------------------------------------

_YES_NO_UNKNOWN = ("YES", "NO", "Unknown")


def _history_of(condition: str) -> Series:
    """A YES/NO/Unknown column recording whether the patient has `condition`."""
    return Series(
        str,
        description=f"Whether the patient had {condition} before admission: YES, NO or Unknown.",
        constraints=[Constraint.Categorical(*_YES_NO_UNKNOWN)],
    )


def _ethnic_group(group: str) -> Series:
    """One tick box of the ISARIC ethnicity question."""
    return Series(str, description=f"The tick box for the ethnic group '{group}'.")


class isaric_raw(EventFrame):
    """COVID-19 hospital admissions from the ISARIC clinical characterisation study.

    A subset of the ISARIC columns, mostly kept as the strings the source
    holds, with far richer clinical detail than routine hospital data. ISARIC
    data may only be used with ISARIC researchers involved in the study.

    Using this table needs the `isaric` permission: a job must hold it to run on
    real data, and a definition must claim it (`claim_permissions("isaric")`) to run
    on dummy data.
    """

    # Demographics
    age = Series(str, description="The patient's age as entered.")
    age_factor = Series(
        str, description="The unit the age was entered in (years or months)."
    )
    calc_age = Series(
        str,
        description="The age computed from date of birth and enrolment date; can be off for 29 February births.",
    )
    sex = Series(str, description="The patient's sex at birth.")
    ethnic___1 = _ethnic_group("Arab")
    ethnic___2 = _ethnic_group("Black")
    ethnic___3 = _ethnic_group("East Asian")
    ethnic___4 = _ethnic_group("South Asian")
    ethnic___5 = _ethnic_group("West Asian")
    ethnic___6 = _ethnic_group("Latin American")
    ethnic___7 = _ethnic_group("White")
    ethnic___8 = _ethnic_group("Aboriginal/First Nations")
    ethnic___9 = _ethnic_group("Other")
    ethnic___10 = _ethnic_group("N/A")

    # Vaccination
    covid19_vaccine = Series(
        str,
        description="Whether the patient had been given a licensed COVID-19 vaccine.",
    )
    covid19_vaccined = Series(
        datetime.date,
        description="The date of the first COVID-19 vaccine dose, if known.",
    )
    covid19_vaccine2d = Series(
        datetime.date,
        description="The date of the second COVID-19 vaccine dose, if known.",
    )
    covid19_vaccined_nk = Series(
        str, description="Set when a first COVID-19 dose was given on an unknown date."
    )

    # Infection
    corona_ieorres = Series(
        str,
        description="Whether infection with a pathogen of public health interest was suspected or proven.",
    )
    # "coriona" is the source's spelling, in both the table and its data dictionary.
    coriona_ieorres2 = Series(
        str, description="Whether such an infection was proven or highly likely."
    )
    coriona_ieorres3 = Series(str, description="Whether such an infection was proven.")
    inflammatory_mss = Series(
        str,
        description="Whether the patient met the definition of inflammatory multi-system syndrome (MIS-C or MIS-A).",
    )
    cestdat = Series(datetime.date, description="The date the first symptom began.")

    # Medical history
    chrincard = _history_of(
        "chronic heart disease, congenital included but not hypertension"
    )
    hypertension_mhyn = _history_of("hypertension diagnosed by a doctor")
    chronicpul_mhyn = _history_of("chronic lung disease other than asthma")
    asthma_mhyn = _history_of("asthma diagnosed by a doctor")
    renal_mhyn = _history_of("chronic kidney disease")
    mildliver = _history_of("mild liver disease")
    modliv = _history_of("moderate or severe liver disease")
    chronicneu_mhyn = _history_of("a chronic neurological disorder")
    malignantneo_mhyn = _history_of("a malignant neoplasm")
    chronichaemo_mhyn = _history_of("a chronic blood disease")
    aidshiv_mhyn = _history_of("HIV or AIDS")
    obesity_mhyn = _history_of("obesity, as judged by clinical staff")
    diabetes_type_mhyn = Series(
        str,
        description="Whether the patient had diabetes and of which type: NO, 1, 2 or N/K (not known).",
        constraints=[Constraint.Categorical("NO", "1", "2", "N/K")],
    )
    diabetescom_mhyn = _history_of("diabetes with complications")
    diabetes_mhyn = _history_of("diabetes without complications")
    rheumatologic_mhyn = _history_of("a rheumatological disorder")
    dementia_mhyn = _history_of("dementia")
    malnutrition_mhyn = _history_of("malnutrition")
    smoking_mhyn = Series(
        str,
        description="The patient's smoking status.",
        constraints=[
            Constraint.Categorical("Yes", "Never Smoked", "Former Smoker", "N/K")
        ],
    )

    # Admission
    hostdat = Series(
        datetime.date, description="The date of admission to this hospital."
    )
    hooccur = Series(
        str, description="Whether the patient was transferred from another hospital."
    )
    hostdat_transfer = Series(
        datetime.date, description="The date of admission to the previous hospital."
    )
    hostdat_transfernk = Series(
        str,
        description="Set when the date of admission to the previous hospital is not known.",
    )
    readm_cov19 = Series(
        str, description="Whether this is a readmission with COVID-19."
    )
    dsstdat = Series(
        datetime.date, description="The date the patient was enrolled in the study."
    )
    dsstdtc = Series(
        datetime.date,
        description="The date of the outcome (such as discharge or death).",
    )


isaric = table(isaric_raw)


# ---------------------------------------------------------------------------
# Medications
# ---------------------------------------------------------------------------

_MEDICATION_STATUS = (
    "A SystmOne status code from 0 to 28 describing the issue (for example 0 normal, "
    "4 historical, 11 hospital); the meanings are not yet confirmed."
)
_QUANTITY = "The quantity issued as free-ish text, such as '28 tablet' or '100 ml'."


class medications_raw(EventFrame):
    """Prescriptions issued in primary care, as in `tpp.medications`, with extra source columns.

    The extra columns are not yet well understood.

    On TPP, a patient's GP record stops at their GP activation cut-off: rows with a
    `date` after the end of the patient's last registration at an activated GP
    practice (one that has acknowledged the non-COVID directions) are left out when the
    patient later registered at a practice that has not, unless the job holds
    `include_gp_unactivated`.
    """

    date = Series(
        datetime.date,
        description="The date of the consultation the prescription was issued in.",
    )
    dmd_code = Series(DMDCode, description="The dm+d code of the product prescribed.")
    consultation_id = Series(
        int, description="The identifier of the consultation the record was made in."
    )
    medication_status = Series(
        int,
        description=_MEDICATION_STATUS,
        constraints=[Constraint.ClosedRange(0, 28)],
    )
    quantity = Series(str, description=_QUANTITY)
    repeat_medication_id = Series(
        int,
        description="The identifier of the repeat prescription this issue belongs to, or 0 for none.",
    )


medications = table(medications_raw)


class repeat_medications_raw(EventFrame):
    """Repeat prescriptions set up in primary care; not yet understood well enough for research.

    On TPP, a patient's GP record stops at their GP activation cut-off: rows with a
    `date` after the end of the patient's last registration at an activated GP
    practice (one that has acknowledged the non-COVID directions) are left out when the
    patient later registered at a practice that has not, unless the job holds
    `include_gp_unactivated`.
    """

    date = Series(
        datetime.date,
        description="The date of the consultation the repeat was set up in.",
    )
    dmd_code = Series(DMDCode, description="The dm+d code of the product prescribed.")
    consultation_id = Series(
        int, description="The identifier of the consultation the record was made in."
    )
    repeat_medication_id = Series(
        int, description="The identifier of the repeat prescription."
    )
    medication_status = Series(
        int,
        description=_MEDICATION_STATUS,
        constraints=[Constraint.ClosedRange(0, 28)],
    )
    quantity = Series(str, description=_QUANTITY)
    start_date = Series(
        datetime.date, description="The date the repeat prescription starts."
    )
    end_date = Series(
        datetime.date, description="The date the repeat prescription ends."
    )


repeat_medications = table(repeat_medications_raw)


# ---------------------------------------------------------------------------
# Deaths
# ---------------------------------------------------------------------------

_MENTIONED = "A condition mentioned on the death certificate (the 15 are in no particular order)."


class ons_deaths_raw(EventFrame):
    """Every registered death of each patient, with the place of death.

    A few patients have more than one registration; all are kept, whereas
    `ehrql.tables.tpp.ons_deaths` keeps the earliest.
    """

    date = Series(datetime.date, description="The date of death as registered.")
    place = Series(
        str,
        description="The kind of place where the patient died.",
        constraints=[
            Constraint.Categorical(
                "Care Home",
                "Elsewhere",
                "Home",
                "Hospice",
                "Hospital",
                "Other communal establishment",
            )
        ],
    )
    underlying_cause_of_death = Series(
        ICD10Code,
        description="The ICD-10 code of the disease or injury that started the events leading to death.",
    )
    cause_of_death_01 = Series(ICD10Code, description=_MENTIONED)
    cause_of_death_02 = Series(ICD10Code, description=_MENTIONED)
    cause_of_death_03 = Series(ICD10Code, description=_MENTIONED)
    cause_of_death_04 = Series(ICD10Code, description=_MENTIONED)
    cause_of_death_05 = Series(ICD10Code, description=_MENTIONED)
    cause_of_death_06 = Series(ICD10Code, description=_MENTIONED)
    cause_of_death_07 = Series(ICD10Code, description=_MENTIONED)
    cause_of_death_08 = Series(ICD10Code, description=_MENTIONED)
    cause_of_death_09 = Series(ICD10Code, description=_MENTIONED)
    cause_of_death_10 = Series(ICD10Code, description=_MENTIONED)
    cause_of_death_11 = Series(ICD10Code, description=_MENTIONED)
    cause_of_death_12 = Series(ICD10Code, description=_MENTIONED)
    cause_of_death_13 = Series(ICD10Code, description=_MENTIONED)
    cause_of_death_14 = Series(ICD10Code, description=_MENTIONED)
    cause_of_death_15 = Series(ICD10Code, description=_MENTIONED)


ons_deaths = table(ons_deaths_raw)


# ---------------------------------------------------------------------------
# Waiting lists, as strings
# ---------------------------------------------------------------------------

_AS_TEXT = " (as text, unvalidated)"


class wl_clockstops_raw(EventFrame):
    """Completed referral-to-treatment pathways, with every value as the source's text.

    See `ehrql.tables.tpp.wl_clockstops` for the typed, cleaned version.

    Using this table needs the `wl_clockstops` permission: a job must hold it to run on
    real data, and a definition must claim it (`claim_permissions("wl_clockstops")`) to run
    on dummy data.
    """

    activity_treatment_function_code = Series(
        str, description="The specialty code" + _AS_TEXT + "."
    )
    priority_type_code = Series(
        str, description="The referral's priority" + _AS_TEXT + "."
    )
    pseudo_organisation_code_patient_pathway_identifier_issuer = Series(
        str,
        description="A pseudonymous code of the organisation that issued the pathway identifier.",
    )
    pseudo_patient_pathway_identifier = Series(
        str, description="A pseudonymous identifier of the pathway."
    )
    pseudo_referral_identifier = Series(
        str, description="A pseudonymous identifier of the referral."
    )
    referral_request_received_date = Series(
        str, description="The date the referral was received" + _AS_TEXT + "."
    )
    referral_to_treatment_period_end_date = Series(
        str, description="The clock stop date" + _AS_TEXT + "."
    )
    referral_to_treatment_period_start_date = Series(
        str, description="The clock start date" + _AS_TEXT + "."
    )
    source_of_referral_for_outpatients = Series(
        str, description="Who made the referral" + _AS_TEXT + "."
    )
    waiting_list_type = Series(
        str, description="The waiting list type" + _AS_TEXT + "."
    )
    week_ending_date = Series(
        str, description="The Sunday ending the reported week" + _AS_TEXT + "."
    )


wl_clockstops = table(wl_clockstops_raw)


class wl_openpathways_raw(EventFrame):
    """Pathways still waiting in May 2022, with every value as the source's text.

    See `ehrql.tables.tpp.wl_openpathways` for the typed, cleaned version.

    Using this table needs the `wl_openpathways` permission: a job must hold it to run on
    real data, and a definition must claim it (`claim_permissions("wl_openpathways")`) to run
    on dummy data.
    """

    activity_treatment_function_code = Series(
        str, description="The specialty code" + _AS_TEXT + "."
    )
    current_pathway_period_start_date = Series(
        str,
        description="The latest clock start of this pathway period" + _AS_TEXT + ".",
    )
    priority_type_code = Series(
        str, description="The referral's priority" + _AS_TEXT + "."
    )
    pseudo_organisation_code_patient_pathway_identifier_issuer = Series(
        str,
        description="A pseudonymous code of the organisation that issued the pathway identifier.",
    )
    pseudo_patient_pathway_identifier = Series(
        str, description="A pseudonymous identifier of the pathway."
    )
    pseudo_referral_identifier = Series(
        str, description="A pseudonymous identifier of the referral."
    )
    referral_request_received_date = Series(
        str, description="The date the referral was received" + _AS_TEXT + "."
    )
    referral_to_treatment_period_end_date = Series(
        str, description="The clock stop date" + _AS_TEXT + "."
    )
    referral_to_treatment_period_start_date = Series(
        str, description="The clock start date" + _AS_TEXT + "."
    )
    source_of_referral = Series(
        str, description="Who made the referral" + _AS_TEXT + "."
    )
    waiting_list_type = Series(
        str, description="The waiting list type" + _AS_TEXT + "."
    )
    week_ending_date = Series(
        str, description="The Sunday ending the reported week" + _AS_TEXT + "."
    )


wl_openpathways = table(wl_openpathways_raw)


# ---------------------------------------------------------------------------
# Historical hospital data, for exploration
# ---------------------------------------------------------------------------


@table
class apcs_historical(EventFrame):
    """Older Admitted Patient Care Spells, exposed for exploration; it may be withdrawn."""

    apcs_ident = Series(
        int,
        description="The identifier of the spell.",
        constraints=[Constraint.NotNull()],
    )
    admission_date = Series(datetime.date, description="The date the spell began.")
    discharge_date = Series(datetime.date, description="The date the spell ended.")
    spell_core_hrg_sus = Series(
        str, description="The core Healthcare Resource Group of the spell."
    )


@table
class apcs_cost_historical(EventFrame):
    """Costs of older Admitted Patient Care Spells, exposed for exploration; it may be withdrawn."""

    apcs_ident = Series(
        int,
        description="The identifier of the spell.",
        constraints=[Constraint.NotNull()],
    )
    grand_total_payment_mff = Series(
        float, description="The total paid for the spell, adjusted for local costs."
    )
    tariff_initial_amount = Series(
        float, description="The base national tariff for the spell."
    )
    tariff_total_payment = Series(
        float, description="The payment due under the national tariff."
    )
    admission_date = Series(datetime.date, description="The date the spell began.")
    discharge_date = Series(datetime.date, description="The date the spell ended.")


# ---------------------------------------------------------------------------
# COVID-19 treatments, uncleaned
# ---------------------------------------------------------------------------

_RISK_GROUPS = (
    "The high-risk groups ticked on this form version, joined with ' and '; wording "
    "has varied over time."
)


@table
class covid_therapeutics_raw(EventFrame):
    """COVID-19 treatment forms as received from NHS England, duplicates included.

    See `ehrql.tables.tpp.covid_therapeutics` for the cleaned version.

    Using this table needs the `covid_therapeutics` permission: a job must hold it to run on
    real data, and a definition must claim it (`claim_permissions("covid_therapeutics")`) to run
    on dummy data.
    """

    current_status = Series(
        str,
        description="Where the application stands, e.g. approved or treatment complete.",
        constraints=[
            Constraint.Categorical(
                "Approved",
                "Treatment Complete",
                "Treatment Not Started",
                "Treatment Stopped",
            )
        ],
    )
    covid_indication = Series(
        str,
        description="The setting and reason for treatment.",
        constraints=[
            Constraint.Categorical(
                "non_hospitalised", "hospitalised_with", "hospital_onset"
            )
        ],
    )
    diagnosis = Series(str, description="The diagnosis on the form, always 'Covid-19'.")
    intervention = Series(str, description="The name of the drug, e.g. 'Paxlovid'.")
    treatment_start_date = Series(
        datetime.date,
        description="The start date the clinician entered, which may be planned or past.",
    )
    CASIM05_risk_cohort = Series(str, description=_RISK_GROUPS)
    MOL1_high_risk_cohort = Series(str, description=_RISK_GROUPS)
    SOT02_risk_cohorts = Series(str, description=_RISK_GROUPS)
    form_name = Series(str, description="The name and version of the form used.")
    received = Series(datetime.date, description="The date the form was submitted.")
    count = Series(int, description="The number of forms the row stands for.")
    age_at_received_date = Series(
        int,
        description="The patient's age when the form was submitted; 0 probably means unknown.",
    )
    region = Series(
        str, description="The NHS England region of the unit that submitted the form."
    )
    load_date = Series(
        datetime.date, description="The date this copy of the data was loaded."
    )
