"""How well does the dummy data generator serve real studies?

For each case of a folder laid out like `../shared/studies` (a `cases.tsv`
with columns id, repo, definition, kind, args, public_patients,
public_seconds; each study's files under `<repo>/`), load the definition as
`generate-dataset` / `generate-measures` would, generate its dummy data in
this process, and print one line per case:

* asked: the population size the definition configures (10 by default);
* made: the patients generated, all of them in the population;
* seconds: the time the generator took (loading and writing excluded);
* s/1000: seconds per 1,000 patients (target: at most 10);
* public: the seconds public ehrQL's generator took, for the same case;
* filled: per column, the share of patients for whom it says something —
  not null, and for a boolean column true (false is what a patient with no
  records gets) — lowest first.

Cases that do not load are listed with the error. Run from the repository
root:

    python benchmarks/dummy_data_studies.py --cases-dir ../shared/studies [-k TEXT]

With `--consistency`, each line also gives the patients whose rows tell an
inconsistent story across tables (`ehrql.dummy.consistency`), by problem,
and a total over all cases is printed last; `--max-patients 200` keeps that
count quick.

The study files are read where they are; nothing is copied.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import csv
import os
import pathlib
import shlex
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from ehrql.dummy import generate_dummy_data  # noqa: E402
from ehrql.dummy.consistency import inconsistencies  # noqa: E402
from ehrql.loaders import load_dataset_definition, load_measure_definitions  # noqa: E402
from ehrql.main import engine_over_tables  # noqa: E402
from ehrql.measures.dummy_data import (  # noqa: E402
    measures_dummy_dataset,
    measures_dummy_quotas,
)
from ehrql.query_engines.in_memory import InMemoryDatabase, InMemoryQueryEngine  # noqa: E402

#: Target: at most this many seconds per 1,000 patients.
TARGET_SECONDS_PER_THOUSAND = 10.0


@contextlib.contextmanager
def _in_directory(path: pathlib.Path):
    previous = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def _load(case: dict, cases_dir: pathlib.Path):
    """(query model, asked, timeout, constraint node, quotas) for a case,
    loaded from its study folder, as `generate-dataset` / `generate-measures`
    would give them to the generator."""
    study = cases_dir / case["repo"]
    args = shlex.split(case["args"] or "")
    with _in_directory(study):
        if case["kind"] == "measures":
            measures = load_measure_definitions(pathlib.Path(case["definition"]), args)
            config = measures.dummy_data_config
            query = measures_dummy_dataset(measures)
            quotas = measures_dummy_quotas(measures)
        else:
            loaded = load_dataset_definition(pathlib.Path(case["definition"]), args)
            config = loaded.dummy_data_config
            query = loaded.query_model
            quotas = ()
    extra = config.additional_population_constraint
    return (
        query,
        config.population_size,
        config.timeout,
        None if extra is None else extra._qm_node,
        quotas,
    )


def _filled_shares(query, tables) -> dict:
    """Column name -> share of the output rows where it is neither null nor false."""
    try:
        rows = list(engine_over_tables(None, tables).get_results(query))
    except (
        Exception
    ):  # e.g. DuckDB's expression depth limit on a measures' dummy dataset
        database = InMemoryDatabase(
            {table.name: rows for table, rows in tables.items()}
        )
        rows = list(InMemoryQueryEngine(database).get_results(query))
    names = list(query.variables)
    if not rows:
        return dict.fromkeys(names, 0.0)
    return {
        name: sum(row[i] is not None and row[i] is not False for row in rows)
        / len(rows)
        for i, name in enumerate(names, start=1)
    }


def inconsistent_patients(tables: dict) -> collections.Counter:
    """Problem (its kind, without the columns named) -> patients who have it."""
    per_patient: dict = collections.defaultdict(dict)
    for table, rows in tables.items():
        for row in rows:
            per_patient[row["patient_id"]].setdefault(table, []).append(row)
    counts: collections.Counter = collections.Counter()
    for rows in per_patient.values():
        counts.update({problem.split(":")[0] for problem in inconsistencies(rows)})
    return counts


def measure_case(
    case: dict,
    cases_dir: pathlib.Path,
    seed: int = 0,
    clock=time.perf_counter,
    scale: int = 1,
    loaded: tuple | None = None,
    max_patients: int | None = None,
) -> dict:
    """The figures for one case; `error` set when it cannot be loaded or generated.

    With `scale`, `scale` times the configured population is asked for,
    with `scale` times the time limit. `loaded` is the case as an earlier
    call loaded it (its `loaded`), so that it is not loaded twice.
    `max_patients` caps the patients asked for.
    """
    result = {"id": case["id"], "public": case.get("public_seconds") or ""}
    try:
        loaded = loaded or _load(case, cases_dir)
        query, asked, timeout, extra, quotas = loaded
        asked, timeout = asked * scale, timeout * scale
        if max_patients is not None:
            asked = min(asked, max_patients)
    except BaseException as e:  # a study may call sys.exit, or fail in any way
        return {
            **result,
            "error": f"does not load: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}",
        }
    started = clock()
    data = generate_dummy_data(
        query,
        population_size=asked,
        seed=seed,
        additional_population_constraint=extra,
        timeout=timeout,
        quotas=quotas,
    )
    seconds = clock() - started
    shares = _filled_shares(query, data.tables)
    return {
        **result,
        "loaded": loaded,
        "asked": asked,
        "made": data.report.generated,
        "seconds": seconds,
        "per_thousand": seconds / max(data.report.generated, 1) * 1000,
        "shares": shares,
        "summary": data.report.summary(),
        "inconsistent": inconsistent_patients(data.tables),
    }


def _shares_text(shares: dict, limit: int = 6) -> str:
    ordered = sorted(shares.items(), key=lambda item: (item[1], item[0]))
    shown = " ".join(f"{name}={share:.0%}" for name, share in ordered[:limit])
    more = f" (+{len(ordered) - limit} more)" if len(ordered) > limit else ""
    return shown + more


def _low_count(shares: dict, low: float) -> str:
    """How many of the columns are filled for fewer than `low` of the patients."""
    return f"[{sum(share < low for share in shares.values())}/{len(shares)} low]"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases-dir", type=pathlib.Path, required=True)
    parser.add_argument("-k", default="", help="only cases whose id contains this")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="print each column's share and the report",
    )
    parser.add_argument(
        "--cpu",
        action="store_true",
        help="report this process's CPU seconds rather than elapsed seconds (steadier on a busy machine)",
    )
    parser.add_argument(
        "--scale",
        type=int,
        default=1,
        help="also ask for this many times each case's population and print how "
        "much longer it took (target: at most about as many times longer, and "
        "every patient made)",
    )
    parser.add_argument(
        "--low",
        type=float,
        default=0.05,
        help="count columns filled for fewer than this share",
    )
    parser.add_argument(
        "--consistency",
        action="store_true",
        help="count the patients whose rows are inconsistent across tables, by problem",
    )
    parser.add_argument(
        "--max-patients",
        type=int,
        default=None,
        help="ask for at most this many patients per case",
    )
    args = parser.parse_args(argv)
    inconsistent_total: collections.Counter = collections.Counter()
    cases_dir = args.cases_dir.resolve()
    with (cases_dir / "cases.tsv").open(newline="") as f:
        cases = [c for c in csv.DictReader(f, delimiter="\t") if args.k in c["id"]]
    print(
        f"{'case':<60} {'asked':>6} {'made':>6} {'seconds':>8} {'s/1000':>7} {'public':>7}  filled (lowest)"
    )
    for case in cases:
        m = measure_case(
            case,
            cases_dir,
            args.seed,
            time.process_time if args.cpu else time.perf_counter,
            max_patients=args.max_patients,
        )
        name = m["id"][:60]
        if "error" in m:
            print(f"{name:<60} {m['error'][:120]}")
            continue
        slow = (
            " SLOW"
            if m["per_thousand"] > TARGET_SECONDS_PER_THOUSAND and m["seconds"] > 1
            else ""
        )
        short = " SHORT" if m["made"] < m["asked"] else ""
        print(
            f"{name:<60} {m['asked']:>6} {m['made']:>6} {m['seconds']:>8.1f} {m['per_thousand']:>7.1f} "
            f"{m['public']:>7}  {_low_count(m['shares'], args.low)} {_shares_text(m['shares'])}{short}{slow}",
            flush=True,
        )
        if args.consistency:
            inconsistent_total.update(m["inconsistent"])
            print(f"    inconsistent: {_counts_text(m['inconsistent'])}")
        if args.verbose:
            print("    " + m["summary"])
            print("    " + _shares_text(m["shares"], limit=1000))
        if args.scale > 1:
            big = measure_case(
                case,
                cases_dir,
                args.seed,
                time.process_time if args.cpu else time.perf_counter,
                args.scale,
                m["loaded"],
            )
            print(
                f"    x{args.scale}: made {big['made']} of {big['asked']} in "
                f"{big['seconds']:.1f} s, {big['seconds'] / max(m['seconds'], 1e-9):.1f}x "
                f"the time ({big['per_thousand']:.1f} s/1000)",
                flush=True,
            )
    if args.consistency:
        print(f"inconsistent patients, all cases: {_counts_text(inconsistent_total)}")


def _counts_text(counts: collections.Counter) -> str:
    return (
        ", ".join(f"{problem}: {n}" for problem, n in sorted(counts.items())) or "none"
    )


if __name__ == "__main__":
    main()
