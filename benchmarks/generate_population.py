"""Write a synthetic population to a DuckDB file, for benchmarking the engine.

    python benchmarks/generate_population.py out.duckdb --patients 1000000

The tables are the core ones (`patients`, `practice_registrations`,
`clinical_events`, `medications`, `ons_deaths`) with plausible shapes: one to three
registrations per patient, about 40 clinical events and 20 prescriptions each,
drawn from pools of valid codes in which a few common codes dominate. All rows
are made inside DuckDB (generate_series and random), so a million patients take
seconds, not hours. The code pools are returned by `code_pools` so that a
benchmark can pick codelists that actually match.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import duckdb

from ehrql.codes import DMDCode, SNOMEDCTCode

#: Codes in each pool; the benchmark's codelists are slices of these.
POOL_SIZE = 2_000


def valid_codes(code_class, start: int, count: int) -> list[str]:
    """The first `count` valid codes of a system at or after `start`.

    Both SNOMED CT and dm+d end in a (Verhoeff) check digit, so for each stem
    exactly one final digit is valid; codes with a wrong one would draw a
    warning from ehrql.
    """
    codes = []
    stem = start
    while len(codes) < count:
        for digit in range(10):
            candidate = f"{stem}{digit}"
            if code_class.is_valid(candidate) and code_class.doubt(candidate) is None:
                codes.append(candidate)
                break
        stem += 1
    return codes


def code_pools() -> dict[str, list[str]]:
    """The SNOMED CT and dm+d code pools the generated events draw from."""
    return {
        "snomedct": valid_codes(SNOMEDCTCode, 1_000_000, POOL_SIZE),
        "dmd": valid_codes(DMDCode, 3_000_000, POOL_SIZE),
    }


def _pool_table(connection, name: str, codes: list[str]) -> None:
    connection.execute(f"CREATE TEMPORARY TABLE {name} (idx BIGINT, code VARCHAR)")
    connection.executemany(f"INSERT INTO {name} VALUES (?, ?)", list(enumerate(codes)))


# Index into a pool skewed towards the start (square of a uniform number), so
# that some codes are common and most are rare, as in real records.
_SKEWED_INDEX = f"CAST(floor(pow(random(), 2) * {POOL_SIZE}) AS BIGINT)"

# An ICD-10 code from a small pool, in which circulatory (I) causes are common.
_ICD10_CODE = (
    "(['I21', 'I219', 'I64', 'I489', 'I509', 'C349', 'J440', 'F03', 'G309', 'J189', 'N189', 'E119'])"
    "[1 + CAST(floor(pow(random(), 2) * 12) AS INTEGER)]"
)

_STATEMENTS = [
    """
    CREATE TABLE patients AS
    SELECT
        id AS patient_id,
        CAST(date_trunc('month', DATE '1920-01-01' + CAST(floor(random() * 37000) AS INTEGER)) AS DATE)
            AS date_of_birth,
        CASE WHEN random() < 0.49 THEN 'female' WHEN random() < 0.98 THEN 'male'
             WHEN random() < 0.5 THEN 'intersex' ELSE 'unknown' END AS sex,
        CASE WHEN random() < 0.05 THEN DATE '2005-01-01' + CAST(floor(random() * 7000) AS INTEGER) END
            AS date_of_death
    FROM generate_series(1, $patients) AS ids(id)
    """,
    """
    CREATE TABLE practice_registrations AS
    SELECT
        patient_id,
        start_date,
        CASE WHEN n < registrations - 1 OR random() < 0.1
             THEN start_date + CAST(floor(random() * 3000) AS INTEGER) END AS end_date,
        CAST(floor(random() * 500) AS BIGINT) AS practice_pseudo_id
    FROM (
        SELECT
            patient_id, registrations, n,
            DATE '1995-01-01' + CAST(n * 3000 + floor(random() * 3000) AS INTEGER) AS start_date
        FROM (
            SELECT patient_id, 1 + CAST(floor(random() * 3) AS BIGINT) AS registrations FROM patients
        ), LATERAL (SELECT unnest(range(registrations)) AS n)
    )
    """,
    f"""
    CREATE TABLE clinical_events AS
    SELECT
        patient_id,
        DATE '2000-01-01' + CAST(floor(random() * 9000) AS INTEGER) AS date,
        pool.code AS snomedct_code,
        CASE WHEN random() < 0.3 THEN round(random() * 100, 1) END AS numeric_value
    FROM (
        SELECT patient_id, {_SKEWED_INDEX} AS code_idx
        FROM (SELECT patient_id, CAST(floor(random() * 80) AS BIGINT) AS events FROM patients),
        LATERAL (SELECT unnest(range(events)))
    ) AS e
    JOIN snomed_pool AS pool ON pool.idx = e.code_idx
    """,
    f"""
    CREATE TABLE medications AS
    SELECT
        patient_id,
        DATE '2000-01-01' + CAST(floor(random() * 9000) AS INTEGER) AS date,
        pool.code AS dmd_code
    FROM (
        SELECT patient_id, {_SKEWED_INDEX} AS code_idx
        FROM (SELECT patient_id, CAST(floor(random() * 40) AS BIGINT) AS prescriptions FROM patients),
        LATERAL (SELECT unnest(range(prescriptions)))
    ) AS m
    JOIN dmd_pool AS pool ON pool.idx = m.code_idx
    """,
    # A registered death for about one patient in twenty, from 2019 (when the
    # ONS data starts), with an underlying cause and up to three mentioned.
    f"""
    CREATE TABLE ons_deaths AS
    SELECT
        patient_id,
        DATE '2019-02-01' + CAST(floor(random() * 1800) AS INTEGER) AS date,
        {_ICD10_CODE} AS underlying_cause_of_death,
        {_ICD10_CODE} AS cause_of_death_01,
        CASE WHEN random() < 0.5 THEN {_ICD10_CODE} END AS cause_of_death_02,
        CASE WHEN random() < 0.2 THEN {_ICD10_CODE} END AS cause_of_death_03,
        {", ".join(f"CAST(NULL AS VARCHAR) AS cause_of_death_{i:02}" for i in range(4, 16))}
    FROM patients
    WHERE random() < 0.05
    """,
]


def generate(path: Path, patients: int, seed: float = 0.42) -> dict[str, int]:
    """Write the tables to a new DuckDB file; return each table's row count."""
    if path.exists():
        raise FileExistsError(
            f"{path} already exists; remove it or choose another path"
        )
    pools = code_pools()
    with duckdb.connect(str(path)) as connection:
        connection.execute("SELECT setseed(?)", [seed])
        _pool_table(connection, "snomed_pool", pools["snomedct"])
        _pool_table(connection, "dmd_pool", pools["dmd"])
        for statement in _STATEMENTS:
            connection.execute(statement.replace("$patients", str(int(patients))))
        tables = (
            "patients",
            "practice_registrations",
            "clinical_events",
            "medications",
            "ons_deaths",
        )
        return {
            t: connection.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in tables
        }


def main(argv=None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("path", type=Path, help="the DuckDB file to create")
    parser.add_argument("--patients", type=int, default=1_000_000)
    parser.add_argument(
        "--seed", type=float, default=0.42, help="DuckDB random seed, between 0 and 1"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    counts = generate(args.path, args.patients, args.seed)
    for table, count in counts.items():
        print(f"{table:>24}: {count:>12,} rows")
    print(f"written to {args.path} in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
