"""What the parent accepts back from the child: only well-formed query models."""

import datetime
import json

import pytest

from ehrql import codes, create_dataset
from ehrql.isolation import run as isolation_run
from ehrql.loaders import DefinitionFileError
from ehrql.serializer import (
    SerializationError,
    deserialize_document,
    serialize_document,
)
from ehrql.tables.core import patients


def a_dataset():
    dataset = create_dataset()
    dataset.define_population(patients.exists_for_patient())
    dataset.sex = patients.sex
    return dataset._compile()


def test_documents_round_trip_plain_data_and_shared_nodes():
    dataset = a_dataset()
    value = {
        "dataset": dataset,
        "again": dataset,
        "test_data": {
            1: {
                "patients": [
                    {"date_of_birth": datetime.date(2000, 1, 1), "sex": "male"}
                ]
            }
        },
        "pairs": ((datetime.date(2020, 1, 1), datetime.date(2020, 1, 31)),),
        "code": codes.SNOMEDCTCode("60621009"),
        "nothing": None,
    }
    text = serialize_document(value)
    assert text.count('"node": "Dataset"') == 1
    assert deserialize_document(text) == value


def test_an_unknown_object_cannot_be_sent():
    with pytest.raises(SerializationError):
        serialize_document({"x": object()})


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d["nodes"].append({"node": "os.system", "command": "rm -rf /"}),
        lambda d: d["nodes"][0].update(extra=1),
        lambda d: d.update(value={"ref": 999}),
        lambda d: d["nodes"][0].update(
            {k: {"ref": len(d["nodes"]) - 1} for k in list(d["nodes"][0])[1:2]}
        ),
    ],
    ids=["unknown node", "extra field", "missing node", "forward reference"],
)
def test_forged_documents_are_refused(mutate):
    document = json.loads(serialize_document({"dataset": a_dataset()}))
    mutate(document)
    if document["nodes"][-1].get("node") == "os.system":
        document["value"] = {"ref": len(document["nodes"]) - 1}
    with pytest.raises(SerializationError):
        deserialize_document(json.dumps(document))


def test_an_invalid_node_is_refused_as_the_query_model_would():
    document = json.loads(serialize_document({"dataset": a_dataset()}))
    dataset_record = next(r for r in document["nodes"] if r["node"] == "Dataset")
    # A population that is not a boolean series.
    sex_index = next(
        i for i, r in enumerate(document["nodes"]) if r["node"] == "SelectColumn"
    )
    dataset_record["population"] = {"ref": sex_index}
    with pytest.raises(SerializationError, match="invalid Dataset node"):
        deserialize_document(json.dumps(document))


def test_the_parent_refuses_a_response_that_is_not_a_query_model(tmp_path):
    response = {
        "sandbox": {
            "filesystem": True,
            "network": True,
            "processes": True,
            "landlock_abi": 7,
            "reasons": [],
        },
        "value": {"nodes": "nope"},
    }
    with pytest.raises(DefinitionFileError, match="not a valid query model"):
        isolation_run._unpack(
            response, tmp_path / "d.py", require=False, mode="auto", warn=None
        )


def test_a_definition_error_from_the_child_keeps_its_wording(tmp_path):
    response = {
        "sandbox": {
            "filesystem": True,
            "network": True,
            "processes": True,
            "landlock_abi": 7,
            "reasons": [],
        },
        "error": {
            "type": "DefinitionFileError",
            "message": "Error in d.py, line 3:\n    x\nKeyError: 'x'",
            "traceback": "tb",
        },
    }
    with pytest.raises(DefinitionFileError) as caught:
        isolation_run._unpack(
            response, tmp_path / "d.py", require=False, mode="auto", warn=None
        )
    assert str(caught.value) == "Error in d.py, line 3:\n    x\nKeyError: 'x'"
    assert caught.value.child_traceback == "tb"


def test_condition_locations_are_plain_strings_and_line_numbers():
    from ehrql.isolation.definitions import _condition_locations

    node = a_dataset().population
    good = {"condition_locations": [(node, "definition.py", 3)]}
    assert _condition_locations(good, "d.py") == {node: ("definition.py", 3)}
    assert _condition_locations({}, "d.py") == {}
    for bad in [
        "not a list",
        [(node, "definition.py")],
        [("not a node", "definition.py", 3)],
        [(node, b"definition.py", 3)],
        [(node, "definition.py", True)],
        [(node, "definition.py", "3")],
    ]:
        with pytest.raises(
            DefinitionFileError, match="malformed (list of )?condition location"
        ):
            _condition_locations({"condition_locations": bad}, "d.py")
