"""The Spark engine: runs compiled datasets on Apache Spark SQL through pyspark.

For populations too large for one machine. Datasets compile through the
shared SQL compiler with `SparkDialect` (see `spark_dialect`), and every
statement runs through `SparkSession.sql`. pyspark is an optional extra
(`pip install 'ehrql[spark]'`; Spark needs Java 17 or later).

`dsn` is one of:

* the path of a directory of table files, one per table, named after it:
  `patients.parquet` (a file, or a directory of Parquet part files as Spark
  writes them), `patients.csv` or `patients.csv.gz` (a header row, booleans
  `T`/`F`, ISO dates, an empty cell meaning null). Spark runs inside this
  process, on every core (`local[*]`);
* `spark://HOST:PORT?tables=URI`: a standalone Spark cluster's master, reading
  table files from `URI`, a directory every executor can read (`hdfs://...`,
  `s3a://...`, a shared `file:///...`);
* `spark://HOST:PORT/DATABASE`: the same cluster, reading the tables of a
  database in Spark's catalog (a Hive metastore, say) by their ehrQL names;
* either of the last two with `local` in place of `HOST:PORT`, to run Spark
  inside this process against the same kind of source;
* an open `pyspark.sql.SparkSession` (as the tests use), reading tables (or
  temporary views) named after ehrQL's tables.

With a backend (`--backend tpp`), tables are read through the backend's
mapping of its raw tables, which must be in the DSN's catalog database under
their raw names; the compiler leaves out the patients the backend excludes.

Query parameters `conf.KEY=VALUE` in a `spark://` DSN set Spark properties of
the session, e.g. `conf.spark.executor.memory=8g`.

Every table is read through a temporary view that casts its columns to the
schema's types, so Parquet written by any tool (INT32 ids, say) reads alike.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import uuid
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from urllib import parse

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.sql.selectable import FromClause

from ehrql.backends.base import split_dsn_permissions
from ehrql.column_types import arrow_type
from ehrql.database_errors import redact, redacted_process_output
from ehrql.errors import EHRQLError
from ehrql.file_formats import check_one_file_per_table, first_table_file_problem
from ehrql.file_formats.results import ArrowResults
from ehrql.query_engines.base_sql import BaseSQLQueryEngine, CompiledDataset
from ehrql.query_engines.duckdb import (
    ColumnNotFoundError,
    DatabaseOpenError,
    TableNotFoundError,
)
from ehrql.query_engines.spark_dialect import SparkDialect, spark_string
from ehrql.query_model import nodes as qm

#: Table file suffixes read from a directory, in the order looked for.
SPARK_TABLE_FILE_SUFFIXES = (".parquet", ".csv", ".csv.gz")

#: Spark properties for a session this engine starts. The progress bar would
#: be written over ehrql's own log; one timezone keeps date handling fixed.
DEFAULT_SESSION_CONF: dict[str, str] = {
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
}


#: A dialect for naming types and quoting in the statements that read tables.
_DIALECT = SparkDialect()


class SparkQueryError(EHRQLError):
    """Spark refused or failed a statement; the message is Spark's."""


class SparkNotInstalledError(EHRQLError):
    """pyspark is not installed."""


def spark_type_name(type_) -> str:
    """The Spark SQL type holding values of a series type."""
    return _DIALECT.type_name(type_)


def _quote(name: str) -> str:
    return _DIALECT.quote_always(name)


@dataclasses.dataclass(frozen=True)
class SparkSource:
    """Where a Spark DSN says to run and to read tables from."""

    #: The Spark master URL (`local[*]`, `spark://host:port`).
    master: str
    #: A directory (path or URI) of table files, or None.
    tables: str | None = None
    #: A catalog database holding the tables, or None.
    database: str | None = None
    #: Extra Spark properties for the session.
    conf: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_dsn(cls, dsn: str | Path) -> SparkSource:
        """Read a DSN (see the module docstring); raise ValueError naming the problem."""
        text = str(dsn)
        if not text.startswith("spark://"):
            return cls(master="local[*]", tables=text)
        parts = parse.urlsplit(text)
        if not parts.netloc:
            raise ValueError(
                f"a Spark DSN names a master: spark://HOST:PORT or spark://local, not {text}"
            )
        master = "local[*]" if parts.hostname == "local" else f"spark://{parts.netloc}"
        query = parse.parse_qsl(parts.query, keep_blank_values=True)
        unknown = [k for k, _ in query if k != "tables" and not k.startswith("conf.")]
        if unknown:
            raise ValueError(
                f"unknown Spark DSN parameter(s) {', '.join(unknown)}; expected tables=URI or conf.KEY=VALUE"
            )
        tables = next((v for k, v in query if k == "tables"), None)
        database = parse.unquote(parts.path.strip("/")) or None
        if (tables is None) == (database is None):
            raise ValueError(
                "a Spark DSN reads either table files (spark://HOST:PORT?tables=URI) "
                f"or a catalog database (spark://HOST:PORT/DATABASE), not {text}"
            )
        conf = tuple(
            (k.removeprefix("conf."), v) for k, v in query if k.startswith("conf.")
        )
        return cls(master=master, tables=tables, database=database, conf=conf)


def get_session(master: str = "local[*]", conf: Mapping[str, str] | None = None):
    """The SparkSession of this process, started with `master` if there is none yet.

    Spark allows one active session per process; when one is running already
    (as under the tests, or spark-submit) it is used as it is.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as error:
        raise SparkNotInstalledError(
            "the spark query engine needs pyspark: pip install 'ehrql[spark]' (Spark needs Java 17+)"
        ) from error
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    builder = SparkSession.builder.master(master).appName("ehrql")
    defaults = dict(DEFAULT_SESSION_CONF)
    if master.startswith("local"):
        # Spark's default of 200 shuffle partitions suits a cluster; on one
        # machine a few per core keep every core busy at far less cost per task.
        defaults["spark.sql.shuffle.partitions"] = str(4 * (os.cpu_count() or 1))
    for key, value in {**defaults, **dict(conf or {})}.items():
        builder = builder.config(key, value)
    try:
        # Java writes its own log lines (with the master URL) straight to stderr.
        with redacted_process_output():
            session = builder.getOrCreate()
    except Exception as error:
        raise SparkQueryError(
            f"could not start Spark: {_start_failure(error)}"
        ) from error
    # Failures reach the user as ehrql errors; Spark's own log of them is noise.
    session.sparkContext.setLogLevel("FATAL")
    return session


def find_spark_table_file(directory: str, table_name: str) -> str:
    """The file (or Parquet directory) holding a table in a table directory, or a clear error.

    A directory on a local disk is searched; on any other filesystem (a URI
    with a scheme) the table is taken to be `<table>.parquet`.
    """
    parts = parse.urlsplit(directory)
    if parts.scheme not in ("", "file"):
        return directory.rstrip("/") + f"/{table_name}.parquet"
    local = Path(parts.path if parts.scheme == "file" else directory)
    if not local.is_dir():
        raise TableNotFoundError(f"{directory} is not a directory of table files")
    check_one_file_per_table(local, table_name)
    for suffix in SPARK_TABLE_FILE_SUFFIXES:
        path = local / f"{table_name}{suffix}"
        if path.exists():
            return str(path.resolve())
    expected = ", ".join(f"{table_name}{s}" for s in SPARK_TABLE_FILE_SUFFIXES)
    raise TableNotFoundError(
        f"no file for table '{table_name}' in directory {directory} (looked for {expected})"
    )


def _typed_columns(
    table: qm.Frame,
    present: list[str],
    where: str,
    read_bool_text: bool,
    needed: Collection[str],
) -> str:
    """SELECT list casting a table's columns to the schema's types (booleans from T/F text for CSV).

    Only the `needed` columns (those the query reads) must be present; any
    other column the source lacks is a typed null.
    """
    columns = [("patient_id", int), *table.schema.column_types]
    lowered = {c.lower() for c in present}
    missing = [
        n
        for n, _ in columns
        if n.lower() not in lowered and (n == "patient_id" or n in needed)
    ]
    if missing:
        raise ColumnNotFoundError(
            f"table '{table.name}' in {where} has no column {', '.join(repr(c) for c in missing)}; "
            f"it has: {', '.join(present) or 'no columns'}"
        )
    selected = []
    for name, type_ in columns:
        if name.lower() not in lowered:
            value = f"CAST(NULL AS {spark_type_name(type_)})"
        elif type_ is bool and read_bool_text:
            # Only T and F, as every engine reads CSV; anything else is an
            # error rather than a silent null.
            column = _quote(name)
            bad = spark_string(f"column '{name}' holds a value that is not T or F")
            value = (
                f"CASE WHEN {column} IS NULL THEN NULL WHEN {column} = 'T' THEN true "
                f"WHEN {column} = 'F' THEN false ELSE CAST(raise_error({bad}) AS BOOLEAN) END"
            )
        else:
            value = f"CAST({_quote(name)} AS {spark_type_name(type_)})"
        selected.append(f"{value} AS {_quote(name)}")
    return ", ".join(selected)


class SparkQueryEngine(BaseSQLQueryEngine):
    """Runs datasets on Spark SQL; see the module docstring for what `dsn` may be."""

    def __init__(
        self,
        dsn,
        backend=None,
        table_prefix: str | None = None,
        session_tables_prefix: str = "",
    ):
        #: A backend (see `ehrql.backends`) maps ehrQL's tables onto its raw
        #: tables, read by their raw names from the DSN's catalog database.
        self.backend = backend
        if backend is not None and isinstance(dsn, str):
            dsn, granted = split_dsn_permissions(dsn)
            self.permissions = backend.check_permissions(granted)
        prefix = (
            table_prefix
            if table_prefix is not None
            else f"ehrql_{uuid.uuid4().hex[:12]}_"
        )
        self.table_prefix = prefix
        self.dialect = SparkDialect(prefix)
        #: With an open session, tables are read by their names with this prefix.
        self.session_tables_prefix = session_tables_prefix
        if dsn is None or isinstance(dsn, (str, Path)):
            self._session = None
            try:
                self.source = None if dsn is None else SparkSource.from_dsn(dsn)
            except ValueError as error:
                raise DatabaseOpenError(str(error)) from None
        else:
            # An open SparkSession reading tables by name.
            self._session = dsn
            self.source = None
        if (
            backend is not None
            and self.source is not None
            and self.source.database is None
        ):
            raise DatabaseOpenError(
                "a backend's raw tables are read from a catalog database: "
                "use --dsn spark://HOST:PORT/DATABASE (or spark://local/DATABASE)"
            )

    # -- tables -------------------------------------------------------------

    def _view_name(self, table: qm.Frame) -> str:
        return f"{self.table_prefix}table_{table.name}"

    def resolve_table(self, table: qm.Frame) -> FromClause:
        """The backend's mapping of a table; without one, a typed view of the source's table.

        The compiler leaves out patients the backend excludes (type 1 opt-outs).
        """
        if self.backend is not None:
            return super().resolve_table(table)
        columns = ["patient_id", *table.schema.column_names]
        if self.source is None:
            return sa.table(
                self.session_tables_prefix + table.name,
                *(sa.column(c) for c in columns),
            )
        return sa.table(self._view_name(table), *(sa.column(c) for c in columns))

    def _source_tables(self, dataset: qm.Dataset) -> list[qm.Frame]:
        tables = [
            t
            for t in qm.get_table_nodes(dataset)
            if not isinstance(t, qm.InlinePatientTable)
        ]
        return sorted(tables, key=lambda t: t.name)

    def _table_view_statements(
        self, session, table: qm.Frame, needed: Collection[str]
    ) -> list[str]:
        """The statements making a table readable as its typed view."""
        view = _quote(self._view_name(table))
        if self.source.database is not None:
            relation = f"{_quote(self.source.database)}.{_quote(table.name)}"
            if not session.catalog.tableExists(f"{self.source.database}.{table.name}"):
                raise TableNotFoundError(
                    f"database '{self.source.database}' has no table '{table.name}'"
                )
            present = session.table(relation).columns
            select = _typed_columns(
                table, present, f"database '{self.source.database}'", False, needed
            )
            return [
                f"CREATE OR REPLACE TEMPORARY VIEW {view} AS SELECT {select} FROM {relation}"
            ]
        path = find_spark_table_file(self.source.tables, table.name)
        if ".csv" in Path(path).name:
            # A header row names the columns; every cell is read as text and cast.
            raw = _quote(self._view_name(table) + "_csv")
            # FAILFAST: a row with too few or too many cells is an error, not padded or cut.
            options = f"path {spark_string(path)}, header 'true', nullValue '', inferSchema 'false', mode 'FAILFAST'"
            present = session.read.options(header="true").csv(path).columns
            select = _typed_columns(table, present, path, True, needed)
            return [
                f"CREATE OR REPLACE TEMPORARY VIEW {raw} USING csv OPTIONS ({options})",
                f"CREATE OR REPLACE TEMPORARY VIEW {view} AS SELECT {select} FROM {raw}",
            ]
        present = session.read.parquet(path).columns
        select = _typed_columns(table, present, path, False, needed)
        return [
            f"CREATE OR REPLACE TEMPORARY VIEW {view} AS SELECT {select} FROM parquet.{_quote(path)}"
        ]

    # -- running ------------------------------------------------------------

    def session(self):
        """The SparkSession statements run in, started on first use."""
        if self._session is None:
            source = self.source or SparkSource(master="local[*]")
            self._session = get_session(source.master, dict(source.conf))
        return self._session

    def test_connection(self) -> None:
        """Start (or reach) Spark and run a trivial query; raise if that fails."""
        if self.source is None and self._session is None:
            raise DatabaseOpenError(
                "no Spark source given: pass a directory of table files or a spark:// DSN"
            )
        self._sql(self.session(), "SELECT 1").collect()

    def table_views(self, dataset: qm.Dataset) -> tuple[list[str], list[str]]:
        """Statements making the dataset's tables readable from the DSN's source, and dropping them."""
        if self.source is None:
            return [], []
        session = self.session()
        if self.backend is not None:
            # The backend's raw tables are named as they are in the database.
            return [f"USE {_quote(self.source.database)}"], []
        tables = self._source_tables(dataset)
        used = qm.used_columns(dataset)
        views = [
            statement
            for t in tables
            for statement in self._table_view_statements(session, t, used[t])
        ]
        drops = [
            f"DROP VIEW IF EXISTS {_quote(name)}"
            for t in tables
            for name in (self._view_name(t), self._view_name(t) + "_csv")
        ]
        return views, drops

    def run_select(
        self, dataset: qm.Dataset, compiled: CompiledDataset, select: str
    ) -> Iterator[tuple]:
        """Make the dataset's tables readable, run the setup and checks, and yield the rows of `select`."""
        with self._prepared(dataset, compiled) as session:
            yield from arrow_rows(self._select_arrow(dataset, session, select))

    def _select_arrow(self, dataset: qm.Dataset, session, select: str) -> pa.Table:
        try:
            return self._to_arrow(self._sql(session, select))
        except SparkQueryError as error:
            raise self._table_file_error(dataset, error) from error

    @contextlib.contextmanager
    def results_of(
        self, dataset: qm.Dataset, compiled: CompiledDataset
    ) -> Iterator[ArrowResults]:
        """The rows of `compiled`'s select as the Arrow record batches Spark
        hands over, so that no Python object is made per row."""
        with self._prepared(dataset, compiled) as session:
            yield ArrowResults(
                self._select_arrow(dataset, session, compiled.select).to_batches()
            )

    @contextlib.contextmanager
    def _prepared(self, dataset: qm.Dataset, compiled: CompiledDataset):
        """The session, with the dataset's tables readable and `compiled`'s setup run; cleaned up on exit."""
        session = self.session()
        views, drops = self.table_views(dataset)
        try:
            for statement in [*views, *compiled.setup]:
                self._sql(session, statement)
            try:
                for check in self.patient_table_checks(dataset):
                    rows = self._sql(session, check.sql).collect()
                    check.raise_for(rows, self._table_source(check.table_name))
            except SparkQueryError as error:
                raise self._table_file_error(dataset, error) from error
            yield session
        finally:
            for statement in [*compiled.cleanup, *drops]:
                self._sql(session, statement)

    def _table_file_error(
        self, dataset: qm.Dataset, error: SparkQueryError
    ) -> EHRQLError:
        """For a run on local table files, the first bad cell of the files (as the in-memory
        engine reports it), since Spark's message names neither file nor line; else `error`."""
        if (
            self.source is None
            or self.source.tables is None
            or "://" in self.source.tables
        ):
            return error
        tables = [
            (t.schema, Path(self._table_source(t.name)))
            for t in self._source_tables(dataset)
        ]
        return first_table_file_problem(tables) or error

    def is_integer_overflow(self, error: Exception) -> bool:
        """Spark (in its default ANSI mode) fails a query whose integers
        overflow, in arithmetic or in a float cast to an integer."""
        return isinstance(error, SparkQueryError) and any(
            code in str(error) for code in ("ARITHMETIC_OVERFLOW", "CAST_OVERFLOW")
        )

    def _table_source(self, table_name: str) -> str:
        """Where a table's rows come from, for messages: its file, or the database."""
        if self.source is None:
            return "the Spark session"
        if self.source.database is not None:
            return f"database '{self.source.database}'"
        return find_spark_table_file(self.source.tables, table_name)

    def _sql(self, session, statement: str):
        from pyspark.errors import PySparkException

        try:
            return session.sql(statement)
        except PySparkException as error:
            raise SparkQueryError(
                f"Spark could not run the query: {_first_line(error)}"
            ) from error

    def _to_arrow(self, frame) -> pa.Table:
        from py4j.protocol import Py4JJavaError
        from pyspark.errors import PySparkException

        try:
            return frame.toArrow()
        except (PySparkException, Py4JJavaError) as error:
            # A failure while collecting as Arrow arrives as a bare Py4JJavaError.
            raise SparkQueryError(
                f"Spark could not run the query: {_first_line(error)}"
            ) from error


#: The oldest Java the Spark that pyspark 4 starts can run on.
MINIMUM_JAVA = 17


def java_version(java: str | None = None) -> int | None:
    """The major version of the `java` Spark would start ($JAVA_HOME's, else the one on PATH); None if none runs."""
    import shutil
    import subprocess

    if java is None:
        home = os.environ.get("JAVA_HOME")
        java = os.path.join(home, "bin", "java") if home else shutil.which("java")
    if not java or not os.path.exists(java):
        return None
    try:
        result = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    if match is None:
        return None
    major = int(match.group(1))
    # Java 8 and older call themselves 1.8, 1.7, ...
    return int(match.group(2) or 0) if major == 1 else major


def _start_failure(error: Exception) -> str:
    """Why Spark did not start, blaming Java only when Java is the problem."""
    version = java_version()
    reason = redact(_first_line(error))
    if version is None:
        return (
            f"Spark needs Java {MINIMUM_JAVA} or later, and no working java was found"
            f" (set JAVA_HOME or put java on PATH); {reason}"
        )
    if version < MINIMUM_JAVA:
        return f"Spark needs Java {MINIMUM_JAVA} or later, but the java found is Java {version}; {reason}"
    return f"{reason} (Java {version} is installed and fine: see Spark's own messages above)"


def _first_line(error: Exception) -> str:
    return (
        str(error).strip().splitlines()[0]
        if str(error).strip()
        else type(error).__name__
    )


def arrow_rows(table: pa.Table) -> Iterator[tuple]:
    """The rows of an Arrow table as tuples of Python values, a batch at a time."""
    for batch in table.to_batches(max_chunksize=10_000):
        columns = [column.to_pylist() for column in batch.columns]
        yield from zip(*columns)


def load_tables(session, table_data, prefix: str = "") -> None:
    """Make one temporary view per table node in `session`, named `prefix` + the table's name.

    `table_data` maps table nodes to row dicts (as the dummy data generator
    makes them); rows go to Spark as Arrow, typed by the table's schema.
    """
    from ehrql.query_engines.in_memory import output_value

    for table, rows in table_data.items():
        session.createDataFrame(
            arrow_table(table, rows, output_value)
        ).createOrReplaceTempView(prefix + table.name)


def arrow_table(table: qm.Frame, rows, convert=lambda value: value) -> pa.Table:
    """A table node's rows (dicts) as an Arrow table typed by its schema, patient_id first."""
    columns = [("patient_id", int), *table.schema.column_types]
    return pa.table(
        {
            name: pa.array(
                [convert(row.get(name)) for row in rows],
                type=arrow_type(type_),
            )
            for name, type_ in columns
        }
    )
