"""Running many small datasets on Spark in a few Spark jobs.

Each Spark job costs a few hundred milliseconds however little data it reads,
which across hundreds of spec cases would be minutes. So a batch of cases is
run together: every case's tables are loaded under names of its own, every
case's setup statements run (they are lazily cached views, so they start no
job), and the cases' final SELECTs are joined by UNION ALL into one query per
chunk, each row tagged with its case.

The cases' results differ in type, so each value travels as its Spark type
name (`typeof`) and its text (`CAST AS STRING`, which writes doubles with
enough digits to read back exactly), and is turned back into the Python value
Spark would have returned for it. Results are therefore the same rows, of the
same types, as `SparkQueryEngine.get_results` gives case by case (the
cross-check in tests/unit/query_engines/test_spark.py holds this).
"""

from __future__ import annotations

import dataclasses
import datetime
import uuid
from collections.abc import Sequence

from ehrql.query_model import nodes as qm

#: Cases per UNION ALL query: enough to share a job's fixed cost, few enough
#: that Spark's planning (which grows with the size of the plan) stays quick.
CASES_PER_QUERY = 20

#: Spark type name -> the Python value of its text.
_DECODERS = {
    "bigint": int,
    "int": int,
    "double": float,
    "string": str,
    "date": datetime.date.fromisoformat,
    "boolean": lambda text: {"true": True, "false": False}[text],
}


@dataclasses.dataclass(frozen=True)
class Case:
    """One dataset over its own table data ({table node: [row dicts]})."""

    table_data: dict
    dataset: qm.Dataset


def decode(type_name: str, text: str | None):
    """The Python value of a Spark value given as its type name and text."""
    if text is None:
        return None
    return _DECODERS[type_name](text)


def run_cases(session, cases: Sequence[Case]) -> list[list[tuple]]:
    """Each case's result rows, (patient_id, *variables) sorted by patient_id."""
    results: list[list[tuple]] = []
    for start in range(0, len(cases), CASES_PER_QUERY):
        # Chunk by chunk, so that Spark holds few cached views at a time:
        # planning each query looks through all of them.
        results.extend(_run_chunk(session, cases[start : start + CASES_PER_QUERY]))
    return results


def _run_chunk(session, cases: Sequence[Case]) -> list[list[tuple]]:
    from ehrql.query_engines.spark import SparkQueryEngine, load_tables

    batch = uuid.uuid4().hex[:8]
    prepared = []
    try:
        for number, case in enumerate(cases):
            tables = f"b{batch}_c{number}_"
            load_tables(session, case.table_data, prefix=tables)
            engine = SparkQueryEngine(
                session, table_prefix=f"{tables}tmp_", session_tables_prefix=tables
            )
            compiled = engine.compile(case.dataset)
            prepared.append((case, tables, compiled))
            for statement in compiled.setup:
                session.sql(statement)
        union = " UNION ALL ".join(
            _tagged_select(number, case.dataset, compiled.select)
            for number, (case, _, compiled) in enumerate(prepared)
        )
        results: list[list[tuple]] = [[] for _ in cases]
        for number, patient_id, cells in session.sql(union).collect():
            values = tuple(
                decode(cells[i], cells[i + 1]) for i in range(0, len(cells), 2)
            )
            results[number].append((patient_id, *values))
        return [sorted(rows, key=lambda row: row[0]) for rows in results]
    finally:
        for case, tables, compiled in prepared:
            for statement in compiled.cleanup:
                session.sql(statement)
            for table in case.table_data:
                session.catalog.dropTempView(tables + table.name)


def _tagged_select(number: int, dataset: qm.Dataset, select: str) -> str:
    quoted = ["`" + name.replace("`", "``") + "`" for name in dataset.variables]
    cells = ", ".join(f"typeof({name}), CAST({name} AS STRING)" for name in quoted)
    return (
        f"SELECT {number} AS case_number, patient_id, array({cells}) AS cells "
        f"FROM ({select}) AS case_{number}"
    )
