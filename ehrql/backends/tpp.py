"""The TPP backend: public tables over the raw SystmOne database, run on MS SQL Server.

TPP hold the SystmOne primary care record with linked hospital (HES), death
(ONS), testing (SGSS) and registry data. Three rules decide which patients
and rows any job sees, applied by the compiler whatever the definition says
(see `TPPBackend.inclusion_condition` and `TPPBackend.restricted_table`):

* type 1 opt-out: patients in `PatientsWithTypeOneDissent` are left out,
  unless the job holds `include_t1oo`;
* national data opt-out: only patients in `PatientsWithoutNDOO` are
  included, unless the job holds `include_ndoo`;
* GP activation: only patients ever registered at a practice in
  `DirectionsAcknowledged` are included, and their GP record stops at a
  cut-off date when they later moved to a practice that has not acknowledged
  the directions, unless the job holds `include_gp_unactivated`.
"""

from __future__ import annotations

import types
from collections.abc import Iterable, Mapping

import sqlalchemy as sa
from sqlalchemy.sql.selectable import FromClause, Select

import ehrql.tables.core
import ehrql.tables.raw.core
import ehrql.tables.raw.tpp
import ehrql.tables.smoketest
import ehrql.tables.tpp
from ehrql.backends.base import Backend, mapping
from ehrql.backends.expressions import (
    FAR_FUTURE,
    as_date,
    flag,
    hex_text,
    mssql_collate,
    null_if,
    recode,
    typed_literal,
    typed_null,
    yes_no,
)
from ehrql.backends.raw_schemas import tpp as raw_schema
from ehrql.query_model.table_schema import CategoricalConstraint, TableSchema

#: HES activity from this month on is read from the current tables, earlier
#: activity from the archive. The two overlap, so each side is cut at the same
#: month; any month inside the overlap would do.
HES_ARCHIVE_CUTOFF = "202204"

#: Appointment.Status values as SystmOne names them.
APPOINTMENT_STATUSES = {
    0: "Booked",
    1: "Arrived",
    2: "Did Not Attend",
    3: "In Progress",
    4: "Finished",
    5: "Requested",
    6: "Blocked",
    8: "Visit",
    9: "Waiting",
    10: "Cancelled by Patient",
    11: "Cancelled by Unit",
    12: "Cancelled by Other Service",
    14: "No Access Visit",
    15: "Cancelled Due To Death",
    16: "Patient Walked Out",
}

#: CodedEventRange.Comparator values as the symbols the public table uses.
RANGE_COMPARATORS = {3: "~", 4: "=", 5: ">=", 6: ">", 7: "<", 8: "<="}

#: UKRR dataset labels, raw to public.
UKRR_DATASETS = {
    "2019prev": "2019_prevalence",
    "2020prev": "2020_prevalence",
    "2021prev": "2021_prevalence",
    "2020inc": "2020_incidence",
    "2020ckd": "2020_ckd",
}

#: Waiting list priority codes, raw to public.
WAITING_LIST_PRIORITIES = {"1": "routine", "2": "urgent", "3": "two week wait"}

#: Ethnicity codes in hospital records that say nothing about ethnicity.
UNINFORMATIVE_ETHNICITY_CODES = ("", "9", "Z")

#: MSOA placeholders TPP writes for an address with no usable postcode.
NO_POSTCODE_MSOA_CODES = ("NPC", "")

#: DMD_ID values in TPP's dictionary that are not a usable dm+d code.
UNUSABLE_DMD_IDS = ("", "MULTIPLE_DMD_MAPPING")

#: The permission under which patients with a type 1 opt-out are included.
T1OO_PERMISSION = "include_t1oo"
#: The permission under which patients with a national data opt-out are included.
NDOO_PERMISSION = "include_ndoo"
#: The permission under which patients of practices that have not acknowledged
#: the directions are included, with all of their GP record.
GP_UNACTIVATED_PERMISSION = "include_gp_unactivated"

#: Tables recorded by the GP practice, each with the column dating a row: a
#: row dated after the patient's GP activation cut-off is kept back (see
#: `TPPBackend.gp_record_cutoffs`). Registrations are kept to those at
#: acknowledged practices (`ACKNOWLEDGED_PRACTICE_TABLES`).
GP_RECORD_DATE_COLUMNS = types.MappingProxyType(
    {
        "appointments": "booked_date",
        "clinical_events": "date",
        "clinical_events_ranges": "date",
        "decision_support_values": "calculation_date",
        "medications": "date",
        "medications_raw": "date",
        "repeat_medications_raw": "date",
        "vaccinations": "date",
    }
)

#: Tables of registrations, by their practice column: only registrations at
#: practices that have acknowledged the directions are read.
ACKNOWLEDGED_PRACTICE_TABLES = types.MappingProxyType(
    {"practice_registrations": "practice_pseudo_id"}
)

#: ISARIC answers recorded as text dates, "NA" when not given.
ISARIC_DATE_COLUMNS = (
    "covid19_vaccined", "covid19_vaccine2d", "cestdat", "hostdat", "hostdat_transfer",
    "dsstdat", "dsstdtc",
)  # fmt: skip

#: ISARIC history questions answered YES, NO or Unknown, where "NA" means the
#: condition was not ticked, so is read as NO.
ISARIC_YES_NO_COLUMNS = (
    "chrincard", "hypertension_mhyn", "chronicpul_mhyn", "asthma_mhyn", "renal_mhyn",
    "mildliver", "modliv", "chronicneu_mhyn", "malignantneo_mhyn", "chronichaemo_mhyn",
    "aidshiv_mhyn", "obesity_mhyn", "diabetescom_mhyn", "diabetes_mhyn", "rheumatologic_mhyn",
    "dementia_mhyn", "malnutrition_mhyn",
)  # fmt: skip


def _categories(schema: TableSchema, column: str) -> tuple:
    constraint = schema.get_column(column).get_constraint(CategoricalConstraint)
    return constraint.values if constraint else ()


class TPPBackend(Backend):
    """The OpenSAFELY-TPP backend: SystmOne and linked data on MS SQL Server."""

    name = "tpp"
    display_name = "TPP"
    query_engine = "mssql"
    implements = (
        ehrql.tables.core,
        ehrql.tables.tpp,
        ehrql.tables.raw.core,
        ehrql.tables.raw.tpp,
        ehrql.tables.smoketest,
    )
    raw_metadata = raw_schema.metadata
    permissions = frozenset(
        {T1OO_PERMISSION, NDOO_PERMISSION, GP_UNACTIVATED_PERMISSION}
    )
    #: The GP-recorded tables and their dating columns (see `GP_RECORD_DATE_COLUMNS`).
    gp_record_date_columns: Mapping[str, str] = GP_RECORD_DATE_COLUMNS
    #: The registration tables and their practice columns (see `ACKNOWLEDGED_PRACTICE_TABLES`).
    acknowledged_practice_tables: Mapping[str, str] = ACKNOWLEDGED_PRACTICE_TABLES

    # -- access rules -------------------------------------------------------
    #
    # TPP maintain the lists (opt-outs, acknowledged practices) themselves;
    # ehrQL does not decide who has opted out, it only reads the lists.

    def patient_exclusions(
        self, permissions: Iterable[str] = frozenset()
    ) -> Select | None:
        """Patients with a type 1 opt-out, unless the job holds `include_t1oo`."""
        if T1OO_PERMISSION in self.check_permissions(permissions):
            return None
        dissent = self.raw_table("PatientsWithTypeOneDissent")
        return sa.select(dissent.c.Patient_ID.label("patient_id"))

    def inclusion_condition(
        self, patient_id: sa.ColumnElement, permissions: Iterable[str] = frozenset()
    ) -> sa.ColumnElement | None:
        """True for a patient that a job holding `permissions` may see.

        That is a patient without a type 1 opt-out (unless `include_t1oo`),
        listed in `PatientsWithoutNDOO` (unless `include_ndoo`) and ever
        registered at a practice in `DirectionsAcknowledged` (unless
        `include_gp_unactivated`). None when no rule applies.
        """
        granted = self.check_permissions(permissions)
        conditions = []
        type_one = super().inclusion_condition(patient_id, granted)
        if type_one is not None:
            conditions.append(type_one)
        if NDOO_PERMISSION not in granted:
            listed = self.raw_table("PatientsWithoutNDOO")
            conditions.append(sa.exists().where(listed.c.Patient_ID == patient_id))
        if GP_UNACTIVATED_PERMISSION not in granted:
            registration = self.raw_table("RegistrationHistory")
            conditions.append(
                sa.exists().where(
                    registration.c.Patient_ID == patient_id,
                    self._acknowledged(registration.c.Organisation_ID),
                )
            )
        return sa.and_(*conditions) if conditions else None

    def _acknowledged(self, organisation_id: sa.ColumnElement) -> sa.ColumnElement:
        acknowledged = self.raw_table("DirectionsAcknowledged")
        return sa.exists().where(acknowledged.c.Organisation_ID == organisation_id)

    def gp_record_cutoffs(self) -> Select:
        """(patient_id, cutoff_date) for each patient whose GP record stops at a cut-off.

        A patient has a cut-off when a registration at a practice that has not
        acknowledged the directions ends later than their latest registration
        at one that has: the cut-off is the end of that acknowledged
        registration. Everyone else has no cut-off and is not listed. An open
        registration (no end, or SystmOne's 9999-12-31) ends after any other.
        """
        registration = self.raw_table("RegistrationHistory")
        end = sa.func.coalesce(
            registration.c.EndDate, typed_literal(FAR_FUTURE, sa.DateTime())
        )
        acknowledged = self._acknowledged(registration.c.Organisation_ID)

        def latest_end(condition, name):
            return (
                sa.select(
                    registration.c.Patient_ID.label("patient_id"),
                    sa.func.max(end).label("end_date"),
                )
                .where(condition)
                .group_by(registration.c.Patient_ID)
                .subquery(name)
            )

        activated = latest_end(acknowledged, "activated_registrations")
        other = latest_end(~acknowledged, "unactivated_registrations")
        return (
            sa.select(
                activated.c.patient_id,
                as_date(activated.c.end_date).label("cutoff_date"),
            )
            .select_from(
                activated.join(other, other.c.patient_id == activated.c.patient_id)
            )
            .where(other.c.end_date > activated.c.end_date)
        )

    def restricted_table(
        self,
        table_name: str,
        schema: TableSchema,
        permissions: Iterable[str] = frozenset(),
    ) -> FromClause:
        """The table's rows, less what GP activation keeps back from a job
        without `include_gp_unactivated`: rows of the GP record dated after the
        patient's cut-off (or undated, for a patient with one), and
        registrations at practices that have not acknowledged the directions."""
        rows = self.table_expression(table_name, schema)
        if GP_UNACTIVATED_PERMISSION in self.check_permissions(permissions):
            return rows
        if table_name in self.acknowledged_practice_tables:
            practice = rows.c[self.acknowledged_practice_tables[table_name]]
            return (
                sa.select(rows).where(self._acknowledged(practice)).subquery(table_name)
            )
        if table_name in self.gp_record_date_columns:
            dated = rows.c[self.gp_record_date_columns[table_name]]
            cutoffs = self.gp_record_cutoffs().subquery("gp_record_cutoffs")
            past_cutoff = sa.exists().where(
                cutoffs.c.patient_id == rows.c.patient_id,
                sa.or_(dated.is_(None), dated > cutoffs.c.cutoff_date),
            )
            return sa.select(rows).where(~past_cutoff).subquery(table_name)
        return rows

    # -- helpers ------------------------------------------------------------

    def _hes_union(self, build) -> Select:
        """UNION ALL of `build(suffix, keep)` over current and archived HES tables.

        `build` gets the table-name suffix and a function that, given the
        table's activity-month column, returns the condition keeping only that
        side's months.
        """
        current = build("", lambda month: month >= HES_ARCHIVE_CUTOFF)
        archived = build(
            raw_schema.ARCHIVE_SUFFIX, lambda month: month < HES_ARCHIVE_CUTOFF
        )
        return sa.union_all(current, archived).subquery().select()

    def _coded_events(self) -> Select:
        """CTV3 and SNOMED CT events together, with the event id for joining ranges."""
        ctv3 = self.raw_table("CodedEvent")
        snomed = self.raw_table("CodedEvent_SNOMED")

        def select(table, snomedct_code, ctv3_code):
            return sa.select(
                table.c.Patient_ID.label("patient_id"),
                as_date(table.c.ConsultationDate, FAR_FUTURE).label("date"),
                snomedct_code.label("snomedct_code"),
                ctv3_code.label("ctv3_code"),
                sa.cast(table.c.NumericValue, sa.Double()).label("numeric_value"),
                table.c.Consultation_ID.label("consultation_id"),
                table.c.CodedEvent_ID.label("coded_event_id"),
            )

        no_code = typed_null(sa.String())
        return (
            sa.union_all(
                select(ctv3, no_code, ctv3.c.CTV3Code),
                select(snomed, snomed.c.ConceptId, no_code),
            )
            .subquery()
            .select()
        )

    def _medication_dictionary(self):
        """TPP's drug dictionary, topped up with OpenSAFELY's entries for drugs it leaves unmapped.

        Entries that would map a drug twice are dropped, since each would
        duplicate the drug's issues in the join.
        """
        tpp = self.raw_table("MedicationDictionary")
        custom = self.raw_table("CustomMedicationDictionary")
        usable = tpp.c.DMD_ID.not_in(UNUSABLE_DMD_IDS)
        already_mapped = (
            sa.select(sa.literal(1))
            .where(tpp.c.MultilexDrug_ID == custom.c.MultilexDrug_ID, usable)
            .exists()
        )
        return sa.union_all(
            sa.select(tpp.c.MultilexDrug_ID, tpp.c.DMD_ID).where(usable),
            sa.select(custom.c.MultilexDrug_ID, custom.c.DMD_ID).where(~already_mapped),
        ).subquery("medication_dictionary")

    # -- core tables --------------------------------------------------------

    @mapping("patients")
    def _patients(self, schema: TableSchema) -> Select:
        patient = self.raw_table("Patient")
        sex = sa.case(
            (patient.c.Sex == "M", "male"),
            (patient.c.Sex == "F", "female"),
            (patient.c.Sex == "I", "intersex"),
            else_="unknown",
        )
        return sa.select(
            patient.c.Patient_ID.label("patient_id"),
            patient.c.DateOfBirth.label("date_of_birth"),
            sex.label("sex"),
            null_if(patient.c.DateOfDeath, FAR_FUTURE).label("date_of_death"),
        )

    @mapping("practice_registrations")
    def _practice_registrations(self, schema: TableSchema) -> Select:
        registration = self.raw_table("RegistrationHistory")
        organisation = self.raw_table("Organisation")
        return sa.select(
            registration.c.Patient_ID.label("patient_id"),
            as_date(registration.c.StartDate).label("start_date"),
            as_date(registration.c.EndDate, FAR_FUTURE).label("end_date"),
            registration.c.Organisation_ID.label("practice_pseudo_id"),
            null_if(organisation.c.STPCode, "").label("practice_stp"),
            null_if(organisation.c.Region, "").label("practice_nuts1_region_name"),
            as_date(organisation.c.GoLiveDate).label("practice_systmone_go_live_date"),
        ).select_from(
            registration.outerjoin(
                organisation,
                registration.c.Organisation_ID == organisation.c.Organisation_ID,
            )
        )

    @mapping("clinical_events")
    def _clinical_events(self, schema: TableSchema) -> Select:
        return self._coded_events()

    def _medication_records(self, table_name: str, *columns: str) -> Select:
        """Issued or repeat prescriptions with their dm+d code, plus raw `columns` by public name."""
        table = self.raw_table(table_name)
        dictionary = self._medication_dictionary()
        raw_columns = {
            "consultation_id": table.c.Consultation_ID,
            "medication_status": table.c.MedicationStatus,
            "quantity": table.c.Quantity,
        }
        if "MedicationRepeat_ID" in table.c:
            raw_columns["repeat_medication_id"] = table.c.MedicationRepeat_ID
            raw_columns["start_date"] = as_date(table.c.StartDate)
            raw_columns["end_date"] = as_date(table.c.EndDate)
        else:
            raw_columns["repeat_medication_id"] = table.c.RepeatMedication_ID
        return sa.select(
            table.c.Patient_ID.label("patient_id"),
            as_date(table.c.ConsultationDate).label("date"),
            dictionary.c.DMD_ID.label("dmd_code"),
            *(raw_columns[name].label(name) for name in columns),
        ).select_from(
            table.outerjoin(
                dictionary, table.c.MultilexDrug_ID == dictionary.c.MultilexDrug_ID
            )
        )

    @mapping("medications")
    def _medications(self, schema: TableSchema) -> Select:
        return self._medication_records("MedicationIssue", "consultation_id")

    @mapping("medications_raw")
    def _medications_raw(self, schema: TableSchema) -> Select:
        return self._medication_records(
            "MedicationIssue",
            "consultation_id",
            "medication_status",
            "quantity",
            "repeat_medication_id",
        )

    @mapping("repeat_medications_raw")
    def _repeat_medications_raw(self, schema: TableSchema) -> Select:
        return self._medication_records(
            "MedicationRepeat",
            "consultation_id",
            "repeat_medication_id",
            "medication_status",
            "quantity",
            "start_date",
            "end_date",
        )

    def _ons_death_rows(self):
        deaths = self.raw_table("ONS_Deaths")
        return deaths, [
            deaths.c.Patient_ID.label("patient_id"),
            deaths.c.dod.label("date"),
            deaths.c.Place_of_occurrence.label("place"),
            deaths.c.icd10u.label("underlying_cause_of_death"),
            *(
                deaths.c[f"ICD100{i:02d}"].label(f"cause_of_death_{i:02d}")
                for i in range(1, 16)
            ),
        ]

    @mapping("ons_deaths")
    def _ons_deaths(self, schema: TableSchema) -> Select:
        # A few patients have more than one registered death; keep the earliest.
        deaths, columns = self._ons_death_rows()
        ranked = sa.select(
            *columns,
            sa.func.row_number()
            .over(
                partition_by=deaths.c.Patient_ID,
                order_by=(deaths.c.dod, deaths.c.icd10u),
            )
            .label("death_rank"),
        ).subquery()
        return sa.select(ranked).where(ranked.c.death_rank == 1)

    @mapping("ons_deaths_raw")
    def _ons_deaths_raw(self, schema: TableSchema) -> Select:
        deaths, columns = self._ons_death_rows()
        return sa.select(*columns)

    # -- TPP tables: primary care -------------------------------------------

    @mapping("addresses")
    def _addresses(self, schema: TableSchema) -> Select:
        address = self.raw_table("PatientAddress")
        care_home = self.raw_table("PotentialCareHomeAddress")
        has_postcode = address.c.MSOACode.not_in(NO_POSTCODE_MSOA_CODES)
        return sa.select(
            address.c.Patient_ID.label("patient_id"),
            address.c.PatientAddress_ID.label("address_id"),
            as_date(address.c.StartDate, FAR_FUTURE).label("start_date"),
            as_date(address.c.EndDate, FAR_FUTURE).label("end_date"),
            address.c.AddressType.label("address_type"),
            null_if(address.c.RuralUrbanClassificationCode, -1).label(
                "rural_urban_classification"
            ),
            null_if(address.c.ImdRankRounded, -1).label("imd_rounded"),
            sa.case((has_postcode, address.c.MSOACode)).label("msoa_code"),
            flag(has_postcode).label("has_postcode"),
            flag(care_home.c.PatientAddress_ID.is_not(None)).label(
                "care_home_is_potential_match"
            ),
            yes_no(care_home.c.LocationRequiresNursing).label(
                "care_home_requires_nursing"
            ),
            yes_no(care_home.c.LocationDoesNotRequireNursing).label(
                "care_home_does_not_require_nursing"
            ),
        ).select_from(
            address.outerjoin(
                care_home, address.c.PatientAddress_ID == care_home.c.PatientAddress_ID
            )
        )

    @mapping("appointments")
    def _appointments(self, schema: TableSchema) -> Select:
        # The raw table repeats some rows; DISTINCT over the appointment id
        # drops the copies without merging different appointments.
        appointment = self.raw_table("Appointment")
        return sa.select(
            appointment.c.Appointment_ID.label("appointment_id"),
            appointment.c.Patient_ID.label("patient_id"),
            as_date(appointment.c.BookedDate).label("booked_date"),
            as_date(appointment.c.StartDate).label("start_date"),
            as_date(appointment.c.SeenDate, FAR_FUTURE).label("seen_date"),
            recode(appointment.c.Status, APPOINTMENT_STATUSES).label("status"),
        ).distinct()

    @mapping("clinical_events_ranges")
    def _clinical_events_ranges(self, schema: TableSchema) -> Select:
        events = self._coded_events().subquery()
        ranges = self.raw_table("CodedEventRange")
        return sa.select(
            events,
            sa.cast(ranges.c.LowerBound, sa.Double()).label("lower_bound"),
            sa.cast(ranges.c.UpperBound, sa.Double()).label("upper_bound"),
            recode(ranges.c.Comparator, RANGE_COMPARATORS).label("comparator"),
        ).select_from(
            events.outerjoin(ranges, events.c.coded_event_id == ranges.c.CodedEvent_ID)
        )

    @mapping("decision_support_values")
    def _decision_support_values(self, schema: TableSchema) -> Select:
        value = self.raw_table("DecisionSupportValue")
        reference = self.raw_table("DecisionSupportValueReference")
        return sa.select(
            value.c.Patient_ID.label("patient_id"),
            value.c.AlgorithmType.label("algorithm_type"),
            as_date(value.c.CalculationDateTime, FAR_FUTURE).label("calculation_date"),
            sa.cast(value.c.NumericValue, sa.Double()).label("numeric_value"),
            reference.c.AlgorithmDescription.label("algorithm_description"),
            reference.c.AlgorithmVersion.label("algorithm_version"),
        ).select_from(
            value.outerjoin(
                reference, value.c.AlgorithmType == reference.c.AlgorithmType
            )
        )

    @mapping("household_memberships_2020")
    def _household_memberships_2020(self, schema: TableSchema) -> Select:
        # Household 0 and size 0 stand for "not known" in the raw tables.
        member = self.raw_table("HouseholdMember")
        household = self.raw_table("Household")
        return sa.select(
            member.c.Patient_ID.label("patient_id"),
            null_if(household.c.Household_ID, 0).label("household_pseudo_id"),
            null_if(household.c.HouseholdSize, 0).label("household_size"),
        ).select_from(
            member.outerjoin(
                household, member.c.Household_ID == household.c.Household_ID
            )
        )

    @mapping("occupation_on_covid_vaccine_record")
    def _occupation_on_covid_vaccine_record(self, schema: TableSchema) -> Select:
        worker = self.raw_table("HealthCareWorker")
        return sa.select(
            worker.c.Patient_ID.label("patient_id"),
            sa.true().cast(sa.Boolean()).label("is_healthcare_worker"),
        )

    @mapping("open_prompt")
    def _open_prompt(self, schema: TableSchema) -> Select:
        prompt = self.raw_table("OpenPROMPT")
        # CodeSystemId 0 marks ConceptId as SNOMED CT; NumericCode 1 marks a real value.
        return sa.select(
            prompt.c.Patient_ID.label("patient_id"),
            prompt.c.CTV3Code.label("ctv3_code"),
            sa.case((prompt.c.CodeSystemId == 0, prompt.c.ConceptId)).label(
                "snomedct_code"
            ),
            as_date(prompt.c.CreationDate).label("creation_date"),
            as_date(prompt.c.ConsultationDate).label("consultation_date"),
            prompt.c.Consultation_ID.label("consultation_id"),
            sa.case(
                (prompt.c.NumericCode == 1, sa.cast(prompt.c.NumericValue, sa.Double()))
            ).label("numeric_value"),
        )

    @mapping("parents")
    def _parents(self, schema: TableSchema) -> Select:
        # A relationship may be recorded from either side; normalise it to
        # (child, parent), then keep the parent as a mother only when she is
        # older than the child and not recorded as male. Children linked to
        # more than one such mother are left out as ambiguous.
        relationship = self.raw_table("Relationship")
        is_mother_row = relationship.c.Type_of_Relationship == "Mother"
        pairs = (
            sa.select(
                sa.case(
                    (is_mother_row, relationship.c.Patient_ID),
                    else_=relationship.c.Patient_ID_Relationship_With,
                ).label("child_id"),
                sa.case(
                    (is_mother_row, relationship.c.Patient_ID_Relationship_With),
                    else_=relationship.c.Patient_ID,
                ).label("parent_id"),
            )
            .where(
                relationship.c.Type_of_Relationship.in_(
                    ("Mother", "Child", "Son", "Daughter")
                ),
                relationship.c.RelationshipEndDate.is_(None),
            )
            .subquery("pairs")
        )
        child = self.raw_table("Patient").alias("child")
        parent = self.raw_table("Patient").alias("parent")
        mothers = (
            sa.select(
                child.c.Patient_ID.label("patient_id"),
                parent.c.Patient_ID.label("mother_id"),
            )
            .select_from(
                pairs.join(child, pairs.c.child_id == child.c.Patient_ID).join(
                    parent, pairs.c.parent_id == parent.c.Patient_ID
                )
            )
            .where(child.c.DateOfBirth > parent.c.DateOfBirth, parent.c.Sex != "M")
            .subquery("mothers")
        )
        return (
            sa.select(
                mothers.c.patient_id,
                sa.func.max(mothers.c.mother_id).label("mother_id"),
            )
            .group_by(mothers.c.patient_id)
            .having(sa.func.count(mothers.c.mother_id.distinct()) == 1)
        )

    @mapping("vaccinations")
    def _vaccinations(self, schema: TableSchema) -> Select:
        # A product protecting against several diseases has one reference row
        # each, so its vaccinations appear once per target disease.
        vaccination = self.raw_table("Vaccination")
        reference = self.raw_table("VaccinationReference")
        return sa.select(
            vaccination.c.Patient_ID.label("patient_id"),
            vaccination.c.Vaccination_ID.label("vaccination_id"),
            as_date(vaccination.c.VaccinationDate).label("date"),
            reference.c.VaccinationContent.label("target_disease"),
            vaccination.c.VaccinationName.label("product_name"),
        ).select_from(
            vaccination.outerjoin(
                reference,
                vaccination.c.VaccinationName_ID == reference.c.VaccinationName_ID,
            )
        )

    # -- TPP tables: linked data ----------------------------------------------

    @mapping("covid_therapeutics")
    def _covid_therapeutics(self, schema: TableSchema) -> Select:
        therapeutics = self.raw_table("Therapeutics")
        cohort_columns = (
            "CASIM05_risk_cohort",
            "MOL1_high_risk_cohort",
            "SOT02_risk_cohorts",
        )
        risk_cohort = _comma_list(
            *(_risk_groups(therapeutics.c[c]) for c in cohort_columns)
        )
        # The raw table repeats rows; the extra raw columns keep distinct
        # treatment records apart while DISTINCT drops exact copies.
        return sa.select(
            therapeutics.c.Patient_ID.label("patient_id"),
            therapeutics.c.COVID_indication.label("covid_indication"),
            therapeutics.c.CurrentStatus.label("current_status"),
            therapeutics.c.Intervention.label("intervention"),
            as_date(therapeutics.c.Received).label("received"),
            therapeutics.c.Region.label("region"),
            risk_cohort.label("risk_cohort"),
            as_date(therapeutics.c.TreatmentStartDate).label("treatment_start_date"),
            therapeutics.c.Count,
            therapeutics.c.Diagnosis,
            therapeutics.c.FormName,
            therapeutics.c.CASIM05_date_of_symptom_onset,
            therapeutics.c.MOL1_onset_of_symptoms,
            therapeutics.c.SOT02_onset_of_symptoms,
            therapeutics.c.AgeAtReceivedDate,
            therapeutics.c.Der_LoadDate,
        ).distinct()

    @mapping("sgss_covid_all_tests")
    def _sgss_covid_all_tests(self, schema: TableSchema) -> Select:
        positive = self.raw_table("SGSS_AllTests_Positive")
        negative = self.raw_table("SGSS_AllTests_Negative")
        # The two sources spell symptoms differently: Y/N and true/false.
        positives = sa.select(
            positive.c.Patient_ID.label("patient_id"),
            positive.c.Specimen_Date.label("specimen_taken_date"),
            sa.true().cast(sa.Boolean()).label("is_positive"),
            positive.c.Lab_Report_Date.label("lab_report_date"),
            yes_no(positive.c.Symptomatic).label("was_symptomatic"),
            sa.cast(null_if(positive.c.SGTF, ""), sa.Integer()).label("sgtf_status"),
            null_if(positive.c.Variant, "").label("variant"),
            null_if(positive.c.VariantDetectionMethod, "").label(
                "variant_detection_method"
            ),
        )
        negatives = sa.select(
            negative.c.Patient_ID.label("patient_id"),
            negative.c.Specimen_Date.label("specimen_taken_date"),
            sa.false().cast(sa.Boolean()).label("is_positive"),
            negative.c.Lab_Report_Date.label("lab_report_date"),
            yes_no(negative.c.Symptomatic, "true", "false").label("was_symptomatic"),
            typed_null(sa.Integer()).label("sgtf_status"),
            typed_null(sa.String()).label("variant"),
            typed_null(sa.String()).label("variant_detection_method"),
        )
        return sa.union_all(positives, negatives).subquery().select()

    @mapping("ukrr")
    def _ukrr(self, schema: TableSchema) -> Select:
        ukrr = self.raw_table("UKRR")
        return sa.select(
            ukrr.c.Patient_ID.label("patient_id"),
            recode(ukrr.c.dataset, UKRR_DATASETS).label("dataset"),
            ukrr.c.renal_centre.label("renal_centre"),
            ukrr.c.rrt_start.label("rrt_start_date"),
            sa.cast(ukrr.c.creat, sa.Double()).label("latest_creatinine"),
            sa.cast(ukrr.c.eGFR_ckdepi, sa.Double()).label("latest_egfr"),
            ukrr.c.mod_start.label("treatment_modality_start"),
            ukrr.c.mod_prev.label("treatment_modality_prevalence"),
        )

    @mapping("wl_clockstops")
    def _wl_clockstops(self, schema: TableSchema) -> Select:
        clockstops = self.raw_table("WL_ClockStops")
        return sa.select(
            *self._waiting_list_columns(clockstops, schema),
            as_date(clockstops.c.Referral_Request_Received_Date).label(
                "referral_request_received_date"
            ),
            as_date(clockstops.c.REFERRAL_TO_TREATMENT_PERIOD_END_DATE).label(
                "referral_to_treatment_period_end_date"
            ),
            clockstops.c.SOURCE_OF_REFERRAL_FOR_OUTPATIENTS.label(
                "source_of_referral_for_outpatients"
            ),
        )

    @mapping("wl_openpathways")
    def _wl_openpathways(self, schema: TableSchema) -> Select:
        # An open pathway has not ended: its end date holds the far-future placeholder.
        pathways = self.raw_table("WL_OpenPathways")
        return sa.select(
            *self._waiting_list_columns(pathways, schema),
            as_date(pathways.c.Current_Pathway_Period_Start_Date).label(
                "current_pathway_period_start_date"
            ),
            as_date(pathways.c.REFERRAL_REQUEST_RECEIVED_DATE).label(
                "referral_request_received_date"
            ),
            as_date(
                null_if(pathways.c.REFERRAL_TO_TREATMENT_PERIOD_END_DATE, "9999-12-31")
            ).label("referral_to_treatment_period_end_date"),
            pathways.c.SOURCE_OF_REFERRAL.label("source_of_referral"),
        )

    def _waiting_list_columns(self, table: sa.Table, schema: TableSchema) -> list:
        """The columns both waiting list tables map the same way."""
        waiting_list_type = table.c.Waiting_List_Type
        known_types = _categories(schema, "waiting_list_type")
        return [
            table.c.Patient_ID.label("patient_id"),
            table.c.ACTIVITY_TREATMENT_FUNCTION_CODE.label(
                "activity_treatment_function_code"
            ),
            recode(table.c.PRIORITY_TYPE_CODE, WAITING_LIST_PRIORITIES).label(
                "priority_type_code"
            ),
            # The pseudonyms are digests stored as bytes; researchers get hex text.
            hex_text(
                table.c.PSEUDO_ORGANISATION_CODE_PATIENT_PATHWAY_IDENTIFIER_ISSUER
            ).label("pseudo_organisation_code_patient_pathway_identifier_issuer"),
            hex_text(table.c.PSEUDO_PATIENT_PATHWAY_IDENTIFIER).label(
                "pseudo_patient_pathway_identifier"
            ),
            hex_text(table.c.Pseudo_Referral_Identifier).label(
                "pseudo_referral_identifier"
            ),
            as_date(table.c.REFERRAL_TO_TREATMENT_PERIOD_START_DATE).label(
                "referral_to_treatment_period_start_date"
            ),
            # Only the documented types are passed on; anything else is unknown.
            sa.case((waiting_list_type.in_(known_types), waiting_list_type)).label(
                "waiting_list_type"
            ),
            as_date(table.c.Week_Ending_Date).label("week_ending_date"),
        ]

    # -- TPP tables: hospital activity -----------------------------------------

    @mapping("apcs")
    def _apcs(self, schema: TableSchema) -> Select:
        def build(suffix, keep):
            apcs = self.raw_table("APCS" + suffix)
            derived = self.raw_table("APCS_Der" + suffix)
            return (
                sa.select(
                    apcs.c.Patient_ID.label("patient_id"),
                    apcs.c.APCS_Ident.label("apcs_ident"),
                    apcs.c.Admission_Date.label("admission_date"),
                    apcs.c.Discharge_Date.label("discharge_date"),
                    apcs.c.Discharge_Destination.label("discharge_destination"),
                    apcs.c.Discharge_Method.label("discharge_method"),
                    apcs.c.Spell_Core_HRG_SUS.label("spell_core_hrg_sus"),
                    apcs.c.Admission_Method.label("admission_method"),
                    derived.c.Spell_Primary_Diagnosis.label("primary_diagnosis"),
                    derived.c.Spell_Secondary_Diagnosis.label("secondary_diagnosis"),
                    apcs.c.Der_Diagnosis_All.label("all_diagnoses"),
                    apcs.c.Der_Procedure_All.label("all_procedures"),
                    sa.cast(derived.c.Spell_PbR_CC_Day, sa.Integer()).label(
                        "days_in_critical_care"
                    ),
                    apcs.c.Patient_Classification.label("patient_classification"),
                )
                .select_from(
                    apcs.outerjoin(derived, apcs.c.APCS_Ident == derived.c.APCS_Ident)
                )
                .where(keep(apcs.c.Der_Activity_Month))
            )

        return self._hes_union(build)

    @mapping("apcs_cost")
    def _apcs_cost(self, schema: TableSchema) -> Select:
        def build(suffix, keep):
            cost = self.raw_table("APCS_Cost" + suffix)
            apcs = self.raw_table("APCS" + suffix)
            return (
                sa.select(
                    cost.c.Patient_ID.label("patient_id"),
                    cost.c.APCS_Ident.label("apcs_ident"),
                    sa.cast(cost.c.Grand_Total_Payment_MFF, sa.Double()).label(
                        "grand_total_payment_mff"
                    ),
                    sa.cast(cost.c.Tariff_Initial_Amount, sa.Double()).label(
                        "tariff_initial_amount"
                    ),
                    sa.cast(cost.c.Tariff_Total_Payment, sa.Double()).label(
                        "tariff_total_payment"
                    ),
                    apcs.c.Admission_Date.label("admission_date"),
                    apcs.c.Discharge_Date.label("discharge_date"),
                )
                .select_from(
                    cost.outerjoin(apcs, cost.c.APCS_Ident == apcs.c.APCS_Ident)
                )
                .where(keep(apcs.c.Der_Activity_Month))
            )

        return self._hes_union(build)

    @mapping("ec")
    def _ec(self, schema: TableSchema) -> Select:
        def build(suffix, keep):
            ec = self.raw_table("EC" + suffix)
            return sa.select(
                ec.c.Patient_ID.label("patient_id"),
                ec.c.EC_Ident.label("ec_ident"),
                ec.c.Arrival_Date.label("arrival_date"),
                ec.c.SUS_HRG_Code.label("sus_hrg_code"),
            ).where(keep(ec.c.Der_Activity_Month))

        return self._hes_union(build)

    @mapping("ec_cost")
    def _ec_cost(self, schema: TableSchema) -> Select:
        def build(suffix, keep):
            cost = self.raw_table("EC_Cost" + suffix)
            ec = self.raw_table("EC" + suffix)
            return (
                sa.select(
                    cost.c.Patient_ID.label("patient_id"),
                    cost.c.EC_Ident.label("ec_ident"),
                    sa.cast(cost.c.Grand_Total_Payment_MFF, sa.Double()).label(
                        "grand_total_payment_mff"
                    ),
                    sa.cast(cost.c.Tariff_Total_Payment, sa.Double()).label(
                        "tariff_total_payment"
                    ),
                    ec.c.Arrival_Date.label("arrival_date"),
                    ec.c.EC_Decision_To_Admit_Date.label("ec_decision_to_admit_date"),
                    ec.c.EC_Injury_Date.label("ec_injury_date"),
                )
                .select_from(cost.outerjoin(ec, cost.c.EC_Ident == ec.c.EC_Ident))
                .where(keep(ec.c.Der_Activity_Month))
            )

        return self._hes_union(build)

    @mapping("emergency_care_attendances")
    def _emergency_care_attendances(self, schema: TableSchema) -> Select:
        def build(suffix, keep):
            ec = self.raw_table("EC" + suffix)
            diagnosis = self.raw_table("EC_Diagnosis" + suffix)
            return (
                sa.select(
                    ec.c.Patient_ID.label("patient_id"),
                    ec.c.EC_Ident.label("id"),
                    ec.c.Arrival_Date.label("arrival_date"),
                    # Stored case-insensitively, unlike SNOMED CT codes elsewhere.
                    mssql_collate(ec.c.Discharge_Destination_SNOMED_CT).label(
                        "discharge_destination"
                    ),
                    *(
                        mssql_collate(diagnosis.c[f"EC_Diagnosis_{i:02d}"]).label(
                            f"diagnosis_{i:02d}"
                        )
                        for i in range(1, 25)
                    ),
                )
                .select_from(
                    ec.outerjoin(diagnosis, ec.c.EC_Ident == diagnosis.c.EC_Ident)
                )
                .where(keep(ec.c.Der_Activity_Month))
            )

        return self._hes_union(build)

    @mapping("ethnicity_from_sus")
    def _ethnicity_from_sus(self, schema: TableSchema) -> Select:
        # Each patient's most frequent informative code across inpatient,
        # emergency and outpatient records; ties go to the greater code.
        def codes(table_name, code_of):
            def build(suffix, keep):
                table = self.raw_table(table_name + suffix)
                return sa.select(
                    table.c.Patient_ID.label("patient_id"), code_of(table).label("code")
                ).where(keep(table.c.Der_Activity_Month))

            return self._hes_union(build)

        def first_character(column):
            return sa.func.substring(column, 1, 1, type_=sa.String())

        all_codes = sa.union_all(
            codes("APCS", lambda t: first_character(t.c.Ethnic_Group)),
            codes("EC", lambda t: t.c.Ethnic_Category),
            codes("OPA", lambda t: first_character(t.c.Ethnic_Category)),
        ).subquery("all_codes")
        ranked = (
            sa.select(
                all_codes.c.patient_id,
                all_codes.c.code,
                sa.func.row_number()
                .over(
                    partition_by=all_codes.c.patient_id,
                    order_by=(
                        sa.func.count(all_codes.c.code).desc(),
                        all_codes.c.code.desc(),
                    ),
                )
                .label("code_rank"),
            )
            .where(
                all_codes.c.code.is_not(None),
                all_codes.c.code.not_in(UNINFORMATIVE_ETHNICITY_CODES),
            )
            .group_by(all_codes.c.patient_id, all_codes.c.code)
            .subquery("ranked")
        )
        return sa.select(ranked.c.patient_id, ranked.c.code).where(
            ranked.c.code_rank == 1
        )

    @mapping("opa")
    def _opa(self, schema: TableSchema) -> Select:
        def build(suffix, keep):
            opa = self.raw_table("OPA" + suffix)
            return sa.select(
                opa.c.Patient_ID.label("patient_id"),
                opa.c.OPA_Ident.label("opa_ident"),
                opa.c.Appointment_Date.label("appointment_date"),
                opa.c.Attendance_Status.label("attendance_status"),
                opa.c.Consultation_Medium_Used.label("consultation_medium_used"),
                opa.c.First_Attendance.label("first_attendance"),
                opa.c.HRG_Code.label("hrg_code"),
                opa.c.Treatment_Function_Code.label("treatment_function_code"),
                opa.c.Outcome_of_Attendance.label("outcome_of_attendance"),
                opa.c.Referral_Request_Received_Date.label(
                    "referral_request_received_date"
                ),
            ).where(keep(opa.c.Der_Activity_Month))

        return self._hes_union(build)

    @mapping("opa_cost")
    def _opa_cost(self, schema: TableSchema) -> Select:
        def build(suffix, keep):
            cost = self.raw_table("OPA_Cost" + suffix)
            return self._with_opa_dates(
                cost,
                suffix,
                keep,
                sa.cast(cost.c.Tariff_OPP, sa.Double()).label("tariff_opp"),
                sa.cast(cost.c.Grand_Total_Payment_MFF, sa.Double()).label(
                    "grand_total_payment_mff"
                ),
                sa.cast(cost.c.Tariff_Total_Payment, sa.Double()).label(
                    "tariff_total_payment"
                ),
            )

        return self._hes_union(build)

    @mapping("opa_diag")
    def _opa_diag(self, schema: TableSchema) -> Select:
        def build(suffix, keep):
            diag = self.raw_table("OPA_Diag" + suffix)
            return self._with_opa_dates(
                diag,
                suffix,
                keep,
                diag.c.Primary_Diagnosis_Code.label("primary_diagnosis_code"),
                mssql_collate(diag.c.Primary_Diagnosis_Code_Read).label(
                    "primary_diagnosis_code_read"
                ),
                diag.c.Secondary_Diagnosis_Code_1.label("secondary_diagnosis_code_1"),
                mssql_collate(diag.c.Secondary_Diagnosis_Code_1_Read).label(
                    "secondary_diagnosis_code_1_read"
                ),
            )

        return self._hes_union(build)

    @mapping("opa_proc")
    def _opa_proc(self, schema: TableSchema) -> Select:
        def build(suffix, keep):
            proc = self.raw_table("OPA_Proc" + suffix)
            return self._with_opa_dates(
                proc,
                suffix,
                keep,
                proc.c.Primary_Procedure_Code.label("primary_procedure_code"),
                mssql_collate(proc.c.Primary_Procedure_Code_Read).label(
                    "primary_procedure_code_read"
                ),
                proc.c.Procedure_Code_2.label("procedure_code_2"),
                mssql_collate(proc.c.Procedure_Code_2_Read).label(
                    "procedure_code_2_read"
                ),
            )

        return self._hes_union(build)

    def _with_opa_dates(self, table: sa.Table, suffix: str, keep, *columns) -> Select:
        """An outpatient detail table's columns with its appointment's dates."""
        opa = self.raw_table("OPA" + suffix)
        return (
            sa.select(
                table.c.Patient_ID.label("patient_id"),
                table.c.OPA_Ident.label("opa_ident"),
                *columns,
                opa.c.Appointment_Date.label("appointment_date"),
                opa.c.Referral_Request_Received_Date.label(
                    "referral_request_received_date"
                ),
            )
            .select_from(table.outerjoin(opa, table.c.OPA_Ident == opa.c.OPA_Ident))
            .where(keep(opa.c.Der_Activity_Month))
        )

    # -- TPP raw tables -----------------------------------------------------------

    @mapping("apcs_historical")
    def _apcs_historical(self, schema: TableSchema) -> Select:
        apcs = self.raw_table("APCS" + raw_schema.HISTORICAL_COST_SUFFIX)
        return sa.select(
            apcs.c.Patient_ID.label("patient_id"),
            apcs.c.APCS_Ident.label("apcs_ident"),
            apcs.c.Admission_Date.label("admission_date"),
            apcs.c.Discharge_Date.label("discharge_date"),
            apcs.c.Spell_Core_HRG_SUS.label("spell_core_hrg_sus"),
        )

    @mapping("apcs_cost_historical")
    def _apcs_cost_historical(self, schema: TableSchema) -> Select:
        cost = self.raw_table("APCS_Cost" + raw_schema.HISTORICAL_COST_SUFFIX)
        apcs = self.raw_table("APCS" + raw_schema.HISTORICAL_COST_SUFFIX)
        return sa.select(
            cost.c.Patient_ID.label("patient_id"),
            cost.c.APCS_Ident.label("apcs_ident"),
            sa.cast(cost.c.Grand_Total_Payment_MFF, sa.Double()).label(
                "grand_total_payment_mff"
            ),
            sa.cast(cost.c.Tariff_Initial_Amount, sa.Double()).label(
                "tariff_initial_amount"
            ),
            sa.cast(cost.c.Tariff_Total_Payment, sa.Double()).label(
                "tariff_total_payment"
            ),
            apcs.c.Admission_Date.label("admission_date"),
            apcs.c.Discharge_Date.label("discharge_date"),
        ).select_from(cost.outerjoin(apcs, cost.c.APCS_Ident == apcs.c.APCS_Ident))

    @mapping("covid_therapeutics_raw")
    def _covid_therapeutics_raw(self, schema: TableSchema) -> Select:
        therapeutics = self.raw_table("Therapeutics")
        return sa.select(
            therapeutics.c.Patient_ID.label("patient_id"),
            therapeutics.c.CurrentStatus.label("current_status"),
            therapeutics.c.COVID_indication.label("covid_indication"),
            therapeutics.c.Diagnosis.label("diagnosis"),
            therapeutics.c.Intervention.label("intervention"),
            as_date(therapeutics.c.TreatmentStartDate).label("treatment_start_date"),
            therapeutics.c.CASIM05_risk_cohort,
            therapeutics.c.MOL1_high_risk_cohort,
            therapeutics.c.SOT02_risk_cohorts,
            therapeutics.c.FormName.label("form_name"),
            as_date(therapeutics.c.Received).label("received"),
            sa.cast(therapeutics.c.Count, sa.Integer()).label("count"),
            sa.cast(therapeutics.c.AgeAtReceivedDate, sa.Integer()).label(
                "age_at_received_date"
            ),
            therapeutics.c.Region.label("region"),
            as_date(therapeutics.c.Der_LoadDate).label("load_date"),
        )

    @mapping("isaric_raw")
    def _isaric_raw(self, schema: TableSchema) -> Select:
        isaric = self.raw_table("ISARIC_New")

        def column(raw_name):
            raw = isaric.c[raw_name]
            if raw_name in ISARIC_DATE_COLUMNS:
                return sa.case((raw != "NA", as_date(raw)))
            if raw_name in ISARIC_YES_NO_COLUMNS:
                return sa.case(
                    (raw.in_(("YES", "NO", "Unknown")), raw), (raw == "NA", "NO")
                )
            return raw

        return sa.select(
            isaric.c.Patient_ID.label("patient_id"),
            *(
                column(name).label(name.replace(".", "_"))
                for name in raw_schema.ISARIC_COLUMNS
            ),
        )

    @mapping("wl_clockstops_raw")
    def _wl_clockstops_raw(self, schema: TableSchema) -> Select:
        clockstops = self.raw_table("WL_ClockStops")
        return sa.select(
            *self._waiting_list_raw_columns(clockstops),
            clockstops.c.Referral_Request_Received_Date.label(
                "referral_request_received_date"
            ),
            clockstops.c.SOURCE_OF_REFERRAL_FOR_OUTPATIENTS.label(
                "source_of_referral_for_outpatients"
            ),
        )

    @mapping("wl_openpathways_raw")
    def _wl_openpathways_raw(self, schema: TableSchema) -> Select:
        pathways = self.raw_table("WL_OpenPathways")
        return sa.select(
            *self._waiting_list_raw_columns(pathways),
            pathways.c.Current_Pathway_Period_Start_Date.label(
                "current_pathway_period_start_date"
            ),
            pathways.c.REFERRAL_REQUEST_RECEIVED_DATE.label(
                "referral_request_received_date"
            ),
            pathways.c.SOURCE_OF_REFERRAL.label("source_of_referral"),
        )

    def _waiting_list_raw_columns(self, table: sa.Table) -> list:
        """The columns both raw waiting list tables share, as stored (pseudonyms as hex text)."""
        return [
            table.c.Patient_ID.label("patient_id"),
            table.c.ACTIVITY_TREATMENT_FUNCTION_CODE.label(
                "activity_treatment_function_code"
            ),
            table.c.PRIORITY_TYPE_CODE.label("priority_type_code"),
            hex_text(
                table.c.PSEUDO_ORGANISATION_CODE_PATIENT_PATHWAY_IDENTIFIER_ISSUER
            ).label("pseudo_organisation_code_patient_pathway_identifier_issuer"),
            hex_text(table.c.PSEUDO_PATIENT_PATHWAY_IDENTIFIER).label(
                "pseudo_patient_pathway_identifier"
            ),
            hex_text(table.c.Pseudo_Referral_Identifier).label(
                "pseudo_referral_identifier"
            ),
            table.c.REFERRAL_TO_TREATMENT_PERIOD_END_DATE.label(
                "referral_to_treatment_period_end_date"
            ),
            table.c.REFERRAL_TO_TREATMENT_PERIOD_START_DATE.label(
                "referral_to_treatment_period_start_date"
            ),
            table.c.Waiting_List_Type.label("waiting_list_type"),
            table.c.Week_Ending_Date.label("week_ending_date"),
        ]


def _risk_groups(column) -> sa.ColumnElement:
    """A therapeutics risk cohort field as a comma-separated list of short group names."""
    for wordy, short in (
        ("Patients with a ", ""),
        ("Patients with ", ""),
        (" and ", ","),
    ):
        column = sa.func.replace(column, wordy, short, type_=sa.String())
    return column


def _comma_list(*parts) -> sa.ColumnElement:
    """The non-empty `parts` joined with commas; NULL when all are empty or null."""
    # Each present part is prefixed with a comma and the first comma is then
    # cut off, which needs no string-aggregation function.
    prefixed = [
        sa.func.coalesce(sa.literal(",") + null_if(part, ""), "") for part in parts
    ]
    joined = prefixed[0]
    for part in prefixed[1:]:
        joined = joined + part
    return null_if(sa.func.substring(joined, 2, 10_000, type_=sa.String()), "")
