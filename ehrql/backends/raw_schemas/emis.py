"""The raw tables of the EMIS database (queried through Trino) that the EMIS backend reads.

Every EMIS table is keyed by `registration_id`, a text identifier for a
patient's registration, and carries `hashed_organisation`, the practice.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import DECIMAL, VARCHAR, BigInteger, Date, DateTime, Integer

#: The raw EMIS tables.
metadata = sa.MetaData()


def _table(name: str, *columns: tuple[str, sa.types.TypeEngine]) -> sa.Table:
    return sa.Table(name, metadata, *(sa.Column(c, t) for c, t in columns))


_REGISTRATION = ("registration_id", VARCHAR(128))
_ORGANISATION = ("hashed_organisation", VARCHAR())

_table(
    "patient_all_orgs_v2",
    _REGISTRATION,
    ("nhs_no", VARCHAR()),
    ("gender", Integer()),
    ("date_of_birth", Date()),
    ("date_of_death", Date()),
    _ORGANISATION,
    ("registered_date", Date()),
    ("registration_end_date", Date()),
    ("rural_urban", Integer()),
    ("imd_rank", BigInteger()),
)
_table(
    "observation_all_orgs_v2",
    _REGISTRATION,
    _ORGANISATION,
    ("snomed_concept_id", BigInteger()),
    ("effective_date", DateTime()),
    ("value_pq_1", DECIMAL(20, 2)),
)
_table(
    "medication_all_orgs_v2",
    _REGISTRATION,
    _ORGANISATION,
    ("snomed_concept_id", BigInteger()),
    ("effective_date", DateTime()),
    ("medication_status", Integer()),
)
_table(
    "immunisation_all_orgs_v2",
    _REGISTRATION,
    _ORGANISATION,
    ("snomed_concept_id", BigInteger()),
    ("effective_date", DateTime()),
)
# ONS deaths are keyed by pseudonymised NHS number and reloaded with each ONS
# release, every load stamped with its `upload_date`.
_table(
    "ons_view",
    ("pseudonhsnumber", VARCHAR()),
    ("reg_stat_dod", VARCHAR()),
    ("icd10u", VARCHAR()),
    *((f"icd100{i:02d}", VARCHAR()) for i in range(1, 16)),
    ("upload_date", VARCHAR()),
)
