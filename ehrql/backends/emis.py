"""The EMIS backend: public tables over the raw EMIS Web database, run on Trino.

EMIS hold only each patient's current registration, keyed by a text
`registration_id`. A few ids appear on more than one patient row; those
patients cannot be told apart, so they are left out everywhere.

Public ehrQL's EMIS backend applies no type 1 opt-out exclusion: it reads
no dissent table and grants no permissions, so `patient_exclusions` is None.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.sql.selectable import Select

import ehrql.tables.core
import ehrql.tables.emis
import ehrql.tables.raw.core
import ehrql.tables.smoketest
from ehrql.backends.base import Backend, mapping
from ehrql.backends.expressions import as_date, hex_to_int, text
from ehrql.backends.raw_schemas import emis as raw_schema
from ehrql.query_model.table_schema import TableSchema

#: EMIS `gender` codes (the NHS person gender code) for the sexes ehrQL names.
EMIS_GENDERS = {1: "male", 2: "female"}


class EMISBackend(Backend):
    """The OpenSAFELY-EMIS backend: EMIS Web and linked data on Trino."""

    name = "emis"
    display_name = "EMIS"
    query_engine = "trino"
    implements = (
        ehrql.tables.core,
        ehrql.tables.emis,
        ehrql.tables.raw.core,
        ehrql.tables.smoketest,
    )
    raw_metadata = raw_schema.metadata
    # Patients are keyed by their text `registration_id`.
    patient_id_type = str

    # -- helpers ------------------------------------------------------------

    def _is_unambiguous(self, registration_id: sa.ColumnElement) -> sa.ColumnElement:
        """True where no two patient rows share this `registration_id`.

        Every mapping applies it, so those patients are left out everywhere.
        NULL ids are never counted as shared, so they cannot exclude anyone.
        """
        patient = self.raw_table("patient_all_orgs_v2").alias("shared_check")
        shared_ids = (
            sa.select(patient.c.registration_id)
            .where(patient.c.registration_id.is_not(None))
            .group_by(patient.c.registration_id)
            .having(sa.func.count() > 1)
        )
        return registration_id.not_in(shared_ids)

    def _unambiguous_patients(self) -> Select:
        """Rows of the patient table whose `registration_id` no other row shares."""
        patient = self.raw_table("patient_all_orgs_v2")
        return sa.select(patient).where(self._is_unambiguous(patient.c.registration_id))

    def _coded_records(self, table_name: str, code_column: str) -> Select:
        """The patient, date and SNOMED CT code (as text) of each row of an EMIS record table."""
        table = self.raw_table(table_name)
        return sa.select(
            table.c.registration_id.label("patient_id"),
            as_date(table.c.effective_date).label("date"),
            text(table.c.snomed_concept_id).label(code_column),
        ).where(self._is_unambiguous(table.c.registration_id))

    # -- mappings -----------------------------------------------------------

    @mapping("patients")
    def _patients(self, schema: TableSchema) -> Select:
        patient = self._unambiguous_patients().subquery("patient")
        sex = sa.case(
            *(
                (patient.c.gender == code, label)
                for code, label in EMIS_GENDERS.items()
            ),
            else_="unknown",
        )
        return sa.select(
            patient.c.registration_id.label("patient_id"),
            patient.c.date_of_birth.label("date_of_birth"),
            sex.label("sex"),
            patient.c.date_of_death.label("date_of_death"),
            patient.c.registered_date.label("registration_start_date"),
            patient.c.registration_end_date.label("registration_end_date"),
            patient.c.hashed_organisation.label("practice_pseudo_id"),
            sa.cast(patient.c.rural_urban, sa.Integer()).label(
                "rural_urban_classification"
            ),
            sa.cast(patient.c.imd_rank, sa.Integer()).label("imd_rounded"),
        )

    @mapping("practice_registrations")
    def _practice_registrations(self, schema: TableSchema) -> Select:
        # The core table's practice id is a number; EMIS's is a hex digest.
        patient = self._unambiguous_patients().subquery("patient")
        return sa.select(
            patient.c.registration_id.label("patient_id"),
            patient.c.registered_date.label("start_date"),
            patient.c.registration_end_date.label("end_date"),
            hex_to_int(patient.c.hashed_organisation).label("practice_pseudo_id"),
        )

    @mapping("clinical_events")
    def _clinical_events(self, schema: TableSchema) -> Select:
        observation = self.raw_table("observation_all_orgs_v2")
        return self._coded_records(
            "observation_all_orgs_v2", "snomedct_code"
        ).add_columns(
            sa.cast(observation.c.value_pq_1, sa.Double()).label("numeric_value")
        )

    @mapping("medications")
    def _medications(self, schema: TableSchema) -> Select:
        # EMIS records medicines by their dm+d code, held in the SNOMED CT column.
        return self._coded_records("medication_all_orgs_v2", "dmd_code")

    @mapping("medications_raw")
    def _medications_raw(self, schema: TableSchema) -> Select:
        return self._medications(schema)

    @mapping("vaccinations")
    def _vaccinations(self, schema: TableSchema) -> Select:
        return self._coded_records("immunisation_all_orgs_v2", "procedure_code")

    def _latest_ons_deaths(self) -> Select:
        """Every death in the latest ONS load, linked to a patient, with a `death_rank`.

        ONS rows carry an NHS number, not a registration id, and every ONS
        release is loaded again in full: link through the patient table and
        read only the latest load. Rank 1 is each patient's earliest death.
        """
        ons = self.raw_table("ons_view")
        patient = self._unambiguous_patients().subquery("patient")
        latest_upload = sa.select(sa.func.max(ons.c.upload_date)).scalar_subquery()
        date_of_death = _yyyymmdd_as_date(ons.c.reg_stat_dod)
        return (
            sa.select(
                patient.c.registration_id.label("patient_id"),
                date_of_death.label("date"),
                ons.c.icd10u.label("underlying_cause_of_death"),
                *(
                    ons.c[f"icd100{i:02d}"].label(f"cause_of_death_{i:02d}")
                    for i in range(1, 16)
                ),
                sa.func.row_number()
                .over(
                    partition_by=patient.c.registration_id,
                    order_by=(date_of_death, ons.c.icd10u),
                )
                .label("death_rank"),
            )
            .select_from(ons.join(patient, ons.c.pseudonhsnumber == patient.c.nhs_no))
            .where(ons.c.upload_date == latest_upload)
        )

    @mapping("ons_deaths")
    def _ons_deaths(self, schema: TableSchema) -> Select:
        ranked = self._latest_ons_deaths().subquery("ranked")
        return sa.select(ranked).where(ranked.c.death_rank == 1)

    @mapping("ons_deaths_raw")
    def _ons_deaths_raw(self, schema: TableSchema) -> Select:
        return self._latest_ons_deaths()


def _yyyymmdd_as_date(column) -> sa.ColumnElement:
    """Text such as '20210315' as a DATE, by way of ISO text every dialect can cast."""

    def part(start, length):
        return sa.func.substring(column, start, length, type_=sa.String())

    iso = part(1, 4) + sa.literal("-") + part(5, 2) + sa.literal("-") + part(7, 2)
    return as_date(iso)
