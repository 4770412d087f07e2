"""How good and how fast is the dummy data generator?

For example definitions of different kinds over the core tables (date
windows, codelists, aggregations, registrations, deaths; then, in the style
of real studies, a two-week window with registration and age band, sums and
distinct counts, two frames of one table compared, deaths against GP
records), print:

* the share of requested patients generated that the in-memory engine puts in
  the population (target 100%);
* the share of dataset variables that are neither always null nor constant
  (target 100%);
* the seconds taken to generate 10,000 patients (target under 5 s for the
  first five; at most 10 s per 1,000 patients for the study-style ones);
* with `--scale`, how much longer ten times the patients take (target: at
  most about 10x, and ten times the patients made).

Run from the repository root: `python benchmarks/dummy_data_quality.py`
(`--size N` changes the timed population size, `--timeout` the time limit).
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
    ds.events_last_year = events.where(
        events.date.is_after(INDEX - years(1))
    ).count_for_patient()
    return ds._compile()


def codelists():
    events = clinical_events
    copd = events.where(events.snomedct_code.is_in(COPD))
    inhaler = medications.where(medications.dmd_code.is_in(INHALERS))
    ds = create_dataset()
    ds.define_population(
        copd.exists_for_patient()
        & ~events.where(events.snomedct_code.is_in(CHEST_PAIN)).exists_for_patient()
    )
    ds.first_copd_code = copd.sort_by(events.date).first_for_patient().snomedct_code
    ds.copd_kind = (
        copd.sort_by(events.date)
        .first_for_patient()
        .snomedct_code.to_category({COPD[0]: "chronic", COPD[1]: "exacerbation"})
    )
    ds.on_inhaler = inhaler.exists_for_patient()
    ds.last_inhaler = inhaler.sort_by(medications.date).last_for_patient().dmd_code
    return ds._compile()


def aggregations():
    events = clinical_events
    readings = events.where(
        events.numeric_value.is_not_null() & events.date.is_on_or_before(INDEX)
    )
    ds = create_dataset()
    ds.define_population(
        (readings.count_for_patient() >= 2)
        & (readings.numeric_value.maximum_for_patient() < 150.0)
    )
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
        & (age >= 16)
        & (age < 100)
        & patients.is_alive_on(INDEX)
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


# Definitions in the style of real studies: narrow windows combined with
# registration and age, sums and distinct counts, two frames of one table
# compared, deaths against GP records.

FLU_VACCINE = ["1037311000000106", "822851000000102", "1066171000000108"]
ASTHMA_REVIEW = ["270442000", "390872009"]
SEASON_START = datetime.date(2023, 9, 1)


def two_week_window():
    events = clinical_events
    fortnight = events.where(
        events.snomedct_code.is_in(FLU_VACCINE)
        & events.date.is_on_or_between(SEASON_START, SEASON_START + days(13))
    )
    age = patients.age_on(SEASON_START)
    registered = practice_registrations.for_patient_on(SEASON_START)
    ds = create_dataset()
    ds.define_population(
        fortnight.exists_for_patient()
        & registered.exists_for_patient()
        & (age >= 65)
        & (age < 75)
        & patients.sex.is_in(["female", "male"])
    )
    ds.vaccinated_on = fortnight.sort_by(events.date).first_for_patient().date
    ds.vaccine = fortnight.sort_by(events.date).first_for_patient().snomedct_code
    ds.practice = registered.practice_pseudo_id
    ds.age = age
    ds.sex = patients.sex
    return ds._compile()


def sums_and_distinct_counts():
    events = clinical_events
    year = events.where(events.date.is_on_or_between("2022-04-01", "2023-03-31"))
    ds = create_dataset()
    ds.define_population(
        (year.numeric_value.sum_for_patient() > 100.0)
        & (year.snomedct_code.count_distinct_for_patient() >= 3)
        & (medications.dmd_code.count_distinct_for_patient() >= 2)
    )
    ds.total = year.numeric_value.sum_for_patient()
    ds.distinct_codes = year.snomedct_code.count_distinct_for_patient()
    ds.distinct_medicines = medications.dmd_code.count_distinct_for_patient()
    ds.reviews = year.where(year.snomedct_code.is_in(ASTHMA_REVIEW)).count_for_patient()
    return ds._compile()


def two_frames_of_one_table():
    events = clinical_events
    copd = events.where(events.snomedct_code.is_in(COPD))
    chest_pain = events.where(events.snomedct_code.is_in(CHEST_PAIN))
    first_copd = copd.sort_by(events.date).first_for_patient().date
    first_pain = chest_pain.sort_by(events.date).first_for_patient().date
    ds = create_dataset()
    ds.define_population(
        (first_pain > first_copd)
        & (first_pain <= first_copd + days(60))
        & (copd.count_for_patient() > chest_pain.count_for_patient())
    )
    ds.first_copd = first_copd
    ds.first_pain = first_pain
    ds.days_between = (first_pain - first_copd).days
    ds.copd_count = copd.count_for_patient()
    return ds._compile()


def deaths_and_gp_records():
    died = ons_deaths.date
    ds = create_dataset()
    ds.define_population(
        died.is_on_or_between("2021-01-01", "2022-12-31")
        & clinical_events.where(
            clinical_events.date.is_before(died)
        ).exists_for_patient()
        & practice_registrations.for_patient_on("2020-12-31").exists_for_patient()
    )
    ds.died = died
    ds.last_event = (
        clinical_events.sort_by(clinical_events.date).last_for_patient().date
    )
    ds.gp_death = patients.date_of_death
    ds.cause = ons_deaths.underlying_cause_of_death
    return ds._compile()


DEFINITIONS = [
    date_windows,
    codelists,
    aggregations,
    registrations,
    deaths,
    two_week_window,
    sums_and_distinct_counts,
    two_frames_of_one_table,
    deaths_and_gp_records,
]


def measure(
    definition, size: int, seed: int, timeout: float = 60.0, clock=time.perf_counter
) -> dict:
    dataset = definition()
    started = clock()
    data = generate_dummy_data(
        dataset, population_size=size, seed=seed, timeout=timeout
    )
    seconds = clock() - started
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
        "made": data.report.generated,
        "varied": varied / len(dataset.variables),
        "seconds": seconds,
        "candidates": data.report.candidates,
        "fallback": data.report.used_rejection_sampling,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument(
        "--scale",
        action="store_true",
        help="also ask for a tenth of --size and print the time ratio "
        "(ten times the patients should take at most about ten times as long)",
    )
    parser.add_argument(
        "--cpu",
        action="store_true",
        help="report this process's CPU seconds rather than elapsed seconds (steadier on a busy machine)",
    )
    args = parser.parse_args(argv)
    clock = time.process_time if args.cpu else time.perf_counter
    print(
        f"{'definition':<26} {'made':>7} {'in population':>14} {'varied vars':>12} {'seconds':>8} "
        f"{'candidates':>11} fallback{'  x10 time' if args.scale else ''}"
    )
    for definition in DEFINITIONS:
        m = measure(definition, args.size, args.seed, args.timeout, clock)
        line = (
            f"{m['name']:<26} {m['made']:>7} {m['in_population']:>13.1%} {m['varied']:>11.1%} "
            f"{m['seconds']:>8.2f} {m['candidates']:>11} {m['fallback']}"
        )
        if args.scale:
            small = measure(
                definition, max(args.size // 10, 1), args.seed, args.timeout, clock
            )
            line += f"  {m['seconds'] / small['seconds']:.1f}x (made {small['made']} of {max(args.size // 10, 1)})"
        print(line, flush=True)


if __name__ == "__main__":
    main()
