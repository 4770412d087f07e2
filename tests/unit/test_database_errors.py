import pytest
import sqlalchemy as sa

from ehrql.database_errors import (
    EXIT_DATABASE_ERROR,
    EXIT_DATABASE_MAINTENANCE,
    EXIT_DATABASE_TRANSIENT,
    EXIT_QUERY_TOO_COMPLEX,
    DatabaseMaintenanceError,
    QueryTooComplexError,
    classify,
    redact,
)
from ehrql.errors import EHRQLError


@pytest.mark.parametrize(
    "text,secret",
    [
        ("mssql://user:s3cret@host:1433/db", "s3cret"),
        ("mssql://user:p@ss@host:1433/db", "p@ss"),
        ("trino://alice:pw-123@trino:8080/catalog/schema", "pw-123"),
        ("spark://bob:topsecret@10.0.0.1:7077", "topsecret"),
        ("jdbc:sqlserver://u:jdbcpw@h", "jdbcpw"),
        ("https://h/api?user=x&password=qs-secret&x=1", "qs-secret"),
        (
            "DRIVER={ODBC Driver 18};SERVER=h;UID=u;PWD=odbc-secret;DATABASE=d",
            "odbc-secret",
        ),
        ("Server=h;Uid=u;Pwd={br;aced};", "br;aced"),
        ("{'user': 'u', 'password': 'dict-secret'}", "dict-secret"),
        ('{"password": "json-secret"}', "json-secret"),
        (
            "25/11/29 INFO SparkContext: spark.ssl.keyStorePassword=javasecret",
            "javasecret",
        ),
        (
            "Exception in thread main: master spark://svc:jvm-secret@master:7077 unreachable",
            "jvm-secret",
        ),
        ("token: tok-secret", "tok-secret"),
    ],
)
def test_redact_hides_every_password(text, secret):
    redacted = redact(text)
    assert secret not in redacted
    assert "***" in redacted


@pytest.mark.parametrize(
    "text",
    [
        "mssql://user@host/db",
        "a password is required",
        "duckdb file /data/tpp.duckdb",
        "2024-01-01T10:00:00",
    ],
)
def test_redact_leaves_text_without_passwords_alone(text):
    assert redact(text) == text


def dbapi_error(message, invalidated=False):
    return sa.exc.OperationalError(
        "SELECT 1", {}, Exception(message), connection_invalidated=invalidated
    )


@pytest.mark.parametrize(
    "error,code",
    [
        (dbapi_error("[08S01] Communication link failure"), EXIT_DATABASE_TRANSIENT),
        (dbapi_error("whatever", invalidated=True), EXIT_DATABASE_TRANSIENT),
        (dbapi_error("Connection refused"), EXIT_DATABASE_TRANSIENT),
        (
            dbapi_error("(8623) The query processor ran out of internal resources"),
            EXIT_QUERY_TOO_COMPLEX,
        ),
        (
            dbapi_error(
                "Internal error: An expression services limit has been reached"
            ),
            EXIT_QUERY_TOO_COMPLEX,
        ),
        (
            dbapi_error("table CodedEvent is under maintenance"),
            EXIT_DATABASE_MAINTENANCE,
        ),
        (dbapi_error("Invalid column name 'x'"), EXIT_DATABASE_ERROR),
        (
            DatabaseMaintenanceError("Appointment is being rebuilt"),
            EXIT_DATABASE_MAINTENANCE,
        ),
        (QueryTooComplexError("too many joins"), EXIT_QUERY_TOO_COMPLEX),
    ],
)
def test_database_failures_are_classified(error, code):
    assert classify(error).exit_code == code


def test_a_wrapped_database_error_is_classified_by_its_cause():
    try:
        try:
            raise dbapi_error("[08S01] Communication link failure")
        except sa.exc.DBAPIError as cause:
            raise EHRQLError("cannot connect with the mssql query engine") from cause
    except EHRQLError as error:
        classified = classify(error)
    assert classified.exit_code == EXIT_DATABASE_TRANSIENT
    assert classified.message == "cannot connect with the mssql query engine"


@pytest.mark.parametrize(
    "error",
    [ValueError("x"), BrokenPipeError(), EHRQLError("bad option"), KeyError("k")],
)
def test_other_errors_are_not_database_failures(error):
    assert classify(error) is None


def test_the_message_of_a_database_failure_is_redacted_and_has_one_note():
    classified = classify(dbapi_error("login failed for mssql://u:pw-xyz@h/db"))
    assert "pw-xyz" not in classified.message
    assert "\n" not in classified.note


def test_output_of_programs_started_while_redacting_is_redacted(capfd):
    import subprocess
    import sys

    from ehrql.database_errors import redacted_process_output

    with redacted_process_output():
        process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys, time; time.sleep(0.2); print('INFO master spark://u:jvm-pw@h:7077', file=sys.stderr)",
            ]
        )
    # The program goes on writing after the context has ended, as Spark's JVM does.
    process.wait()
    import time

    time.sleep(0.3)
    err = capfd.readouterr().err
    assert "jvm-pw" not in err
    assert "spark://u:***@h:7077" in err
