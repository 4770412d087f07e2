"""Arrow IPC (`.arrow`) and Parquet (`.parquet`) files: typed, columnar.

Column types: bool, int64, float64, date32 and string (codes are strings). A
string column whose values are a known set of categories is dictionary encoded
with exactly those categories as its dictionary, so every batch shares one
dictionary and readers see the full list of levels even when some are unused.

Rows are written in record batches of `BATCH_SIZE`, so a large result is never
held in memory all at once.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ehrql import column_types
from ehrql.file_formats.base import (
    ColumnSpec,
    FileValidationError,
    check_column_names,
    plain_value,
)
from ehrql.query_model.nodes import is_code_type

if TYPE_CHECKING:
    # Imported where used instead: writing CSV never needs pyarrow, which
    # is slow to import.
    import pyarrow as pa

#: Rows per record batch when writing.
BATCH_SIZE = 64_000


def _value_type(spec: ColumnSpec) -> pa.DataType:
    return column_types.arrow_type(spec.type)


def _is_dictionary_encoded(spec: ColumnSpec) -> bool:
    import pyarrow as pa

    return spec.categories is not None and pa.types.is_string(_value_type(spec))


def _index_type(category_count: int) -> pa.DataType:
    import pyarrow as pa

    for index_type in (pa.int8(), pa.int16(), pa.int32()):
        if category_count <= 2 ** (index_type.bit_width - 1) - 1:
            return index_type
    return pa.int64()


def arrow_type(spec: ColumnSpec) -> pa.DataType:
    """The Arrow type a column is written with."""
    import pyarrow as pa

    if _is_dictionary_encoded(spec):
        return pa.dictionary(_index_type(len(spec.categories)), pa.string())
    return _value_type(spec)


def arrow_schema(specs: Sequence[ColumnSpec]) -> pa.Schema:
    """The Arrow schema of a file holding `specs`."""
    import pyarrow as pa

    return pa.schema(
        [pa.field(s.name, arrow_type(s), nullable=s.nullable) for s in specs]
    )


def _column_array(spec: ColumnSpec, values: list) -> pa.Array:
    import pyarrow as pa

    if is_code_type(spec.type):
        values = [plain_value(v) for v in values]
    if not _is_dictionary_encoded(spec):
        return pa.array(values, type=_value_type(spec))
    positions = {category: i for i, category in enumerate(spec.categories)}
    try:
        indices = [None if v is None else positions[v] for v in values]
    except KeyError as e:
        raise ValueError(
            f"column '{spec.name}' got {e.args[0]!r}, which is not one of its categories"
        ) from None
    return pa.DictionaryArray.from_arrays(
        pa.array(indices, type=_index_type(len(spec.categories))),
        pa.array(spec.categories, type=pa.string()),
    )


def record_batches(
    specs: Sequence[ColumnSpec], rows: Iterable[Sequence], batch_size: int | None = None
) -> Iterator[pa.RecordBatch]:
    """`rows` as Arrow record batches of at most `batch_size` (default `BATCH_SIZE`) rows."""
    import pyarrow as pa

    batch_size = batch_size or BATCH_SIZE
    schema = arrow_schema(specs)
    iterator = iter(rows)
    while chunk := list(itertools.islice(iterator, batch_size)):
        columns = list(zip(*chunk))
        arrays = [
            _column_array(spec, list(column)) for spec, column in zip(specs, columns)
        ]
        yield pa.RecordBatch.from_arrays(arrays, schema=schema)


def write_arrow(
    path: Path, specs: Sequence[ColumnSpec], rows: Iterable[Sequence]
) -> int:
    """Write `rows` to an Arrow IPC file; the row count."""
    import pyarrow as pa
    import pyarrow.ipc

    count = 0
    with (
        pa.OSFile(str(path), "wb") as sink,
        pa.ipc.new_file(sink, arrow_schema(specs)) as writer,
    ):
        for batch in record_batches(specs, rows):
            writer.write_batch(batch)
            count += batch.num_rows
    return count


def write_parquet(
    path: Path, specs: Sequence[ColumnSpec], rows: Iterable[Sequence]
) -> int:
    """Write `rows` to a Parquet file, one row group per batch; the row count."""
    import pyarrow.parquet

    count = 0
    with pyarrow.parquet.ParquetWriter(str(path), arrow_schema(specs)) as writer:
        for batch in record_batches(specs, rows):
            writer.write_batch(batch)
            count += batch.num_rows
    return count


def read_arrow(
    path: Path, specs: Sequence[ColumnSpec], *, allow_extra_columns: bool = False
) -> Iterator[tuple]:
    """The rows of an Arrow IPC file as tuples in `specs` order.

    Column names and types are checked against `specs` first.
    """
    import pyarrow as pa
    import pyarrow.ipc

    try:
        reader = pa.ipc.open_file(pa.memory_map(str(path)))
    except pa.ArrowInvalid as e:
        raise FileValidationError(f"{path} is not an Arrow IPC file: {e}") from None
    _check_schema(path, reader.schema, specs, allow_extra_columns)
    for i in range(reader.num_record_batches):
        yield from _batch_rows(path, reader.get_batch(i), specs)


def read_parquet(
    path: Path, specs: Sequence[ColumnSpec], *, allow_extra_columns: bool = False
) -> Iterator[tuple]:
    """The rows of a Parquet file as tuples in `specs` order, read a batch at a time."""
    import pyarrow as pa
    import pyarrow.parquet

    try:
        parquet_file = pyarrow.parquet.ParquetFile(str(path))
    except pa.ArrowInvalid as e:
        raise FileValidationError(f"{path} is not a Parquet file: {e}") from None
    _check_schema(path, parquet_file.schema_arrow, specs, allow_extra_columns)
    names = [spec.name for spec in specs]
    for batch in parquet_file.iter_batches(batch_size=BATCH_SIZE, columns=names):
        yield from _batch_rows(path, batch, specs)


def _check_schema(
    path: Path, schema: pa.Schema, specs, allow_extra_columns: bool
) -> None:
    import pyarrow as pa

    check_column_names(str(path), schema.names, specs, allow_extra=allow_extra_columns)
    for spec in specs:
        found = schema.field(spec.name).type
        if pa.types.is_dictionary(found):
            found = found.value_type
        expected = _value_type(spec)
        # Large strings are strings too, as far as values go.
        if pa.types.is_large_string(found):
            found = pa.string()
        if found != expected:
            raise FileValidationError(
                f"{path}: column '{spec.name}' should be {spec.type_name} ({expected}), "
                f"but the file has {schema.field(spec.name).type}"
            )


def _batch_rows(path: Path, batch: pa.RecordBatch, specs) -> Iterator[tuple]:
    columns = [
        [_checked(path, spec, value) for value in batch.column(spec.name).to_pylist()]
        for spec in specs
    ]
    return zip(*columns)


def _checked(path: Path, spec: ColumnSpec, value):
    if value is None:
        if not spec.nullable:
            raise FileValidationError(
                f"{path}: column '{spec.name}' has a null, but cannot be null"
            )
        return None
    if spec.categories is not None and value not in spec.categories:
        allowed = ", ".join(repr(c) for c in spec.categories)
        raise FileValidationError(
            f"{path}: column '{spec.name}' has {value!r}, which is not one of the allowed values ({allowed})"
        )
    if is_code_type(spec.type):
        try:
            return spec.type(value)
        except ValueError as e:
            raise FileValidationError(f"{path}: column '{spec.name}': {e}") from None
    return value
