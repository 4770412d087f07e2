"""The start-up cost of loading a definition in the isolated child process.

    python benchmarks/isolation_startup.py [--repeat 20]

Loads a small dataset definition (the example study) repeatedly, in this
process (`ehrql.loaders`) and in the sandboxed child (`ehrql.isolation`), and
prints the median and best wall time of each, their difference (the cost of
isolation per command), and the child's own CPU time. Also times a bare
`python -I -c pass`, the floor for any child process.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from ehrql import loaders
from ehrql.isolation import definitions

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "dataset_definition.py"


def timed(action, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return times


def child_cpu_ms(action, repeat: int) -> float:
    before = os.times()
    for _ in range(repeat):
        action()
    after = os.times()
    return (
        (
            after.children_user
            + after.children_system
            - before.children_user
            - before.children_system
        )
        * 1000
        / repeat
    )


def report(name: str, times: list[float]) -> float:
    median = statistics.median(times)
    print(f"{name:<36} median {median:7.1f} ms   best {min(times):7.1f} ms")
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--definition", type=Path, default=EXAMPLE)
    args = parser.parse_args()
    os.chdir(args.definition.parent)

    def in_process():
        loaders.load_dataset_definition(args.definition)

    def isolated():
        definitions.load_dataset_definition(args.definition)

    def bare_python():
        subprocess.run([sys.executable, "-I", "-c", "pass"], check=True)

    in_process()  # warm imports in this process, as a CLI run has them
    report("bare python -I -c pass", timed(bare_python, args.repeat))
    base = report("in-process load", timed(in_process, args.repeat))
    child = report("isolated load (sandboxed child)", timed(isolated, args.repeat))
    print(f"{'isolation cost per load':<36} {child - base:7.1f} ms")
    print(
        f"{'child CPU time per load':<36} {child_cpu_ms(isolated, args.repeat):7.1f} ms"
    )


if __name__ == "__main__":
    main()
