"""Time the benchmark dataset on DuckDB and on Spark in local mode, over the same Parquet files.

    python benchmarks/generate_population.py /tmp/population.duckdb --patients 1000000
    python -m benchmarks.run_spark_benchmark /tmp/population.duckdb

The benchmark database is exported once to a directory of Parquet files, one
per table (next to the database, `<name>_parquet/`, unless `--parquet` says
where). The twenty-variable definition of run_dataset_benchmark.py then runs
on DuckDB (on the database file, and on the Parquet files) and on Spark in
local mode (on the Parquet files, with every core of this machine), each in a
fresh process. Spark's time is given without and with starting Spark (the JVM
and the session), which a cluster pays once for many queries. Both engines
fetch every row into Python, and their results are checked to be identical.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import duckdb

from benchmarks.run_dataset_benchmark import (
    build_dataset,
    codelists,
    result_checksum,
    run_module_side,
)

TABLES = (
    "patients",
    "practice_registrations",
    "clinical_events",
    "medications",
    "ons_deaths",
)


def export_parquet(database: Path, directory: Path) -> None:
    """Write each benchmark table to `directory/<table>.parquet`, unless already there."""
    directory.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(database), read_only=True) as connection:
        for table in TABLES:
            target = directory / f"{table}.parquet"
            if target.exists():
                continue
            partial = directory / f".{table}.parquet.partial"
            connection.execute(f"COPY {table} TO '{partial}' (FORMAT parquet)")
            partial.rename(target)


def run_side(side: str, source: Path, repeat: int, driver_memory: str) -> dict:
    """Run the dataset `repeat` times on one engine in this process; return the timings."""
    dataset = build_dataset(codelists())
    startup = 0.0
    if side == "spark":
        from ehrql.query_engines.spark import SparkQueryEngine, get_session

        started = time.perf_counter()
        get_session("local[*]", {"spark.driver.memory": driver_memory})
        startup = time.perf_counter() - started
        engine = SparkQueryEngine(str(source))
    else:
        from ehrql.query_engines.duckdb import DuckDBQueryEngine

        engine = DuckDBQueryEngine(source)
    walls = []
    for _ in range(repeat):
        started = time.perf_counter()
        rows = list(engine.get_results(dataset))
        walls.append(time.perf_counter() - started)
    return {
        "walls": walls,
        "startup": startup,
        "rows": len(rows),
        "checksum": result_checksum(rows),
    }


def run_in_subprocess(side: str, source: Path, repeat: int, driver_memory: str) -> dict:
    return run_module_side(
        "benchmarks.run_spark_benchmark",
        str(source),
        "--side",
        side,
        "--repeat",
        str(repeat),
        "--driver-memory",
        driver_memory,
    )


def main(argv=None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "path", type=Path, help="a DuckDB file made by generate_population.py"
    )
    parser.add_argument(
        "--parquet",
        type=Path,
        help="where the Parquet export goes (default: next to the file)",
    )
    parser.add_argument(
        "--repeat", type=int, default=2, help="runs per engine; the best is reported"
    )
    parser.add_argument(
        "--driver-memory",
        default="8g",
        help="memory for Spark's driver (local mode runs in it)",
    )
    parser.add_argument("--side", choices=["duckdb", "spark"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.side:
        print(
            json.dumps(run_side(args.side, args.path, args.repeat, args.driver_memory))
        )
        return
    parquet = args.parquet or args.path.with_name(args.path.stem + "_parquet")
    started = time.perf_counter()
    export_parquet(args.path, parquet)
    print(f"Parquet export in {parquet}: {time.perf_counter() - started:.1f} s")
    print(f"cores: {os.cpu_count()}, Spark driver memory: {args.driver_memory}")
    on_file = run_in_subprocess("duckdb", args.path, args.repeat, args.driver_memory)
    on_parquet = run_in_subprocess("duckdb", parquet, args.repeat, args.driver_memory)
    spark = run_in_subprocess("spark", parquet, args.repeat, args.driver_memory)
    print(f"rows: DuckDB {on_parquet['rows']:,}, Spark {spark['rows']:,}")
    print(
        f"results identical: {len({on_file['checksum'], on_parquet['checksum'], spark['checksum']}) == 1}"
    )
    print(f"DuckDB, database file:     {min(on_file['walls']):.2f} s")
    print(f"DuckDB, Parquet files:     {min(on_parquet['walls']):.2f} s")
    print(
        f"Spark local, Parquet files: {min(spark['walls']):.2f} s "
        f"(first run {spark['walls'][0]:.2f} s; starting Spark {spark['startup']:.2f} s more)"
    )


if __name__ == "__main__":
    main()
