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
    assert text == "generated 10 of 10 dummy patients (40 candidates, 25% accepted, 1.2s)"
    assert report().complete


def test_fallback_and_time_limit_are_spelled_out():
    text = report(
        generated=3, used_rejection_sampling=True, unsolved=("GT using Sum on e.x",), timed_out=True
    ).summary()
    assert "fell back to rejection sampling for: GT using Sum on e.x" in text
    assert "time limit" in text
    assert not report(generated=3).complete
    assert report(candidates=0, generated=0).acceptance_rate == 0.0
