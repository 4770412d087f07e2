"""TPP mappings run on raw rows in DuckDB: what researchers would see."""

import datetime

import pytest
import sqlalchemy as sa

from ehrql.backends.base import PermissionNotGrantedError
from ehrql.backends.raw_schemas.tpp import HISTORICAL_COST_SUFFIX
from ehrql.tables import core, smoketest, tpp
from ehrql.tables.raw import core as raw_core
from ehrql.tables.raw import tpp as raw_tpp
from tests.lib.raw_databases import public_schema

d = datetime.date
dt = datetime.datetime
FAR_FUTURE = dt(9999, 12, 31)


def table(db, frame):
    return db.table(*public_schema(frame))


# -- core tables --------------------------------------------------------------


def test_patients(tpp_db):
    tpp_db.insert(
        "Patient",
        dict(
            Patient_ID=1,
            DateOfBirth=d(1980, 1, 1),
            Sex="M",
            DateOfDeath=d(9999, 12, 31),
        ),
        dict(
            Patient_ID=2, DateOfBirth=d(1990, 6, 1), Sex="F", DateOfDeath=d(2020, 3, 4)
        ),
        dict(Patient_ID=3, DateOfBirth=d(2000, 2, 1), Sex="I"),
        dict(Patient_ID=4, DateOfBirth=d(2010, 2, 1), Sex="U"),
    )
    assert table(tpp_db, core.patients) == [
        dict(patient_id=1, date_of_birth=d(1980, 1, 1), sex="male", date_of_death=None),
        dict(
            patient_id=2,
            date_of_birth=d(1990, 6, 1),
            sex="female",
            date_of_death=d(2020, 3, 4),
        ),
        dict(
            patient_id=3,
            date_of_birth=d(2000, 2, 1),
            sex="intersex",
            date_of_death=None,
        ),
        dict(
            patient_id=4, date_of_birth=d(2010, 2, 1), sex="unknown", date_of_death=None
        ),
    ]


def test_practice_registrations(tpp_db):
    tpp_db.insert(
        "Organisation",
        dict(
            Organisation_ID=10,
            GoLiveDate=dt(2005, 1, 2, 9, 30),
            STPCode="E5401",
            Region="London",
        ),
        dict(Organisation_ID=20, GoLiveDate=dt(2006, 1, 1), STPCode="", Region=""),
    )
    tpp_db.insert(
        "RegistrationHistory",
        dict(
            Patient_ID=1,
            Organisation_ID=10,
            StartDate=dt(2010, 1, 1, 12),
            EndDate=FAR_FUTURE,
        ),
        dict(
            Patient_ID=1,
            Organisation_ID=20,
            StartDate=dt(2001, 1, 1),
            EndDate=dt(2009, 12, 31, 8),
        ),
    )
    assert table(tpp_db, tpp.practice_registrations) == [
        dict(
            patient_id=1,
            start_date=d(2001, 1, 1),
            end_date=d(2009, 12, 31),
            practice_pseudo_id=20,
            practice_stp=None,
            practice_nuts1_region_name=None,
            practice_systmone_go_live_date=d(2006, 1, 1),
        ),
        dict(
            patient_id=1,
            start_date=d(2010, 1, 1),
            end_date=None,
            practice_pseudo_id=10,
            practice_stp="E5401",
            practice_nuts1_region_name="London",
            practice_systmone_go_live_date=d(2005, 1, 2),
        ),
    ]
    # The core table is the same mapping with fewer columns.
    assert table(tpp_db, core.practice_registrations)[1] == dict(
        patient_id=1, start_date=d(2010, 1, 1), end_date=None, practice_pseudo_id=10
    )


def insert_coded_events(tpp_db):
    tpp_db.insert(
        "CodedEvent",
        dict(Patient_ID=1, CodedEvent_ID=1, Consultation_ID=7, CTV3Code="XaIJm",
             NumericValue=1.5, ConsultationDate=dt(2020, 1, 1, 10)),
        dict(Patient_ID=1, CodedEvent_ID=2, Consultation_ID=8, CTV3Code="Y0001",
             NumericValue=0.0, ConsultationDate=FAR_FUTURE),
    )  # fmt: skip
    tpp_db.insert(
        "CodedEvent_SNOMED",
        dict(Patient_ID=2, CodedEvent_ID=3, Consultation_ID=9, ConceptId="123456",
             NumericValue=2.0, ConsultationDate=dt(2021, 5, 6, 23, 59)),
    )  # fmt: skip


def test_clinical_events_combine_ctv3_and_snomed_events(tpp_db):
    insert_coded_events(tpp_db)
    assert table(tpp_db, tpp.clinical_events) == [
        dict(patient_id=1, date=None, snomedct_code=None, ctv3_code="Y0001",
             numeric_value=0.0, consultation_id=8),
        dict(patient_id=1, date=d(2020, 1, 1), snomedct_code=None, ctv3_code="XaIJm",
             numeric_value=1.5, consultation_id=7),
        dict(patient_id=2, date=d(2021, 5, 6), snomedct_code="123456", ctv3_code=None,
             numeric_value=2.0, consultation_id=9),
    ]  # fmt: skip
    assert [sorted(row) for row in table(tpp_db, core.clinical_events)][0] == [
        "date", "numeric_value", "patient_id", "snomedct_code",
    ]  # fmt: skip


def test_clinical_events_ranges(tpp_db):
    insert_coded_events(tpp_db)
    tpp_db.insert(
        "CodedEventRange",
        dict(
            Patient_ID=1, CodedEvent_ID=1, LowerBound=1.0, UpperBound=2.0, Comparator=5
        ),
        dict(
            Patient_ID=2, CodedEvent_ID=3, LowerBound=0.0, UpperBound=9.0, Comparator=99
        ),
    )
    rows = {
        row["consultation_id"]: row for row in table(tpp_db, tpp.clinical_events_ranges)
    }
    assert (rows[7]["lower_bound"], rows[7]["upper_bound"], rows[7]["comparator"]) == (
        1.0,
        2.0,
        ">=",
    )
    assert (rows[8]["lower_bound"], rows[8]["comparator"]) == (None, None)
    assert (rows[9]["upper_bound"], rows[9]["comparator"]) == (9.0, None)


def test_medications_use_tpp_dictionary_then_custom_entries(tpp_db):
    tpp_db.insert(
        "MedicationDictionary",
        dict(MultilexDrug_ID="A", DMD_ID="111"),
        dict(MultilexDrug_ID="B", DMD_ID=""),
        dict(MultilexDrug_ID="C", DMD_ID="MULTIPLE_DMD_MAPPING"),
    )
    tpp_db.insert(
        "CustomMedicationDictionary",
        dict(MultilexDrug_ID="A", DMD_ID="999"),  # ignored: TPP's dictionary maps A
        dict(MultilexDrug_ID="B", DMD_ID="222"),
    )
    tpp_db.insert(
        "MedicationIssue",
        *(
            dict(
                Patient_ID=1,
                Consultation_ID=i,
                MultilexDrug_ID=drug,
                ConsultationDate=dt(2020, 1, i, 9),
            )
            for i, drug in enumerate(["A", "B", "C", "D"], start=1)
        ),
    )
    assert table(tpp_db, tpp.medications) == [
        dict(patient_id=1, date=d(2020, 1, 1), dmd_code="111", consultation_id=1),
        dict(patient_id=1, date=d(2020, 1, 2), dmd_code="222", consultation_id=2),
        dict(patient_id=1, date=d(2020, 1, 3), dmd_code=None, consultation_id=3),
        dict(patient_id=1, date=d(2020, 1, 4), dmd_code=None, consultation_id=4),
    ]


def test_ons_deaths_keep_each_patients_earliest_death(tpp_db):
    tpp_db.insert(
        "ONS_Deaths",
        dict(
            Patient_ID=1,
            dod=d(2021, 2, 3),
            icd10u="I21",
            ICD10001="I21",
            Place_of_occurrence="Home",
        ),
        dict(
            Patient_ID=1,
            dod=d(2021, 1, 1),
            icd10u="J18",
            ICD10015="U071",
            Place_of_occurrence="Hospital",
        ),
        dict(Patient_ID=2, dod=d(2022, 1, 1), icd10u="C34"),
    )
    rows = table(tpp_db, tpp.ons_deaths)
    assert [
        (r["patient_id"], r["date"], r["underlying_cause_of_death"]) for r in rows
    ] == [
        (1, d(2021, 1, 1), "J18"),
        (2, d(2022, 1, 1), "C34"),
    ]
    assert (rows[0]["place"], rows[0]["cause_of_death_15"], rows[0]["cause_of_death_01"]) == (
        "Hospital", "U071", None,
    )  # fmt: skip
    assert "place" not in table(tpp_db, core.ons_deaths)[0]


# -- TPP primary care tables ----------------------------------------------------


def test_addresses(tpp_db):
    tpp_db.insert(
        "PatientAddress",
        dict(Patient_ID=1, PatientAddress_ID=11, StartDate=dt(2000, 1, 1), EndDate=FAR_FUTURE,
             AddressType=3, RuralUrbanClassificationCode=-1, ImdRankRounded=-1, MSOACode="NPC"),
        dict(Patient_ID=1, PatientAddress_ID=12, StartDate=FAR_FUTURE, EndDate=dt(2010, 5, 6, 7),
             AddressType=1, RuralUrbanClassificationCode=4, ImdRankRounded=1200, MSOACode="E02000001"),
    )  # fmt: skip
    tpp_db.insert(
        "PotentialCareHomeAddress",
        dict(
            PatientAddress_ID=12,
            LocationRequiresNursing="Y",
            LocationDoesNotRequireNursing="N",
        ),
    )
    assert table(tpp_db, tpp.addresses) == [
        dict(patient_id=1, address_id=11, start_date=d(2000, 1, 1), end_date=None, address_type=3,
             rural_urban_classification=None, imd_rounded=None, msoa_code=None, has_postcode=False,
             care_home_is_potential_match=False, care_home_requires_nursing=None,
             care_home_does_not_require_nursing=None),
        dict(patient_id=1, address_id=12, start_date=None, end_date=d(2010, 5, 6), address_type=1,
             rural_urban_classification=4, imd_rounded=1200, msoa_code="E02000001", has_postcode=True,
             care_home_is_potential_match=True, care_home_requires_nursing=True,
             care_home_does_not_require_nursing=False),
    ]  # fmt: skip


def test_appointments_drop_repeated_rows_but_keep_distinct_appointments(tpp_db):
    same = dict(
        Patient_ID=1,
        BookedDate=dt(2020, 1, 1, 8),
        StartDate=dt(2020, 1, 2, 9),
        SeenDate=FAR_FUTURE,
    )
    tpp_db.insert(
        "Appointment",
        dict(same, Appointment_ID=1, Status=2),
        dict(same, Appointment_ID=1, Status=2),
        dict(same, Appointment_ID=2, Status=2),
        dict(same, Appointment_ID=3, Status=4, SeenDate=dt(2020, 1, 2, 9, 15)),
        dict(same, Appointment_ID=4, Status=7),
    )
    assert table(tpp_db, tpp.appointments) == [
        dict(patient_id=1, booked_date=d(2020, 1, 1), start_date=d(2020, 1, 2), seen_date=None, status=None),
        dict(patient_id=1, booked_date=d(2020, 1, 1), start_date=d(2020, 1, 2), seen_date=None,
             status="Did Not Attend"),
        dict(patient_id=1, booked_date=d(2020, 1, 1), start_date=d(2020, 1, 2), seen_date=None,
             status="Did Not Attend"),
        dict(patient_id=1, booked_date=d(2020, 1, 1), start_date=d(2020, 1, 2), seen_date=d(2020, 1, 2),
             status="Finished"),
    ]  # fmt: skip


def test_vaccinations_one_row_per_target_disease(tpp_db):
    tpp_db.insert(
        "VaccinationReference",
        dict(VaccinationName_ID=5, VaccinationName="MMR", VaccinationContent="MEASLES"),
        dict(VaccinationName_ID=5, VaccinationName="MMR", VaccinationContent="MUMPS"),
    )
    tpp_db.insert(
        "Vaccination",
        dict(Patient_ID=1, Vaccination_ID=8, VaccinationDate=dt(2019, 4, 5, 11), VaccinationName="MMR",
             VaccinationName_ID=5),
        dict(Patient_ID=2, Vaccination_ID=9, VaccinationDate=dt(2019, 4, 6), VaccinationName="Other",
             VaccinationName_ID=6),
    )  # fmt: skip
    assert table(tpp_db, tpp.vaccinations) == [
        dict(
            patient_id=1,
            vaccination_id=8,
            date=d(2019, 4, 5),
            target_disease="MEASLES",
            product_name="MMR",
        ),
        dict(
            patient_id=1,
            vaccination_id=8,
            date=d(2019, 4, 5),
            target_disease="MUMPS",
            product_name="MMR",
        ),
        dict(
            patient_id=2,
            vaccination_id=9,
            date=d(2019, 4, 6),
            target_disease=None,
            product_name="Other",
        ),
    ]


def test_household_memberships_treat_zero_as_unknown(tpp_db):
    tpp_db.insert(
        "Household",
        dict(Household_ID=5, HouseholdSize=3),
        dict(Household_ID=0, HouseholdSize=0),
    )
    tpp_db.insert(
        "HouseholdMember",
        dict(Patient_ID=1, Household_ID=5),
        dict(Patient_ID=2, Household_ID=0),
    )
    assert table(tpp_db, tpp.household_memberships_2020) == [
        dict(patient_id=1, household_pseudo_id=5, household_size=3),
        dict(patient_id=2, household_pseudo_id=None, household_size=None),
    ]


def test_occupation_on_covid_vaccine_record(tpp_db):
    tpp_db.insert("HealthCareWorker", dict(Patient_ID=4))
    assert table(tpp_db, tpp.occupation_on_covid_vaccine_record) == [
        dict(patient_id=4, is_healthcare_worker=True)
    ]


def test_open_prompt_keeps_only_snomed_concepts_and_real_numbers(tpp_db):
    tpp_db.insert(
        "OpenPROMPT",
        dict(Patient_ID=1, Consultation_ID=1, ConsultationDate=dt(2023, 1, 2, 3), CreationDate=dt(2023, 1, 1),
             CTV3Code="X", ConceptId="111", CodeSystemId=0, NumericValue=3.0, NumericCode=1),
        dict(Patient_ID=1, Consultation_ID=2, ConsultationDate=dt(2023, 1, 3), CreationDate=dt(2023, 1, 3),
             CTV3Code="Y", ConceptId="222", CodeSystemId=2, NumericValue=0.0, NumericCode=0),
    )  # fmt: skip
    assert table(tpp_db, tpp.open_prompt) == [
        dict(patient_id=1, ctv3_code="X", snomedct_code="111", creation_date=d(2023, 1, 1),
             consultation_date=d(2023, 1, 2), consultation_id=1, numeric_value=3.0),
        dict(patient_id=1, ctv3_code="Y", snomedct_code=None, creation_date=d(2023, 1, 3),
             consultation_date=d(2023, 1, 3), consultation_id=2, numeric_value=None),
    ]  # fmt: skip


def test_decision_support_values(tpp_db):
    tpp_db.insert(
        "DecisionSupportValueReference",
        dict(
            AlgorithmType=1,
            AlgorithmDescription="Electronic Frailty Index",
            AlgorithmVersion="1.0",
        ),
    )
    tpp_db.insert(
        "DecisionSupportValue",
        dict(
            Patient_ID=1,
            AlgorithmType=1,
            CalculationDateTime=dt(2022, 3, 4, 5),
            NumericValue=0.25,
        ),
        dict(
            Patient_ID=2,
            AlgorithmType=1,
            CalculationDateTime=FAR_FUTURE,
            NumericValue=0.5,
        ),
    )
    assert table(tpp_db, tpp.decision_support_values) == [
        dict(patient_id=1, calculation_date=d(2022, 3, 4), numeric_value=0.25,
             algorithm_description="Electronic Frailty Index", algorithm_version="1.0"),
        dict(patient_id=2, calculation_date=None, numeric_value=0.5,
             algorithm_description="Electronic Frailty Index", algorithm_version="1.0"),
    ]  # fmt: skip


def test_parents_link_children_to_one_plausible_mother(tpp_db):
    tpp_db.insert(
        "Patient",
        dict(Patient_ID=1, DateOfBirth=d(1970, 1, 1), Sex="F"),  # mother of 2 and 3
        dict(Patient_ID=2, DateOfBirth=d(2000, 1, 1), Sex="M"),
        dict(Patient_ID=3, DateOfBirth=d(2002, 1, 1), Sex="F"),
        dict(
            Patient_ID=4, DateOfBirth=d(1960, 1, 1), Sex="M"
        ),  # father: never a mother
        dict(
            Patient_ID=5, DateOfBirth=d(2010, 1, 1), Sex="F"
        ),  # younger than her "child"
        dict(
            Patient_ID=6, DateOfBirth=d(2005, 1, 1), Sex="F"
        ),  # has two candidate mothers
        dict(Patient_ID=7, DateOfBirth=d(1975, 1, 1), Sex="F"),
    )
    tpp_db.insert(
        "Relationship",
        # The type names what the second patient is to the first, so a child
        # may be on either side.
        dict(Patient_ID=2, Patient_ID_Relationship_With=1, Type_of_Relationship="Mother"),
        dict(Patient_ID=1, Patient_ID_Relationship_With=3, Type_of_Relationship="Daughter"),
        dict(Patient_ID=4, Patient_ID_Relationship_With=2, Type_of_Relationship="Son"),
        dict(Patient_ID=3, Patient_ID_Relationship_With=5, Type_of_Relationship="Mother"),
        dict(Patient_ID=6, Patient_ID_Relationship_With=1, Type_of_Relationship="Mother"),
        dict(Patient_ID=6, Patient_ID_Relationship_With=7, Type_of_Relationship="Mother"),
        # Ended relationships and other kinds are ignored.
        dict(Patient_ID=5, Patient_ID_Relationship_With=7, Type_of_Relationship="Mother",
             RelationshipEndDate=d(2015, 1, 1)),
        dict(Patient_ID=3, Patient_ID_Relationship_With=7, Type_of_Relationship="Aunt"),
    )  # fmt: skip
    assert table(tpp_db, tpp.parents) == [
        dict(patient_id=2, mother_id=1),
        dict(patient_id=3, mother_id=1),
    ]


# -- TPP linked data --------------------------------------------------------------


def test_sgss_covid_all_tests_combine_positive_and_negative_results(tpp_db):
    tpp_db.insert(
        "SGSS_AllTests_Positive",
        dict(Patient_ID=1, Specimen_Date=d(2021, 1, 1), Lab_Report_Date=d(2021, 1, 2), Symptomatic="Y",
             SGTF="1", Variant="VOC-20DEC-01", VariantDetectionMethod=""),
        dict(Patient_ID=1, Specimen_Date=d(2021, 2, 1), Symptomatic="U", SGTF="", Variant=""),
    )  # fmt: skip
    tpp_db.insert(
        "SGSS_AllTests_Negative",
        dict(
            Patient_ID=1,
            Specimen_Date=d(2020, 12, 1),
            Lab_Report_Date=d(2020, 12, 3),
            Symptomatic="false",
        ),
        dict(Patient_ID=2, Specimen_Date=d(2020, 12, 5), Symptomatic="true"),
    )
    assert table(tpp_db, tpp.sgss_covid_all_tests) == [
        dict(patient_id=1, specimen_taken_date=d(2020, 12, 1), is_positive=False, lab_report_date=d(2020, 12, 3),
             was_symptomatic=False, sgtf_status=None, variant=None, variant_detection_method=None),
        dict(patient_id=1, specimen_taken_date=d(2021, 1, 1), is_positive=True, lab_report_date=d(2021, 1, 2),
             was_symptomatic=True, sgtf_status=1, variant="VOC-20DEC-01", variant_detection_method=None),
        dict(patient_id=1, specimen_taken_date=d(2021, 2, 1), is_positive=True, lab_report_date=None,
             was_symptomatic=None, sgtf_status=None, variant=None, variant_detection_method=None),
        dict(patient_id=2, specimen_taken_date=d(2020, 12, 5), is_positive=False, lab_report_date=None,
             was_symptomatic=True, sgtf_status=None, variant=None, variant_detection_method=None),
    ]  # fmt: skip


def test_ukrr_names_datasets(tpp_db):
    tpp_db.insert(
        "UKRR",
        dict(Patient_ID=1, dataset="2021prev", renal_centre="RAJ01", creat=120.0, eGFR_ckdepi=45.5,
             rrt_start=d(2019, 5, 1), mod_start="HD", mod_prev="Tx"),
        dict(Patient_ID=2, dataset="1999odd"),
    )  # fmt: skip
    assert table(tpp_db, tpp.ukrr) == [
        dict(patient_id=1, dataset="2021_prevalence", renal_centre="RAJ01", rrt_start_date=d(2019, 5, 1),
             latest_creatinine=120.0, latest_egfr=45.5, treatment_modality_start="HD",
             treatment_modality_prevalence="Tx"),
        dict(patient_id=2, dataset=None, renal_centre=None, rrt_start_date=None, latest_creatinine=None,
             latest_egfr=None, treatment_modality_start=None, treatment_modality_prevalence=None),
    ]  # fmt: skip


def test_covid_therapeutics_risk_cohort_and_repeated_rows(tpp_db):
    row = dict(Patient_ID=1, COVID_indication="non_hospitalised", CurrentStatus="Approved",
               Intervention="Paxlovid", Received="2022-02-01", TreatmentStartDate="2022-02-03",
               Region="London", CASIM05_risk_cohort="Patients with a immune deficiency and IMID",
               MOL1_high_risk_cohort="", SOT02_risk_cohorts="Patients with Down's syndrome")  # fmt: skip
    tpp_db.insert(
        "Therapeutics",
        row,
        row,
        dict(
            row, Received="2022-03-01", CASIM05_risk_cohort=None, SOT02_risk_cohorts=""
        ),
    )
    assert table(tpp_db, tpp.covid_therapeutics) == [
        dict(patient_id=1, covid_indication="non_hospitalised", current_status="Approved",
             intervention="Paxlovid", received=d(2022, 2, 1), region="London",
             risk_cohort="immune deficiency,IMID,Down's syndrome", treatment_start_date=d(2022, 2, 3)),
        dict(patient_id=1, covid_indication="non_hospitalised", current_status="Approved",
             intervention="Paxlovid", received=d(2022, 3, 1), region="London", risk_cohort=None,
             treatment_start_date=d(2022, 2, 3)),
    ]  # fmt: skip


def test_wl_clockstops(tpp_db):
    tpp_db.insert(
        "WL_ClockStops",
        dict(Patient_ID=1, ACTIVITY_TREATMENT_FUNCTION_CODE="110", PRIORITY_TYPE_CODE="2",
             PSEUDO_ORGANISATION_CODE_PATIENT_PATHWAY_IDENTIFIER_ISSUER=b"\x0a\xbc",
             PSEUDO_PATIENT_PATHWAY_IDENTIFIER=b"\x01", Pseudo_Referral_Identifier=b"\xff\x00",
             Referral_Request_Received_Date="2023-01-02", REFERRAL_TO_TREATMENT_PERIOD_END_DATE="2023-04-05",
             REFERRAL_TO_TREATMENT_PERIOD_START_DATE="2023-01-03", SOURCE_OF_REFERRAL_FOR_OUTPATIENTS="03",
             Waiting_List_Type="ORTT", Week_Ending_Date="2023-04-09"),
        dict(Patient_ID=2, PRIORITY_TYPE_CODE="9", Waiting_List_Type="XYZ"),
    )  # fmt: skip
    assert table(tpp_db, tpp.wl_clockstops) == [
        dict(patient_id=1, activity_treatment_function_code="110", priority_type_code="urgent",
             pseudo_organisation_code_patient_pathway_identifier_issuer="0ABC",
             pseudo_patient_pathway_identifier="01", pseudo_referral_identifier="FF00",
             referral_request_received_date=d(2023, 1, 2), referral_to_treatment_period_end_date=d(2023, 4, 5),
             referral_to_treatment_period_start_date=d(2023, 1, 3), source_of_referral_for_outpatients="03",
             waiting_list_type="ORTT", week_ending_date=d(2023, 4, 9)),
        dict(patient_id=2, activity_treatment_function_code=None, priority_type_code=None,
             pseudo_organisation_code_patient_pathway_identifier_issuer=None,
             pseudo_patient_pathway_identifier=None, pseudo_referral_identifier=None,
             referral_request_received_date=None, referral_to_treatment_period_end_date=None,
             referral_to_treatment_period_start_date=None, source_of_referral_for_outpatients=None,
             waiting_list_type=None, week_ending_date=None),
    ]  # fmt: skip


def test_wl_openpathways_open_end_date_is_null(tpp_db):
    tpp_db.insert(
        "WL_OpenPathways",
        dict(Patient_ID=1, PRIORITY_TYPE_CODE="3", Current_Pathway_Period_Start_Date="2023-02-01",
             REFERRAL_REQUEST_RECEIVED_DATE="2023-01-30", REFERRAL_TO_TREATMENT_PERIOD_END_DATE="9999-12-31",
             SOURCE_OF_REFERRAL="A", Waiting_List_Type="IRTT"),
    )  # fmt: skip
    [row] = table(tpp_db, tpp.wl_openpathways)
    assert row["priority_type_code"] == "two week wait"
    assert row["current_pathway_period_start_date"] == d(2023, 2, 1)
    assert row["referral_request_received_date"] == d(2023, 1, 30)
    assert row["referral_to_treatment_period_end_date"] is None
    assert (row["source_of_referral"], row["waiting_list_type"]) == ("A", "IRTT")


# -- TPP hospital activity --------------------------------------------------------


def test_apcs_reads_each_month_from_either_current_or_archived_tables(tpp_db):
    for suffix, months in (
        ("", ("202203", "202204")),
        ("_ARCHIVED", ("202203", "202204")),
    ):
        tpp_db.insert(
            "APCS" + suffix,
            *(
                dict(Patient_ID=1, APCS_Ident=int(month) * 10 + len(suffix), Der_Activity_Month=month,
                     Admission_Date=d(int(month[:4]), int(month[4:]), 1), Der_Diagnosis_All="||I21 ,I10")
                for month in months
            ),
        )  # fmt: skip
    tpp_db.insert(
        "APCS_Der",
        dict(APCS_Ident=2022040, Spell_Primary_Diagnosis="I21", Spell_PbR_CC_Day="3"),
    )
    rows = table(tpp_db, tpp.apcs)
    # Current rows from April 2022 on, archived rows before: no month twice.
    assert [(r["apcs_ident"], r["admission_date"]) for r in rows] == [
        (2022039, d(2022, 3, 1)),
        (2022040, d(2022, 4, 1)),
    ]
    assert (rows[1]["primary_diagnosis"], rows[1]["days_in_critical_care"]) == (
        "I21",
        3,
    )
    assert (rows[0]["primary_diagnosis"], rows[0]["days_in_critical_care"]) == (
        None,
        None,
    )
    assert rows[1]["all_diagnoses"] == "||I21 ,I10"


def test_apcs_cost_takes_dates_from_the_spell(tpp_db):
    tpp_db.insert("APCS", dict(Patient_ID=1, APCS_Ident=5, Der_Activity_Month="202301",
                                Admission_Date=d(2023, 1, 1), Discharge_Date=d(2023, 1, 9)))  # fmt: skip
    tpp_db.insert("APCS_Cost", dict(Patient_ID=1, APCS_Ident=5, Grand_Total_Payment_MFF=100.5,
                                     Tariff_Initial_Amount=90.0, Tariff_Total_Payment=95.25))  # fmt: skip
    assert table(tpp_db, tpp.apcs_cost) == [
        dict(patient_id=1, apcs_ident=5, grand_total_payment_mff=100.5, tariff_initial_amount=90.0,
             tariff_total_payment=95.25, admission_date=d(2023, 1, 1), discharge_date=d(2023, 1, 9)),
    ]  # fmt: skip


def test_emergency_care_attendances_and_ec_tables(tpp_db):
    tpp_db.insert(
        "EC_ARCHIVED",
        dict(Patient_ID=1, EC_Ident=3, Arrival_Date=d(2021, 6, 1), Der_Activity_Month="202106",
             Discharge_Destination_SNOMED_CT="306689006", SUS_HRG_Code="VB09Z",
             EC_Decision_To_Admit_Date=d(2021, 6, 2)),
    )  # fmt: skip
    tpp_db.insert(
        "EC_Diagnosis_ARCHIVED",
        dict(EC_Ident=3, EC_Diagnosis_01="123", EC_Diagnosis_24="456"),
    )
    tpp_db.insert(
        "EC_Cost_ARCHIVED", dict(Patient_ID=1, EC_Ident=3, Tariff_Total_Payment=10.0)
    )
    [attendance] = table(tpp_db, tpp.emergency_care_attendances)
    assert (attendance["id"], attendance["arrival_date"], attendance["discharge_destination"]) == (
        3, d(2021, 6, 1), "306689006",
    )  # fmt: skip
    assert (attendance["diagnosis_01"], attendance["diagnosis_02"], attendance["diagnosis_24"]) == (
        "123", None, "456",
    )  # fmt: skip
    assert table(tpp_db, tpp.ec) == [
        dict(patient_id=1, ec_ident=3, arrival_date=d(2021, 6, 1), sus_hrg_code="VB09Z")
    ]
    [cost] = table(tpp_db, tpp.ec_cost)
    assert (cost["tariff_total_payment"], cost["ec_decision_to_admit_date"]) == (
        10.0,
        d(2021, 6, 2),
    )


def test_outpatient_tables(tpp_db):
    tpp_db.insert(
        "OPA",
        dict(Patient_ID=1, OPA_Ident=4, Appointment_Date=d(2023, 2, 1), Der_Activity_Month="202302",
             Referral_Request_Received_Date=d(2023, 1, 1), Attendance_Status="5", First_Attendance="1",
             Consultation_Medium_Used="01", HRG_Code="WF01A", Treatment_Function_Code="100",
             Outcome_of_Attendance="4"),
    )  # fmt: skip
    tpp_db.insert(
        "OPA_Diag", dict(Patient_ID=1, OPA_Ident=4, Primary_Diagnosis_Code="K35")
    )
    tpp_db.insert(
        "OPA_Proc", dict(Patient_ID=1, OPA_Ident=4, Primary_Procedure_Code="H01")
    )
    tpp_db.insert("OPA_Cost", dict(Patient_ID=1, OPA_Ident=4, Tariff_OPP=50.0))
    assert table(tpp_db, tpp.opa) == [
        dict(patient_id=1, opa_ident=4, appointment_date=d(2023, 2, 1), attendance_status="5",
             consultation_medium_used="01", first_attendance="1", hrg_code="WF01A",
             treatment_function_code="100", outcome_of_attendance="4",
             referral_request_received_date=d(2023, 1, 1)),
    ]  # fmt: skip
    [diag] = table(tpp_db, tpp.opa_diag)
    assert (diag["primary_diagnosis_code"], diag["appointment_date"]) == (
        "K35",
        d(2023, 2, 1),
    )
    assert diag["referral_request_received_date"] == d(2023, 1, 1)
    [proc] = table(tpp_db, tpp.opa_proc)
    assert (proc["primary_procedure_code"], proc["procedure_code_2"]) == ("H01", None)
    [cost] = table(tpp_db, tpp.opa_cost)
    assert (cost["tariff_opp"], cost["appointment_date"]) == (50.0, d(2023, 2, 1))


def test_ethnicity_from_sus_most_frequent_informative_code(tpp_db):
    tpp_db.insert(
        "APCS",
        dict(Patient_ID=1, Ethnic_Group="A1", Der_Activity_Month="202301"),
        dict(Patient_ID=1, Ethnic_Group="9", Der_Activity_Month="202301"),
        dict(Patient_ID=2, Ethnic_Group="C", Der_Activity_Month="202301"),
    )
    tpp_db.insert(
        "EC_ARCHIVED",
        dict(Patient_ID=1, Ethnic_Category="B", Der_Activity_Month="202101"),
        dict(Patient_ID=1, Ethnic_Category="Z", Der_Activity_Month="202101"),
        dict(Patient_ID=1, Ethnic_Category="Z", Der_Activity_Month="202101"),
        dict(Patient_ID=2, Ethnic_Category="D", Der_Activity_Month="202101"),
        # Archived rows from after the cut-off are read from the current table only.
        dict(Patient_ID=3, Ethnic_Category="A", Der_Activity_Month="202301"),
    )
    tpp_db.insert(
        "OPA", dict(Patient_ID=1, Ethnic_Category="A9", Der_Activity_Month="202302")
    )
    assert table(tpp_db, tpp.ethnicity_from_sus) == [
        dict(patient_id=1, code="A"),  # A twice beats B once; 9 and Z say nothing
        dict(patient_id=2, code="D"),  # a tie goes to the greater code
    ]


# -- opt-outs and permissions ------------------------------------------------------


def test_patient_exclusions_are_the_type_1_opt_outs(tpp_db):
    tpp_db.insert("PatientsWithTypeOneDissent", dict(Patient_ID=3), dict(Patient_ID=5))
    exclusions = tpp_db.backend.patient_exclusions()
    assert tpp_db.rows(exclusions) == [dict(patient_id=3), dict(patient_id=5)]


def test_t1oo_permission_includes_opted_out_patients(tpp_db):
    assert tpp_db.backend.patient_exclusions({"include_t1oo"}) is None


def test_unknown_permission_is_refused(tpp_db):
    with pytest.raises(PermissionNotGrantedError, match="event_level_data"):
        tpp_db.backend.patient_exclusions({"event_level_data"})


# -- raw tables ---------------------------------------------------------------------


def test_medications_raw_and_repeat_medications_raw(tpp_db):
    tpp_db.insert("MedicationDictionary", dict(MultilexDrug_ID="A", DMD_ID="111"))
    tpp_db.insert(
        "MedicationIssue",
        dict(Patient_ID=1, Consultation_ID=2, RepeatMedication_ID=3, MultilexDrug_ID="A",
             Quantity="28 tablets", MedicationStatus=4, ConsultationDate=dt(2020, 1, 1, 9)),
    )  # fmt: skip
    tpp_db.insert(
        "MedicationRepeat",
        dict(Patient_ID=1, Consultation_ID=5, MedicationRepeat_ID=3, MultilexDrug_ID="A",
             Quantity="56 tablets", MedicationStatus=1, ConsultationDate=dt(2019, 12, 1),
             StartDate=dt(2019, 12, 1, 10), EndDate=dt(2020, 12, 1)),
    )  # fmt: skip
    assert table(tpp_db, raw_tpp.medications) == [
        dict(patient_id=1, date=d(2020, 1, 1), dmd_code="111", consultation_id=2, medication_status=4,
             quantity="28 tablets", repeat_medication_id=3),
    ]  # fmt: skip
    assert table(tpp_db, raw_tpp.repeat_medications) == [
        dict(patient_id=1, date=d(2019, 12, 1), dmd_code="111", consultation_id=5, repeat_medication_id=3,
             medication_status=1, quantity="56 tablets", start_date=d(2019, 12, 1), end_date=d(2020, 12, 1)),
    ]  # fmt: skip


def test_ons_deaths_raw_keeps_every_registered_death(tpp_db):
    tpp_db.insert(
        "ONS_Deaths",
        dict(Patient_ID=1, dod=d(2021, 2, 3), icd10u="I21", Place_of_occurrence="Home"),
        dict(Patient_ID=1, dod=d(2021, 1, 1), icd10u="J18"),
    )
    assert [r["date"] for r in table(tpp_db, raw_tpp.ons_deaths)] == [
        d(2021, 1, 1),
        d(2021, 2, 3),
    ]
    assert [
        r["underlying_cause_of_death"] for r in table(tpp_db, raw_core.ons_deaths)
    ] == ["J18", "I21"]


def test_isaric_raw_reads_na_as_missing_dates_and_unticked_conditions(tpp_db):
    tpp_db.insert(
        "ISARIC_New",
        {"Patient_ID": 1, "age": "54", "age.factor": "50-59", "hostdat": "2020-04-01", "cestdat": "NA",
         "chrincard": "NA", "asthma_mhyn": "YES", "renal_mhyn": "maybe", "smoking_mhyn": "NA"},
    )  # fmt: skip
    [row] = table(tpp_db, raw_tpp.isaric)
    assert (row["age"], row["age_factor"], row["hostdat"], row["cestdat"]) == (
        "54",
        "50-59",
        d(2020, 4, 1),
        None,
    )
    assert (row["chrincard"], row["asthma_mhyn"], row["renal_mhyn"]) == (
        "NO",
        "YES",
        None,
    )
    assert row["smoking_mhyn"] == "NA"  # not a yes/no question: passed on as stored


def test_covid_therapeutics_raw(tpp_db):
    tpp_db.insert(
        "Therapeutics",
        dict(Patient_ID=1, Count="2", AgeAtReceivedDate="70", Received="2022-02-01", Der_LoadDate="2022-03-04",
             CASIM05_risk_cohort="Patients with a solid cancer", FormName="form"),
    )  # fmt: skip
    [row] = table(tpp_db, raw_tpp.covid_therapeutics_raw)
    assert (row["count"], row["age_at_received_date"], row["received"], row["load_date"]) == (
        2, 70, d(2022, 2, 1), d(2022, 3, 4),
    )  # fmt: skip
    assert (row["CASIM05_risk_cohort"], row["form_name"]) == (
        "Patients with a solid cancer",
        "form",
    )


def test_historical_apcs_tables(tpp_db):
    tpp_db.insert("APCS" + HISTORICAL_COST_SUFFIX, dict(Patient_ID=1, APCS_Ident=2, Admission_Date=d(2019, 1, 1),
                                                         Spell_Core_HRG_SUS="AA22C"))  # fmt: skip
    tpp_db.insert(
        "APCS_Cost" + HISTORICAL_COST_SUFFIX,
        dict(Patient_ID=1, APCS_Ident=2, Tariff_Total_Payment=7.5),
    )
    assert table(tpp_db, raw_tpp.apcs_historical) == [
        dict(patient_id=1, apcs_ident=2, admission_date=d(2019, 1, 1), discharge_date=None,
             spell_core_hrg_sus="AA22C"),
    ]  # fmt: skip
    [cost] = table(tpp_db, raw_tpp.apcs_cost_historical)
    assert (cost["tariff_total_payment"], cost["admission_date"]) == (
        7.5,
        d(2019, 1, 1),
    )


def test_waiting_list_raw_tables_keep_stored_values(tpp_db):
    common = dict(Patient_ID=1, PRIORITY_TYPE_CODE="2", PSEUDO_PATIENT_PATHWAY_IDENTIFIER=b"\xab",
                  REFERRAL_TO_TREATMENT_PERIOD_END_DATE="9999-12-31", Waiting_List_Type="XYZ")  # fmt: skip
    tpp_db.insert(
        "WL_ClockStops", dict(common, Referral_Request_Received_Date="2023-01-02")
    )
    tpp_db.insert(
        "WL_OpenPathways", dict(common, Current_Pathway_Period_Start_Date="2023-02-01")
    )
    [stop] = table(tpp_db, raw_tpp.wl_clockstops)
    [pathway] = table(tpp_db, raw_tpp.wl_openpathways)
    for row in (stop, pathway):
        assert (row["priority_type_code"], row["waiting_list_type"]) == ("2", "XYZ")
        assert row["referral_to_treatment_period_end_date"] == "9999-12-31"
        assert row["pseudo_patient_pathway_identifier"] == "AB"
    assert stop["referral_request_received_date"] == "2023-01-02"
    assert pathway["current_pathway_period_start_date"] == "2023-02-01"


def test_smoketest_patients(tpp_db):
    tpp_db.insert("Patient", dict(Patient_ID=1, DateOfBirth=d(1980, 1, 1), Sex="F"))
    assert table(tpp_db, smoketest.patients) == [
        dict(patient_id=1, date_of_birth=d(1980, 1, 1))
    ]


def test_inclusion_condition_keeps_everyone_but_the_opted_out(tpp_db):
    # Every patient passes the other rules, so only the type 1 rule decides.
    tpp_db.insert(
        "Patient",
        *(dict(Patient_ID=i, DateOfBirth=d(1980, 1, 1), Sex="F") for i in (1, 2, 3)),
    )
    tpp_db.insert(
        "PatientsWithTypeOneDissent", dict(Patient_ID=2), dict(Patient_ID=None)
    )
    patient = tpp_db.backend.raw_table("Patient")
    others = {"include_ndoo", "include_gp_unactivated"}
    condition = tpp_db.backend.inclusion_condition(patient.c.Patient_ID, others)
    assert tpp_db.rows(sa.select(patient.c.Patient_ID).where(condition)) == [
        dict(Patient_ID=1),
        dict(Patient_ID=3),
    ]
    assert (
        tpp_db.backend.inclusion_condition(
            patient.c.Patient_ID, {"include_t1oo", *others}
        )
        is None
    )
