import datetime

import pytest

from ehrql.query_model.table_schema import Column, Constraint, TableSchema
from ehrql.tables import PatientFrame, Series, table


@pytest.mark.parametrize(
    "constraint,good,bad",
    [
        (Constraint.Categorical("a", "b"), "a", "c"),
        (Constraint.Categorical(["a", "b"]), "b", "c"),
        (
            Constraint.FirstOfMonth(),
            datetime.date(2020, 3, 1),
            datetime.date(2020, 3, 2),
        ),
        (Constraint.Regex("E[0-9]{8}"), "E00000001", "W00000001"),
        (Constraint.ClosedRange(0, 10, 2), 4, 5),
        (Constraint.ClosedRange(0, 10), 10, 11),
        (Constraint.GeneralRange(minimum=0), 0, -1),
        (Constraint.GeneralRange(minimum=0, includes_minimum=False), 0.5, 0),
        (Constraint.GeneralRange(maximum=10.0, includes_maximum=False), 9.9, 10.0),
        (
            Constraint.GeneralRange(minimum=datetime.date(2020, 1, 1)),
            datetime.date(2020, 1, 1),
            datetime.date(2019, 12, 31),
        ),
    ],
)
def test_constraints_validate_values(constraint, good, bad):
    assert constraint.validate(good)
    assert not constraint.validate(bad)
    assert constraint.description


def test_schema_rejects_explicit_patient_id():
    with pytest.raises(ValueError, match="implicit"):
        TableSchema(patient_id=Column(int))


def test_dummy_data_constraints_reach_the_schema():
    @table
    class t(PatientFrame):
        n = Series(int, dummy_data_constraints=[Constraint.ClosedRange(1, 5)])

    column = t._qm_node.schema.get_column("n")
    assert column.dummy_data_constraints == (Constraint.ClosedRange(1, 5),)
    assert column.constraints == ()
    assert column.nullable


def test_general_range_describes_its_bounds_and_checks_their_order():
    assert (
        Constraint.GeneralRange(
            minimum=0, maximum=10, includes_maximum=False
        ).description
        == "Always >= 0 and < 10"
    )
    assert Constraint.GeneralRange().description == "Any value"
    with pytest.raises(ValueError, match="above maximum"):
        Constraint.GeneralRange(minimum=2, maximum=1)


def test_general_range_survives_serialization():
    from ehrql.query_model import nodes as qm
    from ehrql.serializer import deserialize, serialize

    @table
    class t(PatientFrame):
        x = Series(
            float,
            constraints=[Constraint.GeneralRange(minimum=0.0, includes_minimum=False)],
        )

    node = t.x._qm_node
    assert deserialize(serialize(node)) == node
    assert isinstance(node, qm.SelectColumn)
