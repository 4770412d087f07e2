"""The EMISv2 backend: public ehrQL's `emisv2` tables over the raw EMIS Web v2 tables.

It reads the same raw tables as the EMIS backend (`*_all_orgs_v2`, on
Trino), with the same patients left out, and adds the tables of
`ehrql.tables.emisv2`. EMIS hold only each patient's current registration,
so `practice_registrations` and `addresses` come from the patient table.

The raw patient table carries the 2019 IMD rank only: the 2025 ranks, the
deciles and the MSOA codes of `addresses` have no source here and are null.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.sql.selectable import Select

import ehrql.tables.core
import ehrql.tables.emisv2
import ehrql.tables.raw.core
import ehrql.tables.smoketest
from ehrql.backends.base import mapping
from ehrql.backends.emis import EMISBackend
from ehrql.query_model.table_schema import TableSchema

#: Columns of `emisv2.addresses` that the raw EMIS tables hold no data for.
_ADDRESS_COLUMNS_WITHOUT_SOURCE = {
    "imd_rounded_2025": sa.Integer(),
    "imd_decile_2019": sa.Integer(),
    "imd_decile_2025": sa.Integer(),
    "msoa_code_2011": sa.String(),
    "msoa_code_2021": sa.String(),
}


class EMISv2Backend(EMISBackend):
    """The OpenSAFELY-EMIS backend as public ehrQL's `emisv2` tables see it."""

    name = "emisv2"
    display_name = "EMISv2"
    implements = (
        ehrql.tables.core,
        ehrql.tables.emisv2,
        ehrql.tables.raw.core,
        ehrql.tables.smoketest,
    )

    @mapping("addresses")
    def _addresses(self, schema: TableSchema) -> Select:
        patient = self._unambiguous_patients().subquery("patient")
        return sa.select(
            patient.c.registration_id.label("patient_id"),
            patient.c.registered_date.label("start_date"),
            patient.c.registration_end_date.label("end_date"),
            sa.cast(patient.c.imd_rank, sa.Integer()).label("imd_rounded_2019"),
            *(
                sa.cast(sa.null(), type_).label(name)
                for name, type_ in _ADDRESS_COLUMNS_WITHOUT_SOURCE.items()
            ),
        )
