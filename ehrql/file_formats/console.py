"""A dataset as a plain-text table, for reading in a terminal.

Cells use the CSV conventions (ISO dates, T/F), nulls are left blank. Column
widths are measured on the first `SAMPLE_ROWS` rows so that the table can be
printed while later rows are still arriving; a later, wider value just pushes
its row out of line.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import TextIO

from ehrql.file_formats.base import ColumnSpec
from ehrql.file_formats.csv_format import format_value

#: Rows looked at to choose column widths.
SAMPLE_ROWS = 1000


def _is_numeric(spec: ColumnSpec) -> bool:
    return spec.type in (int, float)


def _line(
    cells: Sequence[str], widths: Sequence[int], right_align: Sequence[bool]
) -> str:
    padded = (
        cell.rjust(width) if right else cell.ljust(width)
        for cell, width, right in zip(cells, widths, right_align)
    )
    return " | ".join(padded).rstrip()


def write_table(
    stream: TextIO, specs: Sequence[ColumnSpec], rows: Iterable[Sequence]
) -> int:
    """Print `rows` under a header of column names to `stream`; the row count."""
    iterator = iter(rows)
    sample = [
        [format_value(v) for v in row]
        for row in itertools.islice(iterator, SAMPLE_ROWS)
    ]
    header = [spec.name for spec in specs]
    widths = [
        max([len(name), *(len(row[i]) for row in sample)])
        for i, name in enumerate(header)
    ]
    right_align = [_is_numeric(spec) for spec in specs]
    stream.write(_line(header, widths, [False] * len(specs)) + "\n")
    stream.write("-+-".join("-" * width for width in widths) + "\n")
    count = 0
    for cells in itertools.chain(
        sample, ([format_value(v) for v in row] for row in iterator)
    ):
        stream.write(_line(cells, widths, right_align) + "\n")
        count += 1
    return count
