"""Time a realistic dataset on the DuckDB engine against the same query written by hand.

    python benchmarks/generate_population.py /tmp/population.duckdb --patients 1000000
    python benchmarks/run_dataset_benchmark.py /tmp/population.duckdb

The dataset has twenty variables of the kinds studies use (demographics, the
current registration, first and last events from codelists, counts and means in
windows, prescriptions). The hand-written query computes the same columns the
way a person fluent in DuckDB would: one pass over each event table, joined
to a table of codelist membership, with filtered aggregates and `arg_max`. Each side runs in a fresh process,
so the peak memory reported is that side's own. Both fetch every row into
Python. The compile time is that of turning the query model into SQL.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from benchmarks.generate_population import code_pools
from ehrql.query_engines.duckdb import DuckDBQueryEngine
from ehrql.query_language import case, create_dataset, days, when, years
from ehrql.tables.core import clinical_events, medications, patients, practice_registrations

INDEX_DATE = datetime.date(2023, 1, 1)


def codelists() -> dict[str, list[str]]:
    """Slices of the generated code pools, so that each codelist matches some events."""
    snomed, dmd = code_pools()["snomedct"], code_pools()["dmd"]
    return {
        "diabetes": snomed[0:20],
        "hba1c": snomed[20:25],
        "bmi": snomed[25:28],
        "asthma": snomed[30:60],
        "hypertension": snomed[60:80],
        "blood_pressure": snomed[80:82],
        # Large enough to be matched through a temporary table.
        "cardiovascular": snomed[100:1100],
        "statins": dmd[0:15],
        "metformin": dmd[15:20],
    }


def build_dataset(lists: dict[str, list[str]]):
    """The benchmark's dataset definition, as a researcher would write it."""
    index = INDEX_DATE
    dataset = create_dataset()
    registration = practice_registrations.for_patient_on(index)
    age = patients.age_on(index)
    dataset.define_population(
        registration.exists_for_patient() & patients.is_alive_on(index) & (age >= 18) & (age <= 110)
    )

    events = clinical_events.where(clinical_events.date.is_on_or_before(index))
    meds = medications.where(medications.date.is_on_or_before(index))

    def coded(name):
        return events.where(events.snomedct_code.is_in(lists[name]))

    def prescribed(name):
        return meds.where(meds.dmd_code.is_in(lists[name]))

    hba1c = coded("hba1c")
    latest_hba1c = hba1c.sort_by(hba1c.date).last_for_patient()
    dataset.age = age
    dataset.sex = patients.sex
    dataset.practice = registration.practice_pseudo_id
    dataset.registered_since = registration.start_date
    dataset.has_diabetes = coded("diabetes").exists_for_patient()
    dataset.diabetes_first = coded("diabetes").sort_by(events.date).first_for_patient().date
    dataset.hba1c_last = latest_hba1c.numeric_value
    dataset.hba1c_last_date = latest_hba1c.date
    dataset.hba1c_count_1y = hba1c.where(hba1c.date > index - years(1)).count_for_patient()
    dataset.hba1c_mean_2y = hba1c.where(hba1c.date > index - years(2)).numeric_value.mean_for_patient()
    bmi = coded("bmi")
    dataset.bmi_max_5y = bmi.where(bmi.date > index - years(5)).numeric_value.maximum_for_patient()
    dataset.asthma_count = coded("asthma").count_for_patient()
    dataset.has_hypertension = coded("hypertension").exists_for_patient()
    bp = coded("blood_pressure")
    dataset.bp_last = bp.sort_by(bp.date).last_for_patient().numeric_value
    dataset.cardiovascular_count = coded("cardiovascular").count_for_patient()
    statins = prescribed("statins")
    dataset.statins_1y = statins.where(statins.date > index - years(1)).count_for_patient()
    dataset.statin_first = statins.sort_by(statins.date).first_for_patient().date
    metformin = prescribed("metformin")
    dataset.metformin_last = metformin.sort_by(metformin.date).last_for_patient().date
    dataset.any_medication_90d = meds.where(meds.date > index - days(90)).exists_for_patient()
    dataset.age_band = case(
        when(age < 40).then("18-39"),
        when(age < 65).then("40-64"),
        otherwise="65+",
    )
    return dataset._compile()


SNOMED_LISTS = ("diabetes", "hba1c", "bmi", "asthma", "hypertension", "blood_pressure", "cardiovascular")
DMD_LISTS = ("statins", "metformin")


def _category_values(lists: dict[str, list[str]], names) -> str:
    # The benchmark's codelists do not overlap, so each code has one category.
    return ", ".join(f"('{code}', '{name}')" for name in names for code in lists[name])


def hand_written_sql(lists: dict[str, list[str]]) -> str:
    """The same dataset, written directly in DuckDB SQL.

    Each event table is read once: its codes are joined to a small table giving
    each code's codelist, and every variable is a filtered aggregate.
    """
    snomed = _category_values(lists, SNOMED_LISTS)
    dmd = _category_values(lists, DMD_LISTS)
    # Ties on date are broken on the remaining columns, as ehrQL does; a
    # struct orders its nulls last, so the value is keyed on being present first.
    return f"""
    WITH snomed_lists(code, list) AS (VALUES {snomed}),
    dmd_lists(code, list) AS (VALUES {dmd}),
    registration AS (
        SELECT patient_id,
               arg_max_null(practice_pseudo_id,
                            (start_date, end_date IS NOT NULL, end_date, practice_pseudo_id)) AS practice,
               max(start_date) AS registered_since
        FROM practice_registrations
        WHERE start_date <= DATE '2023-01-01' AND (end_date IS NULL OR end_date >= DATE '2023-01-01')
        GROUP BY patient_id
    ),
    population AS (
        SELECT p.patient_id, p.sex,
               datediff('year', p.date_of_birth, DATE '2023-01-01')
                 - CASE WHEN strftime(p.date_of_birth, '%m%d') > '0101' THEN 1 ELSE 0 END AS age,
               r.practice, r.registered_since
        FROM patients p JOIN registration r USING (patient_id)
        WHERE (p.date_of_death IS NULL OR p.date_of_death > DATE '2023-01-01')
    ),
    events AS (
        SELECT e.patient_id,
          bool_or(l.list = 'diabetes') AS has_diabetes,
          min(e.date) FILTER (l.list = 'diabetes') AS diabetes_first,
          arg_max_null(e.numeric_value, (e.date, e.snomedct_code, e.numeric_value IS NOT NULL, e.numeric_value))
            FILTER (l.list = 'hba1c') AS hba1c_last,
          max(e.date) FILTER (l.list = 'hba1c') AS hba1c_last_date,
          count(*) FILTER (l.list = 'hba1c' AND e.date > DATE '2022-01-01') AS hba1c_count_1y,
          avg(e.numeric_value) FILTER (l.list = 'hba1c' AND e.date > DATE '2021-01-01') AS hba1c_mean_2y,
          max(e.numeric_value) FILTER (l.list = 'bmi' AND e.date > DATE '2018-01-01') AS bmi_max_5y,
          count(*) FILTER (l.list = 'asthma') AS asthma_count,
          bool_or(l.list = 'hypertension') AS has_hypertension,
          arg_max_null(e.numeric_value, (e.date, e.snomedct_code, e.numeric_value IS NOT NULL, e.numeric_value))
            FILTER (l.list = 'blood_pressure') AS bp_last,
          count(*) FILTER (l.list = 'cardiovascular') AS cardiovascular_count
        FROM clinical_events e JOIN snomed_lists l ON l.code = e.snomedct_code
        WHERE e.date <= DATE '2023-01-01'
        GROUP BY e.patient_id
    ),
    meds AS (
        SELECT m.patient_id,
          count(*) FILTER (l.list = 'statins' AND m.date > DATE '2022-01-01') AS statins_1y,
          min(m.date) FILTER (l.list = 'statins') AS statin_first,
          max(m.date) FILTER (l.list = 'metformin') AS metformin_last,
          bool_or(m.date > DATE '2022-10-03') AS any_medication_90d
        FROM medications m LEFT JOIN dmd_lists l ON l.code = m.dmd_code
        WHERE m.date <= DATE '2023-01-01'
        GROUP BY m.patient_id
    )
    SELECT p.patient_id, p.age, p.sex, p.practice, p.registered_since,
           coalesce(e.has_diabetes, false), e.diabetes_first, e.hba1c_last, e.hba1c_last_date,
           coalesce(e.hba1c_count_1y, 0), e.hba1c_mean_2y, e.bmi_max_5y, coalesce(e.asthma_count, 0),
           coalesce(e.has_hypertension, false), e.bp_last, coalesce(e.cardiovascular_count, 0),
           coalesce(m.statins_1y, 0), m.statin_first, m.metformin_last,
           coalesce(m.any_medication_90d, false),
           CASE WHEN p.age < 40 THEN '18-39' WHEN p.age < 65 THEN '40-64' ELSE '65+' END
    FROM population p
    LEFT JOIN events e USING (patient_id)
    LEFT JOIN meds m USING (patient_id)
    WHERE p.age BETWEEN 18 AND 110
    ORDER BY p.patient_id
    """


def _peak_memory_mb() -> float:
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_side(side: str, path: Path) -> dict:
    """Run one side in this process; return its timings, row count and a checksum."""
    lists = codelists()
    dataset = build_dataset(lists)
    engine = DuckDBQueryEngine(path)
    compile_times = []
    for _ in range(5):
        started = time.perf_counter()
        engine.get_queries(dataset)
        compile_times.append(time.perf_counter() - started)
    started = time.perf_counter()
    if side == "engine":
        rows = list(engine.get_results(dataset))
    else:
        with duckdb.connect(str(path), read_only=True) as connection:
            cursor = connection.execute(hand_written_sql(lists))
            rows = []
            while batch := cursor.fetchmany(10_000):
                rows.extend(batch)
    wall = time.perf_counter() - started
    return {
        "wall": wall,
        "rows": len(rows),
        "peak_mb": _peak_memory_mb(),
        "compile": statistics.median(compile_times),
        "first_rows": [list(map(str, r)) for r in rows[:3]],
        "checksum": result_checksum(rows),
    }


def result_checksum(rows) -> str:
    """A fingerprint of result rows, equal for equal results from any engine or process."""
    # Rounded: a parallel mean may differ between runs in its last bits.
    # sha256, not hash(): string hashes differ between processes.
    return hashlib.sha256(
        repr([tuple(round(v, 9) if isinstance(v, float) else v for v in r) for r in rows]).encode()
    ).hexdigest()


def run_module_side(module: str, *args: str) -> dict:
    """Run `python -m module *args` in a fresh process (so that its peak memory
    is its own) and return the JSON object its last line of output prints."""
    output = subprocess.run(
        [sys.executable, "-m", module, *args], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def run_in_subprocess(side: str, path: Path) -> dict:
    return run_module_side("benchmarks.run_dataset_benchmark", str(path), "--side", side)


def main(argv=None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("path", type=Path, help="a DuckDB file made by generate_population.py")
    parser.add_argument("--side", choices=["engine", "hand"], help=argparse.SUPPRESS)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side; the best is reported")
    args = parser.parse_args(argv)
    if args.side:
        print(json.dumps(run_side(args.side, args.path)))
        return
    engine_runs = [run_in_subprocess("engine", args.path) for _ in range(args.repeat)]
    hand_runs = [run_in_subprocess("hand", args.path) for _ in range(args.repeat)]
    engine = min(engine_runs, key=lambda r: r["wall"])
    hand = min(hand_runs, key=lambda r: r["wall"])
    print(f"rows: engine {engine['rows']:,}, hand-written {hand['rows']:,}")
    print(f"results identical: {engine['checksum'] == hand['checksum']}")
    print(f"engine:       {engine['wall']:.2f} s wall, peak {engine['peak_mb']:.0f} MB")
    print(f"hand-written: {hand['wall']:.2f} s wall, peak {hand['peak_mb']:.0f} MB")
    print(f"ratio engine / hand-written: {engine['wall'] / hand['wall']:.2f}")
    print(f"compile time (median of 5): {engine['compile'] * 1000:.1f} ms")


if __name__ == "__main__":
    main()
