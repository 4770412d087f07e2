import datetime

import duckdb
import pytest

from ehrql import INTERVAL, create_measures, months, weeks, years
from ehrql.errors import DefinitionError
from ehrql.measures import get_measure_results, measure_output_columns
from ehrql.measures.disclosure_control import control_count
from ehrql.query_engines.duckdb import DuckDBQueryEngine, load_tables
from ehrql.query_model import nodes as qm
from ehrql.tables import EventFrame, PatientFrame, Series, table
from tests.lib.engines import ENGINES

D = datetime.date


@table
class people(PatientFrame):
    sex = Series(str)
    region = Series(str)


@table
class visits(EventFrame):
    date = Series(datetime.date)
    cost = Series(int)


def registered_in_interval():
    return visits.where(visits.date.is_during(INTERVAL)).exists_for_patient()


def visits_in_interval():
    return visits.where(visits.date.is_during(INTERVAL)).count_for_patient()


TABLE_DATA = {
    people._qm_node: [
        {"patient_id": 1, "sex": "female", "region": "north"},
        {"patient_id": 2, "sex": "male", "region": "north"},
        {"patient_id": 3, "sex": "female", "region": None},
        {"patient_id": 4, "sex": "male", "region": "south"},
    ],
    visits._qm_node: [
        {"patient_id": 1, "date": D(2020, 1, 5), "cost": 10},
        {"patient_id": 1, "date": D(2020, 1, 20), "cost": 5},
        {"patient_id": 2, "date": D(2020, 1, 31), "cost": 7},
        {"patient_id": 3, "date": D(2020, 2, 1), "cost": None},
        {"patient_id": 4, "date": D(2020, 3, 1), "cost": 1},
    ],
}


class _Engine:
    """Adapts a test engine runner to the engine interface measures use."""

    def __init__(self, run):
        self.run = run

    def get_interval_totals(self, query):
        return self.run(TABLE_DATA, query)


@pytest.fixture(params=list(ENGINES))
def engine(request):
    return _Engine(ENGINES[request.param])


def test_measure_counts_per_interval_and_group(engine):
    measures = create_measures()
    measures.configure_disclosure_control(enabled=False)
    measures.define_measure(
        "visits_per_person",
        numerator=visits_in_interval(),
        denominator=registered_in_interval(),
        group_by={"sex": people.sex},
        intervals=months(2).starting_on("2020-01-01"),
    )
    rows = list(get_measure_results(engine, measures))
    jan, feb = (D(2020, 1, 1), D(2020, 1, 31)), (D(2020, 2, 1), D(2020, 2, 29))
    assert rows == [
        ("visits_per_person", *jan, 2.0, 2, 1, "female"),
        ("visits_per_person", *jan, 1.0, 1, 1, "male"),
        ("visits_per_person", *feb, 1.0, 1, 1, "female"),
    ]


def test_measures_share_group_columns_and_leave_unused_ones_empty(engine):
    measures = create_measures()
    measures.configure_disclosure_control(enabled=False)
    measures.define_defaults(
        denominator=registered_in_interval(),
        intervals=years(1).starting_on("2020-01-01"),
    )
    measures.define_measure(
        "by_sex", numerator=visits_in_interval() > 1, group_by={"sex": people.sex}
    )
    measures.define_measure(
        "by_region", numerator=visits_in_interval(), group_by={"region": people.region}
    )
    rows = list(get_measure_results(engine, measures))
    year = (D(2020, 1, 1), D(2020, 12, 31))
    assert rows == [
        ("by_sex", *year, 0.5, 1, 2, "female", None),
        ("by_sex", *year, 0.0, 0, 2, "male", None),
        ("by_region", *year, 1.0, 1, 1, None, None),
        ("by_region", *year, 1.5, 3, 2, None, "north"),
        ("by_region", *year, 1.0, 1, 1, None, "south"),
    ]
    assert [name for name, _ in measure_output_columns(measures)] == [
        "measure",
        "interval_start",
        "interval_end",
        "ratio",
        "numerator",
        "denominator",
        "sex",
        "region",
    ]


def test_integer_denominator_counts_only_positive_values(engine):
    measures = create_measures()
    measures.configure_disclosure_control(enabled=False)
    measures.define_measure(
        "cost_share",
        numerator=visits.where(visits.date.is_during(INTERVAL))
        .cost.sum_for_patient()
        .when_null_then(0),
        denominator=visits_in_interval(),
        group_by={},
        intervals=[(D(2020, 1, 1), D(2020, 3, 31))],
    )
    rows = list(get_measure_results(engine, measures))
    # Patient 3's cost is null: it counts as 0 in the numerator, 1 in the denominator.
    assert rows == [("cost_share", D(2020, 1, 1), D(2020, 3, 31), 23 / 5, 23, 5)]


def test_disclosure_control_is_on_by_default(engine):
    measures = create_measures()
    measures.define_measure(
        "small",
        numerator=visits_in_interval(),
        denominator=registered_in_interval(),
        group_by={},
        intervals=[(D(2020, 1, 1), D(2020, 12, 31))],
    )
    assert list(get_measure_results(engine, measures)) == [
        ("small", D(2020, 1, 1), D(2020, 12, 31), None, 0, 0)
    ]


@pytest.mark.parametrize(
    "count,controlled",
    [
        (0, 0),
        (1, 0),
        (7, 0),
        (8, 10),
        (10, 10),
        (12, 10),
        (13, 15),
        (17, 15),
        (18, 20),
        (1002, 1000),
    ],
)
def test_control_count(count, controlled):
    assert control_count(count) == controlled


def test_control_count_rejects_negative_counts():
    with pytest.raises(ValueError, match="negative"):
        control_count(-1)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"numerator": people.sex}, "boolean or integer"),
        ({"numerator": visits.cost}, "one value per patient"),
        ({"group_by": {"ratio": people.sex}}, "cannot be a group_by column name"),
        ({"group_by": {"sex": visits.cost}}, "must be a patient series"),
        ({"intervals": [(D(2020, 2, 1), D(2020, 1, 1))]}, "starts after it ends"),
        ({"intervals": [("2020-01-01", 5)]}, "pair of dates or 'YYYY-MM-DD' strings"),
        ({"intervals": [("2020-01-01",)]}, "pair of dates"),
        ({"intervals": [("2020-01-01", "2020/02/01")]}, "not a date"),
        ({"intervals": "2020-01-01"}, "must be a list of"),
    ],
)
def test_define_measure_rejects_bad_arguments(kwargs, message):
    arguments = {
        "numerator": visits_in_interval(),
        "denominator": registered_in_interval(),
        "group_by": {"sex": people.sex},
        "intervals": [(D(2020, 1, 1), D(2020, 1, 31))],
        **kwargs,
    }
    with pytest.raises(DefinitionError, match=message):
        create_measures().define_measure("m", **arguments)


def test_a_measure_without_group_by_is_not_grouped(engine):
    # As in public ehrQL: no group_by and no default means one row per interval.
    measures = create_measures()
    measures.configure_disclosure_control(enabled=False)
    measures.define_measure(
        "everyone",
        numerator=visits_in_interval(),
        denominator=registered_in_interval(),
        intervals=[("2020-01-01", "2020-01-31"), ["2020-02-01", D(2020, 2, 29)]],
    )
    assert list(get_measure_results(engine, measures)) == [
        ("everyone", D(2020, 1, 1), D(2020, 1, 31), 1.5, 3, 2),
        ("everyone", D(2020, 2, 1), D(2020, 2, 29), 1.0, 1, 1),
    ]


def test_a_measure_with_no_intervals_has_no_rows(engine):
    # As in public ehrQL: `years(n).starting_on(d)` with n worked out as 0 is no interval.
    measures = create_measures()
    measures.configure_disclosure_control(enabled=False)
    arguments = dict(
        numerator=visits_in_interval(), denominator=registered_in_interval()
    )
    measures.define_measure(
        "never", intervals=years(0).starting_on("2020-01-01"), **arguments
    )
    measures.define_measure(
        "january", intervals=[("2020-01-01", "2020-01-31")], **arguments
    )
    assert list(get_measure_results(engine, measures)) == [
        ("january", D(2020, 1, 1), D(2020, 1, 31), 1.5, 3, 2)
    ]


def test_measures_is_usable_as_a_class():
    from ehrql import Measures

    measures = Measures()
    measures.define_measure(
        "m",
        numerator=visits_in_interval(),
        denominator=registered_in_interval(),
        intervals=[("2020-01-01", "2020-01-31")],
    )
    assert [m.name for m in measures] == ["m"]


def test_missing_argument_without_default_is_an_error():
    with pytest.raises(DefinitionError, match="has no intervals"):
        create_measures().define_measure(
            "m",
            numerator=visits_in_interval(),
            denominator=registered_in_interval(),
            group_by={},
        )


def test_duplicate_measure_name_is_an_error():
    measures = create_measures()
    arguments = dict(
        numerator=visits_in_interval(),
        denominator=registered_in_interval(),
        group_by={},
        intervals=[(D(2020, 1, 1), D(2020, 1, 31))],
    )
    measures.define_measure("m", **arguments)
    with pytest.raises(DefinitionError, match="already defined"):
        measures.define_measure("m", **arguments)


def test_group_by_name_must_mean_the_same_in_every_measure():
    measures = create_measures()
    measures.define_defaults(
        numerator=visits_in_interval(),
        denominator=registered_in_interval(),
        intervals=[(D(2020, 1, 1), D(2020, 1, 31))],
    )
    measures.define_measure("a", group_by={"g": people.sex})
    with pytest.raises(DefinitionError, match="defined differently"):
        measures.define_measure("b", group_by={"g": people.region})


def test_defaults_can_only_be_set_once():
    measures = create_measures()
    measures.define_defaults(group_by={})
    with pytest.raises(DefinitionError, match="only be called once"):
        measures.define_defaults(group_by={})


class _CountingDuckDBEngine(DuckDBQueryEngine):
    """DuckDB over TABLE_DATA, counting the SELECTs it runs."""

    def __init__(self, connection, max_intervals_per_query):
        super().__init__(connection)
        self.max_intervals_per_query = max_intervals_per_query
        self.selects = 0

    def run_compiled(self, dataset, compiled):
        self.selects += 1
        yield from super().run_compiled(dataset, compiled)


@pytest.mark.parametrize("per_query,selects", [(1, 5), (2, 3), (52, 1)])
def test_intervals_are_split_across_queries_without_changing_results(
    per_query, selects
):
    measures = create_measures()
    measures.configure_disclosure_control(enabled=False)
    measures.define_measure(
        "visits_by_sex",
        numerator=visits_in_interval(),
        denominator=registered_in_interval(),
        group_by={"sex": people.sex},
        intervals=months(5).starting_on("2019-12-01"),
    )
    expected = list(get_measure_results(_Engine(ENGINES["in_memory"]), measures))
    with duckdb.connect() as connection:
        load_tables(connection, TABLE_DATA)
        engine = _CountingDuckDBEngine(connection, per_query)
        assert list(get_measure_results(engine, measures)) == expected
    assert engine.selects == selects
    # Rows come from intervals in different queries when split.
    assert {row[1] for row in expected} == {D(2020, 1, 1), D(2020, 2, 1), D(2020, 3, 1)}


@pytest.mark.parametrize(
    "engine_name,dsn",
    [
        ("mssql", "mssql://user:pass@host/db"),
        ("trino", "trino://user@host:8080/catalog/schema"),
    ],
)
def test_server_engines_compute_every_interval_in_one_select(engine_name, dsn):
    from ehrql.query_engines import get_engine_class

    measures = create_measures()
    measures.define_measure(
        "visits_by_sex",
        numerator=visits_in_interval(),
        denominator=registered_in_interval(),
        group_by={"sex": people.sex},
        intervals=weeks(260).starting_on("2019-01-07"),
    )
    runs = []

    class Recording(get_engine_class(engine_name)):
        def run_compiled(self, dataset, compiled):
            runs.append(compiled)
            return iter([])

    assert list(get_measure_results(Recording(dsn), measures)) == []
    (compiled,) = runs
    inserted = " ".join(
        s
        for s in compiled.setup
        if s.startswith("INSERT") and "intervals" in s.split(" VALUES ")[0]
    )
    assert (
        inserted.count("2023-12-25") == 1
    )  # the last week's start is in the intervals table


def test_progress_counts_intervals_as_each_select_finishes():
    measures = create_measures()
    measures.define_measure(
        "visits",
        numerator=visits_in_interval(),
        denominator=registered_in_interval(),
        group_by={},
        intervals=months(5).starting_on("2019-12-01"),
    )
    # A second denominator makes a second batch of the same five intervals.
    measures.define_measure(
        "visits_any",
        numerator=visits_in_interval(),
        denominator=people.exists_for_patient(),
        group_by={},
        intervals=months(5).starting_on("2019-12-01"),
    )
    seen = []
    with duckdb.connect() as connection:
        load_tables(connection, TABLE_DATA)
        engine = _CountingDuckDBEngine(connection, 2)
        list(
            get_measure_results(
                engine,
                measures,
                progress=lambda done, total: seen.append((done, total)),
            )
        )
    assert seen[-1] == (10, 10)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert (2, 10) in seen and (4, 10) in seen


def test_progress_from_engines_without_interval_progress():
    measures = create_measures()
    measures.define_measure(
        "visits",
        numerator=visits_in_interval(),
        denominator=registered_in_interval(),
        group_by={},
        intervals=months(3).starting_on("2020-01-01"),
    )
    seen = []
    list(
        get_measure_results(
            _Engine(ENGINES["in_memory"]),
            measures,
            progress=lambda done, total: seen.append((done, total)),
        )
    )
    assert seen == [(3, 3)]


def test_event_values_in_a_series_that_depends_on_the_interval(engine):
    # Visits whose cost matches the cost of some visit in the interval: the
    # set of costs differs by interval, and so does the count.
    in_interval = visits.where(visits.date.is_during(INTERVAL))
    measures = create_measures()
    measures.configure_disclosure_control(enabled=False)
    measures.define_measure(
        "matching",
        numerator=visits.where(visits.cost.is_in(in_interval.cost)).count_for_patient(),
        denominator=people.exists_for_patient(),
        intervals=months(3).starting_on("2020-01-01"),
    )
    rows = list(get_measure_results(engine, measures))
    assert [(r[1], r[4], r[5]) for r in rows] == [
        (D(2020, 1, 1), 3, 4),
        (D(2020, 2, 1), 0, 4),
        (D(2020, 3, 1), 1, 4),
    ]


def test_dummy_data_covers_only_measures_with_intervals():
    from ehrql.measures.dummy_data import measures_dummy_dataset

    measures = create_measures()
    arguments = dict(
        numerator=visits_in_interval(), denominator=registered_in_interval()
    )
    measures.define_measure(
        "none", intervals=years(0).starting_on("2020-01-01"), **arguments
    )
    # No patient is counted anywhere.
    assert measures_dummy_dataset(measures).population == qm.Value(False)
    measures.define_measure(
        "some", intervals=years(1).starting_on("2020-01-01"), **arguments
    )
    # The numerator over the whole span, and whether a patient counts in it in its one interval.
    assert len(measures_dummy_dataset(measures).variables) == 2


_BOUNDED_VISITS = {
    "during": lambda: visits.date.is_during(INTERVAL),
    "strictly_between": lambda: visits.date.is_between_but_not_on(
        INTERVAL.start_date, INTERVAL.end_date
    ),
    "sides_swapped": lambda: (
        (INTERVAL.start_date <= visits.date) & (INTERVAL.end_date > visits.date)
    ),
    "on_the_last_day": lambda: (
        (visits.date >= INTERVAL.end_date) & (visits.date <= INTERVAL.end_date)
    ),
    "also_costly": lambda: (visits.cost > 6) & visits.date.is_during(INTERVAL),
}


@pytest.mark.parametrize("bounds", list(_BOUNDED_VISITS))
def test_event_dates_bounded_by_the_interval_on_both_sides(engine, bounds):
    # Rows are found through a table of each interval's days (see
    # `_IntervalCompiler._filter_rows`), with intervals that overlap and
    # visits on their first and last days.
    measures = create_measures()
    measures.configure_disclosure_control(enabled=False)
    measures.define_measure(
        "visits",
        numerator=visits.where(_BOUNDED_VISITS[bounds]()).count_for_patient(),
        denominator=people.exists_for_patient(),
        intervals=[
            ("2020-01-05", "2020-01-20"),
            ("2020-01-01", "2020-01-31"),
            ("2020-01-31", "2020-03-01"),
            ("2020-02-01", "2020-02-01"),
        ],
    )
    expected = list(get_measure_results(_Engine(ENGINES["in_memory"]), measures))
    assert list(get_measure_results(engine, measures)) == expected
    assert {row[4] for row in expected} != {0}


@table
class spells(EventFrame):
    start_date = Series(datetime.date)
    end_date = Series(datetime.date)


SPELLS = [
    # Overlapping spells, one inside another, one open.
    {"patient_id": 1, "start_date": D(2020, 1, 1), "end_date": D(2020, 1, 20)},
    {"patient_id": 1, "start_date": D(2020, 1, 10), "end_date": D(2020, 2, 10)},
    {"patient_id": 1, "start_date": D(2020, 1, 12), "end_date": D(2020, 1, 13)},
    {"patient_id": 1, "start_date": D(2020, 3, 1), "end_date": None},
    # Ending and starting on an interval's first day; a missing start.
    {"patient_id": 2, "start_date": D(2019, 6, 1), "end_date": D(2020, 2, 1)},
    {"patient_id": 2, "start_date": D(2020, 3, 1), "end_date": D(2020, 3, 1)},
    {"patient_id": 3, "start_date": None, "end_date": D(2020, 5, 1)},
    {"patient_id": 4, "start_date": D(2020, 2, 1), "end_date": D(2020, 1, 1)},
]

_SPANNING = {
    "in_force_on_start": lambda p: spells.where(
        spells.start_date.is_on_or_before(p)
        & (spells.end_date.is_on_or_after(p) | spells.end_date.is_null())
    ),
    "strictly_inside": lambda p: spells.where(
        (p > spells.start_date) & ((spells.end_date > p) | spells.end_date.is_null())
    ),
    "in_two_filters": lambda p: spells.where(spells.start_date <= p).where(
        spells.end_date >= p
    ),
    "with_a_plain_condition": lambda p: spells.where(
        (spells.start_date <= p)
        & (spells.end_date.is_null() | (spells.end_date >= p))
        & (spells.start_date.year == 2020)
    ),
    "starting_on_it": lambda p: spells.where(spells.start_date == p),
    "except_where": lambda p: spells.where(spells.start_date <= p).except_where(
        spells.end_date < p
    ),
}


@pytest.mark.parametrize("parameter", ["start_date", "end_date"])
@pytest.mark.parametrize("spanning", list(_SPANNING))
def test_rows_in_force_on_an_interval_bound(engine, spanning, parameter):
    # Found by merging each patient's ranges of dates (see
    # `_IntervalCompiler._exists_by_ranges`), which must count a patient
    # once per interval however their spells overlap.
    data = {people._qm_node: TABLE_DATA[people._qm_node], spells._qm_node: SPELLS}
    measures = create_measures()
    measures.configure_disclosure_control(enabled=False)
    in_force = _SPANNING[spanning](getattr(INTERVAL, parameter))
    measures.define_measure(
        "in_force",
        numerator=in_force.exists_for_patient(),
        denominator=people.exists_for_patient(),
        group_by={"sex": people.sex},
        intervals=weeks(12).starting_on("2019-12-30") + [("2020-01-01", "2020-03-01")],
    )

    class Engine:
        def __init__(self, run):
            self.run = run

        def get_interval_totals(self, query):
            return self.run(data, query)

    expected = list(get_measure_results(Engine(ENGINES["in_memory"]), measures))
    assert list(get_measure_results(Engine(engine.run), measures)) == expected
    assert {row[4] for row in expected} != {0}


def test_dummy_quotas_come_per_group_and_interval_with_enough_patients_each():
    from ehrql import case, when
    from ehrql.measures.dummy_data import measures_dummy_cells, measures_dummy_quotas

    visits = visits_in_interval()
    band = case(when(visits > 3).then("many"), when(visits > 0).then("some"))
    measures = create_measures()
    common = dict(numerator=visits, denominator=registered_in_interval())
    measures.define_measure(
        "by_band",
        group_by={"band": band},
        intervals=months(2).starting_on("2020-01-01"),
        **common,
    )
    measures.define_measure(
        "overall", intervals=months(3).starting_on("2020-01-01"), **common
    )
    quotas = measures_dummy_quotas(measures)
    # Each measure's intervals whatever the band first (one patient may
    # have visits in every interval), then one tuple per band, each wanting
    # more than the 7 patients disclosure control suppresses.
    assert [len(together) for together in quotas] == [2, 3, 2, 2]
    assert {count for together in quotas for _, count, _ in together} == {8}
    cells = measures_dummy_cells(measures)
    assert cells.cells == 2 * 2 + 3
