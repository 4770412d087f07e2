"""Raw backend rows from rows of the public core tables: the inverse of each mapping.

Each `*_raw_tables` function takes public core-table rows, keyed by table name
(`patients`, `practice_registrations`, `clinical_events`, `medications`,
`ons_deaths`) as `ehrql.main.read_table_directory` reads them (typed values,
codes as code objects or strings), and returns raw rows, keyed by raw table
name, which the backend's mappings turn back into exactly those public rows.

Where the raw schema cannot hold a public value (the mapping would drop or
change it), the inverse raises `UnrepresentableError` rather than write rows
that map back to something else; `tpp_representable` and `emis_representable`
reduce public data to what each backend can hold.

What TPP cannot hold:

* `clinical_events.numeric_value` not exactly a 32-bit float: `NumericValue`
  is REAL, so 100.1 would come back as 100.0999984741211;
* 9999-12-31 as a date of death, an event date or a registration end date:
  TPP writes that date for "none" and the mapping reads it as NULL.

What EMIS cannot hold:

* patient ids other than the text of the registration id (`registration_id`
  is text, so public id 7 comes back as "7");
* a patient without exactly one practice registration, or a registration
  without its patient: EMIS has one row per patient, holding the current
  registration;
* sex `intersex` (EMIS's gender codes name only male and female);
* a negative practice id (it is stored as hexadecimal digits);
* a `numeric_value` with more than two decimal places (DECIMAL(20, 2));
* an ONS death of a patient with no patient row (deaths are linked by NHS
  number through the patient table).
"""

from __future__ import annotations

import datetime
import struct
from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path

from ehrql.backends.base import Backend
from ehrql.backends.expressions import FAR_FUTURE
from ehrql.tables.core import CAUSE_OF_DEATH_COLUMNS
from tests.lib.raw_databases import RawDatabase

#: The core tables, by name, that the inverses read.
CORE_TABLE_NAMES = (
    "patients",
    "practice_registrations",
    "clinical_events",
    "medications",
    "ons_deaths",
)

#: Time of day given to raw DATETIME values, to show the mappings drop it.
RAW_TIME_OF_DAY = datetime.time(10, 30)

#: TPP's `Sex` letter for each public sex.
TPP_SEX_LETTERS = {"male": "M", "female": "F", "intersex": "I", "unknown": "U"}

#: EMIS's `gender` code for each public sex it can hold (0 is "not known").
EMIS_GENDER_CODES = {"male": 1, "female": 2, "unknown": 0}

#: The CTV3 code given to public events without a SNOMED CT code: such events
#: come from TPP's CTV3 table, whose code the core table does not show.
PLACEHOLDER_CTV3_CODE = "XaIJm"

#: EMIS ONS upload dates: the latest load is the one read; the stale one is
#: an earlier release whose rows the mapping must ignore.
EMIS_LATEST_UPLOAD = "2024-02-01"
EMIS_STALE_UPLOAD = "2023-11-01"


class UnrepresentableError(ValueError):
    """A public value that a backend's raw tables cannot hold."""


# -- values ------------------------------------------------------------------


def code_text(code) -> str | None:
    """A code object or string as its text; None stays None."""
    if code is None:
        return None
    return getattr(code, "value", code)


def float32(value: float) -> float:
    """The 32-bit float nearest `value`, as a Python float (OverflowError beyond its range)."""
    return struct.unpack("f", struct.pack("f", value))[0]


def is_float32(value: float | None) -> bool:
    """True when a REAL column holds `value` exactly (None always fits)."""
    if value is None:
        return True
    try:
        return float32(value) == value
    except OverflowError:
        return False


def has_two_decimals(value: float | None) -> bool:
    """True when a DECIMAL(20, 2) column holds `value` exactly (None always fits)."""
    if value is None:
        return True
    exact = Decimal(repr(value))
    return exact == exact.quantize(Decimal("0.01")) and abs(exact) < Decimal(10) ** 18


def raw_datetime(date: datetime.date | None) -> datetime.datetime | None:
    """A public date as a raw DATETIME at `RAW_TIME_OF_DAY`; None stays None."""
    return None if date is None else datetime.datetime.combine(date, RAW_TIME_OF_DAY)


def _tpp_date_or_sentinel(date, what: str):
    if date == FAR_FUTURE:
        raise UnrepresentableError(f"TPP reads {FAR_FUTURE} as a missing {what}")
    return FAR_FUTURE if date is None else date


def _tpp_datetime_or_sentinel(date, what: str):
    date = _tpp_date_or_sentinel(date, what)
    # The mapping compares with the sentinel at midnight.
    return (
        datetime.datetime.combine(FAR_FUTURE, datetime.time())
        if date == FAR_FUTURE
        else raw_datetime(date)
    )


def _merge(*groups: Mapping[str, list[dict]]) -> dict[str, list[dict]]:
    merged = defaultdict(list)
    for group in groups:
        for name, rows in group.items():
            merged[name].extend(rows)
    return dict(merged)


# -- TPP ---------------------------------------------------------------------


def tpp_patients(patients: Iterable[dict]) -> dict[str, list[dict]]:
    """`Patient` rows: sex as a letter, no date of death as 9999-12-31."""
    return {
        "Patient": [
            {
                "Patient_ID": row["patient_id"],
                "DateOfBirth": row["date_of_birth"],
                "Sex": TPP_SEX_LETTERS[row["sex"]],
                "DateOfDeath": _tpp_date_or_sentinel(
                    row["date_of_death"], "date of death"
                ),
            }
            for row in patients
        ]
    }


def tpp_practice_registrations(registrations: Iterable[dict]) -> dict[str, list[dict]]:
    """`RegistrationHistory` rows (open ends as 9999-12-31) and one `Organisation` per practice."""
    registrations = list(registrations)
    history = [
        {
            "Registration_ID": index,
            "Organisation_ID": row["practice_pseudo_id"],
            "Patient_ID": row["patient_id"],
            "StartDate": raw_datetime(row["start_date"]),
            "EndDate": _tpp_datetime_or_sentinel(row["end_date"], "registration end"),
        }
        for index, row in enumerate(registrations, start=1)
    ]
    practices = sorted({row["practice_pseudo_id"] for row in registrations})
    organisations = [
        {"Organisation_ID": practice, "STPCode": "", "Region": "", "MSOACode": ""}
        for practice in practices
    ]
    return {"RegistrationHistory": history, "Organisation": organisations}


def tpp_clinical_events(events: Iterable[dict]) -> dict[str, list[dict]]:
    """SNOMED CT events in `CodedEvent_SNOMED`; events without one in `CodedEvent` (CTV3).

    A missing date is written as the sentinel 9999-12-31.
    """
    snomed, ctv3 = [], []
    for index, row in enumerate(events, start=1):
        if not is_float32(row["numeric_value"]):
            raise UnrepresentableError(
                f"TPP's REAL NumericValue cannot hold {row['numeric_value']!r}"
            )
        raw = {
            "Patient_ID": row["patient_id"],
            "Consultation_ID": index,
            "CodedEvent_ID": index,
            "NumericValue": row["numeric_value"],
            "ConsultationDate": _tpp_datetime_or_sentinel(row["date"], "event date"),
        }
        code = code_text(row["snomedct_code"])
        if code is None:
            ctv3.append({**raw, "CTV3Code": PLACEHOLDER_CTV3_CODE})
        else:
            snomed.append({**raw, "ConceptId": code, "CodeSystemId": 0})
    return {"CodedEvent_SNOMED": snomed, "CodedEvent": ctv3}


def multilex_id(dmd_code: str) -> str:
    """The made-up Multilex drug id standing for a dm+d code."""
    return f"{dmd_code};1;0"


def tpp_medications(medications: Iterable[dict]) -> dict[str, list[dict]]:
    """`MedicationIssue` rows, keyed to the drug dictionaries by Multilex id.

    Alternate codes go in OpenSAFELY's custom dictionary, with an unusable
    entry in TPP's, so that both halves of the dictionary are exercised. A
    missing dm+d code is an issue with no Multilex id.
    """
    medications = list(medications)
    issues = [
        {
            "Patient_ID": row["patient_id"],
            "Consultation_ID": index,
            "MedicationIssue_ID": index,
            "MultilexDrug_ID": None
            if row["dmd_code"] is None
            else multilex_id(code_text(row["dmd_code"])),
            "ConsultationDate": raw_datetime(row["date"]),
        }
        for index, row in enumerate(medications, start=1)
    ]
    codes = sorted({code_text(row["dmd_code"]) for row in medications} - {None})
    tpp, custom = [], []
    for index, code in enumerate(codes):
        drug = multilex_id(code)
        if index % 2:
            tpp.append({"MultilexDrug_ID": drug, "DMD_ID": "MULTIPLE_DMD_MAPPING"})
            custom.append({"MultilexDrug_ID": drug, "DMD_ID": code})
        else:
            tpp.append({"MultilexDrug_ID": drug, "DMD_ID": code})
    return {
        "MedicationIssue": issues,
        "MedicationDictionary": tpp,
        "CustomMedicationDictionary": custom,
    }


def _causes(row: dict) -> dict[str, str | None]:
    return {name: code_text(row[name]) for name in CAUSE_OF_DEATH_COLUMNS}


def tpp_ons_deaths(deaths: Iterable[dict]) -> dict[str, list[dict]]:
    """`ONS_Deaths` rows, one per public row."""
    rows = []
    for row in deaths:
        causes = _causes(row)
        rows.append(
            {
                "Patient_ID": row["patient_id"],
                "dod": row["date"],
                "icd10u": causes["underlying_cause_of_death"],
                **{
                    f"ICD100{i:02d}": causes[f"cause_of_death_{i:02d}"]
                    for i in range(1, 16)
                },
            }
        )
    return {"ONS_Deaths": rows}


def tpp_raw_tables(public: Mapping[str, list[dict]]) -> dict[str, list[dict]]:
    """Raw TPP rows for public core-table rows keyed by table name."""
    return _merge(
        tpp_patients(public.get("patients", [])),
        tpp_practice_registrations(public.get("practice_registrations", [])),
        tpp_clinical_events(public.get("clinical_events", [])),
        tpp_medications(public.get("medications", [])),
        tpp_ons_deaths(public.get("ons_deaths", [])),
    )


def tpp_representable(public: Mapping[str, list[dict]]) -> dict[str, list[dict]]:
    """Public data TPP can hold: event numeric values rounded to 32-bit floats."""
    reduced = dict(public)
    reduced["clinical_events"] = [
        {
            **row,
            "numeric_value": None
            if row["numeric_value"] is None
            else float32(row["numeric_value"]),
        }
        for row in public.get("clinical_events", [])
    ]
    return reduced


# -- EMIS --------------------------------------------------------------------


def emis_registration_id(patient_id: int) -> str:
    """The EMIS `registration_id` (text) of a public patient id."""
    return str(patient_id)


def emis_nhs_number(patient_id: int) -> str:
    """The pseudonymised NHS number linking a patient to ONS deaths."""
    return f"nhs-{patient_id:010d}"


def emis_practice_hash(practice_pseudo_id: int) -> str:
    """A practice id as the hexadecimal digits EMIS's mapping reads back."""
    if practice_pseudo_id < 0:
        raise UnrepresentableError(
            "EMIS practice ids are hexadecimal digits, never negative"
        )
    return f"{practice_pseudo_id:016x}"


def emis_patients(
    patients: Iterable[dict], registrations: Iterable[dict]
) -> dict[str, list[dict]]:
    """`patient_all_orgs_v2` rows: each patient with their one registration."""
    by_patient = defaultdict(list)
    for row in registrations:
        by_patient[row["patient_id"]].append(row)
    rows = []
    for patient in patients:
        pid = patient["patient_id"]
        held = by_patient.pop(pid, [])
        if len(held) != 1:
            raise UnrepresentableError(
                f"EMIS holds one registration per patient; patient {pid} has {len(held)}"
            )
        if patient["sex"] not in EMIS_GENDER_CODES:
            raise UnrepresentableError(
                f"EMIS has no gender code for {patient['sex']!r}"
            )
        registration = held[0]
        rows.append(
            {
                "registration_id": emis_registration_id(pid),
                "nhs_no": emis_nhs_number(pid),
                "gender": EMIS_GENDER_CODES[patient["sex"]],
                "date_of_birth": patient["date_of_birth"],
                "date_of_death": patient["date_of_death"],
                "hashed_organisation": emis_practice_hash(
                    registration["practice_pseudo_id"]
                ),
                "registered_date": registration["start_date"],
                "registration_end_date": registration["end_date"],
            }
        )
    if by_patient:
        raise UnrepresentableError(
            f"EMIS registrations need a patient row: {sorted(by_patient)}"
        )
    return {"patient_all_orgs_v2": rows}


def _emis_coded(rows: Iterable[dict], code_column: str) -> list[dict]:
    return [
        {
            "registration_id": emis_registration_id(row["patient_id"]),
            "snomed_concept_id": None
            if row[code_column] is None
            else int(code_text(row[code_column])),
            "effective_date": raw_datetime(row["date"]),
        }
        for row in rows
    ]


def emis_clinical_events(events: Iterable[dict]) -> dict[str, list[dict]]:
    """`observation_all_orgs_v2` rows: SNOMED CT codes as numbers."""
    events = list(events)
    for row in events:
        if not has_two_decimals(row["numeric_value"]):
            raise UnrepresentableError(
                f"EMIS's DECIMAL(20, 2) cannot hold {row['numeric_value']!r}"
            )
    coded = _emis_coded(events, "snomedct_code")
    return {
        "observation_all_orgs_v2": [
            {
                **raw,
                "value_pq_1": None
                if row["numeric_value"] is None
                else Decimal(repr(row["numeric_value"])),
            }
            for raw, row in zip(coded, events)
        ]
    }


def emis_medications(medications: Iterable[dict]) -> dict[str, list[dict]]:
    """`medication_all_orgs_v2` rows: dm+d codes as numbers in the SNOMED CT column."""
    return {"medication_all_orgs_v2": _emis_coded(medications, "dmd_code")}


def emis_ons_deaths(
    deaths: Iterable[dict], patient_ids: Iterable[int], stale_upload=True
) -> dict[str, list[dict]]:
    """`ons_view` rows keyed by NHS number, dates as YYYYMMDD text, in the latest upload.

    With `stale_upload`, each death also appears in an earlier upload a day
    earlier, which the mapping must ignore.
    """
    known = set(patient_ids)
    rows = []
    for row in deaths:
        if row["patient_id"] not in known:
            raise UnrepresentableError(
                f"EMIS links deaths through the patient table: {row['patient_id']}"
            )
        causes = _causes(row)
        raw = {
            "pseudonhsnumber": emis_nhs_number(row["patient_id"]),
            "icd10u": causes["underlying_cause_of_death"],
            **{
                f"icd100{i:02d}": causes[f"cause_of_death_{i:02d}"]
                for i in range(1, 16)
            },
        }
        date = row["date"]
        rows.append(
            {**raw, "reg_stat_dod": _yyyymmdd(date), "upload_date": EMIS_LATEST_UPLOAD}
        )
        if stale_upload and date is not None and date > datetime.date.min:
            earlier = date - datetime.timedelta(days=1)
            rows.append(
                {
                    **raw,
                    "reg_stat_dod": _yyyymmdd(earlier),
                    "upload_date": EMIS_STALE_UPLOAD,
                }
            )
    return {"ons_view": rows}


def _yyyymmdd(date: datetime.date | None) -> str | None:
    # Not strftime, which need not pad years before 1000 to four digits.
    return None if date is None else f"{date.year:04d}{date.month:02d}{date.day:02d}"


def emis_raw_tables(public: Mapping[str, list[dict]]) -> dict[str, list[dict]]:
    """Raw EMIS rows for public core-table rows keyed by table name."""
    patients = public.get("patients", [])
    return _merge(
        emis_patients(patients, public.get("practice_registrations", [])),
        emis_clinical_events(public.get("clinical_events", [])),
        emis_medications(public.get("medications", [])),
        emis_ons_deaths(
            public.get("ons_deaths", []), (row["patient_id"] for row in patients)
        ),
    )


def latest_registration(registrations: Iterable[dict]) -> dict:
    """The registration that started last (then ended last, open counting as latest)."""
    return max(
        registrations,
        key=lambda r: (
            r["start_date"],
            r["end_date"] is None,
            r["end_date"] or r["start_date"],
            r["practice_pseudo_id"],
        ),
    )


def emis_representable(public: Mapping[str, list[dict]]) -> dict[str, list[dict]]:
    """Public data EMIS can hold: patients with a registration, each with only the latest.

    Intersex patients, patients without a registration, registrations and
    deaths without a patient are left out. Events are kept whatever patient
    they belong to, since EMIS's event tables need no patient row.
    """
    by_patient = defaultdict(list)
    for row in public.get("practice_registrations", []):
        by_patient[row["patient_id"]].append(row)
    patients = [
        row
        for row in public.get("patients", [])
        if row["sex"] in EMIS_GENDER_CODES and by_patient[row["patient_id"]]
    ]
    kept = {row["patient_id"] for row in patients}
    return {
        **public,
        "patients": patients,
        "practice_registrations": [
            latest_registration(by_patient[pid]) for pid in sorted(kept)
        ],
        "ons_deaths": [
            row for row in public.get("ons_deaths", []) if row["patient_id"] in kept
        ],
    }


def public_with_text_ids(public: Mapping[str, list[dict]]) -> dict[str, list[dict]]:
    """Public rows with patient ids as EMIS gives them back (text)."""
    return {
        name: [
            {**row, "patient_id": emis_registration_id(row["patient_id"])}
            for row in rows
        ]
        for name, rows in public.items()
    }


# -- loading -----------------------------------------------------------------


def load_raw_database(
    backend: Backend, path: Path, raw_tables: Mapping[str, list[dict]]
) -> Path:
    """A new raw DuckDB database at `path` holding `raw_tables`; returns `path`."""
    database = RawDatabase.create(backend, path)
    try:
        for name, rows in raw_tables.items():
            if rows:
                database.insert(name, *rows)
    finally:
        database.dispose()
    return path
