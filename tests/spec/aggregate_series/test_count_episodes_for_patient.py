from ehrql import days, weeks
from tests.spec.tables import e, p

title = "Counting episodes of dates: count_episodes_for_patient()"

table_data = {
    p: """
      |  i1
    --+-----
    1 |
    2 |
    3 |
    4 |
    5 |
    """,
    e: """
      |     d1
    --+------------
    1 | 2020-01-01
    1 | 2020-01-04
    1 | 2020-01-06
    1 | 2020-01-10
    1 | 2020-01-12
    2 | 2020-01-01
    2 | 2020-01-01
    2 | 2020-01-02
    3 |
    3 | 2021-06-01
    4 |
    """,
}


def test_count_episodes(spec_test):
    """Dates no more than the gap after the previous one are one episode, so the clock
    restarts at each date; null dates are ignored, and no dates are no episodes."""
    spec_test(
        table_data,
        e.d1.count_episodes_for_patient(days(3)),
        {1: 2, 2: 1, 3: 1, 4: 0, 5: 0},
    )


def test_count_episodes_with_no_gap(spec_test):
    """With a gap of 0 days, dates on the same day are one episode."""
    spec_test(
        table_data,
        e.d1.count_episodes_for_patient(days(0)),
        {1: 5, 2: 2, 3: 1, 4: 0, 5: 0},
    )


def test_count_episodes_in_weeks(spec_test):
    """A gap in weeks is seven days each."""
    spec_test(
        table_data,
        e.d1.count_episodes_for_patient(weeks(1)),
        {1: 1, 2: 1, 3: 1, 4: 0, 5: 0},
    )
