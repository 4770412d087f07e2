"""The TPP schema: everything the OpenSAFELY-TPP backend provides.

This covers the SystmOne primary care record and the external data linked to
it (hospital activity, registered deaths, test results, registries). Tables
shared with `ehrql.tables.core` are the core tables themselves (`patients`)
or extend them with TPP-only columns (`medications`, `ons_deaths`,
`practice_registrations`), so their helper methods work here too.

`apcs.all_diagnoses` and `apcs.all_procedures` are multi-code strings: search
them with `contains(code_or_prefix)` and `contains_any_of(codelist)`.
"""

from __future__ import annotations

import datetime

from ehrql.codes import (
    CTV3Code,
    ICD10Code,
    ICD10MultiCodeString,
    OPCS4Code,
    OPCS4MultiCodeString,
    SNOMEDCTCode,
)
from ehrql.query_language import (
    BaseSeries,
    EventFrame,
    PatientFrame,
    Series,
    case,
    table,
    when,
)
from ehrql.query_model.table_schema import Constraint
from ehrql.tables import core
from ehrql.tables.core import DateLike, patients

__all__ = [
    "addresses",
    "apcs",
    "apcs_cost",
    "appointments",
    "clinical_events",
    "clinical_events_ranges",
    "covid_therapeutics",
    "decision_support_values",
    "ec",
    "ec_cost",
    "emergency_care_attendances",
    "ethnicity_from_sus",
    "household_memberships_2020",
    "medications",
    "occupation_on_covid_vaccine_record",
    "ons_deaths",
    "opa",
    "opa_cost",
    "opa_diag",
    "opa_proc",
    "open_prompt",
    "parents",
    "patients",
    "practice_registrations",
    "sgss_covid_all_tests",
    "ukrr",
    "vaccinations",
    "wl_clockstops",
    "wl_openpathways",
]


# ---------------------------------------------------------------------------
# Addresses
# ---------------------------------------------------------------------------

#: The number of LSOAs ranked by the 2019 English Index of Multiple Deprivation.
IMD_LSOA_COUNT = 32_844


def imd_band_upper_bounds(bands: int) -> tuple[int, ...]:
    """The highest IMD rank in each of `bands` equal-as-possible bands, most deprived first.

    The bounds are rounded down, matching the quintile and decile cut-offs
    published with the index.
    """
    if bands < 1:
        raise ValueError(f"the number of IMD bands must be at least 1, got {bands}")
    return tuple(IMD_LSOA_COUNT * k // bands for k in range(1, bands + 1))


def _imd_band_labels(bands: int) -> list[str]:
    labels = [str(k) for k in range(1, bands + 1)]
    labels[0] += " (most deprived)"
    labels[-1] += " (least deprived)"
    return labels


def _imd_band(imd_rank: BaseSeries, bands: int) -> BaseSeries:
    """The band label of each IMD rank; 'unknown' for a null or out-of-range rank."""
    bounds = imd_band_upper_bounds(bands)
    in_range = (imd_rank >= 0) & (imd_rank <= bounds[-1])
    # Cases are tried in order, so each band only needs its upper bound.
    return case(
        *(
            when(in_range & (imd_rank <= bound)).then(label)
            for bound, label in zip(bounds, _imd_band_labels(bands))
        ),
        otherwise="unknown",
    )


_RURAL_URBAN_DESCRIPTION = (
    "The 2011 rural-urban classification of the area, from 1 (urban major "
    "conurbation) to 8 (rural village and dispersed, in a sparse setting)."
)


@table
class addresses(EventFrame):
    """One row per period a patient was registered as living at an address.

    The postcode itself is never available: instead each address carries
    area-level facts derived from it (rural-urban class, deprivation rank,
    MSOA) and whether TPP matched it to a care home. A patient may have
    overlapping periods.
    """

    address_id = Series(
        int,
        description="A number identifying the address.",
    )
    start_date = Series(
        datetime.date,
        description="The date the patient was registered as moving in.",
    )
    end_date = Series(
        datetime.date,
        description="The date the patient was registered as moving out, or null if they still live there.",
    )
    address_type = Series(
        int,
        description="The kind of address: 0 permanent, 1 temporary, 3 for correspondence only.",
        constraints=[Constraint.Categorical(0, 1, 3)],
    )
    rural_urban_classification = Series(
        int,
        description=_RURAL_URBAN_DESCRIPTION,
        constraints=[Constraint.ClosedRange(1, 8)],
    )
    imd_rounded = Series(
        int,
        description=(
            "The English Index of Multiple Deprivation rank of the address's LSOA, "
            "rounded to the nearest 100; low ranks are the most deprived areas."
        ),
        constraints=[Constraint.ClosedRange(0, 32_800, 100)],
    )
    msoa_code = Series(
        str,
        description="The ONS code of the Middle Layer Super Output Area containing the address.",
        constraints=[Constraint.Regex("E020[0-9]{5}")],
    )
    has_postcode = Series(
        bool,
        description="Whether a valid postcode is recorded for the address.",
    )
    care_home_is_potential_match = Series(
        bool,
        description="Whether TPP's matching algorithm links the address to a care home.",
    )
    care_home_requires_nursing = Series(
        bool,
        description="Whether the matched care home is one that provides nursing.",
    )
    care_home_does_not_require_nursing = Series(
        bool,
        description="Whether the matched care home is one that does not provide nursing.",
    )

    @property
    def imd_quintile(self) -> BaseSeries:
        """The deprivation quintile of `imd_rounded`, as a string.

        One of '1 (most deprived)', '2', '3', '4', '5 (least deprived)', or
        'unknown' when the rank is missing. Quintile boundaries are the
        published ones (so the first quintile is one LSOA smaller).
        """
        return _imd_band(self.imd_rounded, 5)

    @property
    def imd_decile(self) -> BaseSeries:
        """The deprivation decile of `imd_rounded`, as a string.

        One of '1 (most deprived)', '2', ..., '9', '10 (least deprived)', or
        'unknown' when the rank is missing.
        """
        return _imd_band(self.imd_rounded, 10)

    def for_patient_on(self, date: DateLike) -> PatientFrame:
        """Each patient's address on `date`, at most one per patient.

        Of the addresses whose period covers `date`, those with a postcode are
        preferred (only they carry area data); then the latest start; then
        the latest end (open periods sort first); then the highest address id.
        """
        current = self.where(self.start_date <= date).except_where(self.end_date < date)
        return current.sort_by(
            case(when(current.has_postcode).then(1), otherwise=0),
            current.start_date,
            current.end_date,
            current.address_id,
        ).last_for_patient()


# ---------------------------------------------------------------------------
# Hospital activity (SUS): admitted patient care
# ---------------------------------------------------------------------------

_GRAND_TOTAL_DESCRIPTION = (
    "The total paid for the activity: the contracted payment plus the tariff "
    "payment adjusted by the Market Forces Factor for local costs."
)


@table
class apcs(EventFrame):
    """Admitted Patient Care Spells: one row per hospital stay, from NHS SUS data.

    A spell is a continuous stay under one provider and may be made up of
    several consultant episodes. Join to `apcs_cost` on `apcs_ident`.
    """

    apcs_ident = Series(
        int,
        description="The identifier of the spell, shared by all the APCS tables.",
        constraints=[Constraint.NotNull()],
    )
    admission_date = Series(
        datetime.date,
        description="The date the spell began.",
    )
    discharge_date = Series(
        datetime.date,
        description="The date the patient was discharged at the end of the spell.",
    )
    discharge_destination = Series(
        str,
        description="The two-character NHS code for where the patient went on discharge (or that they died).",
    )
    discharge_method = Series(
        str,
        description="The one-character NHS code for how the patient left hospital, e.g. on clinical advice or died.",
    )
    spell_core_hrg_sus = Series(
        str,
        description=(
            "The core Healthcare Resource Group of the spell, as derived by NHS Digital, which sets its tariff."
        ),
    )
    admission_method = Series(
        str,
        description="The NHS code for how the patient was admitted, e.g. elective or emergency.",
    )
    primary_diagnosis = Series(
        ICD10Code,
        description="The main diagnosis recorded for the spell, which may differ from the reason for admission.",
    )
    secondary_diagnosis = Series(
        ICD10Code,
        description="The first secondary diagnosis recorded; others appear only in `all_diagnoses`.",
    )
    all_diagnoses = Series(
        ICD10MultiCodeString,
        description=(
            "Every ICD-10 diagnosis of the spell, dot-less, in one string: codes split by "
            "commas and episodes by '||'. Search it with `contains()`, e.g. a prefix like 'N17'."
        ),
    )
    all_procedures = Series(
        OPCS4MultiCodeString,
        description=(
            "Every OPCS-4 procedure of the spell, dot-less, in one string: codes split by "
            "commas and episodes by '||'. Search it with `contains()`."
        ),
    )
    days_in_critical_care = Series(
        int,
        description="The number of days, counting part days, spent in critical care during the spell.",
    )
    patient_classification = Series(
        str,
        description="The NHS code for the kind of admission, e.g. ordinary, day case or regular attender.",
    )


@table
class apcs_cost(EventFrame):
    """The cost of each Admitted Patient Care Spell; data only cover recent years.

    Join to `apcs` on `apcs_ident`.
    """

    apcs_ident = Series(
        int,
        description="The identifier of the spell, shared by all the APCS tables.",
        constraints=[Constraint.NotNull()],
    )
    grand_total_payment_mff = Series(
        float,
        description=_GRAND_TOTAL_DESCRIPTION,
    )
    tariff_initial_amount = Series(
        float,
        description="The base national tariff for the spell, before any adjustment.",
    )
    tariff_total_payment = Series(
        float,
        description="The payment due for the spell under the national tariff.",
    )
    admission_date = Series(
        datetime.date,
        description="The date the spell began.",
    )
    discharge_date = Series(
        datetime.date,
        description="The date the patient was discharged at the end of the spell.",
    )


# ---------------------------------------------------------------------------
# Primary care
# ---------------------------------------------------------------------------


@table
class appointments(EventFrame):
    """Appointments booked with the GP practice, one row per appointment.

    This data is not yet well understood: it may miss some contacts and has
    duplicates, and history can be lost when a patient moves from, or a
    practice switches from, another system (see
    `practice_registrations.spanning_with_systmone()`). Appointments link to
    consultations only by date.

    Using this table needs the `appointments` permission: a job must hold it to run on
    real data, and a definition must claim it (`claim_permissions("appointments")`) to run
    on dummy data.

    On TPP, a patient's GP record stops at their GP activation cut-off: rows with a
    `booked_date` after the end of the patient's last registration at an activated GP
    practice (one that has acknowledged the non-COVID directions) are left out when the
    patient later registered at a practice that has not, unless the job holds
    `include_gp_unactivated`.
    """

    booked_date = Series(
        datetime.date,
        description="The date the appointment was made.",
    )
    start_date = Series(
        datetime.date,
        description="The date the appointment was due to take place.",
    )
    seen_date = Series(
        datetime.date,
        description="The date the patient was actually seen, if they were.",
    )
    status = Series(
        str,
        description="What became of the appointment, e.g. 'Finished' or 'Did Not Attend'.",
        constraints=[
            Constraint.Categorical(
                "Booked",
                "Arrived",
                "Did Not Attend",
                "In Progress",
                "Finished",
                "Requested",
                "Blocked",
                "Visit",
                "Waiting",
                "Cancelled by Patient",
                "Cancelled by Unit",
                "Cancelled by Other Service",
                "No Access Visit",
                "Cancelled Due To Death",
                "Patient Walked Out",
            )
        ],
    )


_CONSULTATION_ID_DESCRIPTION = (
    "The identifier of the SystmOne consultation the record was made in."
)


@table
class clinical_events(EventFrame):
    """One row per coded event in the SystmOne record.

    Every event appears twice, once coded in CTV3 and once in SNOMED CT, each
    row having exactly one of the two code columns set; so a codelist in
    either system finds each event once. Codes are kept as entered, even if
    later retired. Referrals are only partly recorded here.

    On TPP, a patient's GP record stops at their GP activation cut-off: rows with a
    `date` after the end of the patient's last registration at an activated GP
    practice (one that has acknowledged the non-COVID directions) are left out when the
    patient later registered at a practice that has not, unless the job holds
    `include_gp_unactivated`.
    """

    date = Series(
        datetime.date,
        description="The date the event was recorded as happening.",
    )
    snomedct_code = Series(
        SNOMEDCTCode,
        description="The SNOMED CT concept of the event, on the SNOMED CT copy of the row.",
    )
    ctv3_code = Series(
        CTV3Code,
        description="The CTV3 (Read v3) code of the event, on the CTV3 copy of the row.",
    )
    numeric_value = Series(
        float,
        description="The number recorded with the event, such as a test result, if any.",
    )
    consultation_id = Series(
        int,
        description=_CONSULTATION_ID_DESCRIPTION,
    )


@table
class clinical_events_ranges(EventFrame):
    """The rows of `clinical_events` with the reference range and comparator of each value.

    Querying it is much slower than `clinical_events`: use it only when the
    extra columns are needed.

    On TPP, a patient's GP record stops at their GP activation cut-off: rows with a
    `date` after the end of the patient's last registration at an activated GP
    practice (one that has acknowledged the non-COVID directions) are left out when the
    patient later registered at a practice that has not, unless the job holds
    `include_gp_unactivated`.
    """

    date = Series(
        datetime.date,
        description="The date the event was recorded as happening.",
    )
    snomedct_code = Series(
        SNOMEDCTCode,
        description="The SNOMED CT concept of the event, on the SNOMED CT copy of the row.",
    )
    ctv3_code = Series(
        CTV3Code,
        description="The CTV3 (Read v3) code of the event, on the CTV3 copy of the row.",
    )
    numeric_value = Series(
        float,
        description="The number recorded with the event, such as a test result, if any.",
    )
    lower_bound = Series(
        float,
        description="The bottom of the normal reference range given with the value.",
    )
    upper_bound = Series(
        float,
        description="The top of the normal reference range given with the value.",
    )
    comparator = Series(
        str,
        description="The comparison the value was reported with, e.g. '<' for a result of '<9.5'.",
        constraints=[Constraint.Categorical("~", "=", ">=", ">", "<", "<=")],
    )
    consultation_id = Series(
        int,
        description=_CONSULTATION_ID_DESCRIPTION,
    )


# ---------------------------------------------------------------------------
# COVID-19 treatments and decision support
# ---------------------------------------------------------------------------


@table
class covid_therapeutics(EventFrame):
    """Forms requesting antiviral or antibody treatment for COVID-19, from NHS England.

    One row per form, covering inpatients and outpatients (treated in COVID
    Medicine Delivery Units). An approved form does not prove the treatment
    was given; a patient may have several forms, and partial duplicates
    remain.

    Using this table needs the `covid_therapeutics` permission: a job must hold it to run on
    real data, and a definition must claim it (`claim_permissions("covid_therapeutics")`) to run
    on dummy data.
    """

    covid_indication = Series(
        str,
        description="The setting and reason for treatment.",
        constraints=[
            Constraint.Categorical(
                "non_hospitalised", "hospitalised_with", "hospital_onset"
            )
        ],
    )
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
    intervention = Series(
        str,
        description="The name of the drug, e.g. 'Molnupiravir' or 'Sotrovimab'.",
    )
    received = Series(
        datetime.date,
        description="The date the form was submitted.",
    )
    region = Series(
        str,
        description="The NHS England region of the unit that submitted the form.",
    )
    risk_cohort = Series(
        str,
        description=(
            "The comma-separated high-risk groups ticked for the patient (only for some "
            "drugs); wording has changed over time, so match with care."
        ),
    )
    treatment_start_date = Series(
        datetime.date,
        description="The start date the clinician entered, which may be planned or past.",
    )


#: The algorithm description that `electronic_frailty_index()` selects.
EFI_DESCRIPTION = "UK Electronic Frailty Index (eFI)"
#: The algorithm version that `electronic_frailty_index()` selects.
EFI_VERSION = "1.0"


@table
class decision_support_values(EventFrame):
    """Scores computed by SystmOne's decision support algorithms, such as the electronic frailty index.

    On TPP, a patient's GP record stops at their GP activation cut-off: rows with a
    `calculation_date` after the end of the patient's last registration at an activated GP
    practice (one that has acknowledged the non-COVID directions) are left out when the
    patient later registered at a practice that has not, unless the job holds
    `include_gp_unactivated`.
    """

    calculation_date = Series(
        datetime.date,
        description="The date the algorithm computed the value.",
    )
    numeric_value = Series(
        float,
        description="The value the algorithm computed.",
    )
    algorithm_description = Series(
        str,
        description="The name of the algorithm.",
    )
    algorithm_version = Series(
        str,
        description="The version of the algorithm.",
    )

    def electronic_frailty_index(self) -> EventFrame:
        """Every electronic frailty index (version 1) computed for each patient."""
        return self.where(self.algorithm_description == EFI_DESCRIPTION).where(
            self.algorithm_version == EFI_VERSION
        )


# ---------------------------------------------------------------------------
# Hospital activity (SUS): emergency care
# ---------------------------------------------------------------------------

_ARRIVAL_DESCRIPTION = "The date the patient arrived at the emergency department, by themselves or by ambulance."


@table
class ec(EventFrame):
    """Emergency care attendances from the Emergency Care Data Set (ECDS), via NHS SUS.

    One row per attendance; join to `ec_cost` and
    `emergency_care_attendances` on the attendance identifier.
    """

    ec_ident = Series(
        int,
        description="The identifier of the attendance, shared by all the EC tables.",
        constraints=[Constraint.NotNull()],
    )
    arrival_date = Series(
        datetime.date,
        description=_ARRIVAL_DESCRIPTION,
    )
    sus_hrg_code = Series(
        str,
        description="The core Healthcare Resource Group derived by SUS, which sets the tariff.",
        constraints=[Constraint.Regex("[a-zA-Z]{2}[0-9]{2}[a-zA-Z]")],
    )


@table
class ec_cost(EventFrame):
    """The cost of each emergency care attendance."""

    ec_ident = Series(
        int,
        description="The identifier of the attendance, shared by all the EC tables.",
        constraints=[Constraint.NotNull()],
    )
    grand_total_payment_mff = Series(
        float,
        description=_GRAND_TOTAL_DESCRIPTION,
    )
    tariff_total_payment = Series(
        float,
        description="The payment due for the attendance under the national tariff.",
    )
    arrival_date = Series(
        datetime.date,
        description=_ARRIVAL_DESCRIPTION,
    )
    ec_decision_to_admit_date = Series(
        datetime.date,
        description="The date it was decided to admit the patient, if it was.",
    )
    ec_injury_date = Series(
        datetime.date,
        description="The date of the injury, if the attendance was for one.",
    )


_EC_DIAGNOSIS = (
    "A diagnosis made at the attendance, as a SNOMED CT concept from the short "
    "list the emergency care data set allows."
)


@table
class emergency_care_attendances(EventFrame):
    """Emergency care attendances with their discharge destination and up to 24 diagnoses.

    Diagnoses come from a restricted list of SNOMED CT concepts, so they are
    coarser than those in the GP record.
    """

    id = Series(  # noqa: A003 - the public column name
        int,
        description="The identifier of the attendance, shared by all the EC tables.",
        constraints=[Constraint.NotNull()],
    )
    arrival_date = Series(
        datetime.date,
        description=_ARRIVAL_DESCRIPTION,
    )
    discharge_destination = Series(
        SNOMEDCTCode,
        description="The SNOMED CT concept for where the patient was meant to go on leaving the department.",
    )
    diagnosis_01 = Series(SNOMEDCTCode, description=_EC_DIAGNOSIS)
    diagnosis_02 = Series(SNOMEDCTCode, description=_EC_DIAGNOSIS)
    diagnosis_03 = Series(SNOMEDCTCode, description=_EC_DIAGNOSIS)
    diagnosis_04 = Series(SNOMEDCTCode, description=_EC_DIAGNOSIS)
    diagnosis_05 = Series(SNOMEDCTCode, description=_EC_DIAGNOSIS)
    diagnosis_06 = Series(SNOMEDCTCode, description=_EC_DIAGNOSIS)
    diagnosis_07 = Series(SNOMEDCTCode, description=_EC_DIAGNOSIS)
    diagnosis_08 = Series(SNOMEDCTCode, description=_EC_DIAGNOSIS)
    diagnosis_09 = Series(SNOMEDCTCode, description=_EC_DIAGNOSIS)
    diagnosis_10 = Series(SNOMEDCTCode, description=_EC_DIAGNOSIS)
    diagnosis_11 = Series(SNOMEDCTCode, description=_EC_DIAGNOSIS)
    diagnosis_12 = Series(SNOMEDCTCode, description=_EC_DIAGNOSIS)
    diagnosis_13 = Series(SNOMEDCTCode, description=_EC_DIAGNOSIS)
    diagnosis_14 = Series(SNOMEDCTCode, description=_EC_DIAGNOSIS)
    diagnosis_15 = Series(SNOMEDCTCode, description=_EC_DIAGNOSIS)
    diagnosis_16 = Series(SNOMEDCTCode, description=_EC_DIAGNOSIS)
    diagnosis_17 = Series(SNOMEDCTCode, description=_EC_DIAGNOSIS)
    diagnosis_18 = Series(SNOMEDCTCode, description=_EC_DIAGNOSIS)
    diagnosis_19 = Series(SNOMEDCTCode, description=_EC_DIAGNOSIS)
    diagnosis_20 = Series(SNOMEDCTCode, description=_EC_DIAGNOSIS)
    diagnosis_21 = Series(SNOMEDCTCode, description=_EC_DIAGNOSIS)
    diagnosis_22 = Series(SNOMEDCTCode, description=_EC_DIAGNOSIS)
    diagnosis_23 = Series(SNOMEDCTCode, description=_EC_DIAGNOSIS)
    diagnosis_24 = Series(SNOMEDCTCode, description=_EC_DIAGNOSIS)


# ---------------------------------------------------------------------------
# Patient-level derived tables
# ---------------------------------------------------------------------------


@table
class ethnicity_from_sus(PatientFrame):
    """Each patient's most often recorded ethnicity in hospital (SUS) data.

    The national ethnic category codes recorded in admitted care, emergency
    care and outpatient data are counted, leaving out 'not stated' (Z) and
    'not known' (99); the most frequent wins, and a tie goes to the code that
    sorts last.
    """

    code = Series(
        str,
        description="The first character of the 2001-census ethnic category code, e.g. 'A' for White British.",
        constraints=[Constraint.Categorical(*"ABCDEFGHJKLMNPRS")],
    )


@table
class household_memberships_2020(PatientFrame):
    """The household each patient belonged to on 1 February 2020, as inferred by TPP."""

    household_pseudo_id = Series(
        int,
        description="A pseudonymous number standing for the household.",
    )
    household_size = Series(
        int,
        description="The number of people TPP placed in the household.",
    )


@table
class medications(core.medications.__class__):
    """Prescriptions issued in primary care, as in `core.medications`, with the consultation.

    One row per issue, coded with dm+d; the date is the issue date.

    On TPP, a patient's GP record stops at their GP activation cut-off: rows with a
    `date` after the end of the patient's last registration at an activated GP
    practice (one that has acknowledged the non-COVID directions) are left out when the
    patient later registered at a practice that has not, unless the job holds
    `include_gp_unactivated`.
    """

    consultation_id = Series(
        int,
        description=_CONSULTATION_ID_DESCRIPTION,
    )


@table
class occupation_on_covid_vaccine_record(EventFrame):
    """Whether people vaccinated against COVID-19 said they were health or care workers.

    From the NHS England COVID-19 data store: the answer is taken at the point
    of vaccination.

    Using this table needs the `occupation_on_covid_vaccine_record` permission: a job must hold it to run on
    real data, and a definition must claim it (`claim_permissions("occupation_on_covid_vaccine_record")`) to run
    on dummy data.
    """

    is_healthcare_worker = Series(
        bool,
        description="Whether the person said at vaccination that they were a health or care worker.",
    )


@table
class ons_deaths(core.ons_deaths.__class__):
    """Registered deaths, as in `core.ons_deaths`, with the place of death.

    One row per patient with a registered death (the earliest, when there are
    several).
    """

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


# ---------------------------------------------------------------------------
# Hospital activity (SUS): outpatients
# ---------------------------------------------------------------------------

_OPA_IDENT = "The identifier of the appointment, shared by all the OPA tables."
_APPOINTMENT_DATE = "The date of the outpatient appointment."
_REFERRAL_RECEIVED = "The date the hospital received the referral for the appointment."


@table
class opa(EventFrame):
    """Outpatient appointments in hospital, one row per appointment, via NHS SUS.

    Join to `opa_cost`, `opa_diag` and `opa_proc` on `opa_ident`.
    """

    opa_ident = Series(
        int,
        description=_OPA_IDENT,
        constraints=[Constraint.NotNull()],
    )
    appointment_date = Series(
        datetime.date,
        description=_APPOINTMENT_DATE,
    )
    attendance_status = Series(
        str,
        description=(
            "The NHS 'attended or did not attend' code: whether the appointment took "
            "place and, if not, whether notice was given."
        ),
        # The order is the NHS data dictionary's, not sorted.
        constraints=[Constraint.Categorical("5", "6", "7", "2", "3", "4", "0")],
    )
    consultation_medium_used = Series(
        str,
        description="The NHS code for how the consultation was held, e.g. face to face or by telephone.",
        constraints=[
            Constraint.Categorical("01", "02", "03", "04", "05", "09", "10", "11", "98")
        ],
    )
    first_attendance = Series(
        str,
        description="The NHS code saying whether this was a first or follow-up attendance, and in what medium.",
        constraints=[Constraint.Categorical("1", "2", "3", "4", "5", "9")],
    )
    hrg_code = Series(
        str,
        description="The Healthcare Resource Group of the appointment, which sets its tariff.",
        constraints=[Constraint.Regex("[a-zA-Z]{2}[0-9]{2}[a-zA-Z]")],
    )
    treatment_function_code = Series(
        str,
        description="The code of the specialty under which the patient was seen.",
    )
    outcome_of_attendance = Series(
        str,
        description=(
            "The NHS 'outcome of attendance' code: what was decided at the appointment, "
            "e.g. 1 discharged, 2 another appointment given, 3 an appointment to be made "
            "later, and codes for moving to patient-initiated follow-up (4 and 5)."
        ),
    )
    referral_request_received_date = Series(
        datetime.date,
        description="The date the provider received the referral that led to the appointment.",
    )


@table
class opa_cost(EventFrame):
    """The cost of each outpatient appointment; data only cover recent years."""

    opa_ident = Series(
        int,
        description=_OPA_IDENT,
        constraints=[Constraint.NotNull()],
    )
    tariff_opp = Series(
        float,
        description="The base national tariff, where a procedure tariff applies.",
    )
    grand_total_payment_mff = Series(
        float,
        description=_GRAND_TOTAL_DESCRIPTION,
    )
    tariff_total_payment = Series(
        float,
        description="The payment due for the appointment under the national tariff.",
    )
    appointment_date = Series(
        datetime.date,
        description=_APPOINTMENT_DATE,
    )
    referral_request_received_date = Series(
        datetime.date,
        description=_REFERRAL_RECEIVED,
    )


@table
class opa_diag(EventFrame):
    """Diagnoses recorded at outpatient appointments; most appointments have none."""

    opa_ident = Series(
        int,
        description=_OPA_IDENT,
        constraints=[Constraint.NotNull()],
    )
    primary_diagnosis_code = Series(
        ICD10Code,
        description="The main diagnosis as an ICD-10 code; usually missing.",
    )
    primary_diagnosis_code_read = Series(
        CTV3Code,
        description="The main diagnosis as a Read code; usually missing.",
    )
    secondary_diagnosis_code_1 = Series(
        ICD10Code,
        description="The first secondary diagnosis as an ICD-10 code; usually missing.",
    )
    secondary_diagnosis_code_1_read = Series(
        CTV3Code,
        description="The first secondary diagnosis as a Read code; usually missing.",
    )
    appointment_date = Series(
        datetime.date,
        description=_APPOINTMENT_DATE,
    )
    referral_request_received_date = Series(
        datetime.date,
        description=_REFERRAL_RECEIVED,
    )


@table
class opa_proc(EventFrame):
    """Procedures done at outpatient appointments, mostly only those that attract a payment."""

    opa_ident = Series(
        int,
        description=_OPA_IDENT,
        constraints=[Constraint.NotNull()],
    )
    primary_procedure_code = Series(
        OPCS4Code,
        description="The main procedure as an OPCS-4 code.",
    )
    primary_procedure_code_read = Series(
        CTV3Code,
        description="The main procedure as a Read code.",
    )
    procedure_code_2 = Series(
        OPCS4Code,
        description="A second procedure as an OPCS-4 code.",
    )
    procedure_code_2_read = Series(
        CTV3Code,
        description="A second procedure as a Read code.",
    )
    appointment_date = Series(
        datetime.date,
        description=_APPOINTMENT_DATE,
    )
    referral_request_received_date = Series(
        datetime.date,
        description=_REFERRAL_RECEIVED,
    )


# ---------------------------------------------------------------------------
# Other primary care and linked tables
# ---------------------------------------------------------------------------


@table
class open_prompt(EventFrame):
    """Answers to the OpenPROMPT patient questionnaire, one row per answer.

    Where a question has a coded answer the codes are the answer's; otherwise
    they identify the question, and the answer is in `numeric_value` or
    `consultation_date`.

    Using this table needs the `open_prompt` permission: a job must hold it to run on
    real data, and a definition must claim it (`claim_permissions("open_prompt")`) to run
    on dummy data.
    """

    ctv3_code = Series(
        CTV3Code,
        description="The answer as a CTV3 code, or else the question as a CTV3 code.",
        constraints=[Constraint.NotNull()],
    )
    snomedct_code = Series(
        SNOMEDCTCode,
        description="The answer as a SNOMED CT concept, or else the question as one.",
    )
    creation_date = Series(
        datetime.date,
        description="The date the questionnaire was completed.",
        constraints=[Constraint.NotNull()],
    )
    consultation_date = Series(
        datetime.date,
        description="The answer, when the question asks for a date; otherwise the date of the questionnaire.",
        constraints=[Constraint.NotNull()],
    )
    consultation_id = Series(
        int,
        description="The identifier of the completed questionnaire.",
        constraints=[Constraint.NotNull()],
    )
    numeric_value = Series(
        float,
        description="The answer, when the question asks for a number.",
    )


@table
class parents(PatientFrame):
    """The patient's mother, where SystmOne records one unambiguously.

    Relationships that were ended (a sign of a corrected record), that name a
    male mother, or a mother not older than the child, are dropped, as are
    patients with conflicting records. Whether these are birth mothers or
    those with parental responsibility is not known.
    """

    mother_id = Series(
        int,
        description="The `patient_id` of the patient's mother.",
    )


@table
class practice_registrations(core.practice_registrations.__class__):
    """Practice registrations, as in `core.practice_registrations`, with practice details.

    Adds the practice's region and STP, and the date it moved to SystmOne.

    On TPP, only registrations with activated GP practices (practices that have
    acknowledged the non-COVID directions) are included, unless the job holds
    `include_gp_unactivated`.
    """

    practice_stp = Series(
        str,
        description="The ONS code of the practice's Sustainability and Transformation Partnership.",
        constraints=[Constraint.Regex("E540000[0-9]{2}")],
    )
    practice_nuts1_region_name = Series(
        str,
        description="The NUTS level 1 region of England the practice is in.",
        constraints=[
            Constraint.Categorical(
                "North East",
                "North West",
                "Yorkshire and The Humber",
                "East Midlands",
                "West Midlands",
                "East",
                "London",
                "South East",
                "South West",
            )
        ],
    )
    practice_systmone_go_live_date = Series(
        datetime.date,
        description=(
            "The date the practice started using SystmOne; records only SystmOne "
            "keeps, such as appointments, are incomplete before it."
        ),
    )

    def spanning_with_systmone(
        self, start_date: DateLike, end_date: DateLike
    ) -> EventFrame:
        """The registrations covering the whole of `start_date` to `end_date` at practices on SystmOne throughout.

        As `spanning()`, keeping only practices that went live on SystmOne
        on or before `start_date`.
        """
        covering = self.spanning(start_date, end_date)
        return covering.where(covering.practice_systmone_go_live_date <= start_date)


@table
class sgss_covid_all_tests(EventFrame):
    """SARS-CoV-2 test results from SGSS, the Second Generation Surveillance System.

    One row per specimen tested, positive or negative.

    Using this table needs the `sgss_covid_all_tests` permission: a job must hold it to run on
    real data, and a definition must claim it (`claim_permissions("sgss_covid_all_tests")`) to run
    on dummy data.
    """

    specimen_taken_date = Series(
        datetime.date,
        description="The date the specimen was taken.",
        constraints=[Constraint.NotNull()],
    )
    is_positive = Series(
        bool,
        description="Whether SARS-CoV-2 was found in the specimen.",
        constraints=[Constraint.NotNull()],
    )
    lab_report_date = Series(
        datetime.date,
        description="The date the laboratory reported the result.",
        constraints=[Constraint.NotNull()],
    )
    was_symptomatic = Series(
        bool,
        description="Whether the patient reported COVID-19 symptoms when the specimen was taken; null if not known.",
    )
    sgtf_status = Series(
        int,
        description=(
            "The S-gene target failure result of a PCR test, a proxy for some variants: "
            "0 S gene detected, 1 confirmed failure, 9 unclassifiable; 2, 4 and 8 are undocumented."
        ),
        constraints=[Constraint.ClosedRange(0, 9)],
    )
    variant = Series(
        str,
        description="The variant identified, if any, as free text such as 'B.1.617.2'.",
    )
    variant_detection_method = Series(
        str,
        description="How the variant was identified.",
        constraints=[
            Constraint.Categorical(
                "Private Lab Sequencing",
                "Reflex Assay",
                "Sanger Provisional Result",
            )
        ],
    )


@table
class ukrr(EventFrame):
    """UK Renal Registry records of patients in specialist kidney care.

    Covers advanced (stage 4 and 5) chronic kidney disease, dialysis and
    transplants; each row belongs to one of several cohort snapshots.

    Using this table needs the `ukrr` permission: a job must hold it to run on
    real data, and a definition must claim it (`claim_permissions("ukrr")`) to run
    on dummy data.
    """

    dataset = Series(
        str,
        description=(
            "The cohort: on renal replacement therapy in December of 2019, 2020 or 2021 "
            "(prevalence), starting it in 2020 (incidence), or under care for stage 4-5 CKD in December 2020."
        ),
        constraints=[
            Constraint.Categorical(
                "2019_prevalence",
                "2020_prevalence",
                "2021_prevalence",
                "2020_incidence",
                "2020_ckd",
            )
        ],
    )
    renal_centre = Series(
        str,
        description="The code of the patient's main renal centre.",
    )
    rrt_start_date = Series(
        datetime.date,
        description="The most recent date renal replacement therapy started.",
    )
    latest_creatinine = Series(
        float,
        description="The patient's most recent creatinine result held by the registry.",
    )
    latest_egfr = Series(
        float,
        description="The patient's most recent eGFR held by the registry.",
    )
    treatment_modality_start = Series(
        str,
        description="The kind of therapy on `rrt_start_date`, e.g. HD, PD or Tx.",
    )
    treatment_modality_prevalence = Series(
        str,
        description="The kind of therapy according to the prevalence snapshot.",
    )


@table
class vaccinations(EventFrame):
    """Vaccinations given, named by target disease and by product.

    Vaccines given at work or in a pharmacy may be missing.

    On TPP, a patient's GP record stops at their GP activation cut-off: rows with a
    `date` after the end of the patient's last registration at an activated GP
    practice (one that has acknowledged the non-COVID directions) are left out when the
    patient later registered at a practice that has not, unless the job holds
    `include_gp_unactivated`.
    """

    vaccination_id = Series(
        int,
        description="A number identifying the vaccination.",
    )
    date = Series(
        datetime.date,
        description="The date the vaccine was given.",
    )
    target_disease = Series(
        str,
        description="The disease the vaccine protects against, e.g. 'Influenza'.",
    )
    product_name = Series(
        str,
        description="The name of the vaccine product given.",
    )


# ---------------------------------------------------------------------------
# Waiting lists
# ---------------------------------------------------------------------------

_TREATMENT_FUNCTION = "The three-character code of the specialty treating the patient."
_PRIORITY = "How urgent the referral is; values outside the list are null here (see the raw table)."
_ISSUER = "A pseudonymous code of the organisation that issued the pathway identifier."
_PATHWAY = "A pseudonymous identifier of the patient pathway."
_REFERRAL = "A pseudonymous identifier of the referral."
_REFERRAL_RECEIVED_RTT = "The date the referral that started the pathway was received."
_WEEK_ENDING = "The Sunday ending the week the row reports on."


@table
class wl_clockstops(EventFrame):
    """Completed referral-to-treatment pathways, from the Waiting List Minimum Data Set.

    One row per pathway whose clock stopped (by treatment, a decision not to
    treat, or death) between May 2021 and May 2022. A pathway is identified by
    issuer, pathway, referral and clock start together.

    Using this table needs the `wl_clockstops` permission: a job must hold it to run on
    real data, and a definition must claim it (`claim_permissions("wl_clockstops")`) to run
    on dummy data.
    """

    activity_treatment_function_code = Series(
        str,
        description=_TREATMENT_FUNCTION,
        constraints=[Constraint.Regex("[a-zA-Z0-9]{3}")],
    )
    priority_type_code = Series(
        str,
        description=_PRIORITY,
        constraints=[Constraint.Categorical("routine", "urgent", "two week wait")],
    )
    pseudo_organisation_code_patient_pathway_identifier_issuer = Series(
        str,
        description=_ISSUER,
    )
    pseudo_patient_pathway_identifier = Series(
        str,
        description=_PATHWAY,
    )
    pseudo_referral_identifier = Series(
        str,
        description=_REFERRAL,
    )
    referral_request_received_date = Series(
        datetime.date,
        description=_REFERRAL_RECEIVED_RTT,
    )
    referral_to_treatment_period_end_date = Series(
        datetime.date,
        description="The date the clock stopped.",
    )
    referral_to_treatment_period_start_date = Series(
        datetime.date,
        description="The date the clock started.",
    )
    source_of_referral_for_outpatients = Series(
        str,
        description="The code for who made the referral.",
    )
    waiting_list_type = Series(
        str,
        description="The waiting list the pathway was on when it ended; other values are null here.",
        constraints=[
            Constraint.Categorical("ORTT", "IRTT", "PTLO", "PTLI", "RTTO", "RTTI")
        ],
    )
    week_ending_date = Series(
        datetime.date,
        description=_WEEK_ENDING,
    )


@table
class wl_openpathways(EventFrame):
    """Pathways still waiting in May 2022, from the Waiting List Minimum Data Set.

    Covers both referral-to-treatment and other pathways, with one row for
    every week the patient was still waiting.

    Using this table needs the `wl_openpathways` permission: a job must hold it to run on
    real data, and a definition must claim it (`claim_permissions("wl_openpathways")`) to run
    on dummy data.
    """

    activity_treatment_function_code = Series(
        str,
        description=_TREATMENT_FUNCTION,
        constraints=[Constraint.Regex("[a-zA-Z0-9]{3}")],
    )
    current_pathway_period_start_date = Series(
        datetime.date,
        description="The date the clock last started for this period of the pathway.",
    )
    priority_type_code = Series(
        str,
        description=_PRIORITY,
        constraints=[Constraint.Categorical("routine", "urgent", "two week wait")],
    )
    pseudo_organisation_code_patient_pathway_identifier_issuer = Series(
        str,
        description=_ISSUER,
    )
    pseudo_patient_pathway_identifier = Series(
        str,
        description=_PATHWAY,
    )
    pseudo_referral_identifier = Series(
        str,
        description=_REFERRAL,
    )
    referral_request_received_date = Series(
        datetime.date,
        description=_REFERRAL_RECEIVED_RTT,
    )
    referral_to_treatment_period_end_date = Series(
        datetime.date,
        description="The date the clock stopped; null while the pathway is open.",
    )
    referral_to_treatment_period_start_date = Series(
        datetime.date,
        description="The latest clock start of the pathway; null if it is not a current pathway.",
    )
    source_of_referral = Series(
        str,
        description="The national code for who made the referral that began the pathway.",
        constraints=[Constraint.Regex("[a-zA-Z0-9]{2}")],
    )
    waiting_list_type = Series(
        str,
        description="The waiting list the pathway is on; other values are null here.",
        constraints=[
            Constraint.Categorical(
                "ORTT", "IRTT", "ONON", "INON", "PTLO", "PTLI", "RTTO", "RTTI"
            )
        ],
    )
    week_ending_date = Series(
        datetime.date,
        description=_WEEK_ENDING,
    )
