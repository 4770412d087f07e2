"""CSV files (plain or gzipped): one header line, then one line per row.

Conventions, shared by every CSV file ehrql reads or writes: dates are ISO
(`2024-03-31`), booleans are `T` or `F`, and an empty cell is null. Values are
parsed according to the column's spec, so a bad cell is reported with its file,
line and column.
"""

from __future__ import annotations

import csv
import datetime
import gzip
import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ehrql.file_formats.base import (
    ColumnSpec,
    FileValidationError,
    check_column_names,
    plain_value,
)
from ehrql.query_model.nodes import is_code_type

_INTEGER = re.compile(r"[+-]?[0-9]+")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def format_value(value) -> str:
    """A value as written in a CSV cell."""
    value = plain_value(value)
    if value is None:
        return ""
    if value is True:
        return "T"
    if value is False:
        return "F"
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def parse_value(text: str, spec: ColumnSpec):
    """The value a CSV cell holds for a column, or ValueError explaining why not."""
    return value_parser(spec)(text)


def value_parser(spec: ColumnSpec) -> Callable[[str], Any]:
    """A function turning a cell of the column into its value, or raising ValueError.

    Built once per column, as a file may have millions of cells.
    """
    parse_typed = _typed_parser(spec.type)
    categories = None if spec.categories is None else frozenset(spec.categories)

    def parse(text: str):
        if text == "":
            if not spec.nullable:
                raise ValueError("it is empty, but this column cannot be null")
            return None
        try:
            value = parse_typed(text)
        except ValueError as e:
            hint = f" ({e})" if str(e) else ""
            raise ValueError(
                f"{text!r} is not a valid {spec.type_name}{hint}"
            ) from None
        if categories is not None and plain_value(value) not in categories:
            allowed = ", ".join(repr(c) for c in spec.categories)
            raise ValueError(f"{text!r} is not one of the allowed values ({allowed})")
        return value

    return parse


def _parse_bool(text: str) -> bool:
    if text == "T":
        return True
    if text == "F":
        return False
    raise ValueError("write booleans as T or F")


def _parse_int(text: str) -> int:
    if not _INTEGER.fullmatch(text):
        raise ValueError("")
    return int(text)


def _parse_float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError("") from None


def _parse_date(text: str) -> datetime.date:
    try:
        if not _DATE.fullmatch(text):
            raise ValueError
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise ValueError("write dates as YYYY-MM-DD") from None


def _typed_parser(type_) -> Callable[[str], Any]:
    if is_code_type(type_):
        return type_
    return {
        bool: _parse_bool,
        int: _parse_int,
        float: _parse_float,
        datetime.date: _parse_date,
        str: str,
    }[type_]


@contextmanager
def _open_text(path: Path, mode: str, compressed: bool):
    """Open a CSV file for text reading or writing, through gzip if `compressed`."""
    # Reading skips a byte order mark, which Excel puts at the start of "CSV UTF-8".
    encoding = "utf-8-sig" if mode == "r" else "utf-8"
    if not compressed:
        with open(path, mode, newline="", encoding=encoding) as f:
            yield f
        return
    # mtime=0 makes the same rows give a byte-identical file on every run.
    # Level 6 (gzip's own default) is several times faster than Python's 9,
    # for files a few percent bigger.
    with (
        open(path, mode + "b") as raw,
        gzip.GzipFile(
            fileobj=raw, mode=mode + "b", mtime=0, filename="", compresslevel=6
        ) as zipped,
        io.TextIOWrapper(zipped, encoding=encoding, newline="") as text,
    ):
        yield text


def write_csv(
    path: Path,
    specs: Sequence[ColumnSpec],
    rows: Iterable[Sequence],
    *,
    compress: bool = False,
) -> int:
    """Write a header and `rows` to `path`, gzipped if `compress`; the row count."""
    count = 0
    with _open_text(path, "w", compress) as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow([spec.name for spec in specs])
        for row in rows:
            writer.writerow([format_value(value) for value in row])
            count += 1
    return count


def read_csv(
    path: Path,
    specs: Sequence[ColumnSpec],
    *,
    allow_extra_columns: bool = False,
    compressed: bool | None = None,
) -> Iterator[tuple]:
    """The rows of a CSV file as tuples in `specs` order, each value parsed by its spec.

    Columns may come in any order in the file. `compressed` defaults to whether
    the name ends in `.gz`. Raises FileValidationError naming the file, line
    and column of the first problem.
    """
    if compressed is None:
        compressed = path.name.endswith(".gz")
    try:
        yield from _read_csv(path, specs, allow_extra_columns, compressed)
    except UnicodeDecodeError as e:
        raise not_utf8_error(path, e) from None


def not_utf8_error(path: Path, error: UnicodeDecodeError) -> FileValidationError:
    """The error for a CSV file that is not UTF-8 text."""
    return FileValidationError(
        f"{path} is not UTF-8 text ({error.reason} at byte {error.start}): save it as CSV UTF-8"
    )


def _read_csv(
    path: Path, specs, allow_extra_columns: bool, compressed: bool
) -> Iterator[tuple]:
    with _open_text(path, "r", compressed) as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            raise FileValidationError(
                f"{path}: the file is empty (it needs a header line)"
            )
        check_column_names(str(path), header, specs, allow_extra=allow_extra_columns)
        columns = [(header.index(spec.name), value_parser(spec)) for spec in specs]
        for row in reader:
            if not row:
                continue
            if len(row) != len(header):
                raise FileValidationError(
                    f"{path} line {reader.line_num}: expected {len(header)} cells, found {len(row)}"
                )
            try:
                yield tuple([parse(row[i]) for i, parse in columns])
            except ValueError:
                raise _cell_error(path, reader.line_num, row, columns, specs) from None


def _cell_error(path: Path, line: int, row, columns, specs) -> FileValidationError:
    """The error for the first bad cell of a row (found again, to name its column)."""
    for (i, parse), spec in zip(columns, specs):
        try:
            parse(row[i])
        except ValueError as e:
            return FileValidationError(f"{path} line {line}, column '{spec.name}': {e}")
    raise AssertionError("a cell failed to parse, then parsed")  # pragma: no cover


def csv_header(path: Path) -> list[str]:
    """The column names in the first line of a CSV file (gzipped if its name ends `.gz`)."""
    try:
        with _open_text(path, "r", path.name.endswith(".gz")) as f:
            return next(csv.reader(f), [])
    except UnicodeDecodeError as e:
        raise not_utf8_error(path, e) from None


def write_csv_gz(
    path: Path, specs: Sequence[ColumnSpec], rows: Iterable[Sequence]
) -> int:
    """`write_csv` with gzip compression."""
    return write_csv(path, specs, rows, compress=True)
