"""End-to-end dataset benchmark: the `ehrql` command line against hand-written DuckDB SQL.

    python benchmarks/generate_population.py /tmp/population.duckdb --patients 1000000
    python -m benchmarks.run_dataset_benchmark /tmp/population.duckdb --repeat 3

Each round runs, each in a fresh process and in turn (so that both sides see
the same load on a shared machine):

* `python -m ehrql generate-dataset DEFINITION --dsn DB --output OUT.csv`,
  timed from starting the process to the file being written;
* the same dataset as hand-written DuckDB SQL, in a process that imports
  DuckDB, connects and writes its CSV with `COPY ... TO`, formatting cells as
  ehrql does (T/F booleans) so that the two files can be compared;
* with `--measures`, `python -m ehrql generate-measures` for five years of
  weekly intervals with two groupings (see `run_measures_benchmark.py`).

Before timing, ehrql's modules are byte-compiled (as installing a package
does), so that neither side spends its time compiling Python source: in a
checkout run with PYTHONDONTWRITEBYTECODE, every run would otherwise compile
each module it imports (about 0.2 s of ehrql's CPU). `--no-byte-compile`
leaves them as they are.

It prints the median of each side's wall time, CPU time (user + system, all
threads: steadier than wall time on a shared machine) and peak memory (the
process's maximum resident set), their ratios, and the compile time (query model to
SQL, median of 20, in this process). The two CSV files are compared cell by
cell, floats to 9 significant digits (a parallel mean may differ in its last bits).

The dataset has 24 variables of the kinds studies use: demographics, an age
band by case/when, the registration on the index date, codelist filters,
first and last events, counts and means in windows, episodes of asthma
(`count_episodes_for_patient`), prescriptions, and the registered cause of
death.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from benchmarks.generate_population import code_pools

INDEX_DATE = datetime.date(2023, 1, 1)

#: ICD-10 codes of deaths from cardiovascular disease, for the cause-of-death variable.
CVD_DEATH_CODES = ["I21", "I219", "I64", "I489", "I509"]


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


#: The benchmark's dataset definition, as a researcher would write it; the
#: codelists are filled in as literals so that the file stands alone.
DEFINITION = """
import datetime

from ehrql import case, create_dataset, days, when, years
from ehrql.tables.core import clinical_events, medications, ons_deaths, patients, practice_registrations

LISTS = {lists!r}
CVD_DEATH_CODES = {cvd_death_codes!r}

index = datetime.date.fromisoformat({index!r})
dataset = create_dataset()
registration = practice_registrations.for_patient_on(index)
age = patients.age_on(index)
dataset.define_population(
    registration.exists_for_patient() & patients.is_alive_on(index) & (age >= 18) & (age <= 110)
)

events = clinical_events.where(clinical_events.date.is_on_or_before(index))
meds = medications.where(medications.date.is_on_or_before(index))


def coded(name):
    return events.where(events.snomedct_code.is_in(LISTS[name]))


def prescribed(name):
    return meds.where(meds.dmd_code.is_in(LISTS[name]))


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
dataset.asthma_episodes = coded("asthma").date.count_episodes_for_patient(days(30))
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
dataset.death_date = ons_deaths.date
dataset.underlying_cause_of_death = ons_deaths.underlying_cause_of_death
dataset.died_of_cvd = ons_deaths.cause_of_death_is_in(CVD_DEATH_CODES)
"""


def definition_source(lists: dict[str, list[str]]) -> str:
    """The text of the benchmark's dataset definition file."""
    return DEFINITION.format(
        lists=lists, cvd_death_codes=CVD_DEATH_CODES, index=INDEX_DATE.isoformat()
    )


def build_dataset(lists: dict[str, list[str]]):
    """The benchmark's dataset, as a query model."""
    namespace: dict = {}
    exec(compile(definition_source(lists), "<benchmark definition>", "exec"), namespace)
    return namespace["dataset"]._compile()


SNOMED_LISTS = (
    "diabetes",
    "hba1c",
    "bmi",
    "asthma",
    "hypertension",
    "blood_pressure",
    "cardiovascular",
)
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
    causes = ", ".join(f"'{code}'" for code in CVD_DEATH_CODES)
    cause_columns = [
        "underlying_cause_of_death",
        *(f"cause_of_death_{i:02}" for i in range(1, 16)),
    ]
    cvd_any = " OR ".join(f"{column} IN ({causes})" for column in cause_columns)
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
    ),
    asthma_episodes AS (
        SELECT patient_id, count(*) FILTER (previous IS NULL OR date - previous > 30) AS asthma_episodes
        FROM (
            SELECT e.patient_id, e.date, lag(e.date) OVER (PARTITION BY e.patient_id ORDER BY e.date) AS previous
            FROM clinical_events e JOIN snomed_lists l ON l.code = e.snomedct_code
            WHERE l.list = 'asthma' AND e.date <= DATE '2023-01-01'
        )
        GROUP BY patient_id
    ),
    deaths AS (
        SELECT patient_id, date, underlying_cause_of_death,
               {cvd_any} AS died_of_cvd
        FROM ons_deaths
    )
    SELECT p.patient_id, p.age, p.sex, p.practice, p.registered_since,
           {tf("coalesce(e.has_diabetes, false)")} AS has_diabetes,
           e.diabetes_first, e.hba1c_last, e.hba1c_last_date,
           coalesce(e.hba1c_count_1y, 0) AS hba1c_count_1y, e.hba1c_mean_2y, e.bmi_max_5y,
           coalesce(e.asthma_count, 0) AS asthma_count, coalesce(ae.asthma_episodes, 0) AS asthma_episodes,
           {tf("coalesce(e.has_hypertension, false)")} AS has_hypertension,
           e.bp_last, coalesce(e.cardiovascular_count, 0) AS cardiovascular_count,
           coalesce(m.statins_1y, 0) AS statins_1y, m.statin_first, m.metformin_last,
           {tf("coalesce(m.any_medication_90d, false)")} AS any_medication_90d,
           CASE WHEN p.age < 40 THEN '18-39' WHEN p.age < 65 THEN '40-64' ELSE '65+' END AS age_band,
           d.date AS death_date, d.underlying_cause_of_death, {tf("d.died_of_cvd")} AS died_of_cvd
    FROM population p
    LEFT JOIN events e USING (patient_id)
    LEFT JOIN asthma_episodes ae USING (patient_id)
    LEFT JOIN meds m USING (patient_id)
    LEFT JOIN deaths d USING (patient_id)
    WHERE p.age BETWEEN 18 AND 110
    ORDER BY p.patient_id
    """


def tf(expression: str) -> str:
    """A boolean as ehrql writes it in CSV: T, F, or an empty cell."""
    return f"CASE WHEN {expression} THEN 'T' WHEN NOT ({expression}) THEN 'F' END"


def write_hand_written(database: Path, output: Path) -> None:
    """The hand-written side: one COPY of the hand-written query to a CSV file."""
    query = hand_written_sql(codelists())
    with duckdb.connect(str(database), read_only=True) as connection:
        connection.execute(
            f"COPY ({query}) TO '{output}' (FORMAT csv, HEADER true, NULLSTR '')"
        )


REPO = Path(__file__).resolve().parents[1]


def byte_compile() -> None:
    """Write the bytecode of ehrql's modules (and the benchmarks') next to
    them, as `pip install` does; git ignores `__pycache__`."""
    import compileall

    for package in ("ehrql", "benchmarks"):
        if not compileall.compile_dir(REPO / package, quiet=1):
            raise RuntimeError(f"could not byte-compile {REPO / package}")


#: Weekly intervals in the measures run: five years.
MEASURES_WEEKS = 260


def run_timed(command: list[str]) -> dict:
    """Run `command` from the repository root; its wall time and its own peak memory."""
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    started = time.perf_counter()
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            command, cwd=REPO, env=environment, stdout=subprocess.DEVNULL, stderr=errors
        )
        # wait4 gives this child's own resource use (RUSAGE_CHILDREN is a maximum over all of them).
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            errors.seek(0)
            raise RuntimeError(f"{' '.join(command)} failed:\n{errors.read().decode()}")
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "peak_mb": usage.ru_maxrss / 1024,
    }


def compile_time(database: Path, dataset) -> tuple[float, float]:
    """Median seconds to compile the dataset to SQL for DuckDB, over 20 compilations:
    (wall, CPU). On a shared machine the CPU time is the steadier figure."""
    from ehrql.query_engines.duckdb import DuckDBQueryEngine

    engine = DuckDBQueryEngine(database)
    walls, cpus = [], []
    for _ in range(20):
        started, started_cpu = time.perf_counter(), time.process_time()
        engine.get_queries(dataset)
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - started_cpu)
    return statistics.median(walls), statistics.median(cpus)


def compare_csv(left: Path, right: Path) -> str | None:
    """None if two CSV files hold the same cells (floats to 9 significant digits), else the first difference."""
    with open(left, newline="") as a, open(right, newline="") as b:
        reader_a, reader_b = csv.reader(a), csv.reader(b)
        for line, (row_a, row_b) in enumerate(zip(reader_a, reader_b), start=1):
            if row_a != row_b and [_cell(c) for c in row_a] != [
                _cell(c) for c in row_b
            ]:
                return f"line {line}: {row_a} != {row_b}"
        if next(reader_a, None) is not None or next(reader_b, None) is not None:
            return "the files have different numbers of lines"
    return None


def _cell(text: str):
    try:
        return float(f"{float(text):.9g}")
    except ValueError:
        return text


def _count_rows(path: Path) -> int:
    with open(path, newline="") as f:
        return sum(1 for _ in csv.reader(f)) - 1


def result_checksum(rows) -> str:
    """A fingerprint of result rows, equal for equal results from any engine or process."""
    # Rounded: a parallel mean may differ between runs in its last bits.
    # sha256, not hash(): string hashes differ between processes.
    return hashlib.sha256(
        repr(
            [tuple(round(v, 9) if isinstance(v, float) else v for v in r) for r in rows]
        ).encode()
    ).hexdigest()


def run_module_side(module: str, *args: str) -> dict:
    """Run `python -m module *args` in a fresh process (so that its peak memory
    is its own) and return the JSON object its last line of output prints."""
    output = subprocess.run(
        [sys.executable, "-m", module, *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main(argv=None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "path", type=Path, help="a DuckDB file made by generate_population.py"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="interleaved rounds; medians are reported"
    )
    parser.add_argument(
        "--measures",
        action="store_true",
        help="also time generate-measures (five years of weeks)",
    )
    parser.add_argument(
        "--no-byte-compile",
        action="store_true",
        help="do not byte-compile ehrql first (see above)",
    )
    parser.add_argument("--side", choices=["hand"], help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.side == "hand":
        write_hand_written(args.path, args.output)
        return
    from benchmarks.run_measures_benchmark import measures_definition_source

    if not args.no_byte_compile:
        byte_compile()
    database = args.path.resolve()
    lists = codelists()
    dataset = build_dataset(lists)
    with tempfile.TemporaryDirectory(prefix="ehrql-benchmark-") as directory:
        directory = Path(directory)
        definition = directory / "dataset_definition.py"
        definition.write_text(definition_source(lists))
        measures_definition = directory / "measures_definition.py"
        measures_definition.write_text(measures_definition_source(MEASURES_WEEKS))
        ehrql = [sys.executable, "-m", "ehrql"]
        commands = {
            "ehrql": [
                *ehrql,
                "generate-dataset",
                str(definition),
                "--dsn",
                str(database),
                "--output",
                str(directory / "ehrql.csv"),
                "--quiet",
            ],
            "hand-written": [
                sys.executable,
                "-m",
                "benchmarks.run_dataset_benchmark",
                str(database),
                "--side",
                "hand",
                "--output",
                str(directory / "hand.csv"),
            ],
        }
        if args.measures:
            commands["measures"] = [
                *ehrql,
                "generate-measures",
                str(measures_definition),
                "--dsn",
                str(database),
                "--output",
                str(directory / "measures.csv"),
                "--quiet",
            ]
        runs: dict[str, list[dict]] = {name: [] for name in commands}
        for round_ in range(args.repeat):
            # Alternate which side goes first, so that neither always follows the other.
            order = list(commands) if round_ % 2 == 0 else list(reversed(commands))
            for name in order:
                runs[name].append(run_timed(commands[name]))
                last = runs[name][-1]
                print(
                    f"round {round_ + 1} {name}: {last['wall']:.2f} s, peak {last['peak_mb']:.0f} MB",
                    file=sys.stderr,
                )
        difference = compare_csv(directory / "ehrql.csv", directory / "hand.csv")
        rows = _count_rows(directory / "ehrql.csv")
    compile_wall, compile_cpu = compile_time(database, dataset)
    wall = {
        name: statistics.median(r["wall"] for r in side) for name, side in runs.items()
    }
    peak = {
        name: statistics.median(r["peak_mb"] for r in side)
        for name, side in runs.items()
    }
    cpu = {
        name: statistics.median(r["cpu"] for r in side) for name, side in runs.items()
    }
    print(f"database: {database}: {rows:,} rows of {len(dataset.variables)} variables")
    print(
        f"rounds: {args.repeat}, interleaved; cores: {os.cpu_count()}; "
        f"ehrql {'not ' if args.no_byte_compile else ''}byte-compiled first"
    )
    print(f"same output: {'yes' if difference is None else 'NO: ' + difference}")
    print(
        f"{'':14} {'median wall':>12} {'median CPU':>11} {'peak memory':>12}   every wall (s)"
    )
    for name in runs:
        walls = ", ".join(f"{r['wall']:.2f}" for r in runs[name])
        print(
            f"{name:14} {wall[name]:>10.2f} s {cpu[name]:>9.2f} s {peak[name]:>9.0f} MB   {walls}"
        )
    print(
        f"ehrql / hand-written, wall:   {wall['ehrql'] / wall['hand-written']:.2f}x (target <= 1.1x)"
    )
    print(
        f"ehrql / hand-written, CPU:    {cpu['ehrql'] / cpu['hand-written']:.2f}x (steadier on a shared machine)"
    )
    print(
        f"ehrql / hand-written, memory: {peak['ehrql'] / peak['hand-written']:.2f}x (target <= 1x)"
    )
    print(
        f"compile time (median of 20): {compile_wall * 1000:.1f} ms wall, "
        f"{compile_cpu * 1000:.1f} ms CPU (target < 100 ms)"
    )
    print(f"load average at the end: {', '.join(f'{v:.1f}' for v in os.getloadavg())}")
    if args.measures:
        print(
            f"measures ({MEASURES_WEEKS} weekly intervals, two groupings) / dataset: "
            f"{wall['measures'] / wall['ehrql']:.2f}x (target < 8x)"
        )


if __name__ == "__main__":
    main()
