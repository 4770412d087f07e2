"""Event tables give the same rows on every engine and through every backend.

Each case runs on the engines of `tests.lib.engines` and through the spec
backends (TPP and EMIS raw tables on DuckDB, with their patient exclusions live).
"""

import datetime

import pytest

from ehrql import create_dataset, days
from ehrql.query_model import nodes as qm
from tests.lib.engines import EventTableQuery
from tests.lib.table_text import parse_table
from tests.spec.conftest import RUNNERS
from tests.spec.tables import e, p

d = datetime.date

TABLE_DATA = {
    p: """
      |  i1 | b1
    --+-----+----
    1 |  10 | T
    2 |  20 | F
    3 |  30 | T
    """,
    e: """
      |  i1 | d1         | s1
    --+-----+------------+----
    1 | 101 | 2020-01-01 | a
    1 | 102 | 2020-02-01 | b
    1 |     | 2020-03-01 |
    2 | 201 | 2021-01-01 | c
    3 | 301 |            | d
    4 | 401 | 2022-01-01 | e
    """,
}


def typed(table_data):
    return {
        frame._qm_node: parse_table(text, frame._qm_node.schema)
        for frame, text in table_data.items()
    }


def event_rows(engine_name, dataset, name="events"):
    rows = RUNNERS[engine_name](
        typed(TABLE_DATA), EventTableQuery(dataset._compile(), name)
    )
    # Backends may order patients by their own ids; the rows of each are in column order.
    return sorted(rows, key=lambda row: tuple((v is not None, v) for v in row))


@pytest.fixture(params=list(RUNNERS))
def engine_name(request):
    return request.param


def test_rows_of_population_patients_only(engine_name):
    dataset = create_dataset()
    dataset.define_population(p.b1)
    dataset.add_event_table("events", value=e.i1, date=e.d1)
    assert event_rows(engine_name, dataset) == [
        (1, None, d(2020, 3, 1)),
        (1, 101, d(2020, 1, 1)),
        (1, 102, d(2020, 2, 1)),
        (3, 301, None),
    ]


def test_filtered_rows_with_expressions(engine_name):
    dataset = create_dataset()
    dataset.define_population(p.exists_for_patient() | e.exists_for_patient())
    kept = e.where(e.i1 > 101)
    dataset.add_event_table(
        "events", later=kept.d1 + days(1), big=kept.i1 >= 300, s=kept.s1
    )
    assert event_rows(engine_name, dataset) == [
        (1, d(2020, 2, 2), False, "b"),
        (2, d(2021, 1, 2), False, "c"),
        (3, None, True, "d"),
        (4, d(2022, 1, 2), True, "e"),
    ]


def test_patient_series_repeat_on_each_row(engine_name):
    dataset = create_dataset()
    dataset.define_population(p.i1 < 25)
    dataset.add_event_table(
        "events", value=e.i1, patient_value=p.i1, total=e.i1.sum_for_patient()
    )
    assert event_rows(engine_name, dataset) == [
        (1, None, 10, 203),
        (1, 101, 10, 203),
        (1, 102, 10, 203),
        (2, 201, 20, 201),
    ]


def test_sorting_does_not_change_the_rows(engine_name):
    dataset = create_dataset()
    dataset.define_population(p.exists_for_patient())
    ordered = e.sort_by(e.d1)
    dataset.add_event_table("events", value=ordered.i1)
    assert event_rows(engine_name, dataset) == [
        (1, None),
        (1, 101),
        (1, 102),
        (2, 201),
        (3, 301),
    ]


def test_two_event_tables_of_one_dataset(engine_name):
    dataset = create_dataset()
    dataset.define_population(p.b1)
    dataset.add_event_table("events", value=e.i1)
    dataset.add_event_table("dates", date=e.where(e.d1 > d(2020, 1, 15)).d1)
    assert event_rows(engine_name, dataset, "dates") == [
        (1, d(2020, 2, 1)),
        (1, d(2020, 3, 1)),
    ]
    assert len(event_rows(engine_name, dataset, "events")) == 4


def test_event_table_query_model_keeps_columns_in_order():
    dataset = create_dataset()
    dataset.define_population(p.b1)
    dataset.add_event_table("events", z=e.i1, a=e.d1)
    assert list(dataset._compile().events["events"]) == ["z", "a"]
    assert isinstance(dataset._compile().events["events"]["z"], qm.SelectColumn)
