import datetime
import io

import pytest

from ehrql import create_dataset
from ehrql.debugger import activate_debug_context, show
from ehrql.query_engines.in_memory import InMemoryDatabase
from ehrql.tables import EventFrame, PatientFrame, Series, table


@table
class patients(PatientFrame):
    sex = Series(str)


@table
class events(EventFrame):
    date = Series(datetime.date)
    value = Series(int)


DATABASE = InMemoryDatabase(
    {
        "patients": [
            {"patient_id": 1, "sex": "female"},
            {"patient_id": 2, "sex": None},
        ],
        "events": [
            {"patient_id": 1, "date": datetime.date(2020, 1, 2), "value": 5},
            {"patient_id": 1, "date": datetime.date(2020, 3, 4), "value": 7},
            {"patient_id": 2, "date": datetime.date(2021, 1, 1), "value": None},
        ],
    }
)


def shown(*elements, **kwargs):
    stream = io.StringIO()
    with activate_debug_context(DATABASE, stream):
        show(*elements, **kwargs)
    return stream.getvalue()


def test_show_does_nothing_outside_debug(capsys):
    show(patients.sex)
    assert capsys.readouterr() == ("", "")


def test_show_patient_series():
    text = shown(patients.sex, label="sex")
    lines = text.splitlines()
    assert lines[0].startswith("Show line") and lines[0].endswith(": sex")
    assert lines[1:5] == [
        "patient_id | value",
        "-----------+-------",
        "1          | female",
        "2          |",
    ]


def test_show_event_frame_with_head():
    text = shown(events, head=2)
    assert "patient_id | date       | value" in text
    assert "1          | 2020-01-02 | 5" in text
    assert "2021-01-01" not in text


def test_show_event_series_with_tail():
    text = shown(events.value * 2, tail=1)
    assert text.splitlines()[3] == "2          |"
    assert "10" not in text


def test_show_dataset_and_aggregate():
    dataset = create_dataset()
    dataset.define_population(events.exists_for_patient())
    dataset.total = events.value.sum_for_patient()
    text = shown(dataset)
    assert "patient_id | total" in text
    assert "1          | 12" in text


def test_show_rejects_other_things():
    with pytest.raises(TypeError, match="series, frame or dataset"):
        shown(42)


def test_show_several_patient_series_side_by_side():
    count = events.count_for_patient()
    text = shown(patients.sex, count, label="both")
    assert text.splitlines()[1:5] == [
        "patient_id | series_1 | series_2",
        "-----------+----------+---------",
        "1          | female   | 2",
        "2          |          | 1",
    ]


def test_show_event_series_with_a_patient_series_alongside():
    text = shown(events.value, events.date, patients.sex)
    assert text.splitlines()[1:6] == [
        "patient_id | series_1 | series_2   | series_3",
        "-----------+----------+------------+---------",
        "1          | 5        | 2020-01-02 | female",
        "1          | 7        | 2020-03-04 | female",
        "2          |          | 2021-01-01 |",
    ]


def test_show_several_items_must_be_series_of_one_frame():
    with pytest.raises(TypeError, match="only series; item 2 is"):
        show(patients.sex, events)
    big = events.where(events.value > 6)
    small = events.where(events.value < 6)
    with pytest.raises(TypeError, match="cannot put these series side by side"):
        show(big.value, small.value)
