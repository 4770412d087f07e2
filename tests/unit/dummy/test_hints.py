import datetime

from ehrql import case, days, when
from ehrql.codes import SNOMEDCTCode
from ehrql.dummy.hints import collect_hints
from tests.unit.dummy.tables import events, people


def test_constants_are_credited_to_the_column_they_are_compared_with():
    mapped = events.code.map_values({"271807003": "wheeze", "49727002": "cough"})
    window = events.day.is_on_or_between(
        "2021-01-01", datetime.date(2021, 6, 30) - days(10)
    )
    hints = collect_hints(
        [mapped._qm_node, window._qm_node, (people.gender == "x")._qm_node]
    )
    assert hints.for_column("events", "code") == (
        SNOMEDCTCode("271807003"),
        SNOMEDCTCode("49727002"),
    )
    assert hints.for_column("events", "day") == (
        datetime.date(2021, 1, 1),
        datetime.date(2021, 6, 20),
    )
    assert hints.for_column("people", "gender") == ("x",)
    assert hints.for_column("people", "region") == ()


def test_all_dates_are_gathered_in_order():
    late = case(when(people.died_on > "2019-03-01").then(1), otherwise=0)
    # A constant date plus a fixed duration is worked out in the language, as a constant.
    early = people.birth_month < datetime.date(1950, 1, 1) + days(31)
    hints = collect_hints([late._qm_node, early._qm_node])
    assert hints.dates == (datetime.date(1950, 2, 1), datetime.date(2019, 3, 1))
    assert 1 in hints.for_type(int)


def test_codes_of_one_system_are_shared_by_type():
    hints = collect_hints([events.code.is_in(["49727002", "271807003"])._qm_node])
    assert hints.for_type(SNOMEDCTCode) == (
        SNOMEDCTCode("271807003"),
        SNOMEDCTCode("49727002"),
    )
