"""The DuckDB engine: runs compiled datasets on a DuckDB file or a directory of table files.

`dsn` is one of:

* the path of a DuckDB database file, whose tables are named after ehrQL's
  tables and have (at least) their columns;
* the path of a directory holding one file per table, named after the table:
  `patients.csv`, `patients.csv.gz`, `clinical_events.parquet`,
  `clinical_events.arrow`. CSV files are read with the column types the table
  schema gives (booleans written T or F, an empty cell meaning null);
* an open `duckdb.DuckDBPyConnection` (used by the tests).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
from collections.abc import Collection, Iterable, Iterator, Sequence
from pathlib import Path

import duckdb
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql.base import (
    RESERVED_WORDS as POSTGRESQL_RESERVED_WORDS,
)
from sqlalchemy.dialects.postgresql.base import PGDialect, PGIdentifierPreparer
from sqlalchemy.sql.selectable import FromClause

from ehrql.backends.expressions import hex_text, hex_to_int
from ehrql.column_types import arrow_type
from ehrql.errors import DataError, EHRQLError
from ehrql.file_formats import (
    FileValidationError,
    check_one_file_per_table,
    first_table_file_problem,
)
from ehrql.file_formats.csv_format import csv_header as read_csv_header
from ehrql.file_formats.results import DuckDBResults
from ehrql.query_engines.base_sql import BaseSQLQueryEngine, CompiledDataset
from ehrql.query_engines.sql_dialect import EPOCH, PYTHON_INT_PATTERN, Expr, SQLDialect
from ehrql.query_model import nodes as qm

#: Table file suffixes the directory reader understands, in the order looked for.
TABLE_FILE_SUFFIXES = (".parquet", ".csv", ".csv.gz", ".arrow")

#: Rows fetched from DuckDB at a time while streaming results.
FETCH_BATCH_SIZE = 10_000


class TableNotFoundError(EHRQLError):
    """A table the dataset reads is not in the database or directory."""


class ColumnNotFoundError(DataError):
    """A table exists but lacks a column its schema declares."""


class DatabaseOpenError(EHRQLError):
    """The dsn names a file DuckDB cannot open as a database."""


def _strip_url_scheme(dsn):
    """The path in a SQLAlchemy-style URL: `duckdb:///relative` or `duckdb:////absolute`.

    Any other dsn is returned unchanged.
    """
    if isinstance(dsn, str) and dsn.startswith("duckdb:///"):
        return dsn.removeprefix("duckdb:///")
    return dsn


#: DuckDB's reserved keywords that PostgreSQL does not reserve: an identifier
#: spelled like one must be quoted. (`duckdb_keywords()` lists them; a test
#: checks this list still covers them, so that a DuckDB upgrade adding one
#: fails there rather than in a study.)
DUCKDB_ONLY_RESERVED_WORDS = frozenset(
    {
        "describe",
        "lambda",
        "lateral",
        "pivot",
        "pivot_longer",
        "pivot_wider",
        "qualify",
        "show",
        "summarize",
        "unpivot",
    }
)


class _DuckDBIdentifierPreparer(PGIdentifierPreparer):
    reserved_words = POSTGRESQL_RESERVED_WORDS | DUCKDB_ONLY_RESERVED_WORDS


class _DuckDBSQLAlchemyDialect(PGDialect):
    """Renders SQLAlchemy statements as DuckDB SQL, which follows PostgreSQL's.

    Only ever renders SQL text, never connects. The `duckdb_engine` package's
    dialect renders the same, but opens two DuckDB databases while it is
    imported and built (some 50 ms of every run).
    """

    name = "duckdb"
    preparer = _DuckDBIdentifierPreparer


class DuckDBDialect(SQLDialect):
    """DuckDB's spellings, where they differ from standard SQL."""

    # qmark, because the default (pyformat) doubles every % in string constants.
    sqlalchemy_dialect = _DuckDBSQLAlchemyDialect(paramstyle="qmark")
    sqlalchemy_name = "duckdb"

    construct_spellings = {
        hex_text: "upper(hex({}))",
        hex_to_int: "CAST('0x' || {} AS BIGINT)",
    }

    # DuckDB's / on integers gives a float; // is integer division.
    integer_division_operator = "//"
    has_contains_function = True

    def date_part(self, part: str, date: Expr) -> Expr:
        # year(), month() and day() already give BIGINT.
        return getattr(sa.func, part)(date)

    def parse_int(self, expr: Expr) -> Expr:
        # TRY_CAST would round "1.5" to 2, where Python's int() refuses it.
        digits = sa.func.regexp_full_match(expr, PYTHON_INT_PATTERN)
        return sa.case(
            (digits, sa.func.try_cast(expr.op("AS")(sa.literal_column("BIGINT")))),
            else_=sa.null(),
        )

    def parse_float(self, expr: Expr) -> Expr:
        return sa.func.try_cast(expr.op("AS")(sa.literal_column("DOUBLE")))

    def make_date(self, year, month, day) -> Expr:
        return sa.func.make_date(year, month, day)

    def days_since_epoch(self, date: Expr) -> Expr:
        return sa.func.date_diff("day", self.literal(EPOCH), date)

    def date_from_days_since_epoch(self, days: Expr) -> Expr:
        return self.literal(EPOCH) + sa.cast(days, sa.Integer())

    def add_months_clamping(self, date: Expr, months: Expr) -> Expr:
        # Adding an interval gives a timestamp; DuckDB clamps the day.
        return sa.cast(
            date + sa.func.to_months(sa.cast(months, sa.Integer())), sa.Date()
        )

    def add_days_unchecked(self, date: Expr, days) -> Expr:
        return date + self.as_int32(days)

    def pick_one_row_per_patient(
        self,
        source,
        patient_id: Expr,
        columns,
        order,
        last: bool,
        partition: Sequence[Expr] = (),
    ):
        # arg_min/arg_max over a sort key is a hash aggregation, several times
        # faster than the window sort of ROW_NUMBER(). create_sort_key makes
        # one binary key of all the sort keys, nulls first as ehrQL orders
        # them, which DuckDB compares faster than a struct of the keys (each
        # preceded by whether it is present: some 12% of a pick).
        if not columns:
            return super().pick_one_row_per_patient(
                source, patient_id, columns, order, last, partition
            )
        nulls_first = sa.literal_column("'ASC NULLS FIRST'")
        key = sa.func.create_sort_key(
            *(part for e in order for part in (e, nulls_first))
        )
        choose = sa.func.arg_max if last else sa.func.arg_min
        row = choose(sa.func.row(*(e for _, e in columns)), key)
        picked = (
            sa.select(patient_id.label("patient_id"), row.label("picked"))
            .select_from(source)
            .group_by(patient_id, *partition)
            .subquery()
        )
        fields = [
            sa.func.struct_extract_at(picked.c.picked, position).label(name)
            for position, (name, _) in enumerate(columns, start=1)
        ]
        return sa.select(picked.c.patient_id, *fields)

    def inline_cte(self, cte: sa.CTE) -> sa.CTE:
        # DuckDB stores a CTE that is used more than once, unless told not to.
        return cte.prefix_with("NOT MATERIALIZED")

    def create_temp_table_from_rows(
        self, table: sa.Table, rows: Sequence[tuple]
    ) -> list[str]:
        # A column at a time, as lists DuckDB unnests side by side: DuckDB
        # takes several times longer to parse a VALUES list of typed constants
        # (a codelist's lookup table: a tenth of a second for a thousand
        # codes) than these lists.
        name = self.temp_table_name(table.name)
        statements = [
            f"{self.create_table_keywords} {name} ({self.column_definitions(table)})"
        ]
        is_date = [isinstance(c.type, sa.Date) for c in table.columns]
        for start in range(0, len(rows), self.insert_batch_size):
            columns = zip(*rows[start : start + self.insert_batch_size])
            lists = ", ".join(
                self.unnested_sql(column, date)
                for column, date in zip(columns, is_date)
            )
            statements.append(f"INSERT INTO {name} SELECT {lists}")
        return statements

    def unnested_sql(self, column: Sequence, is_date: bool = False) -> str:
        """SQL giving one column's constants (Python values, None for null)
        as rows, in order; side by side with other columns' in a SELECT."""
        if is_date:
            # A list of ISO strings cast once: DuckDB parses it about three
            # times faster than a CAST per date (a table of each interval's
            # days holds thousands).
            items = ", ".join(
                "NULL" if v is None else self.string_literal_sql(v.isoformat())
                for v in column
            )
            return f"unnest(CAST([{items}] AS DATE[]))"
        return f"unnest([{', '.join(self._list_item_sql(v) for v in column)}])"

    def _list_item_sql(self, value) -> str:
        # An integer as its digits, with no CAST: DuckDB reads a large one as
        # a wider integer, and the column's declared type holds it.
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return self.literal_sql(value)


#: The one DuckDB dialect: it holds no state.
DIALECT = DuckDBDialect()


#: Tables with up to this many rows in all go into DuckDB as lists of
#: constants: importing Arrow (with numpy) costs a small run (10 or 100
#: dummy patients) more than DuckDB takes to parse them.
LOAD_AS_CONSTANTS_MAX_ROWS = 2_000


def load_tables(connection: duckdb.DuckDBPyConnection, table_data) -> None:
    """Create one table per table node in `connection`, typed by its schema, holding its rows.

    `table_data` maps table nodes to row dicts (as the dummy data generator
    makes them). Rows go in through Arrow, which is far faster than inserting
    them one by one; or, when there are few, as lists of constants.
    """
    from ehrql.query_engines.in_memory import output_value

    load = (
        _load_as_constants
        if sum(len(rows) for rows in table_data.values()) <= LOAD_AS_CONSTANTS_MAX_ROWS
        else _load_through_arrow
    )
    for table, rows in table_data.items():
        columns = [("patient_id", int), *table.schema.column_types]
        values = {
            name: [output_value(row.get(name)) for row in rows] for name, _ in columns
        }
        load(connection, table.name, columns, values, len(rows))


def _load_through_arrow(connection, name: str, columns, values: dict, count: int):
    import pyarrow as pa

    arrays = {n: pa.array(values[n], type=arrow_type(t)) for n, t in columns}
    staged = f"ehrql_load_{name}"
    connection.register(staged, pa.table(arrays))
    casts = ", ".join(
        f"CAST({_quote(n)} AS {duckdb_type_name(t)}) AS {_quote(n)}" for n, t in columns
    )
    connection.execute(
        f"CREATE TABLE {_quote(name)} AS SELECT {casts} FROM {_quote(staged)}"
    )
    connection.unregister(staged)


def _load_as_constants(connection, name: str, columns, values: dict, count: int):
    definitions = ", ".join(f"{_quote(n)} {duckdb_type_name(t)}" for n, t in columns)
    connection.execute(f"CREATE TABLE {_quote(name)} ({definitions})")
    step = DIALECT.insert_batch_size
    for start in range(0, count, step):
        lists = ", ".join(
            DIALECT.unnested_sql(values[n][start : start + step], t is datetime.date)
            for n, t in columns
        )
        connection.execute(f"INSERT INTO {_quote(name)} SELECT {lists}")


def duckdb_type_name(type_) -> str:
    """The DuckDB type holding values of a series type."""
    return DIALECT.type_name(type_)


def duckdb_message(error: duckdb.Error) -> str:
    """DuckDB's message without its advice, some of which (turning off strict CSV parsing,
    skipping bad rows) would make ehrql read data other than what the file says."""
    return str(error).split("\nPossible fixes")[0].strip()


_sql_string = DuckDBDialect.string_literal_sql


def _quote(name: str) -> str:
    return DIALECT.quote_always(name)


def find_table_file(directory: Path, table_name: str) -> Path:
    """The file holding a table in a directory of table files, or a clear error."""
    check_one_file_per_table(directory, table_name)
    for suffix in TABLE_FILE_SUFFIXES:
        path = directory / f"{table_name}{suffix}"
        if path.exists():
            return path
    expected = ", ".join(f"{table_name}{s}" for s in TABLE_FILE_SUFFIXES)
    raise TableNotFoundError(
        f"no file for table '{table_name}' in directory {directory} (looked for {expected})"
    )


def csv_header(path: Path) -> list[str]:
    """The column names in the first line of a (possibly gzipped) CSV file."""
    return read_csv_header(path)


def _require_columns(
    table_name: str, where: str, present: Sequence[str], needed_columns: Iterable[str]
):
    """Raise ColumnNotFoundError unless `present` has patient_id and every needed column."""
    missing = [c for c in ["patient_id", *needed_columns] if c not in present]
    if missing:
        raise ColumnNotFoundError(
            f"table '{table_name}' in {where} has no column {', '.join(repr(c) for c in missing)}; "
            f"it has: {', '.join(present) or 'no columns'}"
        )


def _typed_select(
    table: qm.Frame,
    source_sql: str,
    present: Collection[str],
    booleans_as_text: bool = False,
) -> str:
    """SELECT of a table's columns from a file reader, cast to the schema's types.

    A column the file lacks (the query never reads it) is a typed null. With
    `booleans_as_text`, boolean columns arrive as text and only `T` and `F`
    are read, as every engine reads CSV; DuckDB's own cast would also take
    `yes`, `1`, `true`...
    """
    columns = [("patient_id", int), *table.schema.column_types]

    def typed(name, type_):
        if name not in present:
            return f"CAST(NULL AS {duckdb_type_name(type_)})"
        if type_ is bool and booleans_as_text:
            column = _quote(name)
            bad = _sql_string(f"column '{name}' holds a value that is not T or F")
            return (
                f"CASE WHEN {column} IS NULL THEN NULL WHEN {column} = 'T' THEN true "
                f"WHEN {column} = 'F' THEN false ELSE CAST(error({bad}) AS BOOLEAN) END"
            )
        return f"CAST({_quote(name)} AS {duckdb_type_name(type_)})"

    casts = ", ".join(f"{typed(n, t)} AS {_quote(n)}" for n, t in columns)
    return f"SELECT {casts} FROM {source_sql}"


def _file_columns(path: Path) -> list[str]:
    """The column names a table file holds."""
    name = path.name
    if name.endswith(".csv") or name.endswith(".csv.gz"):
        return csv_header(path)
    # Imported only here: a run on CSV files does without Arrow (and numpy).
    import pyarrow as pa
    import pyarrow.ipc
    import pyarrow.parquet as pq

    if name.endswith(".parquet"):
        return pq.read_schema(path).names
    with pa.memory_map(str(path)) as source:
        return pa.ipc.open_file(source).schema.names


def table_file_statement(
    table: qm.Frame,
    path: Path,
    relation_name: str,
    needed_columns: Iterable[str] | None = None,
) -> str:
    """The statement making a table file readable as `relation_name`.

    CSV is parsed once into a temporary table (parsing is the slow part and
    a table may be read many times); Parquet and Arrow are scanned in place by
    a view, which lets DuckDB read only the columns a query uses.
    """
    name = path.name
    present = _file_columns(path)
    needed = table.schema.column_names if needed_columns is None else needed_columns
    _require_columns(table.name, str(path), present, needed)
    if name.endswith(".csv") or name.endswith(".csv.gz"):
        header = present
        types = dict([("patient_id", int), *table.schema.column_types])
        # Booleans are read as text (T/F) and converted afterwards.
        type_names = {
            c: "VARCHAR"
            if types.get(c, str) is bool
            else duckdb_type_name(types.get(c, str))
            for c in header
        }
        declared = ", ".join(
            f"{_sql_string(c)}: {_sql_string(type_names[c])}" for c in header
        )
        reader = (
            f"read_csv({_sql_string(str(path))}, header = true, columns = {{{declared}}}, "
            "nullstr = '', auto_detect = false, delim = ',', quote = '\"', escape = '\"')"
        )
        return f"CREATE TEMPORARY TABLE {_quote(relation_name)} AS {_typed_select(table, reader, present, True)}"
    if name.endswith(".parquet"):
        reader = f"read_parquet({_sql_string(str(path))})"
        return f"CREATE TEMPORARY VIEW {_quote(relation_name)} AS {_typed_select(table, reader, present)}"
    if name.endswith(".arrow"):
        # Registered from Python (see `_register_arrow`) under a raw name.
        raw = _quote(relation_name + "_arrow")
        return f"CREATE TEMPORARY VIEW {_quote(relation_name)} AS {_typed_select(table, raw, present)}"
    raise TableNotFoundError(f"cannot read table file {path}: unknown file type")


class DuckDBQueryEngine(BaseSQLQueryEngine):
    """Runs datasets on DuckDB; see the module docstring for what `dsn` may be."""

    dialect = DIALECT

    #: The database holds a row per patient and interval while it works, and
    #: DuckDB runs in the user's own memory. Where a measure's rows have to be
    #: grouped by patient and interval (see `_IntervalCompiler`), a year of
    #: weekly intervals over a million patients peaked at about 6.5 GB, and
    #: five years in one SELECT ran out of memory on a 23 GB machine. The
    #: benchmark's measures (registrations in force, events in the week) now
    #: peak at about 0.7 GB in steps of a year, 0.9 GB all at once, and take
    #: no less time that way: longer runs are split.
    max_intervals_per_query = 52

    def __init__(
        self, dsn: str | Path | duckdb.DuckDBPyConnection | None, backend=None
    ):
        #: A backend (see `ehrql.backends`) maps ehrQL's tables onto a database's
        #: own tables through its `resolve_table`; without one, tables are read
        #: by their ehrQL names.
        self.backend = backend
        if backend is not None and isinstance(dsn, str):
            from ehrql.backends.base import split_dsn_permissions

            dsn, granted = split_dsn_permissions(dsn)
            self.permissions = backend.check_permissions(granted)
        self.dsn = _strip_url_scheme(dsn)

    @property
    def _directory(self) -> Path | None:
        if (
            self.backend is None
            and isinstance(self.dsn, (str, Path))
            and Path(self.dsn).is_dir()
        ):
            return Path(self.dsn)
        return None

    def _file_relation_name(self, table: qm.Frame) -> str:
        return f"ehrql_file_{table.name}"

    def resolve_table(self, table: qm.Frame) -> FromClause:
        """Tables from a directory are read through per-table relations made during setup."""
        if self.backend is not None or self._directory is None:
            return super().resolve_table(table)
        columns = ["patient_id", *table.schema.column_names]
        return sa.table(
            self._file_relation_name(table), *(sa.column(c) for c in columns)
        )

    def _file_tables(self, dataset: qm.Dataset) -> list[tuple[qm.Frame, Path]]:
        tables = [
            t
            for t in qm.get_table_nodes(dataset)
            if not isinstance(t, qm.InlinePatientTable)
        ]
        return [
            (t, find_table_file(self._directory, t.name))
            for t in sorted(tables, key=lambda t: t.name)
        ]

    def compile(self, dataset: qm.Dataset) -> CompiledDataset:
        """The statements computing `dataset`, including reading any table files."""
        return self.with_table_reads(dataset, super().compile(dataset))

    def with_table_reads(
        self, dataset: qm.Dataset, compiled: CompiledDataset
    ) -> CompiledDataset:
        """`compiled` with statements reading the dataset's table files first, if tables are files."""
        if self._directory is None or self.backend is not None:
            return compiled
        reads = []
        drops = []
        used = qm.used_columns(dataset)
        for table, path in self._file_tables(dataset):
            name = self._file_relation_name(table)
            reads.append(table_file_statement(table, path, name, used[table]))
            kind = "TABLE" if ".csv" in path.name else "VIEW"
            drops.append(f"DROP {kind} IF EXISTS {_quote(name)}")
        # Keep the event tables' selects: they read the same table files.
        return dataclasses.replace(
            compiled,
            setup=(*reads, *compiled.setup),
            cleanup=(*compiled.cleanup, *drops),
        )

    def _connect(self) -> tuple[duckdb.DuckDBPyConnection, bool]:
        if isinstance(self.dsn, duckdb.DuckDBPyConnection):
            return self.dsn, False
        if self.dsn is None:
            # An empty database: any table the dataset reads is reported missing.
            return duckdb.connect(), True
        if self._directory is not None:
            return duckdb.connect(), True
        path = Path(self.dsn)
        if not path.exists():
            raise TableNotFoundError(f"DuckDB database file {path} does not exist")
        try:
            return duckdb.connect(str(path), read_only=True), True
        except duckdb.Error as error:
            raise DatabaseOpenError(
                f"cannot open {path} as a DuckDB database: {error}"
            ) from error

    def _check_database_tables(
        self, connection: duckdb.DuckDBPyConnection, dataset: qm.Dataset
    ):
        """Fail early, naming the table or column, when the database lacks one."""
        used = qm.used_columns(dataset)
        tables = [t for t in used if not isinstance(t, qm.InlinePatientTable)]
        if not tables:
            return
        # One query for every table (a query of the catalogue costs more than
        # its answer), from duckdb_columns(), which answers faster than
        # information_schema; like it, it lists views and temporary tables too.
        found: dict[str, list[str]] = {}
        for table_name, column_name in connection.execute(
            "SELECT table_name, column_name FROM duckdb_columns() "
            "WHERE table_name IN (SELECT unnest(?)) ORDER BY table_name, column_index",
            [sorted({t.name for t in tables})],
        ).fetchall():
            found.setdefault(table_name, []).append(column_name)
        for table in sorted(tables, key=lambda t: t.name):
            if table.name not in found:
                raise TableNotFoundError(f"the database has no table '{table.name}'")
            _require_columns(
                table.name, "the database", found[table.name], sorted(used[table])
            )

    def _table_file_error(
        self, dataset: qm.Dataset, error: duckdb.Error
    ) -> FileValidationError:
        """The error for a table file DuckDB could not read: the first bad cell, as the in-memory
        engine reports it (file, line, column), else DuckDB's own first lines.

        DuckDB's message names neither the file nor the table, so the files are
        read again in Python; this only happens once a run has already failed.
        """
        found = first_table_file_problem(
            (table.schema, path) for table, path in self._file_tables(dataset)
        )
        return found or FileValidationError(
            f"cannot read the table files in {self._directory}: {duckdb_message(error)}"
        )

    def is_integer_overflow(self, error: Exception) -> bool:
        """DuckDB refuses integer results beyond 64 bits: arithmetic with an
        OutOfRangeException, a float cast to an integer with a ConversionException."""
        message = str(error)
        if isinstance(error, duckdb.OutOfRangeException):
            return "Overflow" in message
        return (
            isinstance(error, duckdb.ConversionException)
            and "out of range for the destination type INT64" in message
        )

    def _table_source(self, table_name: str) -> str:
        """Where a table's rows come from, for messages: its file, or the database."""
        if self._directory is not None:
            return str(find_table_file(self._directory, table_name))
        if isinstance(self.dsn, (str, Path)):
            return f"the database {self.dsn}"
        return "the database"

    def _register_arrow_files(
        self, connection: duckdb.DuckDBPyConnection, dataset: qm.Dataset
    ):
        for table, path in self._file_tables(dataset):
            if path.name.endswith(".arrow"):
                # Imported only here: a run on CSV files does without Arrow.
                import pyarrow as pa
                import pyarrow.ipc

                # Memory-mapped, so the file is not copied into memory.
                data = pyarrow.ipc.open_file(pa.memory_map(str(path))).read_all()
                _require_columns(
                    table.name, str(path), data.column_names, table.schema.column_names
                )
                connection.register(self._file_relation_name(table) + "_arrow", data)

    def test_connection(self) -> None:
        """Open the database (or table directory) and run a trivial query; raise if that fails."""
        if self._directory is None and self.dsn is None:
            raise DatabaseOpenError(
                "no database given: pass a DuckDB file or a directory of table files"
            )
        connection, owned = self._connect()
        try:
            connection.execute("SELECT 1").fetchall()
        finally:
            if owned:
                connection.close()

    def run_select(
        self, dataset: qm.Dataset, compiled: CompiledDataset, select: str
    ) -> Iterator[tuple]:
        """Run the setup, stream the rows of `select`, then clean up."""
        with self._session(dataset, compiled) as connection:
            cursor = connection.execute(select)
            while batch := cursor.fetchmany(FETCH_BATCH_SIZE):
                yield from batch

    @contextlib.contextmanager
    def results_of(
        self, dataset: qm.Dataset, compiled: CompiledDataset
    ) -> Iterator[DuckDBResults]:
        """The select of `compiled` on a connection where its setup has run,
        for DuckDB itself to write out; cleaned up on exit."""
        with self._session(dataset, compiled) as connection:
            yield DuckDBResults(connection, compiled.select)

    @contextlib.contextmanager
    def _session(
        self, dataset: qm.Dataset, compiled: CompiledDataset
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection on which `compiled`'s setup has run; cleaned up on exit."""
        connection, owned = self._connect()
        try:
            if self._directory is not None:
                self._register_arrow_files(connection, dataset)
            elif self.backend is None:
                # A backend's tables are not named after ehrQL's, so only
                # tables read by their own names can be checked up front.
                self._check_database_tables(connection, dataset)
            try:
                for statement in compiled.setup:
                    connection.execute(statement)
                for check in self.patient_table_checks(dataset):
                    check.raise_for(
                        connection.execute(check.sql).fetchall(),
                        self._table_source(check.table_name),
                    )
                # Errors while the rows are read or written come back here too.
                yield connection
            except (duckdb.ConversionException, duckdb.InvalidInputException) as error:
                # A float too large for an integer is the query's, not the files'.
                if self._directory is None or self.is_integer_overflow(error):
                    raise
                raise self._table_file_error(dataset, error) from error
        finally:
            # Also when the caller stops reading early, so that a shared
            # connection is left as it was found.
            for statement in compiled.cleanup:
                connection.execute(statement)
            if owned:
                connection.close()
