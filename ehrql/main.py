"""What each `ehrql` command does, as plain functions.

Argument parsing lives in `ehrql.__main__`; the functions here take ordinary
Python values, so they can be called (and tested) without a command line.
Progress goes to a `log` function, one line per stage, with its duration.
"""

from __future__ import annotations

import collections
import contextlib
import importlib
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TextIO

from ehrql import backends
from ehrql.backends import BACKENDS, Backend, BackendError
from ehrql.database_errors import redact
from ehrql.errors import DUPLICATES_SHOWN, EHRQLError, duplicate_patient_id_error
from ehrql.file_formats import (
    DATASET_TABLE_NAME,
    FILE_FORMATS,
    OutputTable,
    check_one_file_per_table,
    check_output_path,
    dataset_table_specs,
    read_input_tables,
    read_rows,
    table_column_specs,
    write_output_tables,
    write_table,
)
from ehrql.file_formats.atomic import atomic_output
from ehrql.file_formats.base import ColumnSpec
from ehrql.file_formats.results import DeferredResults, write_results
from ehrql.isolation import definitions as isolated
from ehrql.loaders import LoadedDataset, UserArgs, load_dataset_definition
from ehrql.permissions import check_held, unclaimed_warning
from ehrql.progress import Progress
from ehrql.query_engines import DSN_SCHEME_ENGINES, ENGINES, get_engine_class
from ehrql.query_model import nodes as qm

#: Where progress messages go: one call per line.
Log = Callable[[str], None]

#: The engine used when none is named, if it can be imported.
DEFAULT_QUERY_ENGINE = "duckdb"
FALLBACK_QUERY_ENGINE = "in_memory"


class CommandError(EHRQLError):
    """A command cannot run as asked (bad option value, missing data source...)."""


def log_to_stderr(message: str) -> None:
    """The default `log`: progress lines on standard error, never holding a password."""
    print(f"[ehrql] {redact(message)}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _stage(log: Log, description: str) -> Iterator[None]:
    start = time.perf_counter()
    log(f"{description} ...")
    yield
    log(f"{description}: done in {time.perf_counter() - start:.2f}s")


# ---------------------------------------------------------------------------
# Choosing engines and backends by name
# ---------------------------------------------------------------------------


def query_engine_names() -> list[str]:
    """The names `--query-engine` accepts: every engine in the registry."""
    return sorted(ENGINES)


def default_query_engine() -> str:
    """DuckDB when it can be imported, otherwise the in-memory engine."""
    try:
        get_engine_class(DEFAULT_QUERY_ENGINE)
    except ImportError:
        return FALLBACK_QUERY_ENGINE
    return DEFAULT_QUERY_ENGINE


def _imports_while_loading(
    dsn: str | None,
    dummy_tables: Path | None,
    dummy_data_file: Path | None,
    query_engine: str | None,
    measures: bool = False,
) -> Callable[[], None] | None:
    """What a run without a database imports once its definition is loaded:
    imported while the definition loads in its child process instead
    (`run_definition`'s `meanwhile`), on another core where there is one."""
    if dsn is not None or dummy_data_file is not None:
        return None
    names = []
    if dummy_tables is None:
        names.append("ehrql.dummy.generator")
        if measures:
            names.append("ehrql.measures.dummy_data")
    if (query_engine or DEFAULT_QUERY_ENGINE) == "duckdb":
        names.append(ENGINES["duckdb"].engine_class.split(":")[0])
    if measures:
        # Measures' rows are written through Arrow.
        names.append("pyarrow")

    def imports() -> None:
        for name in names:
            importlib.import_module(name)

    return imports


def backend_names() -> list[str]:
    """The names `--backend` and `OPENSAFELY_BACKEND` accept."""
    return sorted(BACKENDS)


def get_backend(name: str | None) -> Backend | None:
    """A new instance of the backend called `name`, or None when no name is given."""
    if name is None:
        return None
    try:
        return backends.get_backend(name)
    except BackendError as error:
        raise CommandError(str(error)) from None


def engine_name_for(name: str | None, dsn) -> str:
    """The engine to run: `name` if given, else the one a DSN's scheme names, else the default."""
    return name or engine_for_dsn(dsn) or default_query_engine()


def _engine_class(name: str) -> type:
    if name not in ENGINES:
        raise CommandError(
            f"unknown query engine '{name}'; valid query engines: {', '.join(query_engine_names())}"
        )
    return get_engine_class(name)


def engine_for_dsn(dsn) -> str | None:
    """The engine a server DSN's scheme calls for (`mssql://`, `trino://`, `spark://`); None for a file or directory."""
    if not isinstance(dsn, str) or "://" not in dsn:
        return None
    return DSN_SCHEME_ENGINES.get(dsn.split("://", 1)[0].lower())


def redacted_dsn(dsn) -> str:
    """A DSN fit for a log: any password replaced by `***`."""
    text = str(dsn)
    try:
        parts = urllib.parse.urlsplit(text) if "://" in text else None
        password = None if parts is None else parts.password
    except ValueError:
        return redact(text)
    if password is None:
        return redact(text)
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[1]
    return redact(parts._replace(netloc=f"{user}:***@{host}").geturl())


def database_paths(dsn) -> list[Path]:
    """The local files or directories a DSN reads, which user code must never open."""
    if dsn is None:
        return []
    text = str(dsn)
    if "://" in text:
        scheme, _, rest = text.partition("://")
        if scheme.lower() not in ("file", "duckdb"):
            return []
        text = rest.split("?", 1)[0]
    return [Path(text)] if text else []


def make_engine(
    name: str | None,
    dsn: str | Path | None,
    query: qm.Node,
    backend=None,
    permissions: Iterable[str] = (),
):
    """An engine of the named kind (default: `default_query_engine()`) reading `dsn`.

    The in-memory engine has no database of its own, so for it `dsn` must be a
    directory of table files: the tables `query` reads are read into memory.
    With a backend, the engine holds those of `permissions` (the job's) that
    lift the backend's access rules, besides any the DSN grants.
    """
    name = engine_name_for(name, dsn)
    engine_class = _engine_class(name)
    if name == "in_memory":
        from ehrql.query_engines.in_memory import InMemoryDatabase

        if dsn is None:
            return engine_class(InMemoryDatabase({}))
        used = qm.used_columns(query)
        return engine_class(
            InMemoryDatabase(read_table_directory(Path(dsn), used, used))
        )
    if backend is not None:
        engine = engine_class(dsn, backend=backend)
        engine.grant(frozenset(permissions) & backend.permissions)
        return engine
    return engine_class(dsn)


def find_table_file(directory: Path, table_name: str) -> Path:
    """The file holding `table_name` in a directory of table files."""
    check_one_file_per_table(directory, table_name)
    candidates = [directory / f"{table_name}{extension}" for extension in FILE_FORMATS]
    found = [path for path in candidates if path.is_file()]
    if not found:
        raise CommandError(
            f"no file for table '{table_name}' in {directory} "
            f"(looked for {', '.join(p.name for p in candidates)})"
        )
    return found[0]


def read_table_directory(
    directory: Path,
    table_nodes: Iterable[qm.Frame],
    used: Mapping[qm.Frame, Iterable[str]] | None = None,
) -> dict[str, list[dict]]:
    """The rows of each of `table_nodes`, from a directory of table files.

    With `used` (see `qm.used_columns`), a file need only have the columns
    the query reads; the others are null.
    """
    if not directory.is_dir():
        raise CommandError(f"{directory} is not a directory of table files")
    tables = {}
    for table in table_nodes:
        if isinstance(table, qm.InlinePatientTable):
            continue
        specs = table_column_specs(table.schema)
        if used is not None:
            needed = {"patient_id", *used[table]}
            specs = [spec for spec in specs if spec.name in needed]
        names = [spec.name for spec in specs]
        # patient_id first, then the schema's order, whichever columns the file has.
        empty = dict.fromkeys(["patient_id", *table.schema.column_names])
        path = find_table_file(directory, table.name)
        rows = [
            {**empty, **dict(zip(names, row))}
            for row in read_rows(path, specs, allow_extra_columns=True)
        ]
        if isinstance(table, qm.SelectPatientTable):
            _check_one_row_per_patient(table.name, path, rows)
        tables[table.name] = rows
    return tables


def _check_one_row_per_patient(table_name: str, path: Path, rows: list[dict]) -> None:
    counts = collections.Counter(row["patient_id"] for row in rows)
    repeated = sorted(patient_id for patient_id, count in counts.items() if count > 1)
    if repeated:
        raise duplicate_patient_id_error(
            table_name, str(path), repeated[: DUPLICATES_SHOWN + 1]
        )


# ---------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------


def generate_dataset(
    definition_file: Path,
    output_file: Path | None,
    *,
    dsn: str | None = None,
    dummy_tables: Path | None = None,
    dummy_data_file: Path | None = None,
    backend: str | None = None,
    query_engine: str | None = None,
    test_data_file: Path | None = None,
    user_args: UserArgs = None,
    permissions: Iterable[str] = (),
    log: Log = log_to_stderr,
    stdout: TextIO | None = None,
    progress: Progress | None = None,
) -> int:
    """Run a dataset definition and write its rows to `output_file` (or print them).

    `output_file` None prints the first rows and the row count; `"-"` writes
    CSV to standard output. Long phases show on `progress` (default: on
    stderr, as a bar on a terminal).

    A dataset with event tables needs a directory output (`DIR/:csv`), which
    gets `dataset.csv` and one file per event table.

    Against a database, the job must hold (`permissions`, from
    `EHRQL_PERMISSIONS`) every permission the definition needs; on dummy data
    the definition must claim them (`claim_permissions`). Either way a run
    that lacks one stops before anything runs.

    With `test_data_file` (a Python file setting `test_data`), the definition
    is first checked against those test patients, and nothing runs if any fail.

    The rows come from, in order of preference: the database at `dsn`; the
    `dummy_data_file` (a file, or a directory of one file per table), used as
    the output as it is once checked; the directory of `dummy_tables`; dummy
    data generated from the definition. Returns the number of dataset rows
    written.
    """
    with _stage(log, f"Loading dataset definition {definition_file}"):
        loaded = isolated.load_dataset_definition(
            definition_file,
            user_args,
            against_database=dsn is not None,
            protected=database_paths(dsn),
            warn=log,
            meanwhile=_imports_while_loading(
                dsn, dummy_tables, dummy_data_file, query_engine
            ),
        )
    dataset = loaded.query_model
    _check_permissions(dataset, dsn, permissions, loaded.claimed_permissions, log)
    progress = progress or Progress()
    if str(output_file) == "-" and dataset.events:
        raise CommandError(
            "standard output (--output -) holds one table, but the dataset has event tables: "
            "give a directory and a format instead, such as results/:csv"
        )
    if output_file is not None and str(output_file) != "-":
        # Before anything runs: a dataset with event tables needs a directory.
        check_output_path(output_file, 1 + len(dataset.events))
    if test_data_file is not None:
        _check_test_data(dataset, test_data_file, user_args, log, stdout or sys.stdout)
    backend_object = get_backend(backend)
    # Only rows read through a backend carry its ids; dummy data has integer ids.
    id_type = (
        getattr(backend_object, "patient_id_type", int) if dsn is not None else int
    )
    table_specs = dataset_table_specs(dataset, id_type)

    if dsn is not None:
        if dummy_tables is not None or dummy_data_file is not None:
            log(
                "Running on the database given by --dsn: dummy data options are ignored"
            )
        tables = _engine_tables(
            query_engine, dsn, dataset, table_specs, backend_object, log, permissions
        )
    elif dummy_data_file is not None:
        log(f"Using the dummy dataset {dummy_data_file} as the output")
        tables = _file_tables(dummy_data_file, table_specs)
    elif dummy_tables is not None:
        tables = _engine_tables(
            query_engine, dummy_tables, dataset, table_specs, None, log
        )
    else:
        tables = _generated_dummy_tables(
            loaded, table_specs, log, query_engine, progress
        )

    counts = _write_tables(output_file, tables, log, stdout or sys.stdout, progress)
    return counts[DATASET_TABLE_NAME]


def write_engine_output(
    engine,
    dataset: qm.Dataset,
    output_file: Path | str | None,
    specs: Sequence[ColumnSpec],
    *,
    event_table: str | None = None,
    log: Log = log_to_stderr,
    stdout: TextIO | None = None,
    progress: Progress | None = None,
) -> int:
    """Run `dataset` (or one of its event tables) on `engine` and write the rows to
    `output_file` (a file; `"-"` for CSV on standard output; None for the
    console); the row count.

    An engine that can hand its results to the writers as they are (DuckDB,
    Spark) does; any other streams rows.
    """
    open_results = getattr(engine, "open_results", None)
    if open_results is None:
        if event_table is None:
            rows = _timed_rows(lambda: engine.get_results(dataset), log)
        else:
            rows = engine.get_event_table_results(dataset, event_table)
        return _write_output(
            output_file, specs, rows, log, stdout or sys.stdout, progress
        )
    compiled = None
    if event_table is None:
        with _stage(log, "Compiling the dataset to SQL"):
            compiled = engine.compile(dataset)
            log(f"{len(compiled.all_statements())} SQL statements")
    results = DeferredResults(lambda: open_results(dataset, event_table, compiled))
    return _write_output(
        output_file, specs, results, log, stdout or sys.stdout, progress
    )


def _file_tables(
    path: Path, table_specs: Mapping[str, list[ColumnSpec]]
) -> list[OutputTable]:
    """Output tables read as they are from a file, or a directory of one file per table."""
    readers = read_input_tables(path, table_specs)
    return [
        OutputTable(name, tuple(specs), lambda name=name: readers[name])
        for name, specs in table_specs.items()
    ]


def _result_tables(
    engine, dataset: qm.Dataset, table_specs, log: Log
) -> list[OutputTable]:
    """The dataset's output tables, each run on `engine` only when it is written."""
    ((dataset_name, specs), *events) = table_specs.items()
    open_results = getattr(engine, "open_results", None)
    if open_results is not None:
        # The database hands its results to the writers itself (DuckDB writes
        # CSV with COPY; Spark gives Arrow batches): each table's query runs
        # while its file is written. The dataset compiles once, here, so that
        # a problem shows before any output is started.
        with _stage(log, "Compiling the dataset to SQL"):
            compiled = engine.compile(dataset)
            log(f"{len(compiled.all_statements())} SQL statements")
        return [
            OutputTable(
                dataset_name,
                tuple(specs),
                lambda: DeferredResults(lambda: open_results(dataset, None, compiled)),
            ),
            *(
                OutputTable(
                    name,
                    tuple(event_specs),
                    lambda name=name: DeferredResults(
                        lambda: open_results(dataset, name)
                    ),
                )
                for name, event_specs in events
            ),
        ]
    tables = [
        OutputTable(
            dataset_name,
            tuple(specs),
            lambda: _timed_rows(lambda: engine.get_results(dataset), log),
        )
    ]
    for name, event_specs in events:
        tables.append(
            OutputTable(
                name,
                tuple(event_specs),
                lambda name=name: engine.get_event_table_results(dataset, name),
            )
        )
    return tables


def _check_permissions(
    query: qm.Node, dsn, held: Iterable[str], claimed: Iterable[str], log: Log
) -> None:
    """Before anything runs: stop a run on a database lacking a permission the
    job must hold; on dummy data, warn of permissions the definition has not claimed."""
    if dsn is not None:
        check_held(query, held)
        return
    warning = unclaimed_warning(query, claimed)
    if warning is not None:
        log(warning)


def _check_test_data(
    dataset, test_data_file: Path, user_args, log: Log, stdout: TextIO
) -> None:
    from ehrql.assurance import present, run_assurance

    with _stage(
        log, f"Checking the definition against the test data in {test_data_file}"
    ):
        # The test file may not ask for the dataset's arguments itself (see the child's job).
        test_data = isolated.load_test_data_file(test_data_file, user_args, warn=log)
        report = run_assurance(dataset, test_data)
    if not report.ok:
        print(present(report), file=stdout)
        raise CommandError(
            f"the definition fails the test data in {test_data_file} (report above); "
            "no dataset was generated"
        )
    log(f"All {len(report.patients)} test patients passed")


def _engine_tables(
    query_engine,
    dsn,
    dataset,
    table_specs,
    backend,
    log: Log,
    permissions: Iterable[str] = (),
) -> list[OutputTable]:
    name = engine_name_for(query_engine, dsn)
    with _stage(log, f"Connecting the {name} query engine to {redacted_dsn(dsn)}"):
        engine = make_engine(name, dsn, dataset, backend, permissions)
    get_queries = getattr(engine, "get_queries", None)
    if get_queries is not None and not hasattr(engine, "open_results"):
        # Compiling up front reports a problem before any output is started.
        with _stage(log, "Compiling the dataset to SQL"):
            log(f"{len(get_queries(dataset))} SQL statements")
    return _result_tables(engine, dataset, table_specs, log)


def _timed_rows(get_rows: Callable[[], Iterable[tuple]], log: Log) -> Iterator[tuple]:
    """The rows `get_rows()` gives, logging how long the first took to arrive.

    That is the time the query takes to run, as engines stream their results.
    """
    start = time.perf_counter()
    log("Executing the query ...")
    iterator = iter(get_rows())
    first = next(iterator, None)
    log(f"Executing the query: first rows after {time.perf_counter() - start:.2f}s")
    if first is None:
        return
    yield first
    yield from iterator


def _generate_dummy_tables(loaded, log: Log, progress: Progress | None = None) -> dict:
    """Dummy tables (table node -> row dicts) for a dataset definition, from `ehrql.dummy`."""
    return _generate_dummy_data(
        loaded.query_model,
        loaded.dummy_data_config,
        log,
        "the population",
        loaded.population_defined_at,
        progress,
        locations=loaded.condition_locations,
    )


def _generate_dummy_data(
    query: qm.Node,
    config,
    log: Log,
    what: str,
    defined_at: tuple | None,
    progress: Progress | None = None,
    quotas: tuple = (),
    quota_plans: dict | None = None,
    locations: Mapping | None = None,
) -> dict:
    """Dummy tables for `query` as `config` (a DummyDataConfig) asks, saying
    once what happened; `quotas`, `quota_plans` and `locations` as
    `ehrql.dummy.generate_dummy_data` takes them."""
    try:
        dummy = importlib.import_module("ehrql.dummy")
    except ModuleNotFoundError:
        raise CommandError(
            "this version of ehrql cannot generate dummy data: pass --dummy-tables "
            "DIRECTORY (a directory of table files such as ehrql/example-data), "
            "--dummy-data-file FILE, or --dsn"
        ) from None
    if config.legacy:
        log(
            "configure_dummy_data(legacy=True): this ehrql has one dummy data generator, which "
            "makes patients that satisfy the population; it is used instead of the legacy one"
        )
    extra = config.additional_population_constraint
    progress = progress or Progress()
    with (
        _stage(log, f"Generating dummy data for {config.population_size} patients"),
        progress.phase("Dummy data", "patients", config.population_size) as update,
    ):
        data = dummy.generate_dummy_data(
            query,
            population_size=config.population_size,
            additional_population_constraint=None if extra is None else extra._qm_node,
            timeout=config.timeout,
            progress=update,
            quotas=quotas,
            quota_plans=quota_plans,
            locations=locations,
        )
    _say_what_happened(data.report, log, what, defined_at)
    return data.tables


def _say_what_happened(report, log: Log, what: str, defined_at: tuple | None) -> None:
    """Log once how many dummy patients were made, and why any are missing;
    with none at all, stop with an error naming where `what` is defined."""
    if report.generated or not report.requested:
        log(f"Dummy data: {report.summary()}")
        return
    where = ""
    if defined_at is not None and report.impossible_at is None:
        filename, line = defined_at
        where = f" ({what} is defined in {filename}, line {line})"
    raise CommandError(
        f"no dummy patients were made (0 of {report.requested} asked): {report.reason}{where}"
    )


def _generated_dummy_tables(
    loaded,
    table_specs,
    log: Log,
    query_engine: str | None = None,
    progress: Progress | None = None,
) -> list[OutputTable]:
    """Output tables from dummy tables generated for the definition, run on the chosen engine."""
    tables = _generate_dummy_tables(loaded, log, progress)
    engine = engine_over_tables(query_engine, tables)
    return _result_tables(engine, loaded.query_model, table_specs, log)


def engine_over_tables(query_engine: str | None, tables: Mapping) -> object:
    """An engine of the named kind (default DuckDB) over in-memory tables ({table node: rows})."""
    name = query_engine or default_query_engine()
    if name == "duckdb":
        import duckdb

        from ehrql.query_engines.duckdb import DuckDBQueryEngine, load_tables

        connection = duckdb.connect()
        load_tables(connection, tables)
        return DuckDBQueryEngine(connection)
    if name == "spark":
        from ehrql.query_engines.spark import SparkQueryEngine, get_session, load_tables

        engine = SparkQueryEngine(get_session())
        load_tables(engine.session(), tables)
        return engine
    if name != "in_memory":
        raise CommandError(
            f"dummy data can only be run on duckdb, spark or in_memory, not {name}"
        )
    from ehrql.query_engines.in_memory import InMemoryDatabase, InMemoryQueryEngine

    return InMemoryQueryEngine(
        InMemoryDatabase({table.name: rows for table, rows in tables.items()})
    )


def _write_output(
    output_file: Path | None,
    specs,
    rows,
    log: Log,
    stdout: TextIO,
    progress: Progress | None = None,
) -> int:
    """Write one table of rows to `output_file` (or the console); the row count."""
    tables = [OutputTable("output", tuple(specs), lambda: rows)]
    return _write_tables(output_file, tables, log, stdout, progress)["output"]


def _write_tables(
    output_file: Path | str | None,
    tables: list[OutputTable],
    log: Log,
    stdout: TextIO,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Write tables to `output_file` (a file for one table, `DIR/:FORMAT` for any
    number, `-` for CSV on standard output) or print their first rows; each table's row count."""
    start = time.perf_counter()
    progress = progress or Progress()
    if output_file is None or str(output_file) == "-":
        counts = {}
        with progress.phase("Writing rows", "rows") as update:
            for table in tables:
                if len(tables) > 1:
                    # Several tables on the console: each under its name.
                    separator = "\n" if counts else ""
                    stdout.write(f"{separator}# {table.name}\n")
                counts[table.name] = write_results(
                    output_file,
                    table.specs,
                    table.rows(),
                    stdout=stdout,
                    progress=update,
                )
        where = "to the console" if output_file is None else "to standard output"
    else:
        log(f"Writing {output_file} ...")
        with progress.phase("Writing rows", "rows") as update:
            counts = write_output_tables(output_file, tables, progress=update)
        where = f"to {output_file}"
    if len(tables) == 1:
        log(
            f"Wrote {sum(counts.values())} rows {where} in {time.perf_counter() - start:.2f}s"
        )
    else:
        each = ", ".join(f"{name}: {count}" for name, count in counts.items())
        log(
            f"Wrote {len(counts)} tables ({each} rows) {where} in {time.perf_counter() - start:.2f}s"
        )
    return counts


def dump_dataset_sql(
    definition_file: Path,
    output_file: Path | None,
    *,
    backend: str | None = None,
    query_engine: str | None = None,
    user_args: UserArgs = None,
    permissions: Iterable[str] = (),
    log: Log = log_to_stderr,
    stdout: TextIO | None = None,
) -> list[str]:
    """Write the SQL a query engine would run for a definition; returns the statements.

    The SQL is that of a job holding `permissions`, which can lift a
    backend's access rules."""
    with _stage(log, f"Loading dataset definition {definition_file}"):
        dataset = isolated.load_dataset_definition(
            definition_file, user_args, warn=log
        ).query_model
    backend_object = get_backend(backend)
    # With a backend, the SQL is that of the engine it runs on at the provider.
    name = (
        query_engine
        or getattr(backend_object, "query_engine", None)
        or default_query_engine()
    )
    engine = make_engine(name, None, dataset, backend_object, permissions)
    if not hasattr(engine, "get_queries"):
        sql_engines = [n for n in query_engine_names() if n != "in_memory"]
        raise CommandError(
            f"the {name} query engine does not use SQL; choose one of: {', '.join(sql_engines)}"
        )
    with _stage(log, f"Compiling the dataset for the {name} query engine"):
        statements = engine.get_queries(dataset)
    text = "".join(f"{statement.rstrip().rstrip(';')};\n\n" for statement in statements)
    if output_file is None:
        (stdout or sys.stdout).write(text)
    else:
        with atomic_output(Path(output_file)) as temporary:
            temporary.write_text(text, encoding="utf-8")
        log(f"Wrote {len(statements)} SQL statements to {output_file}")
    return statements


def create_dummy_tables(
    definition_file: Path,
    directory: Path | None,
    *,
    file_format: str = "csv",
    user_args: UserArgs = None,
    force: bool = False,
    log: Log = log_to_stderr,
    stdout: TextIO | None = None,
    progress: Progress | None = None,
) -> list[Path]:
    """Generate dummy tables for a dataset or measures definition and write one file
    per table to `directory`, or print them all when `directory` is None.

    The directory can then be given to `generate-dataset --dummy-tables` (or
    `generate-measures --dummy-tables`), after any editing. Existing files for
    the definition's tables (in any format) are not overwritten unless `force`;
    with it, they are replaced, so that each table is left with the one file
    just written. Returns the paths written.
    """
    loaded = _load_for_dummy_data(definition_file, user_args, log)
    existing = (
        []
        if directory is None
        else _existing_table_files(
            Path(directory), qm.get_table_nodes(loaded.query_model)
        )
    )
    if existing and not force:
        # Checked before generating: the user may have edited these files.
        raise CommandError(
            f"not overwriting existing table files in {directory}: "
            f"{', '.join(p.name for p in existing)}; pass --force to replace them"
        )
    tables = _generate_dummy_tables(loaded, log, progress)
    if directory is None:
        stream = stdout or sys.stdout
        shown = sorted(
            (
                (t, rows)
                for t, rows in tables.items()
                if not isinstance(t, qm.InlinePatientTable)
            ),
            key=lambda item: item[0].name,
        )
        for position, (table, rows) in enumerate(shown):
            specs = table_column_specs(table.schema)
            separator = "\n" if position else ""
            stream.write(f"{separator}# {table.name}\n")
            write_table(
                stream, specs, ([row[spec.name] for spec in specs] for row in rows)
            )
        return []
    from ehrql.dummy.writer import write_dummy_tables

    with _stage(log, f"Writing dummy tables to {directory}"):
        paths = write_dummy_tables(tables, directory, file_format)
    for stale in sorted(set(existing) - set(paths)):
        stale.unlink()
        log(f"Removed {stale.name}, replaced by the {file_format} file")
    log(f"Wrote {', '.join(p.name for p in paths)}")
    return paths


def _existing_table_files(directory: Path, tables: Iterable[qm.Frame]) -> list[Path]:
    names = sorted(t.name for t in tables if not isinstance(t, qm.InlinePatientTable))
    return [
        directory / f"{name}{extension}"
        for name in names
        for extension in FILE_FORMATS
        if (directory / f"{name}{extension}").is_file()
    ]


def _load_for_dummy_data(definition_file: Path, user_args, log: Log) -> LoadedDataset:
    """A dataset definition as loaded; a measures definition as the dataset whose
    dummy data covers its measures (what generate-measures would generate)."""
    from ehrql.loaders import MissingDefinitionError
    from ehrql.measures.dummy_data import measures_dummy_dataset

    with _stage(log, f"Loading definition {definition_file}"):
        try:
            return isolated.load_dataset_definition(
                definition_file, user_args, warn=log
            )
        except MissingDefinitionError as no_dataset:
            try:
                measures = isolated.load_measure_definitions(
                    definition_file, user_args, warn=log
                )
            except MissingDefinitionError:
                raise MissingDefinitionError(
                    f"{definition_file}: neither `dataset` nor `measures` was defined; "
                    "create-dummy-tables takes a dataset or a measures definition"
                ) from no_dataset
    return LoadedDataset(measures_dummy_dataset(measures), measures.dummy_data_config)


# ---------------------------------------------------------------------------
# Measures, assurance, debugging and the query model
# ---------------------------------------------------------------------------


def generate_measures(
    definition_file: Path,
    output_file: Path | None,
    *,
    dsn: str | None = None,
    dummy_tables: Path | None = None,
    dummy_data_file: Path | None = None,
    backend: str | None = None,
    query_engine: str | None = None,
    user_args: UserArgs = None,
    permissions: Iterable[str] = (),
    log: Log = log_to_stderr,
    stdout: TextIO | None = None,
    progress: Progress | None = None,
) -> int:
    """Calculate the measures a definition defines and write one row per measure,
    interval and group to `output_file` (or print them). Returns the row count.

    Permissions are checked as for `generate_dataset`.

    The rows come from, in order of preference: the database at `dsn`; the
    `dummy_data_file`, output as it is once its columns are checked; the
    directory of `dummy_tables`; dummy data generated from the measures'
    definitions.
    """
    from ehrql.measures import measure_output_columns
    from ehrql.measures.calculate import (
        combine_measure_tables,
        measure_table_columns,
        split_by_measure,
    )
    from ehrql.measures.dummy_data import measures_dummy_dataset

    with _stage(log, f"Loading measures definition {definition_file}"):
        measures = isolated.load_measure_definitions(
            definition_file,
            user_args,
            against_database=dsn is not None,
            protected=database_paths(dsn),
            warn=log,
            meanwhile=_imports_while_loading(
                dsn, dummy_tables, dummy_data_file, query_engine, measures=True
            ),
        )
    log(f"{len(measures)} measures")
    specs = [
        ColumnSpec(name, type_) for name, type_ in measure_output_columns(measures)
    ]
    progress = progress or Progress()
    # With a directory output (`DIR/:csv`), each measure gets a file of its own.
    split = (
        output_file is not None
        and str(output_file) != "-"
        and check_output_path(output_file) is not None
    )
    table_specs = {
        m.name: [ColumnSpec(name, type_) for name, type_ in measure_table_columns(m)]
        for m in measures
    }
    query = measures_dummy_dataset(measures)
    _check_permissions(query, dsn, permissions, measures.claimed_permissions, log)
    if dsn is None and dummy_data_file is not None:
        log(f"Using the dummy measures {dummy_data_file} as the output")
        if Path(dummy_data_file).is_dir():
            rows = list(
                combine_measure_tables(
                    read_input_tables(dummy_data_file, table_specs), measures
                )
            )
        else:
            rows = list(read_rows(dummy_data_file, specs))
    else:
        rows = _calculated_measures(
            measures,
            query,
            dsn,
            dummy_tables,
            dummy_data_file,
            backend,
            query_engine,
            log,
            permissions,
            progress,
        )
    if not split:
        return _write_output(
            output_file, specs, rows, log, stdout or sys.stdout, progress
        )
    per_measure = split_by_measure(rows, measures)
    tables = [
        OutputTable(name, tuple(table_specs[name]), lambda name=name: per_measure[name])
        for name in table_specs
    ]
    return sum(
        _write_tables(output_file, tables, log, stdout or sys.stdout, progress).values()
    )


def _calculated_measures(
    measures,
    query,
    dsn,
    dummy_tables,
    dummy_data_file,
    backend,
    query_engine,
    log: Log,
    permissions,
    progress,
) -> list:
    """Measure result rows from the database at `dsn`, the `dummy_tables` or generated dummy data.

    `query` is the dataset of every measure's variables (`measures_dummy_dataset`).
    """
    from ehrql.measures import get_measure_results

    if dsn is not None and (dummy_tables is not None or dummy_data_file is not None):
        log("Running on the database given by --dsn: dummy data options are ignored")
    shortfall = None
    if dsn is not None or dummy_tables is not None:
        source = dsn if dsn is not None else dummy_tables
        engine = make_engine(
            query_engine,
            source,
            query,
            get_backend(backend) if dsn else None,
            permissions,
        )
    else:
        from ehrql.measures.dummy_data import (
            measures_dummy_cells,
            measures_dummy_locations,
        )

        cells = measures_dummy_cells(measures, query)
        shortfall = cells.shortfall(measures.dummy_data_config.population_size)
        if shortfall and measures.disclosure_control_enabled:
            # Said once, before the run, with what would be enough.
            log(f"Dummy data: {shortfall}")
        tables = _generate_dummy_data(
            query,
            measures.dummy_data_config,
            log,
            "every measure's denominator",
            None,
            progress,
            cells.quotas,
            cells.plans,
            measures_dummy_locations(measures),
        )
        engine = engine_over_tables(query_engine, tables)
    if not measures.disclosure_control_enabled:
        log("Disclosure control is turned off: counts are not rounded or suppressed")
    with (
        _stage(log, "Calculating measures"),
        progress.phase("Measures", "intervals") as update,
    ):
        rows = list(get_measure_results(engine, measures, progress=update))
    if (
        dsn is None
        and dummy_tables is None
        and measures.disclosure_control_enabled
        and not shortfall
    ):
        from ehrql.dummy.report import suppressed_numerators

        # The population was enough for every cell the definition names;
        # what was still hidden (groups it does not name) is said here, once.
        note = suppressed_numerators(rows)
        if note:
            log(f"Dummy data: {note}")
    return rows


def assure(
    definition_file: Path,
    *,
    user_args: UserArgs = None,
    log: Log = log_to_stderr,
    stdout: TextIO | None = None,
) -> bool:
    """Check a definition against the test patients in its `test_data`; print a
    report, and return whether every patient passed."""
    from ehrql.assurance import present, run_assurance

    with _stage(log, f"Loading dataset definition {definition_file}"):
        dataset, test_data = isolated.load_test_data(
            definition_file, user_args, warn=log
        )
    report = run_assurance(dataset, test_data)
    print(present(report), file=stdout or sys.stdout)
    return report.ok


def debug_dataset(
    definition_file: Path,
    *,
    dummy_tables: Path | None = None,
    user_args: UserArgs = None,
    log: Log = log_to_stderr,
    display_format: str = "ascii",
) -> None:
    """Run a definition with `show()` turned on, over `dummy_tables` (or generated
    dummy data), printing each shown value to stderr as a plain-text table
    (`display_format="ascii"`) or an HTML one ("html").

    The whole run happens in the definition's isolated process, as `show()`
    evaluates values while the definition runs; it only ever sees dummy data.
    """
    isolated.run_debug(
        definition_file,
        user_args,
        dummy_tables=dummy_tables,
        display_format=display_format,
        warn=log,
    )


def debug_dataset_in_process(
    definition_file: Path,
    *,
    dummy_tables: Path | None = None,
    user_args: UserArgs = None,
    log: Log = log_to_stderr,
    stream: TextIO | None = None,
    display_format: str = "ascii",
) -> None:
    """`debug_dataset` in this process: what the isolated process runs."""
    from ehrql.debugger import activate_debug_context
    from ehrql.loaders import load_module
    from ehrql.query_engines.in_memory import InMemoryDatabase

    if dummy_tables is not None:
        cache: dict[str, list[dict]] = {}

        def provider(tables):
            missing = [
                t
                for t in tables
                if t.name not in cache and not isinstance(t, qm.InlinePatientTable)
            ]
            cache.update(read_table_directory(dummy_tables, missing))
            return InMemoryDatabase(cache)

    else:
        # Generated data needs the dataset first: load once silently to get it.
        loaded = load_dataset_definition(definition_file, user_args)
        tables = _generate_dummy_tables(loaded, log)
        database = InMemoryDatabase({t.name: rows for t, rows in tables.items()})

        def provider(tables):
            return database

    with activate_debug_context(provider, stream or sys.stderr, display_format):
        load_module(definition_file, user_args)


def serialize_definition(
    definition_file: Path,
    output_file: Path | None,
    *,
    user_args: UserArgs = None,
    log: Log = log_to_stderr,
    stdout: TextIO | None = None,
) -> str:
    """Write a dataset definition's query model as JSON (see `ehrql.serializer`)."""
    from ehrql.serializer import serialize

    with _stage(log, f"Loading dataset definition {definition_file}"):
        dataset = isolated.load_dataset_definition(
            definition_file, user_args, warn=log
        ).query_model
    text = serialize(dataset) + "\n"
    if output_file is None:
        (stdout or sys.stdout).write(text)
    else:
        with atomic_output(Path(output_file)) as temporary:
            temporary.write_text(text, encoding="utf-8")
        log(f"Wrote the query model to {output_file}")
    return text


def graph_query(
    definition_file: Path,
    output_file: Path,
    *,
    user_args: UserArgs = None,
    log: Log = log_to_stderr,
) -> None:
    """Write a picture of a dataset definition's query model: Graphviz DOT text for a
    `.dot` or `.gv` file, or (with Graphviz installed) an `.svg`, `.png` or `.pdf`."""
    from ehrql.query_graph import write_query_graph

    with _stage(log, f"Loading dataset definition {definition_file}"):
        dataset = isolated.load_dataset_definition(
            definition_file, user_args, warn=log
        ).query_model
    write_query_graph(dataset, Path(output_file), title=Path(definition_file).stem)
    log(f"Wrote the query graph to {output_file}")


#: The example database shipped with ehrql.
EXAMPLE_DATA_DIRECTORY = Path(__file__).parent / "example-data"


def dump_example_data(directory: Path, *, log: Log = log_to_stderr) -> list[Path]:
    """Copy the bundled example tables (one CSV per core table) into `directory`."""
    sources = sorted(EXAMPLE_DATA_DIRECTORY.glob("*.csv"))
    directory = Path(directory)
    existing = [directory / s.name for s in sources if (directory / s.name).exists()]
    if existing:
        raise CommandError(
            f"not overwriting existing files: {', '.join(str(p) for p in existing)}; "
            "remove them or choose another directory"
        )
    written = []
    for source in sources:
        with atomic_output(directory / source.name) as temporary:
            temporary.write_bytes(source.read_bytes())
        written.append(directory / source.name)
    log(f"Wrote {len(written)} example tables to {directory}")
    return written


def test_connection(
    url: str,
    *,
    backend: str | None = None,
    query_engine: str | None = None,
    log: Log = log_to_stderr,
) -> None:
    """Check that the database at `url` can be reached, with the engine the backend uses.

    The engine is `query_engine` if given, else the backend's own (mssql for
    TPP, trino for EMIS), else DuckDB. Raises CommandError saying why if not.
    """
    backend_object = get_backend(backend)
    name = (
        query_engine
        or getattr(backend_object, "query_engine", None)
        or engine_name_for(None, url)
    )
    engine_class = _engine_class(name)
    if not hasattr(engine_class, "test_connection"):
        raise CommandError(f"the {name} query engine has no database to connect to")
    with _stage(log, f"Connecting to the database with the {name} query engine"):
        try:
            engine_class(url, backend=backend_object).test_connection()
        except EHRQLError:
            raise
        except ImportError as error:
            raise CommandError(
                f"the {name} query engine needs the {error.name} package: "
                f"install it with pip install 'ehrql[{ENGINES[name].extra or name}]'"
            ) from error
        except Exception as error:
            raise CommandError(
                f"cannot connect with the {name} query engine: {error}"
            ) from error
    log("Connection OK")
