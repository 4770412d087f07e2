"""The raw tables of the TPP (SystmOne) database that the TPP backend reads.

Only the tables and columns the mappings use are declared. Types follow the
provider's: SystmOne dates are mostly DATETIME, hospital (HES) dates are DATE,
and some linked datasets keep dates as ISO text.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import (
    REAL,
    BigInteger,
    Date,
    DateTime,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
)

#: The raw TPP tables.
metadata = sa.MetaData()

#: Suffix of the static copy of each hospital (HES) table holding older activity.
ARCHIVE_SUFFIX = "_ARCHIVED"


def _table(name: str, *columns: tuple[str, sa.types.TypeEngine]) -> sa.Table:
    return sa.Table(name, metadata, *(sa.Column(c, t) for c, t in columns))


def _hes_tables(name: str, *columns: tuple[str, sa.types.TypeEngine]) -> None:
    """A hospital table and its archived twin, which share every column."""
    for table_name in (name, name + ARCHIVE_SUFFIX):
        _table(table_name, *columns)


_PATIENT = ("Patient_ID", BigInteger())

# -- SystmOne primary care ------------------------------------------------

_table(
    "Patient",
    _PATIENT,
    ("DateOfBirth", Date()),
    ("DateOfDeath", Date()),
    ("Sex", String(1)),
)
_table(
    "RegistrationHistory",
    ("Registration_ID", BigInteger()),
    ("Organisation_ID", BigInteger()),
    _PATIENT,
    ("StartDate", DateTime()),
    ("EndDate", DateTime()),
)
_table(
    "Organisation",
    ("Organisation_ID", BigInteger()),
    ("GoLiveDate", DateTime()),
    ("STPCode", String(50)),
    ("MSOACode", String(150)),
    ("Region", String(255)),
)
_table(
    "CodedEvent",
    _PATIENT,
    ("Consultation_ID", BigInteger()),
    ("CodedEvent_ID", BigInteger()),
    ("CTV3Code", String(50)),
    ("NumericValue", REAL()),
    ("ConsultationDate", DateTime()),
)
_table(
    "CodedEvent_SNOMED",
    _PATIENT,
    ("Consultation_ID", BigInteger()),
    ("CodedEvent_ID", BigInteger()),
    ("ConsultationDate", DateTime()),
    ("ConceptId", String(50)),
    ("CodeSystemId", Integer()),
    ("NumericValue", REAL()),
)
_table(
    "CodedEventRange",
    ("Patient_ID", Integer()),
    ("CodedEvent_ID", BigInteger()),
    ("CodedEventRange_ID", BigInteger()),
    ("Consultation_ID", BigInteger()),
    ("LowerBound", REAL()),
    ("UpperBound", REAL()),
    ("Comparator", SmallInteger()),
)
_table(
    "MedicationIssue",
    _PATIENT,
    ("Consultation_ID", BigInteger()),
    ("MedicationIssue_ID", BigInteger()),
    ("RepeatMedication_ID", BigInteger()),
    ("MultilexDrug_ID", String(255)),
    ("Quantity", String(255)),
    ("MedicationStatus", Integer()),
    ("ConsultationDate", DateTime()),
)
_table(
    "MedicationRepeat",
    _PATIENT,
    ("Consultation_ID", BigInteger()),
    ("MedicationRepeat_ID", BigInteger()),
    ("MultilexDrug_ID", String(255)),
    ("Quantity", String(255)),
    ("StartDate", DateTime()),
    ("EndDate", DateTime()),
    ("MedicationStatus", Integer()),
    ("ConsultationDate", DateTime()),
)
_table("MedicationDictionary", ("MultilexDrug_ID", String(767)), ("DMD_ID", String(50)))
# OpenSAFELY's own additions to the dictionary, for drugs TPP's leaves unmapped.
# At TPP it lives in the temporary database; here it is declared alongside.
_table(
    "CustomMedicationDictionary",
    ("MultilexDrug_ID", String(767)),
    ("DMD_ID", String(50)),
)
_table(
    "PatientAddress",
    _PATIENT,
    ("PatientAddress_ID", BigInteger()),
    ("StartDate", DateTime()),
    ("EndDate", DateTime()),
    ("AddressType", Integer()),
    ("RuralUrbanClassificationCode", Integer()),
    ("ImdRankRounded", Integer()),
    ("MSOACode", String(150)),
)
_table(
    "PotentialCareHomeAddress",
    ("PatientAddress_ID", BigInteger()),
    ("LocationRequiresNursing", String(1)),
    ("LocationDoesNotRequireNursing", String(1)),
)
# Patients who registered a type 1 opt-out: TPP builds this list, ehrQL only reads it.
_table("PatientsWithTypeOneDissent", _PATIENT)
# Patients who have not registered a national data opt-out: TPP builds this
# list; only the patients in it are included unless a job may include opt-outs.
_table("PatientsWithoutNDOO", _PATIENT)
# GP practices that have acknowledged the non-COVID directions ("activated"
# practices); only their patients are included unless a job may include others.
_table("DirectionsAcknowledged", ("Organisation_ID", BigInteger()))
_table(
    "Appointment",
    _PATIENT,
    ("Appointment_ID", BigInteger()),
    ("Organisation_ID", BigInteger()),
    ("BookedDate", DateTime()),
    ("StartDate", DateTime()),
    ("SeenDate", DateTime()),
    ("Status", Integer()),
)
_table(
    "Vaccination",
    _PATIENT,
    ("Vaccination_ID", BigInteger()),
    ("VaccinationDate", DateTime()),
    ("VaccinationName", String(100)),
    ("VaccinationName_ID", BigInteger()),
)
_table(
    "VaccinationReference",
    ("VaccinationName_ID", Integer()),
    ("VaccinationName", String(100)),
    ("VaccinationContent", String(50)),
)
_table(
    "Relationship",
    ("Patient_ID", Integer()),
    ("Patient_ID_Relationship_With", Integer()),
    ("Type_of_Relationship", String(255)),
    ("RelationshipEndDate", Date()),
)
_table(
    "OpenPROMPT",
    ("Patient_ID", Integer()),
    ("Consultation_ID", BigInteger()),
    ("ConsultationDate", DateTime()),
    ("CreationDate", DateTime()),
    ("CTV3Code", String(50)),
    ("ConceptId", String(50)),
    ("CodeSystemId", Integer()),
    ("NumericValue", REAL()),
    ("NumericCode", Integer()),
)
_table(
    "DecisionSupportValue",
    ("Patient_ID", Integer()),
    ("AlgorithmType", Integer()),
    ("CalculationDateTime", DateTime()),
    ("NumericValue", REAL()),
)
_table(
    "DecisionSupportValueReference",
    ("AlgorithmType", Integer()),
    ("AlgorithmDescription", String(4000)),
    ("AlgorithmVersion", String(100)),
)
_table("HealthCareWorker", _PATIENT)
_table("HouseholdMember", _PATIENT, ("Household_ID", BigInteger()))
_table("Household", ("Household_ID", BigInteger()), ("HouseholdSize", Integer()))

# -- linked datasets ------------------------------------------------------

_table(
    "ONS_Deaths",
    _PATIENT,
    ("dod", Date()),
    ("Place_of_occurrence", String(1000)),
    ("icd10u", String(10)),
    *((f"ICD100{i:02d}", String(10)) for i in range(1, 16)),
)
_table(
    "SGSS_AllTests_Positive",
    _PATIENT,
    ("Specimen_Date", Date()),
    ("Lab_Report_Date", Date()),
    ("Symptomatic", String(10)),
    ("SGTF", String(10)),
    ("Variant", String(1000)),
    ("VariantDetectionMethod", String(1000)),
)
_table(
    "SGSS_AllTests_Negative",
    _PATIENT,
    ("Specimen_Date", Date()),
    ("Lab_Report_Date", Date()),
    ("Symptomatic", String(10)),
)
_table(
    "UKRR",
    _PATIENT,
    ("dataset", String(1000)),
    ("renal_centre", String(1000)),
    ("creat", REAL()),
    ("eGFR_ckdepi", REAL()),
    ("rrt_start", Date()),
    ("mod_start", String(1000)),
    ("mod_prev", String(1000)),
)
_table(
    "Therapeutics",
    _PATIENT,
    ("COVID_indication", String(1000)),
    ("Count", String(100)),
    ("CurrentStatus", String(100)),
    ("Diagnosis", String(1000)),
    ("FormName", String(1000)),
    ("Intervention", String(1000)),
    ("CASIM05_date_of_symptom_onset", String(100)),
    ("CASIM05_risk_cohort", String(1000)),
    ("MOL1_onset_of_symptoms", String(100)),
    ("MOL1_high_risk_cohort", String(1000)),
    ("SOT02_onset_of_symptoms", String(100)),
    ("SOT02_risk_cohorts", String(1000)),
    ("Received", String(100)),
    ("TreatmentStartDate", String(100)),
    ("AgeAtReceivedDate", String(100)),
    ("Region", String(1000)),
    ("Der_LoadDate", String(100)),
)

# Waiting list pseudonyms are SHA-256 digests held as bytes; dates are ISO text.
_WL_COMMON = (
    _PATIENT,
    ("ACTIVITY_TREATMENT_FUNCTION_CODE", String(3)),
    ("PRIORITY_TYPE_CODE", String(1)),
    ("PSEUDO_ORGANISATION_CODE_PATIENT_PATHWAY_IDENTIFIER_ISSUER", LargeBinary()),
    ("PSEUDO_PATIENT_PATHWAY_IDENTIFIER", LargeBinary()),
    ("Pseudo_Referral_Identifier", LargeBinary()),
    ("REFERRAL_TO_TREATMENT_PERIOD_END_DATE", String(10)),
    ("REFERRAL_TO_TREATMENT_PERIOD_START_DATE", String(10)),
    ("Waiting_List_Type", String(10)),
    ("Week_Ending_Date", String(10)),
)
_table(
    "WL_ClockStops",
    *_WL_COMMON,
    ("Referral_Request_Received_Date", String(10)),
    ("SOURCE_OF_REFERRAL_FOR_OUTPATIENTS", String(10)),
)
_table(
    "WL_OpenPathways",
    *_WL_COMMON,
    ("REFERRAL_REQUEST_RECEIVED_DATE", String(10)),
    ("Current_Pathway_Period_Start_Date", String(10)),
    ("SOURCE_OF_REFERRAL", String(10)),
)

# -- hospital activity (HES), each with an archived twin -------------------

_ACTIVITY_MONTH = ("Der_Activity_Month", String(6))

_hes_tables(
    "APCS",
    _PATIENT,
    ("APCS_Ident", BigInteger()),
    ("Ethnic_Group", String(2)),
    ("Patient_Classification", String(2)),
    ("Admission_Method", String(2)),
    ("Discharge_Destination", String(2)),
    ("Discharge_Method", String(2)),
    ("Admission_Date", Date()),
    ("Discharge_Date", Date()),
    ("Spell_Core_HRG_SUS", String(10)),
    ("Der_Diagnosis_All", String(4000)),
    ("Der_Procedure_All", String(4000)),
    _ACTIVITY_MONTH,
)
_hes_tables(
    "APCS_Der",
    _PATIENT,
    ("APCS_Ident", BigInteger()),
    ("Spell_Primary_Diagnosis", String(5)),
    ("Spell_Secondary_Diagnosis", String(5)),
    ("Spell_PbR_CC_Day", String(4)),
)
_hes_tables(
    "APCS_Cost",
    _PATIENT,
    ("APCS_Ident", BigInteger()),
    ("Tariff_Initial_Amount", REAL()),
    ("Tariff_Total_Payment", REAL()),
    ("Grand_Total_Payment_MFF", REAL()),
)
_hes_tables(
    "EC",
    _PATIENT,
    ("EC_Ident", BigInteger()),
    ("Ethnic_Category", String(2)),
    ("Arrival_Date", Date()),
    ("SUS_HRG_Code", String(10)),
    ("Discharge_Destination_SNOMED_CT", String(20)),
    ("EC_Decision_To_Admit_Date", Date()),
    ("EC_Injury_Date", Date()),
    _ACTIVITY_MONTH,
)
_hes_tables(
    "EC_Cost",
    _PATIENT,
    ("EC_Ident", BigInteger()),
    ("Tariff_Total_Payment", REAL()),
    ("Grand_Total_Payment_MFF", REAL()),
)
_hes_tables(
    "EC_Diagnosis",
    _PATIENT,
    ("EC_Ident", BigInteger()),
    *((f"EC_Diagnosis_{i:02d}", String(20)) for i in range(1, 25)),
)
_hes_tables(
    "OPA",
    _PATIENT,
    ("OPA_Ident", BigInteger()),
    ("Ethnic_Category", String(2)),
    ("Treatment_Function_Code", String(3)),
    ("Attendance_Status", String(2)),
    ("First_Attendance", String(2)),
    ("Appointment_Date", Date()),
    ("Consultation_Medium_Used", String(2)),
    ("Referral_Request_Received_Date", Date()),
    ("HRG_Code", String(10)),
    ("Outcome_of_Attendance", String(2)),
    _ACTIVITY_MONTH,
)
_hes_tables(
    "OPA_Cost",
    _PATIENT,
    ("OPA_Ident", BigInteger()),
    ("Tariff_OPP", REAL()),
    ("Tariff_Total_Payment", REAL()),
    ("Grand_Total_Payment_MFF", REAL()),
)
_hes_tables(
    "OPA_Diag",
    _PATIENT,
    ("OPA_Ident", BigInteger()),
    ("Primary_Diagnosis_Code", String(100)),
    ("Primary_Diagnosis_Code_Read", String(5)),
    ("Secondary_Diagnosis_Code_1", String(100)),
    ("Secondary_Diagnosis_Code_1_Read", String(5)),
)
_hes_tables(
    "OPA_Proc",
    _PATIENT,
    ("OPA_Ident", BigInteger()),
    ("Primary_Procedure_Code", String(100)),
    ("Primary_Procedure_Code_Read", String(5)),
    ("Procedure_Code_2", String(100)),
    ("Procedure_Code_2_Read", String(5)),
)

# A frozen copy of the spells whose costs the current tables no longer carry.
HISTORICAL_COST_SUFFIX = "_JRC20231009_LastFilesToContainAllHistoricalCostData"

_table(
    "APCS" + HISTORICAL_COST_SUFFIX,
    _PATIENT,
    ("APCS_Ident", BigInteger()),
    ("Admission_Date", Date()),
    ("Discharge_Date", Date()),
    ("Spell_Core_HRG_SUS", String(10)),
)
_table(
    "APCS_Cost" + HISTORICAL_COST_SUFFIX,
    _PATIENT,
    ("APCS_Ident", BigInteger()),
    ("Tariff_Initial_Amount", REAL()),
    ("Tariff_Total_Payment", REAL()),
    ("Grand_Total_Payment_MFF", REAL()),
)

# -- ISARIC ---------------------------------------------------------------

#: The ISARIC columns the backend reads. Every value is text, "NA" standing for
#: a missing answer; one column name has a dot in it.
ISARIC_COLUMNS = (
    "age", "age.factor", "calc_age", "sex",
    *(f"ethnic___{i}" for i in range(1, 11)),
    "covid19_vaccine", "covid19_vaccined", "covid19_vaccine2d", "covid19_vaccined_nk",
    "corona_ieorres", "coriona_ieorres2", "coriona_ieorres3", "inflammatory_mss", "cestdat",
    "chrincard", "hypertension_mhyn", "chronicpul_mhyn", "asthma_mhyn", "renal_mhyn",
    "mildliver", "modliv", "chronicneu_mhyn", "malignantneo_mhyn", "chronichaemo_mhyn",
    "aidshiv_mhyn", "obesity_mhyn", "diabetes_type_mhyn", "diabetescom_mhyn", "diabetes_mhyn",
    "rheumatologic_mhyn", "dementia_mhyn", "malnutrition_mhyn", "smoking_mhyn", "hostdat",
    "hooccur", "hostdat_transfer", "hostdat_transfernk", "readm_cov19", "dsstdat", "dsstdtc",
)  # fmt: skip

_table("ISARIC_New", _PATIENT, *((name, String(1000)) for name in ISARIC_COLUMNS))
