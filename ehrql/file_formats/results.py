"""Writing one query's results to one file, with the database doing the work.

`write_results(destination, specs, results)` is the one entry point: every
command that outputs a table (a dataset, an event table, measures) hands it
the destination, the column specs and its results, which are one of:

* `DuckDBResults`: a SELECT on an open DuckDB connection. CSV is written by
  DuckDB's own `COPY ... TO`, its cells formatted in SQL; Arrow and Parquet
  from the Arrow record batches DuckDB streams out.
* `ArrowResults`: Arrow record batches (from Spark, or made from a server's
  rows a batch at a time). For CSV they are streamed through an in-memory
  DuckDB connection, so that every source's CSV comes out of one formatter.
* any other iterable: rows of Python values (the in-memory engine, a dummy
  data file), turned into record batches first.

No Python object is made per row on the first two paths. The files are those
the row-at-a-time writers in `csv_format` and `arrow_format` produce, byte
for byte (the tests compare them): `patient_id` first, `T`/`F`, ISO dates,
an empty cell for null, floats as Python prints them, quoting only where
Python's csv module quotes, and Arrow record batches of `BATCH_SIZE` rows
with the same schema. Files appear whole or not at all (`atomic_output`).

`destination` may also be `"-"` (CSV on standard output) or None (the first
`CONSOLE_ROWS` rows as a table on the console, and how many there were).
"""

from __future__ import annotations

import codecs
import dataclasses
import gzip
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import duckdb

from ehrql.file_formats.arrow_format import (
    BATCH_SIZE,
    _index_type,
    _is_dictionary_encoded,
    _value_type,
    arrow_schema,
    record_batches,
)
from ehrql.file_formats.atomic import atomic_output
from ehrql.file_formats.base import ColumnSpec
from ehrql.file_formats.console import write_table
from ehrql.progress import PERCENT
from ehrql.query_model.nodes import is_code_type

if TYPE_CHECKING:
    # Imported where used instead: writing CSV never needs pyarrow, which
    # is slow to import.
    import pyarrow as pa

#: Rows shown when a table is printed to the console instead of written to a file.
CONSOLE_ROWS = 20

#: Where a writer reports how far it has got: (rows done, None), or, for
#: DuckDB's own CSV writer, which does not count rows as it goes,
#: (percent of the query done, 100, "%").
Progress = Callable[..., None]


def _no_progress(done: int, total: int | None, unit: str | None = None) -> None:
    pass


@dataclasses.dataclass(frozen=True)
class DuckDBResults:
    """A SELECT whose columns are, in order, those of the specs, on an open connection.

    The connection must stay open (and any tables the SELECT reads must
    exist) until `write_results` returns.
    """

    connection: duckdb.DuckDBPyConnection
    select: str


@dataclasses.dataclass(frozen=True)
class ArrowResults:
    """Record batches whose columns are, in order, those of the specs.

    Column types need only be castable to the spec's (a large string for a
    string, say); each batch is consumed once.
    """

    batches: Iterable[pa.RecordBatch]


@dataclasses.dataclass(frozen=True)
class DeferredResults:
    """Results that exist only inside a context: `open()` returns a context manager
    giving `DuckDBResults`, `ArrowResults` or rows (an engine's `open_results`),
    entered when the results are written and left once they are."""

    open: Callable[[], AbstractContextManager]


Results = DuckDBResults | ArrowResults | DeferredResults | Iterable[Sequence]


def write_results(
    destination: Path | str | None,
    specs: Sequence[ColumnSpec],
    results: Results,
    *,
    stdout: TextIO | None = None,
    progress: Progress = _no_progress,
) -> int:
    """Write `results` (see the module docstring) to `destination`; the number of rows.

    `destination` is a file path, whose extension picks the format; `"-"` for
    CSV on `stdout`; or None to print the first rows as a table on `stdout`.
    `progress` is called now and then with the rows written so far, or (for
    DuckDB's own CSV writer, which does not count as it goes) the percentage
    of the query done, with a total of 100 and the unit `PERCENT`.
    """
    from ehrql.file_formats import get_file_extension

    if isinstance(results, DeferredResults):
        with results.open() as opened:
            return write_results(
                destination, specs, opened, stdout=stdout, progress=progress
            )
    if destination is None:
        return _write_console(stdout, specs, results)
    if str(destination) == "-":
        return _write_csv_stream(stdout, specs, results, progress)
    path = Path(destination)
    extension = get_file_extension(path)
    with atomic_output(path) as temporary:
        if extension == ".csv":
            return _write_csv_file(temporary, specs, results, progress)
        if extension == ".csv.gz":
            return _write_csv_gz_file(temporary, specs, results, progress)
        return _write_arrow_file(
            temporary, specs, _arrow_batches(specs, results), extension, progress
        )


# ---------------------------------------------------------------------------
# Arrow and Parquet
# ---------------------------------------------------------------------------


def _arrow_batches(
    specs: Sequence[ColumnSpec], results: Results
) -> Iterator[pa.RecordBatch]:
    """`results` as record batches of exactly `BATCH_SIZE` rows (the last may be
    shorter) in the specs' schema, null slots zeroed, as the row writers make them."""
    if isinstance(results, DuckDBResults):
        source: Iterable[pa.RecordBatch] = duckdb_record_batches(
            results.connection, results.select
        )
    elif isinstance(results, ArrowResults):
        source = results.batches
    else:
        return record_batches(specs, results)
    schema = arrow_schema(specs)
    return (
        _conformed(specs, schema, batch) for batch in _rebatched(source, BATCH_SIZE)
    )


def duckdb_record_batches(
    connection: duckdb.DuckDBPyConnection, select: str
) -> pa.RecordBatchReader:
    """The rows of `select` as a stream of Arrow record batches."""
    relation = connection.sql(select)
    # DuckDB 2 renamed fetch_arrow_reader.
    fetch = getattr(relation, "to_arrow_reader", None) or relation.fetch_arrow_reader
    return fetch(BATCH_SIZE)


def _rebatched(
    batches: Iterable[pa.RecordBatch], size: int
) -> Iterator[pa.RecordBatch]:
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        while batch.num_rows:
            taken = batch.slice(0, size - count)
            pending.append(taken)
            count += taken.num_rows
            batch = batch.slice(taken.num_rows)
            if count == size:
                yield _concatenated(pending)
                pending, count = [], 0
    if count:
        yield _concatenated(pending)


def _concatenated(batches: list[pa.RecordBatch]) -> pa.RecordBatch:
    import pyarrow as pa

    columns = [
        pa.concat_arrays([b.column(i) for b in batches])
        for i in range(batches[0].num_columns)
    ]
    return pa.RecordBatch.from_arrays(columns, names=batches[0].schema.names)


def _conformed(
    specs: Sequence[ColumnSpec], schema: pa.Schema, batch: pa.RecordBatch
) -> pa.RecordBatch:
    import pyarrow as pa

    if batch.num_columns != len(specs):
        raise ValueError(
            f"results have {batch.num_columns} columns, but {len(specs)} were expected"
        )
    arrays = [_conformed_array(spec, batch.column(i)) for i, spec in enumerate(specs)]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _conformed_array(spec: ColumnSpec, array: pa.Array) -> pa.Array:
    value_type = _value_type(spec)
    if array.type != value_type:
        array = array.cast(value_type)
    if _is_dictionary_encoded(spec):
        return _dictionary_encoded(spec, array)
    return _zeroed_nulls(array)


def _zeroed_nulls(array: pa.Array) -> pa.Array:
    """`array` with the slots under its nulls zeroed, as `pa.array` leaves them.

    An Arrow IPC file holds those slots as they are, and a database may leave
    anything there; zeroing them makes equal values give an equal file.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if array.null_count == 0:
        return array
    if pa.types.is_string(array.type):
        return _rebuilt_strings(array)
    zero = pa.scalar(False if pa.types.is_boolean(array.type) else 0, type=array.type)
    filled = pc.fill_null(array, zero)
    validity = pc.is_valid(array)
    return pa.Array.from_buffers(
        array.type,
        len(array),
        [_bitmap(validity), filled.buffers()[1]],
        null_count=array.null_count,
    )


def _bitmap(mask: pa.BooleanArray) -> pa.Buffer:
    import pyarrow as pa

    # A fresh boolean array has offset 0, so its value buffer is a validity bitmap.
    if mask.offset:
        mask = pa.concat_arrays([mask])
    return mask.buffers()[1]


def _rebuilt_strings(array: pa.StringArray) -> pa.StringArray:
    import pyarrow as pa
    import pyarrow.compute as pc

    # Filling nulls with "" rebuilds the offsets and data, each null taking no characters.
    filled = pc.fill_null(array, "")
    validity = _bitmap(pc.is_valid(array))
    if filled.offset:
        filled = pa.concat_arrays([filled])
    _, offsets, data = filled.buffers()
    return pa.Array.from_buffers(
        array.type, len(array), [validity, offsets, data], null_count=array.null_count
    )


def _dictionary_encoded(spec: ColumnSpec, array: pa.Array) -> pa.DictionaryArray:
    import pyarrow as pa
    import pyarrow.compute as pc

    categories = pa.array(spec.categories, type=pa.string())
    indices = pc.index_in(array, value_set=categories)
    unknown = pc.and_(pc.is_null(indices), pc.is_valid(array))
    if pc.any(unknown).as_py():
        value = array.filter(unknown)[0].as_py()
        raise ValueError(
            f"column '{spec.name}' got {value!r}, which is not one of its categories"
        )
    indices = _zeroed_nulls(indices.cast(_index_type(len(spec.categories))))
    return pa.DictionaryArray.from_arrays(indices, categories)


def _write_arrow_file(
    path: Path,
    specs: Sequence[ColumnSpec],
    batches: Iterable[pa.RecordBatch],
    extension: str,
    progress: Progress,
) -> int:
    import pyarrow as pa
    import pyarrow.ipc
    import pyarrow.parquet

    count = 0
    schema = arrow_schema(specs)
    if extension == ".parquet":
        writer = pyarrow.parquet.ParquetWriter(str(path), schema)
        sink = None
    else:
        sink = pa.OSFile(str(path), "wb")
        writer = pa.ipc.new_file(sink, schema)
    try:
        progress(0, None)
        for batch in batches:
            writer.write_batch(batch)
            count += batch.num_rows
            progress(count, None)
    finally:
        writer.close()
        if sink is not None:
            sink.close()
    return count


# ---------------------------------------------------------------------------
# CSV, written by DuckDB
# ---------------------------------------------------------------------------


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _python_csv_quoted(text: str) -> str:
    """`text` as Python's csv module writes a cell (quoting only where needed)."""
    if any(c in text for c in ',"\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_cell_sql(spec: ColumnSpec, column: str) -> str:
    """DuckDB SQL giving the CSV cell of `column` (SQL) as ehrql writes it; NULL for an empty cell.

    Floats need no help: DuckDB prints a double as Python does (shortest
    round-trip digits, `1e+20`, `-0.0`). Strings are quoted here, where
    Python's csv module would quote them, because DuckDB's rules differ
    (it also quotes empty strings and cells starting with `#`), so DuckDB's
    own quoting is turned off.
    """
    if spec.type is bool:
        return f"CASE WHEN {column} THEN 'T' WHEN NOT {column} THEN 'F' END"
    if spec.type is str or is_code_type(spec.type):
        return (
            f"CASE WHEN {column} = '' THEN NULL "
            f"WHEN regexp_matches({column}, '[,\"\\n]') "
            f"THEN '\"' || replace({column}, '\"', '\"\"') || '\"' ELSE {column} END"
        )
    if spec.type is float:
        return f"CAST({column} AS VARCHAR)"
    return column


def csv_select(specs: Sequence[ColumnSpec], select: str) -> str:
    """A SELECT of `select`'s columns (taken by position) as CSV cells, headed by the specs' names."""
    positions = [f"c{i}" for i in range(len(specs))]
    cells = ", ".join(
        f"{csv_cell_sql(spec, position)} AS {_identifier(_python_csv_quoted(spec.name))}"
        for spec, position in zip(specs, positions)
    )
    return f"SELECT {cells} FROM ({select}) AS ehrql_results({', '.join(positions)})"


_COPY_OPTIONS = "FORMAT csv, HEADER true, DELIMITER ',', QUOTE '', ESCAPE '', NULLSTR '', NEW_LINE '\\n'"


def _copy_csv(
    path: Path, specs: Sequence[ColumnSpec], results: Results, progress: Progress
) -> int:
    """Write `results` as CSV to `path` with DuckDB's COPY; the row count."""
    if isinstance(results, DuckDBResults):
        return _copy_with_progress(
            results.connection, specs, results.select, path, progress
        )
    import pyarrow as pa

    failures: list[BaseException] = []
    batches = _counting(_arrow_batches(specs, results), progress, failures)
    reader = pa.RecordBatchReader.from_batches(arrow_schema(specs), batches)
    with duckdb.connect() as connection:
        connection.register("ehrql_arrow_results", reader)
        select = csv_select(specs, "SELECT * FROM ehrql_arrow_results")
        statement = f"COPY ({select}) TO {_sql_string(str(path))} ({_COPY_OPTIONS})"
        try:
            return connection.execute(statement).fetchone()[0]
        except duckdb.Error:
            # DuckDB wraps an error raised while making the batches (a bad
            # row in a file being copied, say) in its own: raise the original.
            if failures:
                raise failures[0] from None
            raise


def _counting(
    batches: Iterable[pa.RecordBatch], progress: Progress, failures: list[BaseException]
) -> Iterator[pa.RecordBatch]:
    count = 0
    progress(0, None)
    try:
        for batch in batches:
            yield batch
            count += batch.num_rows
            progress(count, None)
    except BaseException as error:
        failures.append(error)
        raise


#: Seconds between looks at how far DuckDB has got.
PROGRESS_INTERVAL = 0.5


def _copy_with_progress(
    connection: duckdb.DuckDBPyConnection,
    specs,
    select: str,
    path: Path,
    progress: Progress,
) -> int:
    """Run the COPY on a thread, reporting DuckDB's own progress (percent) meanwhile."""
    statement = f"COPY ({csv_select(specs, select)}) TO {_sql_string(str(path))} ({_COPY_OPTIONS})"
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["count"] = connection.execute(statement).fetchone()[0]
        except BaseException as error:  # re-raised on the calling thread
            outcome["error"] = error

    worker = threading.Thread(target=run, name="ehrql-copy", daemon=True)
    worker.start()
    try:
        progress(0, 100, PERCENT)
        while worker.is_alive():
            worker.join(PROGRESS_INTERVAL)
            try:
                done = connection.query_progress()
            except duckdb.Error:
                done = -1
            if done >= 0:
                progress(int(done), 100, PERCENT)
    except BaseException:
        # Ctrl-C (or a failing progress display): stop DuckDB writing before
        # the temporary file is removed.
        connection.interrupt()
        worker.join()
        raise
    if "error" in outcome:
        raise outcome["error"]
    progress(100, 100, PERCENT)
    return outcome["count"]


def _write_csv_file(path: Path, specs, results: Results, progress: Progress) -> int:
    return _copy_csv(path, specs, results, progress)


def _write_csv_gz_file(path: Path, specs, results: Results, progress: Progress) -> int:
    # DuckDB's gzip differs in its bytes from Python's; compressing DuckDB's
    # plain file with the settings `csv_format` uses gives the same file,
    # with the zlib sync flush its text layer makes on closing (`flush()`).
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".ehrql-") as directory:
        plain = Path(directory) / "results.csv"
        count = _copy_csv(plain, specs, results, progress)
        with (
            open(plain, "rb") as source,
            open(path, "wb") as raw,
            gzip.GzipFile(
                fileobj=raw, mode="wb", mtime=0, filename="", compresslevel=6
            ) as zipped,
        ):
            shutil.copyfileobj(source, zipped, 1 << 20)
            zipped.flush()
    return count


def _write_csv_stream(
    stdout: TextIO | None, specs, results: Results, progress: Progress
) -> int:
    import sys

    stream = stdout or sys.stdout
    with tempfile.TemporaryDirectory(prefix="ehrql-") as directory:
        plain = Path(directory) / "results.csv"
        count = _copy_csv(plain, specs, results, progress)
        binary = getattr(stream, "buffer", None)
        with open(plain, "rb") as source:
            if binary is not None:
                stream.flush()
                while chunk := source.read(1 << 20):
                    _write_all(binary, chunk)
                binary.flush()
            else:
                # Incrementally, as a chunk may end inside a character.
                decoder = codecs.getincrementaldecoder("utf-8")()
                while chunk := source.read(1 << 20):
                    stream.write(decoder.decode(chunk))
                stream.write(decoder.decode(b"", final=True))
    return count


def _write_all(binary, data: bytes) -> None:
    """Write all of `data`: a buffered writer may write only part of it and say
    so (when the pipe's reader goes part way, say, as `head` does), with the
    failure coming only from the next write."""
    view = memoryview(data)
    while view:
        view = view[binary.write(view) :]


# ---------------------------------------------------------------------------
# The console
# ---------------------------------------------------------------------------


def _write_console(stdout: TextIO | None, specs, results: Results) -> int:
    """The first `CONSOLE_ROWS` rows as a table, then a line saying how many there were."""
    import sys

    stream = stdout or sys.stdout
    if isinstance(results, (DuckDBResults, ArrowResults)):
        batches = _arrow_batches(specs, results)
        first: list[tuple] = []
        count = 0
        for batch in batches:
            if len(first) < CONSOLE_ROWS:
                head = batch.slice(0, CONSOLE_ROWS - len(first))
                columns = [
                    _console_values(spec, head.column(i))
                    for i, spec in enumerate(specs)
                ]
                first.extend(zip(*columns))
            count += batch.num_rows
    else:
        first = []
        count = 0
        for row in results:
            if count < CONSOLE_ROWS:
                first.append(tuple(row))
            count += 1
    write_table(stream, specs, first)
    if count > len(first):
        stream.write(
            f"... {count - len(first):,} more rows not shown ({count:,} in all); "
            "write them all with --output FILE\n"
        )
    return count


def _console_values(spec: ColumnSpec, array: pa.Array) -> list:
    import pyarrow as pa

    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    return array.to_pylist()
