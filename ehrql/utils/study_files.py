"""Which files a definition may read while it is being loaded.

A definition loaded for a run (in its isolated process) may only read data
files, such as tables for `table_from_file` and codelists, inside the study
directory. The OS sandbox enforces that; this check says so clearly first,
naming the file, instead of a bare "Permission denied".
"""

from __future__ import annotations

import contextvars
import os
from collections.abc import Sequence
from pathlib import Path

from ehrql.errors import DefinitionError

#: The study directories, while a definition is loaded for a run; None means no check.
STUDY_DIRECTORIES: contextvars.ContextVar[tuple[Path, ...] | None] = (
    contextvars.ContextVar("STUDY_DIRECTORIES", default=None)
)


def check_in_study(path: str | Path, what: str) -> None:
    """Raise DefinitionError if `path` lies outside the study directories (when they are set)."""
    directories = STUDY_DIRECTORIES.get()
    if directories is None:
        return
    resolved = Path(os.path.realpath(path))
    if not any(resolved == d or d in resolved.parents for d in directories):
        where = " or ".join(str(d) for d in directories)
        raise DefinitionError(
            f"{what} {path} is outside the study directory ({where}); "
            "definitions may only read files inside it"
        )


def set_study_directories(directories: Sequence[Path]) -> None:
    """Restrict data files to `directories` for the rest of this process (the isolated child)."""
    STUDY_DIRECTORIES.set(tuple(Path(d).resolve() for d in directories))
