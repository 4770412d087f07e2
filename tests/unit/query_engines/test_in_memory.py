from ehrql.query_engines.in_memory import InMemoryDatabase, InMemoryQueryEngine
from tests.unit.dummy.tables import events


def test_patient_values_evaluates_series_for_every_patient_with_rows():
    database = InMemoryDatabase(
        {
            "events": [
                {"patient_id": 1, "reading": 2.0},
                {"patient_id": 1, "reading": 3.0},
                {"patient_id": 2, "reading": None},
            ],
            "people": [{"patient_id": 3}],
        }
    )
    values = InMemoryQueryEngine(database).patient_values()
    total = events.reading.sum_for_patient()
    assert values(total._qm_node) == {1: 5.0, 2: None, 3: None}
    assert values((total > 4.0)._qm_node) == {1: True, 2: None, 3: None}
