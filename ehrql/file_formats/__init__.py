"""Reading and writing the files ehrql takes in and puts out, chosen by file extension.

Supported: `.csv`, `.csv.gz`, `.arrow` (Arrow IPC file) and `.parquet`. Every
format is described by the same list of `ColumnSpec` (patient_id first), so a
file written in one format reads back as the same values from any other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from ehrql.errors import EHRQLError
from ehrql.file_formats.arrow_format import (
    read_arrow,
    read_parquet,
    write_arrow,
    write_parquet,
)
from ehrql.file_formats.atomic import atomic_output
from ehrql.file_formats.base import ColumnSpec, FileValidationError, patient_id_spec
from ehrql.file_formats.console import write_table
from ehrql.file_formats.csv_format import csv_header, read_csv, write_csv, write_csv_gz
from ehrql.file_formats.dataset_specs import (
    DATASET_TABLE_NAME,
    dataset_column_specs,
    dataset_table_specs,
)
from ehrql.file_formats.tables import (
    OutputTable,
    read_tables,
    split_directory_output,
    table_file,
    write_tables,
)
from ehrql.query_model.table_schema import CategoricalConstraint, TableSchema

__all__ = [
    "AmbiguousTableFilesError",
    "FILE_FORMATS",
    "ColumnSpec",
    "check_one_file_per_table",
    "first_table_file_problem",
    "FileValidationError",
    "OutputTable",
    "check_output_path",
    "DATASET_TABLE_NAME",
    "dataset_column_specs",
    "dataset_table_specs",
    "get_file_extension",
    "read_input_tables",
    "read_rows",
    "table_column_specs",
    "write_output_tables",
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
    found = [
        directory / f"{table_name}{e}"
        for e in FILE_FORMATS
        if (directory / f"{table_name}{e}").exists()
    ]
    if len(found) > 1:
        raise AmbiguousTableFilesError(
            f"more than one file for table '{table_name}' in {directory}: "
            f"{', '.join(p.name for p in found)}; keep only one"
        )


def write_rows(
    path: Path | str, specs: Sequence[ColumnSpec], rows: Iterable[Sequence]
) -> int:
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


def first_table_file_problem(
    tables: Iterable[tuple[TableSchema, Path]],
) -> FileValidationError | None:
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
            specs = [
                s
                for s in table_column_specs(schema)
                if s.name in present or s.name == "patient_id"
            ]
            for _ in read_rows(path, specs, allow_extra_columns=True):
                pass
        except FileValidationError as problem:
            return problem
    return None


def file_column_names(path: Path) -> list[str]:
    """The names of the columns a table file holds, in order."""
    import pyarrow as pa
    import pyarrow.ipc
    import pyarrow.parquet

    extension = get_file_extension(path)
    if extension in (".csv", ".csv.gz"):
        return csv_header(path)
    try:
        if extension == ".parquet":
            return pyarrow.parquet.read_schema(path).names
        with pa.memory_map(str(path)) as source:
            return pa.ipc.open_file(source).schema.names
    except pa.ArrowInvalid as e:
        raise FileValidationError(
            f"{path} is not a {extension.lstrip('.')} file: {e}"
        ) from None


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


def _format_names() -> str:
    return ", ".join(e.lstrip(".") for e in FILE_FORMATS)


def check_output_path(
    path: Path | str, table_count: int = 1
) -> tuple[Path, str] | None:
    """Check that `path` can hold `table_count` tables; `(directory, extension)` for a directory.

    A file (`out.csv`) holds one table; a directory and a format (`out/:csv`)
    holds any number. Raises FileValidationError saying what to write instead.
    """
    split = split_directory_output(path)
    if split is not None:
        directory, extension = split
        if extension not in FILE_FORMATS:
            raise FileValidationError(
                f"unknown file format '{extension.lstrip('.')}' in '{path}'; after the colon "
                f"give one of: {_format_names()}"
            )
        return split
    extension = get_file_extension(path)
    if table_count > 1:
        path = Path(path)
        stem = path.name[: -len(extension)]
        raise FileValidationError(
            f"there are {table_count} tables to write, but {path} is a single file: give a "
            f"directory and a format instead, such as {path.parent / stem}/:{extension.lstrip('.')}"
        )
    return None


def write_output_tables(
    path: Path | str, tables: Sequence[OutputTable], progress=None
) -> dict[str, int]:
    """Write `tables` to `path`: one file per table in a directory output (`DIR/:csv`),
    or the single table to a file. Returns each table's row count.

    Each file is written by `write_results` (so a table's rows may also be
    database results; see `ehrql.file_formats.results`), reporting to
    `progress` if given; in a directory all of them appear together once
    written (see `ehrql.file_formats.tables`).
    """
    from ehrql.file_formats.results import write_results

    def write(file_path: Path, specs: Sequence[ColumnSpec], results) -> int:
        if progress is None:
            return write_results(file_path, specs, results)
        return write_results(file_path, specs, results, progress=progress)

    split = check_output_path(path, len(tables))
    if split is None:
        (table,) = tables
        return {table.name: write(path, table.specs, table.rows())}
    directory, extension = split
    return write_tables(directory, extension, tables, write)


def read_input_tables(
    path: Path | str, table_specs: dict[str, Sequence[ColumnSpec]]
) -> dict[str, Iterator[tuple]]:
    """The rows of each table in `table_specs` (name -> specs), from `path`: a directory
    holding one file per table (as `write_output_tables` writes it), or, for a
    single table, a file."""
    path = Path(path)
    if path.is_dir():
        return read_tables(path, table_specs, read_rows, FILE_FORMATS)
    if len(table_specs) > 1:
        extension = get_file_extension(path)
        names = ", ".join(table_file(Path(""), n, extension).name for n in table_specs)
        raise FileValidationError(
            f"{path} is a single file, but {len(table_specs)} tables are needed: give a directory "
            f"holding {names}"
        )
    ((name, specs),) = table_specs.items()
    return {name: read_rows(path, specs)}
