"""Random query models compile for MS SQL Server and Trino to SQL that sqlglot parses.

No server runs here; parsing in the database's own grammar catches SQL the
database would reject outright (a construct it lacks, a stray predicate, a
misplaced WITH). Meaning is checked elsewhere: `tests/integration/test_sql_parses.py`
and `tests/unit/query_engines/test_mssql.py` / `test_trino.py`.
"""

from __future__ import annotations

import sqlglot
from hypothesis import given
from hypothesis import strategies as st

from ehrql.query_engines.base_sql import compile_dataset, default_table
from ehrql.query_engines.mssql import MSSQLDialect
from ehrql.query_engines.trino import TrinoDialect
from tests.generative.budget import generative_settings
from tests.generative.queries import datasets

DIALECTS = {"tsql": MSSQLDialect(), "trino": TrinoDialect(table_prefix="ehrql_tmp_")}


def assert_parses(dataset, read: str) -> None:
    """Every statement compiled for the dialect parses in its grammar."""
    for statement in compile_dataset(
        dataset, DIALECTS[read], default_table
    ).all_statements():
        try:
            sqlglot.parse_one(statement, read=read)
        except sqlglot.errors.ParseError as error:
            raise AssertionError(
                f"{read} did not parse: {error}\n{statement}"
            ) from None


@generative_settings(100)
@given(dataset=datasets(), read=st.sampled_from(list(DIALECTS)))
def test_generated_sql_parses(dataset, read):
    assert_parses(dataset, read)
