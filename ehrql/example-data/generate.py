"""Make the example database in this directory: one CSV file per core table.

    python ehrql/example-data/generate.py

It is deterministic (a fixed random seed), so running it again rewrites the
same files. The patients are made up, but their shape is realistic: ages
spread over a century, more long-term conditions with age, measurements
repeated over the years, repeat prescriptions for the conditions treated with
them, and deaths in the older patients (registered with ONS from 2019).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import random
from pathlib import Path

from ehrql.codes import DMDCode, ICD10Code, SNOMEDCTCode
from ehrql.tables import core

SEED = 20240401
PATIENT_COUNT = 300
#: Nothing in the example data happens after this date.
DATA_END = datetime.date(2024, 3, 31)
#: ONS death registrations are only available from this date.
ONS_START = datetime.date(2019, 2, 1)
PRACTICE_COUNT = 12


@dataclasses.dataclass(frozen=True)
class Condition:
    """A long-term condition: its code, and how likely a patient of some age is to have it."""

    snomedct: str
    icd10: str
    #: Chance of having the condition, by age band (under 40, 40-64, 65 and over).
    chance: tuple[float, float, float]
    #: dm+d codes of medicines issued repeatedly for the condition.
    medicines: tuple[str, ...] = ()


CONDITIONS = {
    "type_2_diabetes": Condition(
        "44054006", "E119", (0.02, 0.09, 0.18), ("325278007",)
    ),
    "hypertension": Condition("38341003", "I10", (0.03, 0.2, 0.45), ("319773006",)),
    "asthma": Condition("195967001", "J459", (0.12, 0.1, 0.08), ("39113611000001102",)),
    "copd": Condition("13645005", "J449", (0.0, 0.03, 0.09), ("39113611000001102",)),
    "atrial_fibrillation": Condition("49436004", "I489", (0.0, 0.02, 0.1)),
    "myocardial_infarction": Condition(
        "22298006", "I219", (0.0, 0.02, 0.07), ("320000009",)
    ),
    "stroke": Condition("230690007", "I64", (0.0, 0.01, 0.05), ("320000009",)),
    "chronic_kidney_disease": Condition("709044004", "N189", (0.0, 0.03, 0.12)),
    "heart_failure": Condition("84114007", "I509", (0.0, 0.01, 0.06)),
    "depression": Condition("35489007", "F329", (0.1, 0.12, 0.08)),
}

#: Codes recorded with a number, with the range of plausible values.
MEASUREMENTS = {
    "bmi": ("60621009", 17.0, 42.0),
    "systolic_bp": ("271649006", 98.0, 178.0),
    "diastolic_bp": ("271650006", 58.0, 104.0),
}
HBA1C = ("999791000000106", 38.0, 95.0)
SMOKING_CODES = {"never": "266919005", "ex": "8517006", "current": "77176002"}
COVID_CODE = "840539006"
PARACETAMOL = "322236009"
#: Causes of death for people without a condition that explains it.
OTHER_CAUSES = ("C349", "C509", "J189", "G309", "F03", "C189")

SEXES = ("female", "male", "intersex", "unknown")
SEX_WEIGHTS = (0.495, 0.49, 0.003, 0.012)


@dataclasses.dataclass(frozen=True)
class Patient:
    """One row of the patients table."""

    patient_id: int
    date_of_birth: datetime.date
    sex: str
    date_of_death: datetime.date | None


def random_date(
    rng: random.Random, start: datetime.date, end: datetime.date
) -> datetime.date:
    """A uniformly chosen date from start to end inclusive."""
    return start + datetime.timedelta(days=rng.randint(0, max((end - start).days, 0)))


def age_on(patient: Patient, date: datetime.date) -> int:
    """Whole years from birth to `date`."""
    years = date.year - patient.date_of_birth.year
    return years - (
        (date.month, date.day)
        < (patient.date_of_birth.month, patient.date_of_birth.day)
    )


def age_band(age: int) -> int:
    """0, 1 or 2: the index into `Condition.chance`."""
    return 0 if age < 40 else 1 if age < 65 else 2


def last_alive_date(patient: Patient) -> datetime.date:
    """The last day anything can happen to a patient."""
    return patient.date_of_death or DATA_END


def make_patient(rng: random.Random, patient_id: int) -> Patient:
    """A patient born between 1925 and 2023, some of the older ones dead."""
    birth = datetime.date(rng.randint(1925, 2023), rng.randint(1, 12), 1)
    sex = rng.choices(SEXES, SEX_WEIGHTS)[0]
    age = age_on(Patient(patient_id, birth, sex, None), DATA_END)
    death_chance = 0.02 if age < 65 else 0.12 if age < 85 else 0.35
    death = None
    if age > 1 and rng.random() < death_chance:
        death = random_date(
            rng,
            max(birth + datetime.timedelta(days=400), datetime.date(2012, 1, 1)),
            DATA_END,
        )
    return Patient(patient_id, birth, sex, death)


def make_registrations(rng: random.Random, patient: Patient) -> list[dict]:
    """Consecutive registrations with one to three practices; some patients are not registered."""
    if rng.random() < 0.03:
        return []
    count = rng.choices((1, 2, 3), (0.6, 0.3, 0.1))[0]
    start = max(
        patient.date_of_birth + datetime.timedelta(days=rng.randint(7, 90)),
        datetime.date(1990, 1, 1),
    )
    end_of_data = last_alive_date(patient)
    rows = []
    for index in range(count):
        last = index == count - 1
        end = None
        if not last:
            end = random_date(rng, start + datetime.timedelta(days=180), end_of_data)
        elif patient.date_of_death is not None:
            end = patient.date_of_death
        elif rng.random() < 0.08:
            # Moved away, or registered elsewhere outside this data.
            end = random_date(rng, start, DATA_END)
        rows.append(
            {
                "patient_id": patient.patient_id,
                "start_date": start,
                "end_date": end,
                "practice_pseudo_id": rng.randint(1, PRACTICE_COUNT),
            }
        )
        if end is None or end >= end_of_data:
            break
        # A gap of up to two months between practices.
        start = end + datetime.timedelta(days=rng.randint(1, 60))
    return rows


def record_start(patient: Patient) -> datetime.date:
    """Events are recorded from the later of birth and 2000."""
    return max(patient.date_of_birth, datetime.date(2000, 1, 1))


def make_events(
    rng: random.Random, patient: Patient
) -> tuple[list[dict], list[dict], list[str]]:
    """Clinical events and medication issues for a patient, and the conditions they have."""
    start, end = record_start(patient), last_alive_date(patient)
    band = age_band(age_on(patient, end))
    events: list[dict] = []
    medications: list[dict] = []
    conditions = [
        name for name, c in CONDITIONS.items() if rng.random() < c.chance[band]
    ]

    def event(date, code, value=None):
        events.append(
            {
                "patient_id": patient.patient_id,
                "date": date,
                "snomedct_code": code,
                "numeric_value": value,
            }
        )

    def issues(code, first, count, interval_days):
        for i in range(count):
            date = first + datetime.timedelta(
                days=i * interval_days + rng.randint(-3, 3)
            )
            if start <= date <= end:
                medications.append(
                    {"patient_id": patient.patient_id, "date": date, "dmd_code": code}
                )

    for name in conditions:
        condition = CONDITIONS[name]
        diagnosed = random_date(rng, start, end)
        event(diagnosed, condition.snomedct)
        for medicine in condition.medicines:
            issues(
                medicine,
                diagnosed + datetime.timedelta(days=rng.randint(0, 30)),
                rng.randint(2, 14),
                56,
            )
        if name == "type_2_diabetes":
            code, low, high = HBA1C
            for _ in range(rng.randint(1, 5)):
                event(
                    random_date(rng, diagnosed, end),
                    code,
                    round(rng.uniform(low, high)),
                )

    if age_on(patient, end) >= 16:
        for code, low, high in MEASUREMENTS.values():
            for _ in range(rng.choices((0, 1, 2, 4), (0.2, 0.35, 0.3, 0.15))[0]):
                event(
                    random_date(rng, max(start, datetime.date(2010, 1, 1)), end),
                    code,
                    round(rng.uniform(low, high), 1),
                )
        status = rng.choices(tuple(SMOKING_CODES), (0.55, 0.28, 0.17))[0]
        event(random_date(rng, start, end), SMOKING_CODES[status])

    if end >= datetime.date(2020, 3, 1) and rng.random() < 0.15:
        event(
            random_date(
                rng, datetime.date(2020, 3, 1), min(end, datetime.date(2022, 12, 31))
            ),
            COVID_CODE,
        )
    if rng.random() < 0.25:
        issues(PARACETAMOL, random_date(rng, start, end), rng.randint(1, 3), 30)

    def key(row):
        return (row["date"], *(str(v) for v in row.values()))

    return sorted(events, key=key), sorted(medications, key=key), conditions


def make_ons_death(
    rng: random.Random, patient: Patient, conditions: list[str]
) -> dict | None:
    """The ONS death registration, for deaths registered from ONS_START."""
    if patient.date_of_death is None or patient.date_of_death < ONS_START:
        return None
    causes = [CONDITIONS[name].icd10 for name in conditions] or [
        rng.choice(OTHER_CAUSES)
    ]
    rng.shuffle(causes)
    row = {
        "patient_id": patient.patient_id,
        # ONS and the practice occasionally disagree by a day or two.
        "date": patient.date_of_death
        + datetime.timedelta(days=rng.choice((0, 0, 0, 0, 1, -1, 2))),
        "underlying_cause_of_death": causes[0],
    }
    for i in range(1, 16):
        row[f"cause_of_death_{i:02d}"] = causes[i] if i < len(causes) else None
    return row


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def write_table(path: Path, columns: list[str], rows: list[dict]) -> None:
    """Write rows (dicts) to a CSV file with the given header."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row[c]) for c in columns])


def check_codes(rows: list[dict], column: str, code_class) -> None:
    """Fail loudly if a code in the data is not valid in its system."""
    for row in rows:
        if row[column] is not None:
            code_class(row[column])


def generate(directory: Path) -> dict[str, int]:
    """Write every table to `directory`; returns the number of rows of each."""
    rng = random.Random(SEED)
    tables: dict[str, list[dict]] = {
        "patients": [],
        "practice_registrations": [],
        "clinical_events": [],
        "medications": [],
        "ons_deaths": [],
    }
    for patient_id in range(1, PATIENT_COUNT + 1):
        patient = make_patient(rng, patient_id)
        tables["patients"].append(dataclasses.asdict(patient))
        tables["practice_registrations"].extend(make_registrations(rng, patient))
        events, medications, conditions = make_events(rng, patient)
        tables["clinical_events"].extend(events)
        tables["medications"].extend(medications)
        death = make_ons_death(rng, patient, conditions)
        if death is not None:
            tables["ons_deaths"].append(death)

    check_codes(tables["clinical_events"], "snomedct_code", SNOMEDCTCode)
    check_codes(tables["medications"], "dmd_code", DMDCode)
    for i in range(1, 16):
        check_codes(tables["ons_deaths"], f"cause_of_death_{i:02d}", ICD10Code)
    check_codes(tables["ons_deaths"], "underlying_cause_of_death", ICD10Code)

    for name, rows in tables.items():
        columns = ["patient_id", *getattr(core, name)._qm_node.schema.column_names]
        write_table(directory / f"{name}.csv", columns, rows)
    return {name: len(rows) for name, rows in tables.items()}


if __name__ == "__main__":
    counts = generate(Path(__file__).parent)
    for table_name, count in counts.items():
        print(f"{table_name}: {count} rows")
