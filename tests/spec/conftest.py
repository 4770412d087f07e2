"""The `spec_test` fixture: run one ehrQL series over tiny tables on every engine.

Besides each engine in `tests.lib.engines.SPEC_ENGINES` (the engines, and
dialects that exist only in the tests), every case also runs
through the TPP and EMIS backends on DuckDB (`tests.lib.spec_backends`): the
spec tables are loaded as raw rows in each provider's conventions and read
through the backend's own mappings, with its patient exclusions live.

A spec test gives table data as text (see tests/lib/table_text.py), a patient
series, and the value it must have for each patient. The population is every
patient in any of the given tables, unless the test passes `population=` (a
boolean patient series) to say which patients it wants.

On Spark, the cases of every selected spec test are run together, in a few
Spark jobs, the first time a Spark spec test runs (see tests/lib/spark_batch.py);
each test then checks its own results as on any other engine. Tests that need
other fixtures as well run case by case.

Results are checked strictly: no patient twice, every value of the Python type
the series has (an int series gives ints, not floats or bools; a code series
gives the code's string), and float series equal to within a relative 1e-9,
so that engines may round the last digit differently.
"""

import inspect

import pytest

from ehrql.query_language import BaseSeries
from ehrql.query_model import nodes as qm
from tests.lib.approx import approx_floats
from tests.lib.engines import KNOWN_GAPS, SPEC_ENGINES, spark_session
from tests.lib.spark_batch import Case, run_cases
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
            population = (
                exists if population is None else qm.Function.Or(population, exists)
            )
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
RUNNERS = {**SPEC_ENGINES, **SPEC_BACKEND_RUNNERS}


@pytest.fixture(params=list(RUNNERS))
def engine_name(request):
    return request.param


def pytest_collection_modifyitems(items):
    """Mark the spec tests a test-only engine lists as beyond it (see
    `tests.lib.engines.register_test_engine`) as strict xfails."""
    for item in items:
        engine = getattr(item, "callspec", None) and item.callspec.params.get(
            "engine_name"
        )
        gaps = KNOWN_GAPS.get(engine, {})
        if not gaps:
            continue
        test = item.nodeid.split("tests/spec/", 1)[-1].split("[", 1)[0]
        if test in gaps:
            item.add_marker(pytest.mark.xfail(reason=gaps[test], strict=True))


def spec_case(table_data, series, population=None) -> Case:
    """The table data (typed by schema) and dataset of one spec_test call."""
    typed = {
        frame._qm_node: parse_table(text, frame._qm_node.schema)
        for frame, text in table_data.items()
    }
    return Case(typed, build_spec_dataset(table_data, series, population))


def _batchable(item) -> bool:
    """A Spark spec test whose only fixture is spec_test, so its cases can be recorded up front."""
    callspec = getattr(item, "callspec", None)
    return (
        callspec is not None
        and callspec.params.get("engine_name") == "spark"
        and list(inspect.signature(item.function).parameters) == ["spec_test"]
    )


@pytest.fixture(scope="session")
def spark_spec_results(request) -> dict[str, list]:
    """node id -> [(case, result rows)] for every selected batchable Spark spec test.

    Each test function is called once with a `spec_test` that only records its
    cases; the cases are then run together.
    """
    recorded = []
    for item in request.session.items:
        if _batchable(item):

            def record(
                table_data, series, expected, population=None, nodeid=item.nodeid
            ):
                recorded.append((nodeid, spec_case(table_data, series, population)))

            item.function(spec_test=record)
    try:
        results = run_cases(spark_session(), [case for _, case in recorded])
    except Exception:
        # A case Spark cannot run fails the whole batch; run case by case
        # instead, so that the failure is reported by the test it belongs to.
        return {}
    by_test: dict[str, list] = {}
    for (nodeid, case), rows in zip(recorded, results):
        by_test.setdefault(nodeid, []).append((case, rows))
    return by_test


@pytest.fixture
def spec_test(engine_name, request):
    run = RUNNERS[engine_name]
    if _batchable(request.node):
        batched = iter(
            request.getfixturevalue("spark_spec_results").get(request.node.nodeid, [])
        )
        run_directly = run

        def run(table_data, dataset):
            case, rows = next(batched, (None, None))
            if case is None or case.dataset != dataset or case.table_data != table_data:
                # Not the case recorded (a test that builds its cases at random, say).
                return run_directly(table_data, dataset)
            return rows

    def check(table_data, series, expected, population=None):
        case = spec_case(table_data, series, population)
        results = run(case.table_data, case.dataset)
        values = {row[0]: row[1] for row in results}
        assert len(values) == len(results), "a patient appears more than once"
        series_type = case.dataset.variables["v"].type
        if series_type is float:
            assert values == approx_floats(expected)
        else:
            assert values == expected
        _check_types(values, series_type)

    return check
