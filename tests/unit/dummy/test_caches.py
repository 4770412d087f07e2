"""The generator's caches last one run (ehrql.dummy.caches)."""

from ehrql import create_dataset
from ehrql.dummy import caches, generate_dummy_data
from ehrql.dummy.solver import _value_sources
from tests.unit.dummy.tables import events


def counting():
    calls = []

    @caches.per_run
    def double(x, scale=2):
        calls.append(x)
        return x * scale

    return double, calls


def test_answers_are_kept_for_the_rest_of_the_run_only():
    double, calls = counting()
    with caches.run_caches():
        assert [double(1), double(1), double(2), double(1, scale=3)] == [2, 2, 4, 3]
        assert calls == [1, 2, 1]
    # A new run starts empty.
    with caches.run_caches():
        double(1)
    assert calls == [1, 2, 1, 1]


def test_outside_a_run_nothing_is_kept():
    double, calls = counting()
    double(1)
    double(1)
    assert calls == [1, 1]
    assert caches._CURRENT.get() is None


def test_a_nested_run_shares_the_outer_run_s_caches():
    double, calls = counting()
    with caches.run_caches():
        double(1)
        with caches.run_caches():
            double(1)
        double(1)
    assert calls == [1]


def test_a_generator_run_leaves_no_cache_behind():
    ds = create_dataset()
    ds.define_population(events.where(events.day > "2020-01-01").exists_for_patient())
    data = generate_dummy_data(ds._compile(), population_size=5)
    assert data.report.complete
    assert caches._CURRENT.get() is None
    # The solver's functions are not module-level caches any more.
    assert not hasattr(_value_sources, "cache_info")
