"""Dummy data: made-up patients whose records exercise a dataset definition.

`generate_dummy_tables` reads the dataset's query model, solves its population
condition into requirements on each table's rows, fills in the rest from the
values the definition mentions, and keeps only patients the in-memory engine
confirms are in the population.
"""

from ehrql.dummy.generator import DummyData, generate_dummy_data, generate_dummy_tables
from ehrql.dummy.report import DummyDataReport

__all__ = [
    "DummyData",
    "DummyDataReport",
    "generate_dummy_data",
    "generate_dummy_tables",
]
