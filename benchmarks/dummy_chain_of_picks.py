"""How long dummy data takes for a chain of picks: each dose the first after the one before.

    python benchmarks/dummy_chain_of_picks.py [--doses 16] [--patients 1000] [--repeat 3]

A definition of this shape (a vaccination history: dose n is the first
vaccination after dose n-1) makes the generator add a patient's rows one at
a time while every pick of the chain is read after each row; the picks are
brought up to date from the new row rather than read afresh
(`ehrql.dummy.row_expressions`). This prints, for each run, the processor
seconds generation took and the share of patients given the last dose, and
the fastest run. Processor time, not the clock: the machine may be shared.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from ehrql import create_dataset  # noqa: E402
from ehrql.dummy import generate_dummy_data  # noqa: E402
from ehrql.tables.tpp import patients, vaccinations  # noqa: E402


def chain_dataset(doses: int):
    """A dataset whose column n is the date of the first dose after dose n-1."""
    covid = vaccinations.where(
        vaccinations.target_disease.is_in(["SARS-2 CORONAVIRUS"])
    ).sort_by(vaccinations.date)
    dataset = create_dataset()
    dataset.define_population(
        covid.exists_for_patient() & (patients.age_on("2025-01-01") >= 12)
    )
    previous = "1899-01-01"
    for n in range(1, doses + 1):
        dose = covid.where(covid.date > previous).first_for_patient()
        dataset.add_column(f"dose_{n}_date", dose.date)
        dataset.add_column(f"dose_{n}_product", dose.product_name)
        previous = dose.date
    return dataset._compile()


def last_dose_share(tables: dict, dataset, doses: int) -> float:
    """The share of the made patients with a date for the last dose."""
    from ehrql.query_engines.in_memory import InMemoryDatabase, InMemoryQueryEngine

    database = InMemoryDatabase({table.name: rows for table, rows in tables.items()})
    rows = InMemoryQueryEngine(database).get_results(dataset)
    column = list(dataset.variables).index(f"dose_{doses}_date") + 1
    return sum(row[column] is not None for row in rows) / max(1, len(rows))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--doses", type=int, default=16)
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    dataset = chain_dataset(args.doses)
    times = []
    for run in range(args.repeat):
        started = time.process_time()
        data = generate_dummy_data(dataset, population_size=args.patients)
        seconds = time.process_time() - started
        times.append(seconds)
        share = last_dose_share(data.tables, dataset, args.doses)
        print(
            f"run {run + 1}: {data.report.generated} of {args.patients} patients "
            f"in {seconds:.2f} s CPU; dose {args.doses} filled for {share:.0%}"
        )
    print(f"fastest: {min(times):.2f} s CPU for {args.patients} patients")


if __name__ == "__main__":
    main()
