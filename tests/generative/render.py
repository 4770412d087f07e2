"""Python source for generated query models and data, for readable failures.

The default repr of a node repeats every table's full schema at every column,
which buries a failing example. `node_source` writes a node as the much shorter
Python expression that rebuilds it (using the names `qm`, `Fn`, `Agg`, and the
tables and `INLINE_SCHEMA` of `tests.generative.schemas`), so a shrunk failure can be pasted
straight into a regression test.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from ehrql.query_model import nodes as qm
from tests.generative.schemas import ALL_TABLES, INLINE_SCHEMA

_TABLE_NAMES = {table: table.name.removeprefix("gen_") for table in ALL_TABLES}


def node_source(node) -> str:
    """A Python expression that rebuilds `node`."""
    if node in _TABLE_NAMES and isinstance(
        node, (qm.SelectTable, qm.SelectPatientTable)
    ):
        return _TABLE_NAMES[node]
    if node == INLINE_SCHEMA:
        return "INLINE_SCHEMA"
    if isinstance(node, qm.Value):
        return f"qm.Value({node.value!r})"
    if isinstance(node, qm.FrozenDict):
        items = ", ".join(
            f"{node_source(k)}: {node_source(v)}" for k, v in node.items()
        )
        return f"qm.FrozenDict({{{items}}})"
    if isinstance(node, tuple):
        return "(" + "".join(f"{node_source(item)}, " for item in node) + ")"
    if isinstance(node, qm.Position):
        return f"qm.Position.{node.name}"
    if isinstance(node, qm.Node):
        arguments = ", ".join(
            node_source(getattr(node, field.name)) for field in dataclasses.fields(node)
        )
        return f"{_class_name(type(node))}({arguments})"
    return repr(node)


def _class_name(cls) -> str:
    qualified = cls.__qualname__
    if qualified.startswith("Function."):
        return "Fn." + qualified.removeprefix("Function.")
    if qualified.startswith("AggregateByPatient."):
        return "Agg." + qualified.removeprefix("AggregateByPatient.")
    return "qm." + qualified


def data_source(data: Mapping[qm.Frame, list[dict]]) -> str:
    """A Python expression that rebuilds table data (null cells left out)."""
    lines = ["{"]
    for table, rows in data.items():
        lines.append(f"    {node_source(table)}: [")
        for row in rows:
            present = {k: v for k, v in row.items() if v is not None}
            lines.append(f"        {present!r},")
        lines.append("    ],")
    lines.append("}")
    return "\n".join(lines)
