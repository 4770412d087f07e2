"""Each DuckDB spelling of an operation agrees with its meaning in `semantics`.

The cases are the awkward ones: signs in division, days that do not exist in
a month, dates at the ends of the calendar, strings that look like wildcards.
Each operation runs as a one-variable dataset over a one-patient table, so
the whole path (compiler, dialect, DuckDB) is exercised.
"""

from __future__ import annotations

import datetime

import duckdb
import pytest

from ehrql.query_engines.duckdb import DuckDBQueryEngine
from ehrql.query_model import nodes as qm
from ehrql.query_model.semantics import apply_function
from ehrql.query_model.table_schema import Column, TableSchema
from tests.lib.engines import load_duckdb_tables

Fn = qm.Function
PATIENTS = qm.SelectPatientTable(
    "patients", TableSchema(i=Column(int), n=Column(int), b=Column(bool))
)
#: An integer column that is null, for a null of a known type.
NULL_INT = qm.SelectColumn(PATIENTS, "n")
NULL_BOOL = qm.SelectColumn(PATIENTS, "b")


@pytest.fixture(scope="module")
def connection():
    # One database for the module: opening one per case would dominate the run time.
    with duckdb.connect() as connection:
        load_duckdb_tables(
            connection, {PATIENTS: [{"patient_id": 1, "i": 0, "n": None, "b": None}]}
        )
        yield connection


@pytest.fixture
def run_on_duckdb(connection):
    def run(series: qm.Series):
        """The value of a patient-level series for the single patient."""
        dataset = qm.Dataset(
            population=qm.AggregateByPatient.Exists(PATIENTS),
            variables=qm.FrozenDict({"v": series}),
        )
        [(patient_id, value)] = DuckDBQueryEngine(connection).get_results(dataset)
        return value

    return run


@pytest.fixture
def check(run_on_duckdb):
    def check(node_class, *values):
        node = node_class(*(qm.Value(v) for v in values))
        expected = apply_function(node, *values)
        actual = run_on_duckdb(node)
        assert actual == expected and type(actual) is type(expected), (
            values,
            actual,
            expected,
        )

    return check


SIGNED_INTS = [-7, -6, -1, 0, 1, 6, 7]


@pytest.mark.parametrize("lhs", SIGNED_INTS)
@pytest.mark.parametrize("rhs", [-3, -1, 0, 2, 3])
def test_integer_division(lhs, rhs, check, run_on_duckdb):
    check(Fn.FloorDivide, lhs, rhs)
    check(Fn.TrueDivide, lhs, rhs)


@pytest.mark.parametrize("lhs", [-7.5, -0.5, 0.0, 2.25, 7.5])
@pytest.mark.parametrize("rhs", [-2.0, 0.0, -0.0, 0.5, 3.0])
def test_float_division(lhs, rhs, check, run_on_duckdb):
    check(Fn.FloorDivide, lhs, rhs)
    check(Fn.TrueDivide, lhs, rhs)


def test_large_integers_do_not_overflow_32_bits(check, run_on_duckdb):
    check(Fn.Add, 2_000_000_000, 2_000_000_000)
    check(Fn.Multiply, 3_000_000, 3_000_000)


def test_float_constants_are_floats_not_decimals(check, run_on_duckdb):
    # As decimals, 0.1 + 0.2 would be exactly 0.3.
    check(Fn.Add, 0.1, 0.2)


@pytest.mark.parametrize("value", [-2.7, -0.5, 0.0, 0.5, 2.7, 1e15 + 0.5])
def test_float_to_int_truncates_towards_zero(value, check, run_on_duckdb):
    check(Fn.CastToInt, value)


@pytest.mark.parametrize(
    "text", ["12", " 12 ", "+5", "-3", "1_000", "1.5", "1e3", "", "abc", "12abc"]
)
def test_string_to_int_accepts_what_python_int_accepts(text, check, run_on_duckdb):
    check(Fn.CastToInt, text)


@pytest.mark.parametrize("text", ["1.5", "-2", " 3.25 ", "1e3", "abc", ""])
def test_string_to_float(text, check, run_on_duckdb):
    check(Fn.CastToFloat, text)


@pytest.mark.parametrize(
    "value",
    [
        True,
        False,
        0,
        -12,
        2.5,
        0.1,
        1e20,
        1e-7,
        "text",
        datetime.date(999, 1, 5),
        datetime.date(2020, 12, 31),
    ],
)
def test_cast_to_str_spells_values_as_python_does(value, check, run_on_duckdb):
    check(Fn.CastToStr, value)


@pytest.mark.parametrize(
    "haystack,needle",
    [
        ("abc", "b"),
        ("abc", "B"),
        ("abc", ""),
        ("a%c", "%"),
        ("abc", "%"),
        ("abc", "_"),
        ("a_c", "_"),
        ("", "a"),
    ],
)
def test_contains_is_case_sensitive_and_has_no_wildcards(
    haystack, needle, check, run_on_duckdb
):
    check(Fn.StringContains, haystack, needle)


def _dates():
    for year in (1, 2019, 2020, 9999):
        for month, day in ((1, 1), (1, 31), (2, 28), (2, 29), (3, 31), (12, 31)):
            try:
                yield datetime.date(year, month, day)
            except ValueError:
                pass


@pytest.mark.parametrize("date", list(_dates()))
@pytest.mark.parametrize("n", [-13, -1, 0, 1, 12, 13, 10**6])
def test_date_arithmetic_rolls_forward_and_nulls_out_of_range(
    date, n, check, run_on_duckdb
):
    check(Fn.DateAddMonths, date, n)
    check(Fn.DateAddYears, date, n)
    check(Fn.DateAddDays, date, n * 30)


@pytest.mark.parametrize(
    "end,start",
    [
        (datetime.date(2020, 2, 28), datetime.date(2000, 2, 29)),
        (datetime.date(2020, 2, 29), datetime.date(2000, 2, 29)),
        (datetime.date(2000, 1, 1), datetime.date(2020, 6, 15)),
        (datetime.date(2020, 3, 30), datetime.date(2020, 1, 31)),
        (datetime.date(2020, 3, 31), datetime.date(2020, 1, 31)),
        (datetime.date(1, 1, 1), datetime.date(9999, 12, 31)),
    ],
)
def test_date_differences_are_floored(end, start, check, run_on_duckdb):
    check(Fn.DateDifferenceInYears, end, start)
    check(Fn.DateDifferenceInMonths, end, start)
    check(Fn.DateDifferenceInDays, end, start)


@pytest.mark.parametrize("date", [datetime.date(2021, 7, 19), datetime.date(1, 12, 31)])
def test_date_parts_and_truncation(date, check, run_on_duckdb):
    for node_class in (
        Fn.YearFromDate,
        Fn.MonthFromDate,
        Fn.DayFromDate,
        Fn.ToFirstOfYear,
        Fn.ToFirstOfMonth,
    ):
        check(node_class, date)


@pytest.mark.parametrize("values", [(3, None, 5), (4, None, None), (-2, None, -9)])
def test_maximum_and_minimum_ignore_nulls(values, check, run_on_duckdb):
    for node_class in (Fn.MaximumOf, Fn.MinimumOf):
        node = node_class(tuple(qm.Value(v) for v in values))
        expected = apply_function(node, *values)
        assert run_on_duckdb(node) == expected


@pytest.mark.parametrize("lhs", [None, 3, 4])
@pytest.mark.parametrize("size", [0, 2, 5000])
def test_in_small_and_large_sets(lhs, size, check, run_on_duckdb):
    values = frozenset(range(3, 3 + size, 2))
    node = Fn.In(NULL_INT if lhs is None else qm.Value(lhs), qm.Value(values))
    assert run_on_duckdb(node) == apply_function(node, lhs, values)


@pytest.mark.parametrize("lhs", [None, True, False])
@pytest.mark.parametrize("rhs", [None, True, False])
def test_three_valued_logic_with_constants(lhs, rhs, check, run_on_duckdb):
    def series(value):
        return NULL_BOOL if value is None else qm.Value(value)

    for node_class in (Fn.And, Fn.Or, Fn.EQ, Fn.NE):
        node = node_class(series(lhs), series(rhs))
        assert run_on_duckdb(node) == apply_function(node, lhs, rhs)


@pytest.mark.parametrize(
    "lhs, rhs",
    [
        (2, 10),
        (2, -1),
        (-2, 3),
        (0, 0),
        (0, -1),
        (0, 2),
        (10, 400),
        (-2.0, 0.5),
        (4.0, 0.5),
        (0.5, 2.0),
        (-8.0, -1.0),
    ],
)
def test_power(lhs, rhs, check):
    check(Fn.Power, lhs, rhs)


@pytest.mark.parametrize("value", [-3, 0, 3, -2.5, 2.5])
def test_absolute(value, check):
    check(Fn.Absolute, value)


def test_constant_rows_come_back_exactly():
    # Constant tables (codelist lookups, inline patient tables) are inserted
    # as unnested lists, integers as bare digits: every type, the extremes
    # of each, nulls and awkward text must come back as they went in.
    from ehrql.query_engines.duckdb import DIALECT
    from ehrql.query_engines.scratch_tables import temp_table

    columns = [
        ("i", int),
        ("f", float),
        ("b", bool),
        ("d", datetime.date),
        ("s", str),
    ]
    rows = [
        (2**63 - 1, 1e300, True, datetime.date(9999, 12, 31), "it's"),
        (-(2**63), -0.0, False, datetime.date(1, 1, 1), 'ünïcode, "quoted"'),
        (0, 0.1, None, None, ""),
        (None, None, None, None, None),
        (3, 5e-324, True, datetime.date(2024, 2, 29), "%_\\"),
    ]
    table = temp_table("rows_1", [(n, DIALECT.column_type(t)) for n, t in columns])
    with duckdb.connect() as connection:
        for statement in DIALECT.create_temp_table_from_rows(table, rows):
            connection.execute(statement)
        found = connection.execute(
            "SELECT i, f, b, d, s FROM rows_1 ORDER BY i NULLS LAST"
        ).fetchall()
    expected = sorted(rows, key=lambda r: (r[0] is None, r[0] or 0))
    assert [tuple(map(repr, r)) for r in found] == [
        tuple(map(repr, r)) for r in expected
    ]


def test_constant_rows_span_several_statements():
    from ehrql.query_engines.duckdb import DIALECT
    from ehrql.query_engines.scratch_tables import temp_table

    rows = [(i, None, f"code{i}") for i in range(2 * DIALECT.insert_batch_size + 3)]
    table = temp_table(
        "rows_2",
        [
            ("i", DIALECT.column_type(int)),
            ("d", DIALECT.column_type(datetime.date)),
            ("s", DIALECT.column_type(str)),
        ],
    )
    with duckdb.connect() as connection:
        for statement in DIALECT.create_temp_table_from_rows(table, rows):
            connection.execute(statement)
        found = connection.execute("SELECT * FROM rows_2 ORDER BY i").fetchall()
    assert found == rows


def test_every_duckdb_reserved_word_is_quoted():
    # The dialect knows DuckDB's reserved words without asking DuckDB (which
    # would mean opening a database in every run): this says when an upgrade
    # of DuckDB reserves another.
    from ehrql.query_engines.duckdb import DIALECT

    with duckdb.connect() as connection:
        reserved = connection.execute(
            "SELECT keyword_name FROM duckdb_keywords() WHERE keyword_category = 'reserved'"
        ).fetchall()
    assert reserved
    for (word,) in reserved:
        assert DIALECT.quote(word) == f'"{word}"', word


@pytest.mark.parametrize("as_constants", [True, False])
def test_dummy_tables_load_the_same_as_constants_and_through_arrow(
    as_constants, monkeypatch
):
    # A small run's tables go in as lists of constants, a large one's
    # through Arrow: both must give the same typed tables.
    from ehrql.codes import SNOMEDCTCode
    from ehrql.query_engines import duckdb as duckdb_engine

    events = qm.SelectTable(
        "events",
        TableSchema(
            b=Column(bool),
            i=Column(int),
            f=Column(float),
            d=Column(datetime.date),
            s=Column(str),
            c=Column(SNOMEDCTCode),
        ),
    )
    rows = [
        dict(
            patient_id=1,
            b=True,
            i=2**63 - 1,
            f=1e300,
            d=datetime.date(9999, 12, 31),
            s="it's",
            c=SNOMEDCTCode("123456"),
        ),
        dict(patient_id=1, b=False, i=-(2**63), f=-0.0, d=datetime.date(1, 1, 1)),
        dict(patient_id=2, f=5e-324, s='ünïcode, "quoted" %_\\', c=None),
        dict(patient_id=3),
    ]
    empty = qm.SelectPatientTable("nobody", TableSchema(d=Column(datetime.date)))
    monkeypatch.setattr(
        duckdb_engine, "LOAD_AS_CONSTANTS_MAX_ROWS", 1_000 if as_constants else 0
    )
    with duckdb.connect() as connection:
        duckdb_engine.load_tables(connection, {events: rows, empty: []})
        found = connection.execute("SELECT * FROM events").fetchall()
        types = connection.execute("DESCRIBE events").fetchall()
        assert connection.execute("SELECT count(*) FROM nobody").fetchall() == [(0,)]
    columns = ["patient_id", "b", "i", "f", "d", "s", "c"]
    expected = [
        tuple(
            row.get(c).value if isinstance(row.get(c), SNOMEDCTCode) else row.get(c)
            for c in columns
        )
        for row in rows
    ]
    assert [tuple(map(repr, r)) for r in found] == [
        tuple(map(repr, r)) for r in expected
    ]
    assert [(t[0], t[1]) for t in types] == [
        ("patient_id", "BIGINT"),
        ("b", "BOOLEAN"),
        ("i", "BIGINT"),
        ("f", "DOUBLE"),
        ("d", "DATE"),
        ("s", "VARCHAR"),
        ("c", "VARCHAR"),
    ]
