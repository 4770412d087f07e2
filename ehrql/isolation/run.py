"""Running a definition in its own boxed-in process, from the parent's side.

The parent never runs user code. It starts a fresh Python with an
environment holding only what Python needs and a command line holding none of
ehrql's options, hands it the definition's path and user arguments on
standard input, waits (with a time limit), and rebuilds what came back into
fresh query model objects.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import ehrql
from ehrql.errors import EHRQLError
from ehrql.isolation import sandbox
from ehrql.loaders import DefinitionFileError, MissingDefinitionError, UserArgs
from ehrql.serializer import SerializationError, deserialize_document
from ehrql.user_args import as_argument_list

#: Environment variable choosing how strictly user code is isolated.
MODE_VARIABLE = "EHRQL_ISOLATE_USER_CODE"
#: Environment variable giving the time limit, in seconds, for loading a definition.
TIMEOUT_VARIABLE = "EHRQL_USER_CODE_TIMEOUT"
DEFAULT_TIMEOUT = 600.0
MODES = {
    "auto": "sandbox where the OS can; without one, refuse database runs and warn on dummy data",
    "always": "refuse to run any definition without a complete sandbox",
    "never": "run in a scrubbed child process even where the OS cannot sandbox it, also against a database",
}

_ROOT = str(Path(ehrql.__file__).resolve().parents[1])
#: Where installed packages live. The child skips `site` (-S), whose .pth
#: processing costs a quarter of its start-up, and is given these directly.
_SITE_PACKAGES = [p for p in site.getsitepackages() if Path(p).is_dir()]
#: The child's whole command line after the interpreter: no ehrql options, no paths but Python's and ehrql's.
_BOOT = (
    f"import sys; sys.path[:0] = {[_ROOT]!r}; sys.path.extend({_SITE_PACKAGES!r}); "
    "from ehrql.isolation.child import main; main()"
)


class IsolationError(EHRQLError):
    """The definition cannot be run as isolated as this run requires."""


def isolation_mode(environ: Mapping[str, str] = os.environ) -> str:
    """The `EHRQL_ISOLATE_USER_CODE` setting (default `auto`), checked."""
    mode = environ.get(MODE_VARIABLE, "auto").strip().lower() or "auto"
    if mode not in MODES:
        raise IsolationError(
            f"{MODE_VARIABLE}={mode!r} is not one of: {', '.join(MODES)}"
        )
    return mode


def time_limit(environ: Mapping[str, str] = os.environ) -> float:
    """Seconds a definition may take to load: `EHRQL_USER_CODE_TIMEOUT`, default 600."""
    text = environ.get(TIMEOUT_VARIABLE)
    if not text:
        return DEFAULT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise IsolationError(
            f"{TIMEOUT_VARIABLE}={text!r} must be a positive number of seconds"
        )
    return value


def child_environment(temporary_directory: Path) -> dict[str, str]:
    """All the child's environment: a UTF-8 locale and its private temporary directory."""
    return {
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HOME": str(temporary_directory),
        "TMPDIR": str(temporary_directory),
    }


def sandbox_requested() -> bool:
    """Whether the child is asked to apply the OS sandbox: always, in ehrql.

    Tests replace this to stand for a machine whose OS offers no sandbox, so
    that what ehrql does there (refuse database runs, warn on dummy data) is
    checked on every machine.
    """
    return True


def child_command() -> list[str]:
    """The child's argv: isolated mode (no PYTHON* variables, no user site), no
    `site` processing, no bytecode writing, UTF-8 throughout."""
    return [sys.executable, "-I", "-S", "-B", "-X", "utf8", "-c", _BOOT]


def run_definition(
    job: str,
    definition: Path | str,
    user_args: UserArgs,
    *,
    against_database: bool = False,
    protected: Iterable[Path] = (),
    extra_readable: Iterable[Path] = (),
    options: Mapping[str, Any] | None = None,
    warn: Callable[[str], None] | None = None,
    meanwhile: Callable[[], object] | None = None,
) -> Any:
    """Run `job` ("dataset", "measures", "test_data", "test_data_file" or "debug")
    on a definition in a sandboxed child and return the plain data it sent back.

    `against_database` says the results will come from real data: then the run
    stops unless the OS sandbox is complete (or `EHRQL_ISOLATE_USER_CODE=never`).
    `protected` paths (the database) stay unreadable even inside the study.

    `meanwhile`, if given, is the parent's own work (importing what it will
    need next) to do while the child loads the definition, on another core;
    it is finished before this returns, and what it raises is ignored (the
    work is done again, and fails in its place, when it is needed).
    """
    definition = Path(definition)
    mode = isolation_mode()
    limit = time_limit()
    require = mode == "always" or (against_database and mode != "never")
    temporary = Path(tempfile.mkdtemp(prefix="ehrql-definition-"))
    try:
        studies = sandbox.study_directories(definition)
        rules = sandbox.policy(
            study_directories=studies,
            temporary_directory=temporary,
            protected=protected,
            extra_readable=extra_readable,
        )
        request = {
            "job": job,
            "definition": str(definition),
            # As given on the command line: the child sets sys.argv and parameters from them.
            "user_args": list(as_argument_list(user_args)),
            "options": dict(options or {}),
            "rules": rules.to_json(),
            "require_sandbox": require,
            "apply_sandbox": sandbox_requested(),
            "study_directories": [str(d) for d in studies],
            "result": str(temporary / "result.json"),
        }
        returncode = _run_child(request, temporary, definition, limit, meanwhile)
        response = _read_response(temporary / "result.json", definition, returncode)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return _unpack(response, definition, require, mode, warn)


def _run_child(
    request: dict,
    temporary: Path,
    definition: Path,
    limit: float,
    meanwhile: Callable[[], object] | None = None,
) -> int:
    process = subprocess.Popen(
        child_command(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=child_environment(temporary),
        cwd=os.getcwd(),
        close_fds=True,
        # Its own session: a Ctrl-C reaches ehrql, which stops the child itself.
        start_new_session=True,
    )
    # While this thread only waits for the child (and imports nothing).
    helper = _started(meanwhile) if meanwhile is not None else None
    try:
        out, err = process.communicate(json.dumps(request).encode(), timeout=limit)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        _relay(out, err)
        raise DefinitionFileError(
            f"Error in {_display(definition)}:\nthe definition did not finish loading within "
            f"{limit:g} seconds and was stopped (set {TIMEOUT_VARIABLE} to allow longer)"
        ) from None
    except BaseException:
        process.kill()
        process.wait()
        raise
    finally:
        if helper is not None:
            helper.join()
    _relay(out, err)
    return process.returncode


def _started(work: Callable[[], object]) -> threading.Thread:
    def quietly():
        try:
            work()
        except Exception:
            pass

    # A daemon: an interrupted run does not wait for it to exit.
    helper = threading.Thread(target=quietly, name="ehrql-meanwhile", daemon=True)
    helper.start()
    return helper


def _relay(out: bytes, err: bytes) -> None:
    """Pass on what the definition printed, as if it had run here."""
    if out:
        sys.stdout.write(out.decode("utf-8", "replace"))
        sys.stdout.flush()
    if err:
        sys.stderr.write(err.decode("utf-8", "replace"))
        sys.stderr.flush()


def _read_response(path: Path, definition: Path, returncode: int) -> dict:
    try:
        # Never follow a link the child made, nor read a device or FIFO.
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        with os.fdopen(descriptor, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise ValueError("not a regular file")
            response = json.loads(f.read().decode("utf-8"))
    except (OSError, ValueError):
        response = None
    if not isinstance(response, dict) or not isinstance(response.get("sandbox"), dict):
        how = (
            f"killed by signal {-returncode}"
            if returncode < 0
            else f"exit status {returncode}"
        )
        raise DefinitionFileError(
            f"Error in {_display(definition)}:\nthe definition's process ended ({how}) "
            "without sending back a dataset; a definition must not exit or kill its process"
        )
    return response


def _unpack(response: dict, definition: Path, require: bool, mode: str, warn) -> Any:
    status = sandbox.Status.from_json(response["sandbox"])
    if response.get("refused") or (require and not status.complete):
        reasons = "; ".join(status.reasons) or "unknown reason"
        if mode == "always":
            raise IsolationError(
                f"this machine cannot sandbox the definition ({reasons}) and {MODE_VARIABLE}=always"
            )
        raise IsolationError(
            f"this machine cannot sandbox the definition ({reasons}), so it is not run "
            "against a database; run `ehrql isolation-report` for details, or set "
            f"{MODE_VARIABLE}=never to run it in an unsandboxed (but scrubbed) process anyway"
        )
    if not status.complete and warn is not None:
        warn(
            "Warning: the definition ran without a complete OS sandbox ("
            + "; ".join(status.reasons)
            + "); fine for dummy data, refused for a database"
        )
    error = response.get("error")
    if error is not None:
        raise _rebuilt_error(error, definition)
    try:
        return deserialize_document(json.dumps(response.get("value")))
    except (SerializationError, TypeError, ValueError, KeyError) as e:
        raise DefinitionFileError(
            f"Error in {_display(definition)}:\nthe definition's process sent back "
            f"something that is not a valid query model: {e}"
        ) from None


def _rebuilt_error(error: dict, definition: Path) -> Exception:
    kind = error.get("type")
    message = str(error.get("message", ""))
    if kind == "MissingDefinitionError":
        rebuilt: Exception = MissingDefinitionError(message)
    elif kind == "DefinitionFileError":
        rebuilt = DefinitionFileError(message)
    elif kind == "KeyboardInterrupt":
        return KeyboardInterrupt()
    else:
        rebuilt = DefinitionFileError(
            f"Error in {_display(definition)}:\n{kind}: {message}"
        )
    rebuilt.child_traceback = str(error.get("traceback", ""))
    return rebuilt


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
