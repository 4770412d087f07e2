"""Write generated dummy tables to files, one per table, named after it."""

from __future__ import annotations

from pathlib import Path

from ehrql.file_formats import FILE_FORMATS, table_column_specs, write_rows
from ehrql.query_model import nodes as qm


def write_dummy_tables(
    tables: dict, directory: Path | str, format: str = "csv"
) -> list[Path]:
    """Write each table's rows to `directory/<table name>.<format>`; the paths written.

    `format` is one of the file formats ehrql writes ("csv", "csv.gz",
    "arrow", "parquet"). Files follow that format's conventions (for CSV: a
    `patient_id,...` header, ISO dates, booleans as T/F, empty cells for null).
    """
    extension = "." + format.lstrip(".")
    if extension not in FILE_FORMATS:
        known = ", ".join(e.lstrip(".") for e in FILE_FORMATS)
        raise ValueError(
            f"unknown dummy table format '{format}': choose one of {known}"
        )
    names = [table.name for table in tables]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ValueError(f"two different tables are both named {', '.join(duplicated)}")
    directory = Path(directory)
    written = []
    for table, rows in sorted(tables.items(), key=lambda item: item[0].name):
        if isinstance(table, qm.InlinePatientTable):
            continue
        specs = table_column_specs(table.schema)
        path = directory / f"{table.name}{extension}"
        write_rows(path, specs, ([row[spec.name] for spec in specs] for row in rows))
        written.append(path)
    return written
