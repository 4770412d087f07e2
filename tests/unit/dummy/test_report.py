from ehrql.dummy import DummyDataReport


def report(**changes):
    values = dict(
        requested=10,
        generated=10,
        candidates=40,
        plans=2,
        used_rejection_sampling=False,
        unsolved=(),
        timed_out=False,
        seconds=1.25,
    )
    values.update(changes)
    return DummyDataReport(**values)


def test_a_full_run_reads_plainly():
    text = report().summary()
    assert text == "made 10 of 10 dummy patients in 1.2s (40 candidates, 25% accepted)"
    assert report().complete
    assert report().reason is None


def cut_short(generated):
    return report(
        generated=generated,
        used_rejection_sampling=True,
        unsolved=("e.x.sum_for_patient() > 3 (d.py, line 7)",),
        timed_out=True,
        timeout=60,
    )


def test_fallback_and_time_limit_are_spelled_out():
    text = cut_short(3).summary()
    assert text.startswith(
        "made 3 of 10 dummy patients in 1.2s: the time limit of 60 s ran out"
    )
    assert "configure_dummy_data(timeout=...)" in text
    assert "left to chance and checked afterwards: e.x.sum_for_patient() > 3" in text
    assert not report(generated=3).complete
    assert report(candidates=0, generated=0).acceptance_rate == 0.0


def test_a_run_that_made_nobody_in_time_names_the_conditions_left_to_chance():
    text = cut_short(0).reason
    assert text.endswith(
        "or simplify the conditions left to chance and checked afterwards: "
        "e.x.sum_for_patient() > 3 (d.py, line 7)"
    )


def test_an_impossible_population_is_named_not_blamed_on_time():
    text = report(
        generated=0, candidates=0, impossible=("p.age > 200 is never true",)
    ).summary()
    assert text == (
        "made 0 of 10 dummy patients in 1.2s: no patient can satisfy the population: "
        "p.age > 200 is never true"
    )


def test_suppressed_numerators_are_reported_once_with_what_would_help():
    from ehrql.dummy.report import suppressed_numerators

    rows = [
        ("m", None, None, None, 0, 10),
        ("m", None, None, 0.5, 10, 20),
        ("m", None, None, None, 0, 0),
    ]
    text = suppressed_numerators(rows, population_size=10)
    assert text.startswith("2 of 3 measure rows have a numerator of 7 or fewer")
    assert "population_size=...) of at least 24" in text
    assert suppressed_numerators(rows[1:2], population_size=10) is None
