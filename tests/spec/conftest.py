"""The `spec_test` fixture: run one ehrQL series over tiny tables on every engine.

Besides each engine in `tests.lib.engines.ENGINES`, every case also runs
through the TPP and EMIS backends on DuckDB (`tests.lib.spec_backends`): the
spec tables are loaded as raw rows in each provider's conventions and read
through the backend's own mappings, with its patient exclusions live.

A spec test gives table data as text (see tests/lib/table_text.py), a patient
series, and the value it must have for each patient. The population is every
patient in any of the given tables, unless the test passes `population=` (a
boolean patient series) to say which patients it wants.

Results are checked strictly: no patient twice, every value of the Python type
the series has (an int series gives ints, not floats or bools; a code series
gives the code's string), and float series equal to within a relative 1e-9,
so that engines may round the last digit differently.
"""

import pytest

from ehrql.query_language import BaseSeries
from ehrql.query_model import nodes as qm
from tests.lib.engines import ENGINES
from tests.lib.spec_backends import SPEC_BACKEND_RUNNERS
from tests.lib.table_text import parse_table


def build_spec_dataset(tables, series, population=None) -> qm.Dataset:
    """A dataset with one column `v`.

    Its population is `population` if given, else every patient with a row in
    `tables`.
    """
    if population is None:
        for frame in tables:
            exists = qm.AggregateByPatient.Exists(frame._qm_node)
            population = exists if population is None else qm.Function.Or(population, exists)
    elif isinstance(population, BaseSeries):
        population = population._qm_node
    node = series._qm_node if isinstance(series, BaseSeries) else series
    return qm.Dataset(population=population, variables=qm.FrozenDict({"v": node}))


def _python_type(series_type):
    """The type of the values an engine returns for a series of `series_type`."""
    if qm.is_code_type(series_type):
        return str
    return series_type


def _check_types(results: dict, series_type):
    expected_type = _python_type(series_type)
    for patient_id, value in results.items():
        if value is None:
            continue
        # `type(...) is` rather than isinstance: a bool is not an int result,
        # and a datetime is not a date.
        assert type(value) is expected_type, (
            f"patient {patient_id}: expected a {expected_type.__name__}, "
            f"got {value!r} ({type(value).__name__})"
        )


#: Every way a spec case is run, by name.
RUNNERS = {**ENGINES, **SPEC_BACKEND_RUNNERS}


@pytest.fixture(params=list(RUNNERS))
def engine_name(request):
    return request.param


@pytest.fixture
def spec_test(engine_name):
    run = RUNNERS[engine_name]

    def check(table_data, series, expected, population=None):
        typed = {
            frame._qm_node: parse_table(text, frame._qm_node.schema)
            for frame, text in table_data.items()
        }
        dataset = build_spec_dataset(table_data, series, population)
        results = run(typed, dataset)
        values = {row[0]: row[1] for row in results}
        assert len(values) == len(results), "a patient appears more than once"
        series_type = dataset.variables["v"].type
        if series_type is float:
            assert values == pytest.approx(expected, rel=1e-9)
        else:
            assert values == expected
        _check_types(values, series_type)

    return check

