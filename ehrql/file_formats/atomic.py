"""Writing an output file so that it appears whole or not at all.

The data goes to a hidden temporary file next to the destination, which is
renamed over it only once writing has finished. Renaming within a directory is
atomic, so a reader (or a failed run) never sees a half-written file; on error
the temporary file, and any directories made for it, are removed.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ehrql.errors import EHRQLError


def _missing_directories(directory: Path) -> list[Path]:
    """The directories that would need creating for `directory` to exist, outermost first."""
    missing = []
    while not directory.exists():
        missing.append(directory)
        if directory.parent == directory:
            break
        directory = directory.parent
    return list(reversed(missing))


@contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """Yield a temporary path to write to; on success it is renamed to `path`.

    The parent directory is created if needed.
    """
    path = Path(path)
    _check_parents_are_directories(path)
    created = _missing_directories(path.parent)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary_name = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    os.close(descriptor)
    temporary = Path(temporary_name)
    # mkstemp makes the file private; an output should be readable like any other.
    temporary.chmod(0o644)
    try:
        yield temporary
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        for directory in reversed(created):
            _remove_if_empty(directory)
        raise


class OutputPathError(EHRQLError):
    """An output cannot be written where asked, for a reason the user can fix."""


def _check_parents_are_directories(path: Path) -> None:
    # Otherwise the error is mkdir's bare "File exists".
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise OutputPathError(
                    f"cannot write {path}: {parent} is a file, not a directory"
                )
            return


def _remove_if_empty(directory: Path) -> None:
    try:
        directory.rmdir()
    except OSError:
        # Not empty (someone else wrote there meanwhile) or already gone.
        pass
