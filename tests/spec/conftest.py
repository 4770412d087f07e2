"""The `spec_test` fixture: run one ehrQL series over tiny tables on every engine.

A spec test gives table data as text (see tests/lib/table_text.py), a patient
series, and the value it must have for each patient. The population is every
patient in any of the given tables.
"""

import pytest

from ehrql.query_language import BaseSeries
from ehrql.query_model import nodes as qm
from tests.lib.engines import ENGINES
from tests.lib.table_text import parse_table


def build_spec_dataset(tables, series) -> qm.Dataset:
    """A dataset whose population is every patient with a row in `tables`."""
    population = None
    for frame in tables:
        exists = qm.AggregateByPatient.Exists(frame._qm_node)
        population = exists if population is None else qm.Function.Or(population, exists)
    node = series._qm_node if isinstance(series, BaseSeries) else series
    return qm.Dataset(population=population, variables=qm.FrozenDict({"v": node}))


@pytest.fixture(params=list(ENGINES))
def engine_name(request):
    return request.param


@pytest.fixture
def spec_test(engine_name):
    run = ENGINES[engine_name]

    def check(table_data, series, expected):
        typed = {
            frame._qm_node: parse_table(text, frame._qm_node.schema)
            for frame, text in table_data.items()
        }
        dataset = build_spec_dataset(table_data, series)
        results = run(typed, dataset)
        assert {row[0]: row[1] for row in results} == expected

    return check
