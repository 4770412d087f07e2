"""The `ehrql` command line: argument parsing and error reporting.

Each verb is a function in `ehrql.main`; this module only turns the command
line into its arguments and turns errors into a clear message and exit code.
Arguments after a lone `--` are the user's own (`--name value` pairs), passed
to the definition for `get_parameter`. The CLI reference in the docs is
generated from `build_parser()`, so every option carries its help text.

Exit codes are listed in `EXIT_CODES` (and so in the CLI reference); each
means the same whatever the query engine. Nothing printed ever holds a
password (`database_errors.redact`).
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import gc
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import ehrql
from ehrql import database_errors, main
from ehrql.debugger import DISPLAY_FORMATS
from ehrql.errors import DataError, EHRQLError
from ehrql.file_formats import (
    FILE_FORMATS,
    FileValidationError,
    check_output_path,
    get_file_extension,
)
from ehrql.file_formats.results import CONSOLE_ROWS
from ehrql.loaders import DefinitionFileError
from ehrql.main import CommandError, backend_names, query_engine_names
from ehrql.permissions import PERMISSIONS_VARIABLE, parse_permissions
from ehrql.progress import Progress


def _tune_garbage_collection() -> None:
    """Set the cyclic garbage collector for a command line process.

    Everything imported by now (modules, classes, functions) lives as long
    as the process: frozen, it is not walked again by every collection. And
    a command builds many small objects that live to its end (query model
    nodes, dummy rows) and makes few cycles: collecting the youngest
    objects after 50,000 allocations rather than Python's 700 stops the
    collector rereading them hundreds of times. On a 10-patient measures run
    over 618 intervals (open-pathology) collections took 0.27 s, now 0.04 s;
    a 10,000-patient run peaks 5% higher (250 MB).

    At exit Python collects once more, walking every object left (another
    0.05 s there): frozen first, they are left to the process's end, which
    frees them all. (Finalizers of objects in cycles are all that collection
    could run, and Python does not promise to run them at exit; ehrql closes
    its files and connections itself.)
    """
    gc.freeze()
    gc.set_threshold(50_000, *gc.get_threshold()[1:])
    atexit.register(gc.freeze)


EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_DEFINITION_ERROR = 10
EXIT_DATA_ERROR = 11
#: As a shell reports a process ended by Ctrl-C (128 + SIGINT).
EXIT_INTERRUPTED = 130
#: As a shell reports a process whose output pipe was closed (128 + SIGPIPE),
#: as `yes | head` leaves `yes`.
EXIT_OUTPUT_CLOSED = 141
#: As a shell reports a process ended by SIGTERM (128 + SIGTERM), which job
#: schedulers send to stop a job.
EXIT_TERMINATED = 143

#: Every exit code, with what it means, as the CLI reference lists them. The
#: same problem gives the same code whatever the query engine.
EXIT_CODES: tuple[tuple[str, str], ...] = (
    (str(EXIT_OK), "Success."),
    (
        str(EXIT_ERROR),
        "Any other error, explained in the message: an output that cannot be written, a "
        "table file that is missing, a database that refuses the query, test patients "
        "failing `ehrql assure`, or a bug in ehrql (run again with `--debug-traceback`).",
    ),
    (
        str(EXIT_USAGE),
        "A bad command line: an unknown option, a missing or wrong argument.",
    ),
    (
        str(database_errors.EXIT_DATABASE_TRANSIENT),
        "The database connection failed in a way that is usually temporary (it dropped, or "
        "the server could not be reached): run the job again later.",
    ),
    (
        str(database_errors.EXIT_DATABASE_MAINTENANCE),
        "A table the query reads is under maintenance: run the job again once it is over.",
    ),
    (
        str(database_errors.EXIT_DATABASE_ERROR),
        "Any other error the database reported running the query.",
    ),
    (
        str(database_errors.EXIT_QUERY_TOO_COMPLEX),
        "The query is too complex for the database server: simplify the definition or split it.",
    ),
    (
        str(EXIT_DEFINITION_ERROR),
        "The definition (or test data) file cannot be loaded: a Python error, an ehrQL error "
        "such as comparing values of different types, a bad or unknown user argument; the "
        "message gives the file, line and source line.",
    ),
    (
        str(EXIT_DATA_ERROR),
        "The data does not match its schema, or a value computed from it cannot be held: a "
        "bad cell (file, line and column named), a missing column, a patient-level table "
        "with more than one row for a patient, a file that is not UTF-8, an integer "
        "calculation beyond 64 bits.",
    ),
    (
        str(EXIT_INTERRUPTED),
        "Interrupted (Ctrl-C, SIGINT); no output file is left behind.",
    ),
    (
        str(EXIT_OUTPUT_CLOSED),
        "Whatever was reading the output stopped reading, as `head` does when the output is piped into it.",
    ),
    (
        str(EXIT_TERMINATED),
        "Terminated (SIGTERM, as job schedulers send); no output file is left behind.",
    ),
)

_FORMATS = ", ".join(FILE_FORMATS)


def entrypoint(argv: Sequence[str] | None = None) -> int:
    """Run the command line `argv` (default: `sys.argv[1:]`) and return its exit code.

    As the console script, the return value becomes the process's exit status.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    ehrql_args, user_arg_list = _split_user_args(argv)
    parser = build_parser()
    try:
        options = parser.parse_args(ehrql_args)
    except SystemExit as exit_:
        # --help, --version, or a usage error argparse has already printed.
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    if options.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        permissions = _apply_environment(options, os.environ)
    except EHRQLError as error:
        print(f"ehrql: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    # User arguments are passed on as given: only the definition knows which it takes.
    with _signals_recorded() as received:
        return _run(options, user_arg_list, permissions, received)


#: Environment variables the OpenSAFELY platform runs ehrql with, by the option
#: each is the default of. An option given on the command line wins.
ENVIRONMENT_DEFAULTS = {
    "dsn": "DATABASE_URL",
    "url": "DATABASE_URL",
    "backend": "OPENSAFELY_BACKEND",
    "query_engine": "OPENSAFELY_QUERY_ENGINE",
}

#: Values of OPENSAFELY_BACKEND meaning "no backend" (the platform's local runs).
NO_BACKEND_NAMES = ("expectations", "test")


def _apply_environment(
    options: argparse.Namespace, environ: Mapping[str, str]
) -> frozenset[str]:
    """Fill options not given on the command line from the platform's environment
    variables, checking the values as the options are checked; return the
    permissions the job holds (`EHRQL_PERMISSIONS`)."""
    for option, variable in ENVIRONMENT_DEFAULTS.items():
        value = environ.get(variable)
        if (
            not hasattr(options, option)
            or getattr(options, option) is not None
            or not value
        ):
            continue
        if option == "backend":
            if value in NO_BACKEND_NAMES:
                continue
            value = _checked_environment_value(_backend_name, variable, value)
        elif option == "query_engine":
            value = _checked_environment_value(_query_engine_name, variable, value)
        setattr(options, option, value)
    if getattr(options, "command", None) == "test-connection" and options.url is None:
        raise CommandError(
            "test-connection needs a database: give --url, or set DATABASE_URL"
        )
    return parse_permissions(environ.get(PERMISSIONS_VARIABLE))


def _checked_environment_value(check, variable: str, value: str) -> str:
    try:
        return check(value)
    except argparse.ArgumentTypeError as error:
        raise CommandError(f"{variable}: {error}") from None


@contextlib.contextmanager
def _signals_recorded() -> Iterator[list[int]]:
    """While running, turn SIGINT and SIGTERM into KeyboardInterrupt, noting which arrived.

    Both then unwind the same way: temporary output files are removed and
    database sessions closed. The note says which to report, since a
    database driver may turn the interrupt into an error of its own (DuckDB
    raises `RuntimeError: Query interrupted`). A signal the caller set to be
    ignored (as `nohup` does) stays ignored.
    """
    received: list[int] = []

    def handler(signum, frame):
        received.append(signum)
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    previous = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(signum) is not signal.SIG_IGN:
            previous[signum] = signal.signal(signum, handler)
    try:
        yield received
    finally:
        for signum, old_handler in previous.items():
            signal.signal(signum, old_handler)


def _split_user_args(argv: list[str]) -> tuple[list[str], list[str]]:
    if "--" in argv:
        position = argv.index("--")
        return argv[:position], argv[position + 1 :]
    return argv, []


def _run(
    options: argparse.Namespace,
    user_args: list[str],
    permissions: frozenset[str] = frozenset(),
    received: Sequence[int] = (),
) -> int:
    try:
        exit_code = _COMMANDS[options.command](options, user_args, permissions)
    except KeyboardInterrupt:
        return _stopped(received)
    except BrokenPipeError:
        return _output_closed()
    except Exception as error:
        if received:
            # Whatever the driver made of the signal, the signal is the cause.
            return _stopped(received)
        return _report(error, options.debug_traceback)
    return EXIT_OK if exit_code is None else exit_code


def _data_source(options: argparse.Namespace) -> dict:
    """Where a command that reads data takes it from: options shared by datasets and measures."""
    return {
        "dsn": options.dsn,
        "dummy_tables": options.dummy_tables,
        "dummy_data_file": options.dummy_data_file,
        "backend": options.backend,
        "query_engine": options.query_engine,
    }


def _generate_dataset(options, user_args, permissions):
    main.generate_dataset(
        options.definition_file,
        options.output,
        **_data_source(options),
        test_data_file=options.test_data_file,
        user_args=user_args,
        permissions=permissions,
        progress=_progress(options),
    )


def _generate_measures(options, user_args, permissions):
    main.generate_measures(
        options.definition_file,
        options.output,
        **_data_source(options),
        user_args=user_args,
        permissions=permissions,
        progress=_progress(options),
    )


def _dump_dataset_sql(options, user_args, permissions):
    main.dump_dataset_sql(
        options.definition_file,
        options.output,
        backend=options.backend,
        query_engine=options.query_engine,
        user_args=user_args,
        permissions=permissions,
    )


def _create_dummy_tables(options, user_args, _permissions):
    directory, file_format = options.dummy_tables_path or (None, "csv")
    main.create_dummy_tables(
        options.definition_file,
        directory,
        file_format=file_format,
        user_args=user_args,
        force=options.force,
        progress=_progress(options),
    )


def _debug(options, user_args, _permissions):
    main.debug_dataset(
        options.definition_file,
        dummy_tables=options.dummy_tables,
        user_args=user_args,
        display_format=options.display_format,
    )


def _isolation_report(_options, _user_args, _permissions):
    from ehrql.isolation.report import isolation_report

    return None if isolation_report(sys.stdout) else EXIT_ERROR


def _dump_example_data(options, _user_args, _permissions):
    if options.dst_dir is not None and options.directory is not None:
        return _usage_error(
            "dump-example-data",
            "give the directory once: either DIRECTORY or --dst-dir",
        )
    main.dump_example_data(options.dst_dir or options.directory or Path("example-data"))


def _serialize_definition(options, user_args, _permissions):
    main.serialize_definition(
        options.definition_file, options.output, user_args=user_args
    )


def _graph_query(options, user_args, _permissions):
    main.graph_query(options.definition_file, options.output, user_args=user_args)


def _test_connection(options, _user_args, _permissions):
    main.test_connection(
        options.url, backend=options.backend, query_engine=options.query_engine
    )


def _assure(options, user_args, _permissions):
    return (
        None
        if main.assure(options.definition_file, user_args=user_args)
        else EXIT_ERROR
    )


#: Each verb's handler: (options, user arguments, permissions held) -> an exit
#: code, or None when it ran to the end.
_COMMANDS: dict[
    str, Callable[[argparse.Namespace, list[str], frozenset[str]], int | None]
] = {
    "generate-dataset": _generate_dataset,
    "generate-measures": _generate_measures,
    "dump-dataset-sql": _dump_dataset_sql,
    "create-dummy-tables": _create_dummy_tables,
    "assure": _assure,
    "debug": _debug,
    "serialize-definition": _serialize_definition,
    "test-connection": _test_connection,
    "isolation-report": _isolation_report,
    "graph-query": _graph_query,
    "dump-example-data": _dump_example_data,
}


def _stopped(received: Sequence[int]) -> int:
    if signal.SIGTERM in received:
        print("ehrql: terminated", file=sys.stderr)
        return EXIT_TERMINATED
    print("ehrql: interrupted", file=sys.stderr)
    return EXIT_INTERRUPTED


def _output_closed() -> int:
    """Stop quietly when whatever reads the output stops reading (`ehrql ... | head`)."""
    # Python flushes stdout on exit, which would fail again with a message:
    # point it at /dev/null instead.
    devnull = os.open(os.devnull, os.O_WRONLY)
    with contextlib.suppress(OSError, ValueError):
        os.dup2(devnull, sys.stdout.fileno())
    return EXIT_OUTPUT_CLOSED


def _usage_error(command: str, message: str) -> int:
    """Report a command line that argparse accepted but that cannot run as given."""
    print(f"ehrql {command}: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _report(error: Exception, show_traceback: bool) -> int:
    """Print `error` as one paragraph (with a traceback if asked) and pick the exit code.

    A database failure gets its own code (3-6) and a one-line note.
    """
    if show_traceback:
        child_traceback = getattr(error, "child_traceback", "")
        if child_traceback:
            print("In the definition's isolated process:", file=sys.stderr)
            print(database_errors.redact(child_traceback), file=sys.stderr)
        text = "".join(traceback.format_exception(error))
        print(database_errors.redact(text), end="", file=sys.stderr)
    # A data error is ehrql's own diagnosis of a bad input file (file, line and
    # column), even where the database's failure led to it: that is the news.
    database_failure = (
        None if isinstance(error, DataError) else database_errors.classify(error)
    )
    if database_failure is not None:
        print(f"ehrql: error: {database_failure.message}", file=sys.stderr)
        print(f"ehrql: note: {database_failure.note}", file=sys.stderr)
        return database_failure.exit_code
    print(database_errors.redact(_message(error, show_traceback)), file=sys.stderr)
    return _exit_code(error)


def _exit_code(error: Exception) -> int:
    if isinstance(error, DefinitionFileError):
        return EXIT_DEFINITION_ERROR
    if isinstance(error, DataError):
        return EXIT_DATA_ERROR
    return EXIT_ERROR


def _message(error: Exception, show_traceback: bool) -> str:
    """What to print for an error that is not a database failure."""
    if isinstance(error, DefinitionFileError):
        return str(error)
    if isinstance(error, EHRQLError):
        return f"ehrql: error: {error}"
    if isinstance(error, OSError) and error.filename:
        return f"ehrql: error: {error.strerror}: {error.filename}"
    hint = (
        ""
        if show_traceback
        else "\n(run again with --debug-traceback to see where it happened)"
    )
    return f"ehrql: error: {type(error).__name__}: {_first_paragraph(str(error))}{hint}"


def _first_paragraph(message: str) -> str:
    """A message up to its first blank line: database drivers follow the useful
    part of an error with pages of hints."""
    return message.strip().split("\n\n")[0]


# ---------------------------------------------------------------------------
# The parser
# ---------------------------------------------------------------------------


def _definition_file(value: str) -> Path:
    path = Path(value)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"definition file not found: {value}")
    if path.suffix != ".py":
        raise argparse.ArgumentTypeError(
            f"the definition file must be a Python (.py) file: {value}"
        )
    return path


def _output_file(value: str) -> Path | str:
    """A file (`out.csv`), a directory and a format (`out/:csv`), checked but not
    created, or `-` for CSV on standard output."""
    if value == "-":
        return value
    try:
        split = check_output_path(value)
    except FileValidationError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    if split is None and Path(value).is_dir():
        raise argparse.ArgumentTypeError(
            f"the output must be a file, but {value} is a directory (to write one file per "
            f"table into it, add a format: {value.rstrip('/')}/:csv)"
        )
    if split is not None and split[0].exists() and not split[0].is_dir():
        raise argparse.ArgumentTypeError(f"{split[0]} exists and is not a directory")
    return Path(value)


def _input_data_file(value: str) -> Path:
    """A data file, or a directory of one file per table."""
    path = Path(value)
    if path.is_dir():
        return path
    try:
        get_file_extension(value)
    except FileValidationError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"file not found: {value}")
    return path


def _directory(value: str) -> Path:
    path = Path(value)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(
            f"{value} is a file, not a directory: give the directory holding the table files"
        )
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"directory not found: {value}")
    return path


def _directory_and_format(value: str) -> tuple[Path, str]:
    """`DIR` or `DIR:FORMAT` (e.g. `dummy_tables:arrow`); the format defaults to csv."""
    directory, _, file_format = (
        value.rpartition(":") if ":" in value else (value, "", "csv")
    )
    if "." + file_format not in FILE_FORMATS:
        known = ", ".join(e.lstrip(".") for e in FILE_FORMATS)
        raise argparse.ArgumentTypeError(
            f"unknown file format '{file_format}'; choose one of: {known}"
        )
    if not directory:
        raise argparse.ArgumentTypeError("give a directory before the ':FORMAT'")
    path = Path(directory)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{directory} exists and is not a directory")
    return path, file_format


def _query_engine_name(value: str) -> str:
    if value not in query_engine_names():
        raise argparse.ArgumentTypeError(
            f"unknown query engine '{value}'; valid query engines: {', '.join(query_engine_names())}"
        )
    return value


def _backend_name(value: str) -> str:
    names = backend_names()
    if value not in names:
        known = ", ".join(names) or "none are available in this version of ehrql"
        raise argparse.ArgumentTypeError(
            f"unknown backend '{value}'; valid backends: {known}"
        )
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for the whole command line, one subcommand per verb."""
    parser = argparse.ArgumentParser(
        prog="ehrql",
        description=(
            "Run ehrQL definitions: turn a dataset definition into one row per patient, "
            "on a database, on a directory of table files, or on dummy data."
        ),
        epilog="Arguments after a lone `--` are passed to the definition unchanged: "
        '`--name value` pairs are read there with get_parameter("name"), and the '
        "definition's `sys.argv` is its own path followed by these arguments. "
        "On the OpenSAFELY platform ehrql is configured by environment variables, which "
        "are the defaults of options given on the command line: DATABASE_URL (--dsn, "
        "--url), OPENSAFELY_BACKEND (--backend), OPENSAFELY_QUERY_ENGINE (--query-engine); "
        "and EHRQL_PERMISSIONS, a JSON list of the permissions the job holds "
        '(e.g. ["include_t1oo", "appointments"]), which a run against a database '
        "needs for restricted tables and features and which can lift a backend's rules "
        "on which patients are included.",
        allow_abbrev=False,
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"ehrql {ehrql.__version__}",
        help="Print the version of ehrql and exit.",
    )
    verbs = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    _add_generate_dataset(verbs)
    _add_dump_dataset_sql(verbs)
    _add_create_dummy_tables(verbs)
    _add_generate_measures(verbs)
    _add_assure(verbs)
    _add_debug(verbs)
    _add_serialize_definition(verbs)
    _add_dump_example_data(verbs)
    _add_test_connection(verbs)
    _add_graph_query(verbs)
    _add_isolation_report(verbs)
    return parser


def _definition_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "definition_file",
        metavar="DEFINITION",
        type=_definition_file,
        help="The dataset definition: a Python file that sets a variable named `dataset`.",
    )


def _engine_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--backend",
        metavar="NAME",
        type=_backend_name,
        help="The data provider whose database the SQL is for; it decides how the "
        "public tables map onto the provider's own tables ("
        + (", ".join(backend_names()) or "none available")
        + "). Default: the OPENSAFELY_BACKEND environment variable (where `expectations` "
        "and `test` mean no backend); without it, the public tables as they are.",
    )
    parser.add_argument(
        "--query-engine",
        metavar="NAME",
        type=_query_engine_name,
        help="The engine that runs the query: "
        + ", ".join(query_engine_names())
        + ". Default: the engine a server DSN names (mssql:// or trino://); for SQL printed "
        "by dump-dataset-sql, the --backend's own (mssql for tpp, trino for emis); "
        "otherwise duckdb (or in_memory where DuckDB is not installed). The "
        "OPENSAFELY_QUERY_ENGINE environment variable, if set, comes before all of these.",
    )
    _traceback_argument(parser)


def _add_generate_dataset(verbs) -> None:
    parser = verbs.add_parser(
        "generate-dataset",
        help="Run a dataset definition and write the dataset.",
        description=(
            "Run a dataset definition and write the dataset: one row per patient in the "
            "population, with a patient_id column then the dataset's columns in the order "
            "the definition added them. Without --dsn, --dummy-tables or --dummy-data-file, "
            "dummy data is generated from the definition."
        ),
        allow_abbrev=False,
    )
    _definition_argument(parser)
    parser.add_argument(
        "--output",
        metavar="FILE_OR_DIR/:FORMAT",
        type=_output_file,
        help=f"Where to write the dataset: a file, whose extension picks the format ({_FORMATS}), "
        "or a directory and a format (results/:csv, results/:arrow, ...), which gets "
        "dataset.FORMAT plus one file per event table (add_event_table()), each named after "
        "its table. A dataset with event tables needs a directory. Missing directories are "
        "created, and the files appear only once all are written. `-` writes CSV to standard "
        f"output. Default: print the first {CONSOLE_ROWS} rows of each table on the console, "
        "and the row count.",
    )
    _quiet_argument(parser)
    parser.add_argument(
        "--dsn",
        metavar="URL_OR_PATH",
        help="The database to query: for duckdb, a DuckDB file or a directory of table "
        "files; for spark, a directory of Parquet or CSV table files, or "
        "spark://HOST:PORT?tables=URI or spark://HOST:PORT/DATABASE (a spark:// DSN "
        "picks the spark engine). Takes precedence over the dummy data options. "
        "Default: the DATABASE_URL environment variable.",
    )
    parser.add_argument(
        "--dummy-tables",
        metavar="DIRECTORY",
        type=_directory,
        help="A directory of table files, one per table, named after the table "
        f"(patients.csv, clinical_events.parquet, ...; formats: {_FORMATS}), to run the "
        "definition on instead of real data.",
    )
    parser.add_argument(
        "--dummy-data-file",
        metavar="FILE_OR_DIR",
        type=_input_data_file,
        help="A ready-made dummy dataset to output as it is, after checking that its "
        f"columns and their types match the definition's ({_FORMATS}; the format need not "
        "match the output's). For a dataset with event tables, a directory laid out as "
        "--output DIR/:FORMAT writes it: dataset.FORMAT and one file per event table.",
    )
    parser.add_argument(
        "--test-data-file",
        metavar="FILE",
        type=_definition_file,
        help="A Python file setting `test_data` (test patients and what the dataset should "
        "give for them, as for `ehrql assure`); the definition must pass it before the "
        "dataset is generated.",
    )
    _engine_arguments(parser)


def _add_dump_dataset_sql(verbs) -> None:
    parser = verbs.add_parser(
        "dump-dataset-sql",
        help="Print the SQL that would run for a dataset definition.",
        description=(
            "Print the SQL statements a query engine would run for a dataset definition, "
            "in order, without running them."
        ),
        allow_abbrev=False,
    )
    _definition_argument(parser)
    _text_output_argument(parser, "SQL")
    _engine_arguments(parser)


def _add_create_dummy_tables(verbs) -> None:
    parser = verbs.add_parser(
        "create-dummy-tables",
        help="Generate dummy tables for a dataset or measures definition and write them to files.",
        description=(
            "Generate the dummy tables generate-dataset (or, for a measures definition, "
            "generate-measures) would make for a definition, and write them to a directory, "
            "one file per table, or print them when no directory is given. Edit them if you "
            "like, then pass the directory to generate-dataset --dummy-tables."
        ),
        allow_abbrev=False,
    )
    parser.add_argument(
        "definition_file",
        metavar="DEFINITION",
        type=_definition_file,
        help="The dataset or measures definition: a Python file that sets a variable named "
        "`dataset` or `measures`.",
    )
    parser.add_argument(
        "dummy_tables_path",
        metavar="DIRECTORY[:FORMAT]",
        nargs="?",
        type=_directory_and_format,
        help="The directory to write the tables to (created if missing); without it, the "
        "tables are printed to the console. Files are CSV "
        "unless a format is added after a colon: "
        + ", ".join(f"DIRECTORY:{e.lstrip('.')}" for e in FILE_FORMATS)
        + ".",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="Replace files already in the directory for the definition's tables (in any "
        "format). Without it, existing table files are left alone and nothing is written.",
    )
    _quiet_argument(parser)
    _traceback_argument(parser)


def _text_output_argument(
    parser: argparse.ArgumentParser, what: str, short: str | None = None
) -> None:
    parser.add_argument(
        *([short] if short else []),
        "--output",
        metavar="FILE",
        type=Path,
        help=f"Write the {what} to this file instead of the console.",
    )


def _quiet_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="Show no progress bars (nor, when standard error is not a terminal, the "
        "periodic progress lines) while making dummy data, writing rows or calculating measures.",
    )


def _progress(options: argparse.Namespace) -> Progress | None:
    return Progress.silent() if getattr(options, "quiet", False) else None


def _traceback_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--debug-traceback",
        action="store_true",
        help="On an error, also print Python's full traceback (for reporting bugs in ehrql).",
    )


def _add_generate_measures(verbs) -> None:
    parser = verbs.add_parser(
        "generate-measures",
        help="Calculate the measures a measures definition defines.",
        description=(
            "Calculate the measures a definition file defines (a variable named `measures`, "
            "made by create_measures()) and write one row per measure, interval and group: "
            "measure, interval_start, interval_end, ratio, numerator, denominator, then the "
            "group columns. Disclosure control is applied unless the definition turns it off. "
            "Without --dsn, --dummy-tables or --dummy-data-file, dummy data is generated "
            "from the definition."
        ),
        allow_abbrev=False,
    )
    parser.add_argument(
        "definition_file",
        metavar="DEFINITION",
        type=_definition_file,
        help="The measures definition: a Python file that sets a variable named `measures`.",
    )
    parser.add_argument(
        "--output",
        metavar="FILE_OR_DIR/:FORMAT",
        type=_output_file,
        help=f"Where to write the measures: a file for all of them, whose extension picks the "
        f"format ({_FORMATS}), or a directory and a format (measures/:csv, ...) for one file "
        "per measure, named after it, without the measure column and with only that "
        "measure's group columns. `-` writes CSV to standard output. Default: print the "
        f"first {CONSOLE_ROWS} rows on the console, and the row count.",
    )
    _quiet_argument(parser)
    parser.add_argument(
        "--dsn",
        metavar="URL_OR_PATH",
        help="The database to query: for duckdb, a DuckDB file or a directory of table files; "
        "for spark, a directory of table files or a spark:// DSN. Default: the DATABASE_URL "
        "environment variable.",
    )
    parser.add_argument(
        "--dummy-tables",
        metavar="DIRECTORY",
        type=_directory,
        help="A directory of table files, one per table, to calculate the measures on "
        "instead of real data.",
    )
    parser.add_argument(
        "--dummy-data-file",
        metavar="FILE_OR_DIR",
        type=_input_data_file,
        help="Ready-made dummy measures to output as they are, after checking that the "
        f"columns and their types match the definition's ({_FORMATS}; the format need not "
        "match the output's): one file for all measures, or a directory of one file per "
        "measure as --output DIR/:FORMAT writes them. Ignored with --dsn.",
    )
    _engine_arguments(parser)


def _add_assure(verbs) -> None:
    parser = verbs.add_parser(
        "assure",
        help="Check a dataset definition against the test patients in its test_data.",
        description=(
            "Run a dataset definition on exactly the test patients given in its `test_data` "
            "variable and report, for each patient and column, the expected and the actual "
            "value. Exits with a non-zero code when any patient fails."
        ),
        allow_abbrev=False,
    )
    parser.add_argument(
        "definition_file",
        metavar="DEFINITION",
        type=_definition_file,
        help="The dataset definition, which also sets a variable named `test_data`.",
    )
    _traceback_argument(parser)


def _add_debug(verbs) -> None:
    parser = verbs.add_parser(
        "debug",
        help="Run a dataset definition, printing every value passed to show().",
        description=(
            "Run a dataset definition with show() turned on: each show(...) call prints its "
            "series, frame or dataset as a table on the console, evaluated on the dummy "
            "tables given (or on generated dummy data)."
        ),
        allow_abbrev=False,
    )
    _definition_argument(parser)
    parser.add_argument(
        "--dummy-tables",
        metavar="DIRECTORY",
        type=_directory,
        help="A directory of table files, one per table, to evaluate show() calls on. "
        "Default: dummy data generated from the definition.",
    )
    parser.add_argument(
        "--display-format",
        metavar="FORMAT",
        choices=DISPLAY_FORMATS,
        default="ascii",
        help="How to print each shown value: ascii (a plain-text table, the default) or "
        "html (an HTML table, for a viewer that renders it).",
    )
    _traceback_argument(parser)


def _add_serialize_definition(verbs) -> None:
    parser = verbs.add_parser(
        "serialize-definition",
        help="Write a dataset definition's query model as JSON.",
        description=(
            "Write the query model a dataset definition builds as JSON, which reads back "
            "into exactly the same query model."
        ),
        allow_abbrev=False,
    )
    _definition_argument(parser)
    _text_output_argument(parser, "JSON", short="-o")
    _traceback_argument(parser)


def _add_dump_example_data(verbs) -> None:
    parser = verbs.add_parser(
        "dump-example-data",
        help="Write the bundled example tables to a directory.",
        description=(
            "Copy the example database shipped with ehrql (one CSV file per core table) into "
            "a directory, to try definitions on with --dummy-tables."
        ),
        allow_abbrev=False,
    )
    parser.add_argument(
        "-d",
        "--dst-dir",
        metavar="DIRECTORY",
        dest="dst_dir",
        type=Path,
        help="Where to write the tables (created if missing). Default: ./example-data",
    )
    parser.add_argument(
        "directory",
        metavar="DIRECTORY",
        nargs="?",
        type=Path,
        help="The same as --dst-dir, given without the option name.",
    )
    _traceback_argument(parser)


def _add_test_connection(verbs) -> None:
    parser = verbs.add_parser(
        "test-connection",
        help="Check that ehrql can connect to a database.",
        description=(
            "Connect to a database with the query engine a backend uses, run a trivial "
            "query, and say whether it worked."
        ),
        allow_abbrev=False,
    )
    parser.add_argument(
        "-u",
        "--url",
        metavar="URL_OR_PATH",
        help="The database: mssql://user:pass@host:port/db, trino://user@host:port/catalog/schema, "
        "or a DuckDB file. Default: the DATABASE_URL environment variable.",
    )
    parser.add_argument(
        "-b",
        "--backend",
        metavar="NAME",
        type=_backend_name,
        help="The backend whose query engine to connect with ("
        + (", ".join(backend_names()) or "none available")
        + "). Default: DuckDB.",
    )
    parser.add_argument(
        "--query-engine",
        metavar="NAME",
        type=_query_engine_name,
        help="Connect with this query engine instead of the backend's.",
    )
    _traceback_argument(parser)


def _add_graph_query(verbs) -> None:
    parser = verbs.add_parser(
        "graph-query",
        help="Draw a dataset definition's query graph.",
        description=(
            "Write a picture of the query model a dataset definition builds: a box per node "
            "(a table, a column, a function, an aggregation...) and an arrow to each node it "
            "is built from. Parts used in several places are drawn once."
        ),
        allow_abbrev=False,
    )
    _definition_argument(parser)
    parser.add_argument(
        "--output",
        metavar="FILE",
        type=Path,
        required=True,
        help="Where to write the graph: Graphviz DOT text for a .dot or .gv file; an image "
        "for .svg, .png or .pdf, drawn by Graphviz's `dot` program, which must be installed.",
    )
    _traceback_argument(parser)


def _add_isolation_report(verbs) -> None:
    parser = verbs.add_parser(
        "isolation-report",
        help="Show what the sandbox around definitions blocks on this machine.",
        description=(
            "Run probes inside the isolated process every definition runs in (reading files "
            "outside the study, /etc and ehrql's own /proc entries, writing files, network "
            "connections, starting programs) and print which the operating system blocks. "
            "Exits non-zero when anything that should be blocked is not. "
            "EHRQL_ISOLATE_USER_CODE (auto, always or never) says what happens where the "
            "sandbox is incomplete; EHRQL_USER_CODE_TIMEOUT limits, in seconds, how long a "
            "definition may run (default 600)."
        ),
        allow_abbrev=False,
    )
    _traceback_argument(parser)


def process_entrypoint() -> None:
    """Run the command line as a process (the console script and `python -m
    ehrql`): tune the garbage collector, then exit with `entrypoint`'s code.

    Tuning belongs to the process, not to `entrypoint`, which tests and other
    programs call many times in one process.
    """
    _tune_garbage_collection()
    sys.exit(entrypoint())


if __name__ == "__main__":
    process_entrypoint()
