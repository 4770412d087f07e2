"""Several tables in one output: a directory holding one file per table.

A dataset with event tables, or measures written one file per measure, is
more than one table. Such an output is named as a directory and a format:
`results/:csv` (or `results:csv`) means the directory `results` holding
`dataset.csv`, `<event table>.csv`, ... Each table's file is named after the
table (URL-quoted, so that any name makes a safe file name) and written by
`write_rows`, the one function that writes one table to one file; this module
only decides where each goes, and makes the set appear all at once.

The same layout is read back by `read_tables`, for `--dummy-data-file`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import tempfile
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from ehrql.file_formats.atomic import _missing_directories, _remove_if_empty
from ehrql.file_formats.base import ColumnSpec, FileValidationError

#: Writes one table to one file (`ehrql.file_formats.write_rows`); returns the row count.
TableWriter = Callable[[Path, Sequence[ColumnSpec], Iterable[Sequence]], int]


@dataclasses.dataclass(frozen=True)
class OutputTable:
    """One table of an output: its name, its columns, and how to get its rows.

    `rows` is called only when the table is written, so that a query runs
    only once the output before it has been written.
    """

    name: str
    specs: tuple[ColumnSpec, ...]
    rows: Callable[[], Iterable[Sequence]]


def split_directory_output(path: Path | str) -> tuple[Path, str] | None:
    """`(directory, extension)` for a directory output (`DIR/:csv` or `DIR:csv`), else None.

    The extension is returned with its dot (`.csv`), unchecked.
    """
    text = str(path)
    head, separator, format_name = text.rpartition(":")
    if not separator or "/" in format_name or os.sep in format_name:
        return None
    if not format_name:
        return None
    # `DIR/:csv` names DIR itself; a bare `:csv` is the current directory.
    return Path(head or "."), "." + format_name


def table_file(directory: Path, table_name: str, extension: str) -> Path:
    """The file holding `table_name` in a directory of tables."""
    return directory / f"{urllib.parse.quote(table_name, safe='')}{extension}"


def write_tables(
    directory: Path,
    extension: str,
    tables: Sequence[OutputTable],
    write_one: TableWriter,
) -> dict[str, int]:
    """Write each table to `directory/<name><extension>`; the row count of each.

    The files appear together, once every one of them has been written: a
    failure part way leaves neither a half-written file nor a half-filled
    new directory. Other files already in `directory` are left alone.
    """
    names = [table.name for table in tables]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise FileValidationError(
            f"two output tables are both named {', '.join(repeated)}"
        )
    counts = {}
    with _staging_directory(Path(directory)) as staging:
        for table in tables:
            counts[table.name] = write_one(
                table_file(staging, table.name, extension), table.specs, table.rows()
            )
    return counts


@contextlib.contextmanager
def _staging_directory(directory: Path) -> Iterator[Path]:
    """A hidden directory to write into; on success its files are moved into `directory`.

    A directory that does not exist yet is made whole by renaming the
    staging directory onto it; in an existing one, each file is renamed in.
    """
    exists = directory.is_dir()
    if directory.exists() and not exists:
        raise FileValidationError(
            f"cannot write tables to {directory}: it exists and is not a directory"
        )
    created = [] if exists else _missing_directories(directory.parent)
    parent = directory if exists else directory.parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(
        tempfile.mkdtemp(dir=parent, prefix=f".{directory.name}.", suffix=".tmp")
    )
    try:
        yield staging
        if exists:
            for path in sorted(staging.iterdir()):
                os.replace(path, directory / path.name)
            staging.rmdir()
        else:
            staging.chmod(0o755)
            os.rename(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        for made in reversed(created):
            _remove_if_empty(made)
        raise


def find_directory_format(directory: Path, known_extensions: Iterable[str]) -> str:
    """The one table file format used in a directory of tables (e.g. `.csv`).

    Other files (a README, editor backups) are ignored; two data formats at
    once is an error, as it would be unclear which file holds a table.
    """
    if not directory.is_dir():
        raise FileValidationError(f"{directory} is not a directory")
    # Longest first, so that `x.csv.gz` is not taken for something ending `.gz`.
    extensions = sorted(known_extensions, key=len, reverse=True)
    found = set()
    for path in directory.iterdir():
        if path.name.startswith("."):
            continue
        match = next(
            (
                e
                for e in extensions
                if path.name.endswith(e) and len(path.name) > len(e)
            ),
            None,
        )
        if match is not None:
            found.add(match)
    if not found:
        raise FileValidationError(
            f"{directory} holds no table files (looked for files ending in {', '.join(sorted(extensions))})"
        )
    if len(found) > 1:
        raise FileValidationError(
            f"{directory} holds table files of more than one format ({', '.join(sorted(found))}); "
            "keep only one"
        )
    return found.pop()


def read_tables(
    directory: Path,
    table_specs: Mapping[str, Sequence[ColumnSpec]],
    read_one: Callable[[Path, Sequence[ColumnSpec]], Iterator[tuple]],
    known_extensions: Iterable[str],
) -> dict[str, Iterator[tuple]]:
    """The rows of each named table, from a directory laid out as `write_tables` writes.

    Every file must be present before any is read.
    """
    extension = find_directory_format(directory, known_extensions)
    paths = {name: table_file(directory, name, extension) for name in table_specs}
    missing = [path.name for path in paths.values() if not path.is_file()]
    if missing:
        raise FileValidationError(
            f"{directory}: missing {', '.join(missing)} (one file is needed per table)"
        )
    return {name: read_one(paths[name], specs) for name, specs in table_specs.items()}
