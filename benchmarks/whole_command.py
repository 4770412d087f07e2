"""The time a whole `ehrql` command takes, start-up included.

    python benchmarks/whole_command.py [--repeat 5] [--cwd DIR] -- generate-measures DEF --output OUT [-- ARGS]

Runs the command (`python -m ehrql ...` with this checkout first on the
path) several times and prints, for each run and as a median: the wall time,
and the CPU time of the command and its children (the definition's isolated
process). On a machine shared with other work the CPU time is the steadier
figure; the wall time is what a researcher waits, and gains from the work
ehrql does on a second core while the definition loads.

The output of the last run is compared with the first: a command whose
output changes from run to run is reported (dummy data is seeded).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_once(command: list[str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command and its children) of one run."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    before = os.times()
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "ehrql", *command],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    wall = time.perf_counter() - start
    after = os.times()
    if result.returncode != 0:
        sys.exit(f"the command failed ({result.returncode}):\n{result.stderr[-2000:]}")
    cpu = (
        after.children_user
        + after.children_system
        - before.children_user
        - before.children_system
    )
    return wall, cpu


def output_of(command: list[str], cwd: Path) -> bytes | None:
    """The bytes of the command's --output file, where it names one."""
    if "--output" not in command:
        return None
    path = cwd / command[command.index("--output") + 1]
    return path.read_bytes() if path.is_file() else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cwd", type=Path, default=Path.cwd())
    parser.add_argument("command", nargs=argparse.REMAINDER)
    options = parser.parse_args()
    command = options.command[1:] if options.command[:1] == ["--"] else options.command
    if not command:
        parser.error("give the ehrql command after --")
    walls, cpus, first = [], [], None
    for i in range(options.repeat):
        wall, cpu = run_once(command, options.cwd)
        walls.append(wall)
        cpus.append(cpu)
        print(f"run {i + 1}: {wall:6.2f} s wall, {cpu:6.2f} s CPU")
        if i == 0:
            first = output_of(command, options.cwd)
    print(
        f"median: {statistics.median(walls):6.2f} s wall, "
        f"{statistics.median(cpus):6.2f} s CPU (best {min(walls):.2f} s wall)"
    )
    if output_of(command, options.cwd) != first:
        print("the output differed between runs")


if __name__ == "__main__":
    main()
