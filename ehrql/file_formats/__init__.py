"""Reading and writing the files ehrql takes in and puts out, chosen by file extension.

Supported: `.csv`, `.csv.gz`, `.arrow` (Arrow IPC file) and `.parquet`. Every
format is described by the same list of `ColumnSpec` (patient_id first), so a
file written in one format reads back as the same values from any other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc
import pyarrow.parquet

from ehrql.errors import EHRQLError
from ehrql.file_formats.arrow_format import read_arrow, read_parquet, write_arrow, write_parquet
from ehrql.file_formats.atomic import atomic_output
from ehrql.file_formats.base import ColumnSpec, FileValidationError, patient_id_spec
from ehrql.file_formats.console import write_table
from ehrql.file_formats.csv_format import csv_header, read_csv, write_csv, write_csv_gz
from ehrql.file_formats.dataset_specs import dataset_column_specs
from ehrql.query_model.table_schema import CategoricalConstraint, TableSchema

__all__ = [
    "AmbiguousTableFilesError",
    "FILE_FORMATS",
    "ColumnSpec",
    "check_one_file_per_table",
    "first_table_file_problem",
    "FileValidationError",
    "dataset_column_specs",
    "get_file_extension",
    "read_rows",
    "table_column_specs",
    "write_rows",
    "write_table",
]

Writer = Callable[[Path, Sequence[ColumnSpec], Iterable[Sequence]], int]
Reader = Callable[..., Iterator[tuple]]

#: Extension -> (writer, reader).
FILE_FORMATS: dict[str, tuple[Writer, Reader]] = {
    ".csv": (write_csv, read_csv),
    ".csv.gz": (write_csv_gz, read_csv),
    ".arrow": (write_arrow, read_arrow),
    ".parquet": (write_parquet, read_parquet),
}


def get_file_extension(path: Path | str) -> str:
    """The supported extension `path` ends with, or FileValidationError listing them."""
    name = Path(path).name
    # Longest first, so that `.csv.gz` is not taken for something ending `.gz`.
    for extension in sorted(FILE_FORMATS, key=len, reverse=True):
        if name.endswith(extension) and len(name) > len(extension):
            return extension
    raise FileValidationError(
        f"cannot tell the file format of '{path}': the name must end in one of "
        + ", ".join(FILE_FORMATS)
    )


class AmbiguousTableFilesError(EHRQLError):
    """A directory holds more than one file for the same table (`patients.csv` and `patients.parquet`)."""


def check_one_file_per_table(directory: Path, table_name: str) -> None:
    """Refuse a directory with more than one file for `table_name`, naming them all.

    Choosing one silently would read different data depending on the engine
    (or on the order formats are looked for), and the user cannot tell which.
    """
    found = [directory / f"{table_name}{e}" for e in FILE_FORMATS if (directory / f"{table_name}{e}").exists()]
    if len(found) > 1:
        raise AmbiguousTableFilesError(
            f"more than one file for table '{table_name}' in {directory}: "
            f"{', '.join(p.name for p in found)}; keep only one"
        )


def write_rows(path: Path | str, specs: Sequence[ColumnSpec], rows: Iterable[Sequence]) -> int:
    """Write `rows` to `path` in the format its extension names; the row count.

    The file appears only once complete: if writing fails, nothing is left
    behind. Missing parent directories are created.
    """
    path = Path(path)
    writer, _ = FILE_FORMATS[get_file_extension(path)]
    with atomic_output(path) as temporary:
        return writer(temporary, specs, rows)


def read_rows(
    path: Path | str, specs: Sequence[ColumnSpec], *, allow_extra_columns: bool = False
) -> Iterator[tuple]:
    """The rows of the file at `path`, as tuples in `specs` order, checked against `specs`."""
    path = Path(path)
    _, reader = FILE_FORMATS[get_file_extension(path)]
    if not path.is_file():
        raise FileValidationError(f"file not found: {path}")
    return reader(path, specs, allow_extra_columns=allow_extra_columns)


def first_table_file_problem(tables: Iterable[tuple[TableSchema, Path]]) -> FileValidationError | None:
    """The first problem (a bad cell, a missing column, a ragged row) in any of the
    table files, read as the in-memory engine reads them; None if they are all fine.

    The SQL engines call this once a database has refused a file, since their
    messages name neither the file nor, always, the column: the in-memory
    engine's message (file, line, column) is then given whatever the engine.
    A path that is not a single file (a Spark Parquet directory) is skipped.
    """
    for schema, path in tables:
        if not Path(path).is_file():
            continue
        try:
            # Only the columns the file has: a column no query reads may be left out.
            present = set(file_column_names(Path(path)))
            specs = [s for s in table_column_specs(schema) if s.name in present or s.name == "patient_id"]
            for _ in read_rows(path, specs, allow_extra_columns=True):
                pass
        except FileValidationError as problem:
            return problem
    return None


def file_column_names(path: Path) -> list[str]:
    """The names of the columns a table file holds, in order."""
    extension = get_file_extension(path)
    if extension in (".csv", ".csv.gz"):
        return csv_header(path)
    try:
        if extension == ".parquet":
            return pyarrow.parquet.read_schema(path).names
        with pa.memory_map(str(path)) as source:
            return pa.ipc.open_file(source).schema.names
    except pa.ArrowInvalid as e:
        raise FileValidationError(f"{path} is not a {extension.lstrip('.')} file: {e}") from None


def table_column_specs(schema: TableSchema) -> list[ColumnSpec]:
    """`patient_id` then one spec per column of a table schema, in schema order."""
    specs = [patient_id_spec()]
    for name, column in schema.columns:
        constraint = column.get_constraint(CategoricalConstraint)
        specs.append(
            ColumnSpec(
                name,
                column.type,
                nullable=column.nullable,
                categories=None if constraint is None else tuple(constraint.values),
            )
        )
    return specs
