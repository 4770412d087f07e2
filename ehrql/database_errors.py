"""Database failures the platform can act on, and text fit to print.

When the database fails, ehrql exits with a code that says what to do next
(public ehrQL's codes) and prints one line of explanation:

- 3: transient: the connection dropped or could not be made; retry later;
- 4: a table the query reads is under maintenance; retry once it is done;
- 5: any other database error;
- 6: the query is too complex for the database server.

Everything ehrql prints about a database goes through `redact`, so that no
password reaches a log: not in a URL's user info, a query string, an ODBC
connection string, Spark master URL, nor in a line Java writes itself.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import threading
from collections.abc import Iterator

from ehrql.errors import EHRQLError

EXIT_DATABASE_TRANSIENT = 3
EXIT_DATABASE_MAINTENANCE = 4
EXIT_DATABASE_ERROR = 5
EXIT_QUERY_TOO_COMPLEX = 6

NOTES = {
    EXIT_DATABASE_TRANSIENT: (
        "the database connection failed in a way that is usually temporary: run the job again later"
    ),
    EXIT_DATABASE_MAINTENANCE: (
        "a table the query reads is under maintenance: run the job again once maintenance is over"
    ),
    EXIT_DATABASE_ERROR: "the database reported an error running the query (message above)",
    EXIT_QUERY_TOO_COMPLEX: (
        "the query is too complex for the database server: simplify the definition or split it into several"
    ),
}

_MASK = "***"
_SECRET_KEY = r"[\w.\-]*(?:password|passwd|pwd|secret|token|credential)s?"
_PATTERNS = (
    # scheme://user:password@host, whatever the scheme (mssql, trino, spark, jdbc:...).
    (
        re.compile(
            r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s/:@'\"]*:)[^\s'\"]*(?=@)"
        ),
        r"\g<head>" + _MASK,
    ),
    # PWD={p;w}, ODBC style, braces allowing any character.
    (
        re.compile(r"(?i)(?P<head>\b" + _SECRET_KEY + r"\s*=\s*)\{[^}]*\}"),
        r"\g<head>" + _MASK,
    ),
    # 'password': 'x' (a dict or JSON), and key="x".
    (
        re.compile(
            r"(?i)(?P<head>['\"]?\b"
            + _SECRET_KEY
            + r"['\"]?\s*[:=]\s*)(?P<q>['\"])(?:(?!(?P=q)).)*(?P=q)"
        ),
        r"\g<head>\g<q>" + _MASK + r"\g<q>",
    ),
    # password=x in a query string, connection string, Java property or log line.
    (
        re.compile(
            r"(?i)(?P<head>\b" + _SECRET_KEY + r"\s*[=:]\s*)(?![\s'\"{*])[^\s;&,'\"]+"
        ),
        r"\g<head>" + _MASK,
    ),
)


def redact(text: str) -> str:
    """`text` with every password it holds replaced by `***`."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class DatabaseMaintenanceError(EHRQLError):
    """A table the query reads is being maintained; the job can run again later."""


class QueryTooComplexError(EHRQLError):
    """The database server cannot plan or run a query this complex."""


@dataclasses.dataclass(frozen=True)
class Classified:
    """A database failure: the exit code and the message to print (redacted)."""

    exit_code: int
    message: str

    @property
    def note(self) -> str:
        return NOTES[self.exit_code]


# SQL Server: 8623/8632 out of plan resources; 191 nesting too deep; 8631 stack.
# Trino: too many stages or too large a plan; Spark/DuckDB: stack or code size.
_TOO_COMPLEX = re.compile(
    r"\b(8623|8631|8632)\b|query processor ran out of internal resources|expression services limit"
    r"|too deeply nested|QUERY_TEXT_TOO_LARGE|EXCEEDED_PLAN|number of stages.*exceeds|TOO_MANY_STAGES"
    r"|StackOverflowError|grows beyond 64 KB|Maximum recursion depth|stack depth",
    re.IGNORECASE,
)
_MAINTENANCE = re.compile(
    r"under maintenance|maintenance mode|being rebuilt|table is being (?:built|loaded)",
    re.IGNORECASE,
)
_TRANSIENT = re.compile(
    r"\b08S01\b|\b08001\b|\b08003\b|\b08004\b|\b08007\b|communication link failure"
    r"|connection (?:was )?(?:reset|refused|closed|lost|timed out)"
    r"|broken pipe|TCP Provider|server closed the connection|could not connect|unable to connect"
    r"|Py4JNetworkError|Answer from Java side is empty|Max retries exceeded|Name or service not known"
    r"|temporary failure in name resolution|Login timeout expired|deadlock victim|\b1205\b|SERVER_STARTING_UP"
    r"|NO_NODES_AVAILABLE|REMOTE_TASK_ERROR|ABANDONED_QUERY",
    re.IGNORECASE,
)


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def _is_database_error(error: BaseException) -> bool:
    module = type(error).__module__ or ""
    if isinstance(error, (DatabaseMaintenanceError, QueryTooComplexError)):
        return True
    names = {cls.__name__ for cls in type(error).__mro__}
    if names & {
        "DBAPIError",
        "SparkQueryError",
        "DatabaseOpenError",
        "Py4JError",
        "PySparkException",
    }:
        return True
    return module.split(".")[0] in (
        "sqlalchemy",
        "duckdb",
        "pyodbc",
        "trino",
        "py4j",
        "pyspark",
        "requests",
        "urllib3",
    )


def classify(error: BaseException) -> Classified | None:
    """The exit code and message for a database failure, or None for any other error."""
    chain = list(_chain(error))
    if not any(_is_database_error(e) for e in chain):
        return None
    text = " | ".join(f"{type(e).__name__}: {e}" for e in chain)
    message = redact(_first_paragraph(str(error)) or type(error).__name__)
    if any(isinstance(e, QueryTooComplexError) for e in chain) or _TOO_COMPLEX.search(
        text
    ):
        return Classified(EXIT_QUERY_TOO_COMPLEX, message)
    if any(
        isinstance(e, DatabaseMaintenanceError) for e in chain
    ) or _MAINTENANCE.search(text):
        return Classified(EXIT_DATABASE_MAINTENANCE, message)
    invalidated = any(getattr(e, "connection_invalidated", False) for e in chain)
    if (
        invalidated
        or any(isinstance(e, ConnectionError) for e in chain)
        or _TRANSIENT.search(text)
    ):
        return Classified(EXIT_DATABASE_TRANSIENT, message)
    return Classified(EXIT_DATABASE_ERROR, message)


def _first_paragraph(message: str) -> str:
    return message.strip().split("\n\n")[0]


@contextlib.contextmanager
def redacted_process_output() -> Iterator[None]:
    """While active, programs started by this process (Spark's Java gateway)
    write their standard error through `redact`, for as long as they run.

    Java logs its own lines (a failed start prints its command line and
    configuration), which never pass through Python's own logging.
    """
    read_end, write_end = os.pipe()
    original = os.dup(2)
    relay = threading.Thread(target=_relay, args=(read_end, os.dup(2)), daemon=True)
    relay.start()
    os.dup2(write_end, 2)
    os.close(write_end)
    try:
        yield
    finally:
        os.dup2(original, 2)
        os.close(original)


def _relay(read_end: int, target: int) -> None:
    with (
        os.fdopen(read_end, "rb") as source,
        os.fdopen(target, "wb", buffering=0) as sink,
    ):
        for line in source:
            sink.write(redact(line.decode("utf-8", "replace")).encode())
