"""A query model as JSON, and back again, exactly.

The JSON holds a flat list of nodes, each referring to its children by index,
so a subtree used many times is written once. Deserialising gives nodes equal
to the originals.

    {"version": 1, "nodes": [{"node": "SelectTable", "name": ..., ...}, ...], "root": 7}
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import math
from typing import Any

from ehrql import codes
from ehrql.query_model import nodes as qm
from ehrql.query_model import table_schema as ts

FORMAT_VERSION = 1


class SerializationError(ValueError):
    """The JSON is not a query model this version of ehrql can read."""


def _node_classes() -> dict[str, type]:
    classes = {}
    for name in dir(qm):
        value = getattr(qm, name)
        if isinstance(value, type) and issubclass(value, qm.Node) and dataclasses.is_dataclass(value):
            classes[name] = value
    for namespace in (qm.Function, qm.AggregateByPatient):
        for name in dir(namespace):
            value = getattr(namespace, name)
            if isinstance(value, type) and dataclasses.is_dataclass(value):
                classes[f"{namespace.__name__}.{name}"] = value
    return classes


_NODE_CLASSES = _node_classes()
_NODE_NAMES = {cls: name for name, cls in _NODE_CLASSES.items()}
_SCALAR_TYPES = {"bool": bool, "int": int, "float": float, "str": str, "date": datetime.date}
_TYPE_NAMES = {v: k for k, v in _SCALAR_TYPES.items()}
_CONSTRAINTS = {
    cls.__name__: cls
    for cls in (
        ts.CategoricalConstraint,
        ts.NotNullConstraint,
        ts.UniqueConstraint,
        ts.FirstOfMonthConstraint,
        ts.RegexConstraint,
        ts.ClosedRangeConstraint,
        ts.GeneralRangeConstraint,
        ts.DateAfterConstraint,
    )
}


def serialize(root: qm.Node) -> str:
    """The JSON text for a query model tree (a Dataset or any node)."""
    index: dict[qm.Node, int] = {}
    records: list[dict] = []

    def add(node: qm.Node) -> int:
        if node in index:
            return index[node]
        record = {"node": _NODE_NAMES[type(node)]}
        for field in dataclasses.fields(node):
            record[field.name] = encode(getattr(node, field.name))
        index[node] = len(records)
        records.append(record)
        return index[node]

    def encode(value) -> Any:
        if isinstance(value, qm.Node):
            return {"ref": add(value)}
        if isinstance(value, qm.FrozenDict):
            return {"dict": [[encode(k), encode(v)] for k, v in value.items()]}
        if isinstance(value, ts.TableSchema):
            return {"schema": [[name, _encode_column(col)] for name, col in value.columns]}
        if isinstance(value, enum.Enum):
            return {"enum": type(value).__name__, "value": value.value}
        if isinstance(value, qm.Set):
            return {"set_type": _encode_type(value.element_type)}
        if isinstance(value, type):
            return {"type": _encode_type(value)}
        if isinstance(value, tuple):
            return {"tuple": [encode(v) for v in value]}
        return _encode_value(value)

    root_index = add(root)
    return json.dumps({"version": FORMAT_VERSION, "nodes": records, "root": root_index}, indent=1)


def deserialize(text: str) -> qm.Node:
    """The query model tree a `serialize` call wrote."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as e:
        raise SerializationError(f"not JSON: {e}") from None
    if not isinstance(document, dict) or document.get("version") != FORMAT_VERSION:
        raise SerializationError(
            f"unsupported query model format version {document.get('version') if isinstance(document, dict) else None!r}"
        )
    built: list[qm.Node] = []

    def decode(value) -> Any:
        if isinstance(value, dict):
            if "ref" in value:
                return built[value["ref"]]
            if "dict" in value:
                return qm.FrozenDict((decode(k), decode(v)) for k, v in value["dict"])
            if "schema" in value:
                return ts.TableSchema({name: _decode_column(col) for name, col in value["schema"]})
            if "enum" in value:
                return qm.Position(value["value"])
            if "set_type" in value:
                return qm.Set(_decode_type(value["set_type"]))
            if "type" in value:
                return _decode_type(value["type"])
            if "tuple" in value:
                return tuple(decode(v) for v in value["tuple"])
        return _decode_value(value)

    for record in document["nodes"]:
        cls = _NODE_CLASSES.get(record.get("node"))
        if cls is None:
            raise SerializationError(f"unknown node type {record.get('node')!r}")
        fields = {k: decode(v) for k, v in record.items() if k != "node"}
        built.append(cls(**fields))
    return built[document["root"]]


# -- values ---------------------------------------------------------------


def _encode_value(value) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return {"float": repr(value)}
        return {"float": value}
    if type(value) is datetime.date:
        return {"date": value.isoformat()}
    if isinstance(value, codes.BaseCode):
        return {"code": value.system_id, "value": value.value}
    if isinstance(value, frozenset):
        return {"frozenset": sorted((_encode_value(v) for v in value), key=json.dumps)}
    raise SerializationError(f"cannot serialise value {value!r}")


def _decode_value(value) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, list):
        raise SerializationError(f"unexpected list {value!r}")
    if "float" in value:
        return float(value["float"])
    if "date" in value:
        return datetime.date.fromisoformat(value["date"])
    if "code" in value:
        return codes.ALL_CODE_TYPES[value["code"]](value["value"])
    if "frozenset" in value:
        return frozenset(_decode_value(v) for v in value["frozenset"])
    raise SerializationError(f"cannot read value {value!r}")


def _encode_type(type_) -> str | None:
    if type_ is None:
        return None
    if type_ in _TYPE_NAMES:
        return _TYPE_NAMES[type_]
    if qm.is_code_type(type_):
        return f"code:{type_.system_id}"
    raise SerializationError(f"cannot serialise type {type_!r}")


def _decode_type(name):
    if name is None:
        return None
    if name in _SCALAR_TYPES:
        return _SCALAR_TYPES[name]
    if isinstance(name, str) and name.startswith("code:"):
        return codes.ALL_CODE_TYPES[name.removeprefix("code:")]
    raise SerializationError(f"unknown type {name!r}")


def _encode_column(column: ts.Column) -> dict:
    return {
        "type": _encode_type(column.type),
        "description": column.description,
        "constraints": [
            {
                "kind": type(c).__name__,
                "fields": {f.name: _encode_constraint_field(getattr(c, f.name)) for f in dataclasses.fields(c)},
            }
            for c in column.constraints
        ],
    }


def _encode_constraint_field(value):
    if isinstance(value, tuple):
        return {"tuple": [_encode_value(v) for v in value]}
    return _encode_value(value)


def _decode_constraint_field(value):
    if isinstance(value, dict) and "tuple" in value:
        return tuple(_decode_value(v) for v in value["tuple"])
    return _decode_value(value)


def _decode_column(record: dict) -> ts.Column:
    constraints = []
    for c in record["constraints"]:
        cls = _CONSTRAINTS[c["kind"]]
        fields = {k: _decode_constraint_field(v) for k, v in c["fields"].items()}
        constraint = object.__new__(cls)
        for name, value in fields.items():
            object.__setattr__(constraint, name, value)
        constraints.append(constraint)
    return ts.Column(_decode_type(record["type"]), record["description"], tuple(constraints))
