"""The attempts `ehrql isolation-report` makes from inside the sandbox.

Each probe does one thing a hostile definition might try and records whether
the OS stopped it. They run in the child after the sandbox is applied, as a
definition would, and never touch anything but the report's own scratch files.
"""

from __future__ import annotations

import errno
import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path


def _read(path: str) -> Callable[[], object]:
    return lambda: Path(path).read_bytes()[:0]


def _write(path: str) -> Callable[[], object]:
    return lambda: Path(path).write_text("probe")


def _connect(port: int) -> object:
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        return None


def _bind() -> object:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        s.listen()


def _udp() -> object:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(b"probe", ("127.0.0.1", 9))


def _run_shell() -> object:
    import subprocess

    subprocess.run(["/bin/sh", "-c", "exit 0"], check=True)


def _execve() -> object:
    # /dev/null is no program, so an unfiltered execve fails harmlessly with
    # EACCES instead of replacing this process; the filter's answer is EPERM.
    try:
        os.execv("/dev/null", ["probe"])
    except PermissionError as error:
        if error.errno == errno.EPERM:
            raise
    return None


def _fork() -> object:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)


def _signal_parent() -> object:
    os.kill(os.getppid(), 0)


def run_probes(options: dict) -> list[dict]:
    """[{"name", "expected", "happened", "detail"}], where expected/happened are "blocked" or "allowed"."""
    ppid = os.getppid()
    probes: list[tuple[str, str, Callable[[], object]]] = [
        ("read a file in the study directory", "allowed", _read(options["study_file"])),
        (
            "read the database file inside the study directory",
            "blocked",
            _read(options["database_file"]),
        ),
        (
            "read a file outside the study directory",
            "blocked",
            _read(options["outside_file"]),
        ),
        ("read /etc/hostname", "blocked", _read("/etc/hostname")),
        ("read /proc/self/cmdline", "blocked", _read("/proc/self/cmdline")),
        (
            f"read /proc/{ppid}/cmdline (ehrql's command line)",
            "blocked",
            _read(f"/proc/{ppid}/cmdline"),
        ),
        (
            f"read /proc/{ppid}/environ (ehrql's environment)",
            "blocked",
            _read(f"/proc/{ppid}/environ"),
        ),
        (
            "write into the study directory",
            "blocked",
            _write(options["study_new_file"]),
        ),
        ("write into /tmp", "blocked", _write(options["shared_tmp_file"])),
        (
            "write into its private temporary directory",
            "allowed",
            _write(os.path.join(os.environ["TMPDIR"], "probe")),
        ),
        ("connect to 127.0.0.1 over TCP", "blocked", lambda: _connect(options["port"])),
        ("listen on a TCP port", "blocked", _bind),
        ("send a UDP packet", "blocked", _udp),
        ("start /bin/sh", "blocked", _run_shell),
        ("call execve", "blocked", _execve),
        ("start a process (fork)", "blocked", _fork),
        ("signal ehrql's process", "blocked", _signal_parent),
    ]
    results = []
    for name, expected, attempt in probes:
        try:
            attempt()
        except BaseException as error:  # noqa: BLE001 - any failure means it was stopped
            happened, detail = (
                "blocked",
                f"{type(error).__name__}: {getattr(error, 'strerror', None) or error}",
            )
        else:
            happened, detail = "allowed", ""
        results.append(
            {"name": name, "expected": expected, "happened": happened, "detail": detail}
        )
    scrubbed = sorted(os.environ)
    results.append(
        {
            "name": "environment variables seen",
            "expected": "scrubbed",
            "happened": "scrubbed"
            if set(scrubbed) <= {"LANG", "LC_ALL", "HOME", "TMPDIR"}
            else "leaked",
            "detail": ", ".join(scrubbed),
        }
    )
    results.append(
        {
            "name": "command line seen",
            "expected": "scrubbed",
            "happened": "scrubbed" if sys.argv == [options["definition"]] else "leaked",
            "detail": " ".join(sys.argv),
        }
    )
    return results
