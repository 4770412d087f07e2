"""How good and how fast is the dummy data generator?

For five example definitions of different kinds (date windows, codelists,
aggregations, registrations, deaths) over the core tables, print:

* the share of requested patients generated that the in-memory engine puts in
  the population (target 100%);
* the share of dataset variables that are neither always null nor constant
  (target 100%);
* the seconds taken to generate 10,000 patients (target under 5 s).

Run from the repository root: `python benchmarks/dummy_data_quality.py`
(`--size N` changes the timed population size).
"""

from __future__ import annotations

import argparse
import datetime
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from ehrql import create_dataset, days, months, years  # noqa: E402
from ehrql.dummy import generate_dummy_data  # noqa: E402
from ehrql.query_engines.in_memory import InMemoryDatabase, InMemoryQueryEngine  # noqa: E402
from ehrql.tables.core import (  # noqa: E402
    clinical_events,
    medications,
    ons_deaths,
    patients,
    practice_registrations,
)

INDEX = datetime.date(2022, 10, 1)
CHEST_PAIN = ["29857009", "274668005"]
COPD = ["13645005", "195951007"]
INHALERS = ["322236009", "318135008"]
CIRCULATORY = ["I21", "I219", "I63"]


def date_windows():
    events = clinical_events
    recent = events.where(events.date.is_on_or_between(INDEX - days(90), INDEX))
    ds = create_dataset()
    ds.define_population(recent.exists_for_patient() & patients.exists_for_patient())
    ds.first_recent = recent.sort_by(events.date).first_for_patient().date
    ds.last_ever = events.sort_by(events.date).last_for_patient().date
    ds.weeks_since = (INDEX - recent.sort_by(events.date).last_for_patient().date).weeks
    ds.events_last_year = events.where(events.date.is_after(INDEX - years(1))).count_for_patient()
    return ds._compile()


def codelists():
    events = clinical_events
    copd = events.where(events.snomedct_code.is_in(COPD))
    inhaler = medications.where(medications.dmd_code.is_in(INHALERS))
    ds = create_dataset()
    ds.define_population(copd.exists_for_patient() & ~events.where(events.snomedct_code.is_in(CHEST_PAIN)).exists_for_patient())
    ds.first_copd_code = copd.sort_by(events.date).first_for_patient().snomedct_code
    ds.copd_kind = copd.sort_by(events.date).first_for_patient().snomedct_code.to_category(
        {COPD[0]: "chronic", COPD[1]: "exacerbation"}
    )
    ds.on_inhaler = inhaler.exists_for_patient()
    ds.last_inhaler = inhaler.sort_by(medications.date).last_for_patient().dmd_code
    return ds._compile()


def aggregations():
    events = clinical_events
    readings = events.where(events.numeric_value.is_not_null() & events.date.is_on_or_before(INDEX))
    ds = create_dataset()
    ds.define_population((readings.count_for_patient() >= 2) & (readings.numeric_value.maximum_for_patient() < 150.0))
    ds.n_readings = readings.count_for_patient()
    ds.mean_reading = readings.numeric_value.mean_for_patient()
    ds.total = readings.numeric_value.sum_for_patient()
    ds.distinct_codes = events.snomedct_code.count_distinct_for_patient()
    ds.latest = readings.date.maximum_for_patient()
    return ds._compile()


def registrations():
    regs = practice_registrations
    ds = create_dataset()
    age = patients.age_on(INDEX)
    ds.define_population(
        regs.spanning(INDEX - months(12), INDEX).exists_for_patient()
        & (age >= 16) & (age < 100) & patients.is_alive_on(INDEX)
    )
    ds.practice = regs.for_patient_on(INDEX).practice_pseudo_id
    ds.registered_since = regs.for_patient_on(INDEX).start_date
    ds.registrations = regs.count_for_patient()
    ds.age = age
    ds.sex = patients.sex
    return ds._compile()


def deaths():
    ds = create_dataset()
    ds.define_population(
        ons_deaths.date.is_on_or_between("2020-03-01", "2021-03-31")
        & patients.exists_for_patient()
        & ons_deaths.cause_of_death_is_in(CIRCULATORY)
    )
    ds.died = ons_deaths.date
    ds.underlying = ons_deaths.underlying_cause_of_death
    ds.age_at_death = (ons_deaths.date - patients.date_of_birth).years
    ds.gp_death_recorded = patients.date_of_death.is_not_null()
    return ds._compile()


DEFINITIONS = [date_windows, codelists, aggregations, registrations, deaths]


def measure(definition, size: int, seed: int) -> dict:
    dataset = definition()
    started = time.perf_counter()
    data = generate_dummy_data(dataset, population_size=size, seed=seed)
    seconds = time.perf_counter() - started
    database = InMemoryDatabase({t.name: rows for t, rows in data.tables.items()})
    results = InMemoryQueryEngine(database).get_results(dataset)
    varied = 0
    for i, _ in enumerate(dataset.variables, start=1):
        values = [row[i] for row in results]
        if any(v is not None for v in values) and len(set(values)) > 1:
            varied += 1
    return {
        "name": definition.__name__,
        "in_population": len(results) / size,
        "varied": varied / len(dataset.variables),
        "seconds": seconds,
        "candidates": data.report.candidates,
        "fallback": data.report.used_rejection_sampling,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(f"{'definition':<14} {'in population':>14} {'varied vars':>12} {'seconds':>8} {'candidates':>11} fallback")
    for definition in DEFINITIONS:
        m = measure(definition, args.size, args.seed)
        print(
            f"{m['name']:<14} {m['in_population']:>13.1%} {m['varied']:>11.1%} "
            f"{m['seconds']:>8.2f} {m['candidates']:>11} {m['fallback']}"
        )


if __name__ == "__main__":
    main()
