"""Time weekly measures over five years, with two groupings, on a benchmark database.

    python benchmarks/generate_population.py bench.duckdb --patients 1000000
    python -m benchmarks.run_measures_benchmark bench.duckdb

Prints the wall and CPU time, the peak memory, the number of SQL statements
executed and the number of result rows. Measures sharing a denominator and
intervals are calculated together, every interval (or, on DuckDB, every run of
`max_intervals_per_query` of them) in one SELECT; the statement count includes
the statements creating, filling and dropping the intervals tables.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

from benchmarks.generate_population import code_pools
from ehrql.measures import get_measure_results
from ehrql.query_engines.duckdb import DuckDBQueryEngine

#: The measures definition: two measures, each grouped by sex and, separately,
#: by age band (two groupings), sharing one denominator.
MEASURES_DEFINITION = """
from ehrql import INTERVAL, case, create_measures, weeks, when
from ehrql.tables.core import clinical_events, patients, practice_registrations

CODES = {codes!r}

age = patients.age_on(INTERVAL.start_date)
in_week = clinical_events.where(clinical_events.date.is_during(INTERVAL))
measures = create_measures()
measures.define_defaults(
    denominator=practice_registrations.exists_for_patient_on(INTERVAL.start_date) & (age >= 18),
    intervals=weeks({weeks}).starting_on("2019-01-07"),
)
groupings = {{
    "sex": {{"sex": patients.sex}},
    "age_band": {{
        "age_band": case(when(age < 40).then("18-39"), when(age < 65).then("40-64"), otherwise="65+")
    }},
}}
for name, group_by in groupings.items():
    measures.define_measure(
        f"common_code_by_{{name}}",
        numerator=in_week.where(in_week.snomedct_code.is_in(CODES)).exists_for_patient(),
        group_by=group_by,
    )
    measures.define_measure(f"any_event_by_{{name}}", numerator=in_week.exists_for_patient(), group_by=group_by)
"""


def measures_definition_source(weeks_count: int) -> str:
    """The text of the benchmark's measures definition file."""
    return MEASURES_DEFINITION.format(
        codes=code_pools()["snomedct"][:20], weeks=weeks_count
    )


def build_measures(weeks_count: int):
    """The benchmark's measures."""
    namespace: dict = {}
    exec(
        compile(
            measures_definition_source(weeks_count), "<benchmark measures>", "exec"
        ),
        namespace,
    )
    return namespace["measures"]


class CountingEngine(DuckDBQueryEngine):
    """The DuckDB engine, counting the statements it runs."""

    statements = 0

    def run_compiled(self, dataset, compiled):
        type(self).statements += len(compiled.setup) + 1 + len(compiled.cleanup)
        yield from super().run_compiled(dataset, compiled)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "path", type=Path, help="a DuckDB file made by generate_population.py"
    )
    parser.add_argument(
        "--weeks",
        type=int,
        default=260,
        help="intervals (default: five years of weeks)",
    )
    args = parser.parse_args(argv)
    measures = build_measures(args.weeks)
    engine = CountingEngine(str(args.path))
    start, cpu_start = time.perf_counter(), time.process_time()
    rows = list(get_measure_results(engine, measures))
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    print(f"intervals:            {args.weeks}")
    print(f"measures:             {len(measures)}")
    print(f"result rows:          {len(rows)}")
    print(f"SQL statements run:   {CountingEngine.statements}")
    print(
        f"wall time:            {elapsed:.1f} s ({elapsed / args.weeks:.2f} s per interval)"
    )
    # CPU time (DuckDB's threads included) is steadier than wall time on a
    # shared machine.
    print(f"CPU time:             {cpu:.1f} s")
    print(f"peak memory:          {_peak_mb():.0f} MB")


def _peak_mb() -> float:
    """This process's peak resident memory (Linux reports it in kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main()
