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
    # Names starting with "_" are abstract bases that declare shared fields:
    # never nodes a document may ask for.
    classes = {}
    for name in dir(qm):
        value = getattr(qm, name)
        if name.startswith("_") or not (
            isinstance(value, type) and issubclass(value, qm.Node)
        ):
            continue
        if dataclasses.is_dataclass(value):
            classes[name] = value
    for namespace in (qm.Function, qm.AggregateByPatient):
        for name in dir(namespace):
            value = getattr(namespace, name)
            if (
                not name.startswith("_")
                and isinstance(value, type)
                and dataclasses.is_dataclass(value)
            ):
                classes[f"{namespace.__name__}.{name}"] = value
    return classes


_NODE_CLASSES = _node_classes()
_NODE_NAMES = {cls: name for name, cls in _NODE_CLASSES.items()}
_SCALAR_TYPES = {
    "bool": bool,
    "int": int,
    "float": float,
    "str": str,
    "date": datetime.date,
}
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
    encoder = _Encoder()
    root_index = encoder.add(root)
    return json.dumps(
        {"version": FORMAT_VERSION, "nodes": encoder.records, "root": root_index},
        indent=1,
    )


def serialize_document(value: Any) -> str:
    """The JSON text for plain data holding query model nodes: dicts, lists,
    tuples, dates, codes and numbers, with nodes anywhere inside.

    Nodes shared between parts of the document are written once. This is how
    a definition loaded in another process (its dataset, measures, test data
    and settings) travels back to ehrql.
    """
    encoder = _Encoder()
    encoded = encoder.encode(value)
    return json.dumps(
        {"version": FORMAT_VERSION, "nodes": encoder.records, "value": encoded}
    )


def deserialize(text: str) -> qm.Node:
    """The query model tree a `serialize` call wrote."""
    document = _load(text)
    decoder = _Decoder(document)
    if not isinstance(document.get("root"), int):
        raise SerializationError("the document has no root node")
    return decoder.node(document["root"])


def deserialize_document(text: str) -> Any:
    """The value a `serialize_document` call wrote; nodes are rebuilt, and so
    validated, as the query model builds them."""
    document = _load(text)
    return _Decoder(document).decode(document.get("value"))


def _load(text: str) -> dict:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as e:
        raise SerializationError(f"not JSON: {e}") from None
    if not isinstance(document, dict) or document.get("version") != FORMAT_VERSION:
        version = document.get("version") if isinstance(document, dict) else None
        raise SerializationError(f"unsupported query model format version {version!r}")
    if not isinstance(document.get("nodes"), list):
        raise SerializationError("the document has no list of nodes")
    return document


class _Encoder:
    def __init__(self):
        self.index: dict[qm.Node, int] = {}
        self.records: list[dict] = []

    def add(self, node: qm.Node) -> int:
        if node in self.index:
            return self.index[node]
        if type(node) not in _NODE_NAMES:
            raise SerializationError(f"cannot serialise node {type(node).__name__}")
        record = {"node": _NODE_NAMES[type(node)]}
        for field in dataclasses.fields(node):
            record[field.name] = self.encode(getattr(node, field.name))
        self.index[node] = len(self.records)
        self.records.append(record)
        return self.index[node]

    def encode(self, value) -> Any:
        if isinstance(value, qm.Node):
            return {"ref": self.add(value)}
        if isinstance(value, qm.FrozenDict):
            return {
                "dict": [[self.encode(k), self.encode(v)] for k, v in value.items()]
            }
        if isinstance(value, ts.TableSchema):
            return {
                "schema": [[name, _encode_column(col)] for name, col in value.columns]
            }
        if isinstance(value, enum.Enum):
            return {"enum": type(value).__name__, "value": value.value}
        if isinstance(value, qm.Set):
            return {"set_type": _encode_type(value.element_type)}
        if isinstance(value, type):
            return {"type": _encode_type(value)}
        if isinstance(value, tuple):
            return {"tuple": [self.encode(v) for v in value]}
        if isinstance(value, list):
            return {"list": [self.encode(v) for v in value]}
        if type(value) is dict:
            return {
                "items": [[self.encode(k), self.encode(v)] for k, v in value.items()]
            }
        return _encode_value(value)


class _Decoder:
    def __init__(self, document: dict):
        self.records = document["nodes"]
        self.built: dict[int, qm.Node] = {}

    def node(self, position) -> qm.Node:
        # Records only refer to earlier ones, so a document cannot make a cycle.
        if not isinstance(position, int) or not 0 <= position < len(self.records):
            raise SerializationError(f"reference to a missing node {position!r}")
        if position not in self.built:
            record = self.records[position]
            if not isinstance(record, dict):
                raise SerializationError(f"node {position} is not a record")
            cls = _NODE_CLASSES.get(record.get("node"))
            if cls is None:
                raise SerializationError(f"unknown node type {record.get('node')!r}")
            names = {f.name for f in dataclasses.fields(cls)}
            if set(record) - {"node"} != names:
                raise SerializationError(
                    f"node {record.get('node')} has fields {sorted(set(record) - {'node'})}"
                )
            fields = {
                k: self.decode(v, below=position)
                for k, v in record.items()
                if k != "node"
            }
            try:
                self.built[position] = cls(**fields)
            except SerializationError:
                raise
            except Exception as e:
                raise SerializationError(
                    f"invalid {record.get('node')} node: {e}"
                ) from None
        return self.built[position]

    def decode(self, value, below: int | None = None) -> Any:
        if isinstance(value, list):
            raise SerializationError(f"unexpected list {value!r}")
        if isinstance(value, dict):
            if "ref" in value:
                if below is not None and not (
                    isinstance(value["ref"], int) and value["ref"] < below
                ):
                    raise SerializationError(
                        f"node {below} refers forward to node {value['ref']!r}"
                    )
                return self.node(value["ref"])
            if "dict" in value:
                return qm.FrozenDict(
                    (self.decode(k, below), self.decode(v, below))
                    for k, v in value["dict"]
                )
            if "schema" in value:
                return ts.TableSchema(
                    {name: _decode_column(col) for name, col in value["schema"]}
                )
            if "enum" in value:
                return qm.Position(value["value"])
            if "set_type" in value:
                return qm.Set(_decode_type(value["set_type"]))
            if "type" in value:
                return _decode_type(value["type"])
            if "tuple" in value:
                return tuple(self.decode(v, below) for v in value["tuple"])
            if "list" in value:
                return [self.decode(v, below) for v in value["list"]]
            if "items" in value:
                return {
                    self.decode(k, below): self.decode(v, below)
                    for k, v in value["items"]
                }
        return _decode_value(value)


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
        if value["code"] not in codes.ALL_CODE_TYPES:
            raise SerializationError(f"unknown coding system {value['code']!r}")
        try:
            return codes.ALL_CODE_TYPES[value["code"]](value["value"])
        except codes.CodelistError as e:
            raise SerializationError(str(e)) from None
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
                "fields": {
                    f.name: _encode_constraint_field(getattr(c, f.name))
                    for f in dataclasses.fields(c)
                },
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
    return ts.Column(
        _decode_type(record["type"]), record["description"], tuple(constraints)
    )
