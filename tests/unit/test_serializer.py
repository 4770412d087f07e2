import datetime

import pytest

from ehrql import (
    INTERVAL,
    case,
    create_dataset,
    days,
    maximum_of,
    months,
    table_from_rows,
    when,
)
from ehrql.codes import SNOMEDCTCode
from ehrql.query_model import nodes as qm
from ehrql.serializer import SerializationError, deserialize, serialize
from ehrql.tables import Constraint, EventFrame, PatientFrame, Series, table


@table
class patients(PatientFrame):
    date_of_birth = Series(
        datetime.date, description="Birth date", constraints=[Constraint.FirstOfMonth()]
    )
    sex = Series(
        str,
        constraints=[Constraint.Categorical("female", "male"), Constraint.NotNull()],
    )
    weight = Series(float, constraints=[Constraint.ClosedRange(0, 500, 1)])


@table
class events(EventFrame):
    date = Series(datetime.date)
    code = Series(SNOMEDCTCode, constraints=[Constraint.Regex("[0-9]{6,18}")])
    value = Series(float)


@table_from_rows([(1, 10, "a"), (2, None, "b")])
class inline(PatientFrame):
    score = Series(int)
    label = Series(str)


def build_dataset():
    dataset = create_dataset()
    recent = events.where(
        events.date.is_on_or_after("2020-01-01") & events.code.is_in(["22298006"])
    )
    dataset.define_population(recent.exists_for_patient() & (patients.sex == "female"))
    last = recent.sort_by(events.date, events.value).last_for_patient()
    dataset.last_value = last.value
    dataset.age = (last.date - patients.date_of_birth).years
    dataset.later = maximum_of(
        last.date + months(2), events.date.maximum_for_patient() - days(3)
    )
    dataset.band = case(
        when(dataset.age < 18).then("child"),
        when(dataset.age >= 65).then("older"),
        otherwise="adult",
    )
    dataset.score = inline.score.when_null_then(0) / 3
    dataset.heavy = patients.weight.as_int() // 10
    model = dataset._compile()
    # INTERVAL has a value only in measures, so its Parameter nodes are added to the model directly.
    in_interval = last.date.is_during(INTERVAL)._qm_node
    return qm.Dataset(
        model.population, qm.FrozenDict({**model.variables, "in_interval": in_interval})
    )


def test_round_trip_gives_an_equal_model():
    model = build_dataset()
    assert deserialize(serialize(model)) == model


def test_shared_subtrees_are_written_once():
    model = build_dataset()
    text = serialize(model)
    unique_nodes = set(qm.all_nodes(model))
    assert text.count('"node":') == len(unique_nodes)


def test_special_float_values_survive():
    node = qm.Function.Add(qm.Value(float("inf")), qm.Value(-0.5))
    assert deserialize(serialize(node)) == node


@pytest.mark.parametrize(
    "text,message",
    [
        ("not json", "not JSON"),
        ('{"version": 99, "nodes": [], "root": 0}', "version"),
        ('{"version": 1, "nodes": [{"node": "Nope"}], "root": 0}', "unknown node type"),
        # Abstract bases that only declare shared fields are not nodes.
        (
            '{"version": 1, "nodes": [{"node": "Function._Binary"}], "root": 0}',
            "unknown node type",
        ),
        (
            '{"version": 1, "nodes": [{"node": "_FromEventFrame"}], "root": 0}',
            "unknown node type",
        ),
        # A field of the wrong kind is refused by the node's own validation.
        (
            '{"version": 1, "nodes": [{"node": "Value", "value": 1}, '
            '{"node": "Function.Not", "source": 1}], "root": 1}',
            "invalid Function.Not node: Function.Not.source must be a Series, not int",
        ),
    ],
)
def test_bad_input_is_rejected_clearly(text, message):
    with pytest.raises(SerializationError, match=message):
        deserialize(text)
