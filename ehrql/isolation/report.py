"""`ehrql isolation-report`: what the sandbox blocks on this machine.

It makes a scratch study (a definition, a stand-in database file beside it
and a file outside it), opens a TCP listener for the probe to reach, and runs
the probes in the same isolated process a definition gets.
"""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
from pathlib import Path
from typing import TextIO

from ehrql.isolation import landlock, seccomp
from ehrql.isolation.run import (
    MODE_VARIABLE,
    TIMEOUT_VARIABLE,
    isolation_mode,
    run_definition,
    time_limit,
)


def isolation_report(stdout: TextIO) -> bool:
    """Print what the sandbox blocks here; return whether every probe was blocked as it should be."""
    abi = landlock.abi_version()
    print(f"Landlock ABI: {abi or 'not available'}", file=stdout)
    print(
        f"seccomp (libseccomp): {'available' if seccomp.available() else 'not available'}",
        file=stdout,
    )
    print(f"{MODE_VARIABLE}: {isolation_mode()}", file=stdout)
    print(f"{TIMEOUT_VARIABLE}: {time_limit():g} seconds", file=stdout)
    with (
        tempfile.TemporaryDirectory(prefix="ehrql-isolation-report-") as scratch,
        _listener() as port,
    ):
        root = Path(scratch)
        study = root / "study"
        study.mkdir()
        definition = study / "dataset_definition.py"
        definition.write_text("# isolation-report probe\n")
        database = study / "database.duckdb"
        database.write_text("not really a database")
        outside = root / "outside.txt"
        outside.write_text("outside the study")
        options = {
            "study_file": str(definition),
            "database_file": str(database),
            "outside_file": str(outside),
            "study_new_file": str(study / "written.txt"),
            "shared_tmp_file": str(root / "written.txt"),
            "port": port,
            "definition": str(definition),
        }
        with _working_directory(study):
            value = run_definition(
                "probe", definition, None, protected=[database], options=options
            )
    status = value["sandbox"]
    print(
        "Sandbox: files "
        + ("confined" if status["filesystem"] else "NOT confined")
        + ", network "
        + ("confined" if status["network"] else "NOT confined")
        + ", processes "
        + ("confined" if status["processes"] else "NOT confined"),
        file=stdout,
    )
    for reason in status["reasons"]:
        print(f"  ({reason})", file=stdout)
    ok = bool(status["filesystem"] and status["network"] and status["processes"])
    width = max(len(p["name"]) for p in value["probes"])
    for probe in value["probes"]:
        good = probe["happened"] == probe["expected"]
        ok = ok and good
        mark = "ok  " if good else "FAIL"
        detail = f"  ({probe['detail']})" if probe["detail"] else ""
        print(
            f"{mark} {probe['name']:<{width}}  {probe['happened']}{detail}", file=stdout
        )
    print(
        "All user code is isolated as it should be."
        if ok
        else "User code is NOT fully isolated on this machine.",
        file=stdout,
    )
    return ok


@contextlib.contextmanager
def _listener():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


@contextlib.contextmanager
def _working_directory(path: Path):
    previous = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)
