"""A picture of a query model: its nodes and how each is built from the others.

The graph is written in Graphviz's DOT language: one box per node (its class,
with its plain fields such as a table or column name, or a value), and an
arrow from each node to each node it is built from, labelled with the field.
A subtree used in several places is drawn once, so shared work shows as a
node with several arrows into it.

DOT is text, readable as it is and by any Graphviz viewer. An SVG or PNG is
drawn by Graphviz's own `dot` program when it is installed: no Python package
draws graphs without it, so ehrql does not depend on one.
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from ehrql.errors import EHRQLError
from ehrql.query_model import nodes as qm

#: Extension -> the `dot -T` output format; `.dot` and `.gv` are the DOT text itself.
RENDERED_FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf"}
TEXT_FORMATS = (".dot", ".gv")


class GraphRenderingError(EHRQLError):
    """The graph cannot be drawn in the format asked for."""


def query_graph_dot(root: qm.Node, title: str = "query") -> str:
    """The query model under `root` as a Graphviz DOT digraph."""
    nodes = qm.all_nodes(root)
    ids = {node: f"n{i}" for i, node in enumerate(nodes)}
    lines = [
        f"digraph {_quote(title)} {{",
        "  rankdir=LR;",
        '  node [shape=box, fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9];',
    ]
    for node in nodes:
        style = ", style=bold" if node is root else ""
        lines.append(f"  {ids[node]} [label={_quote(_label(node))}{style}];")
    for node in nodes:
        for field_name, child in _child_fields(node):
            lines.append(f"  {ids[node]} -> {ids[child]} [label={_quote(field_name)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_query_graph(root: qm.Node, path: Path, title: str = "query") -> None:
    """Write the graph of `root` to `path`: DOT text for `.dot`/`.gv`, or an image
    drawn by Graphviz for `.svg`, `.png` or `.pdf`."""
    from ehrql.file_formats.atomic import atomic_output

    path = Path(path)
    suffix = path.suffix.lower()
    dot = query_graph_dot(root, title)
    if suffix in TEXT_FORMATS:
        with atomic_output(path) as temporary:
            temporary.write_text(dot, encoding="utf-8")
        return
    if suffix not in RENDERED_FORMATS:
        known = ", ".join([*TEXT_FORMATS, *RENDERED_FORMATS])
        raise GraphRenderingError(
            f"cannot tell the graph format of '{path}': end its name in one of {known}"
        )
    program = shutil.which("dot")
    if program is None:
        raise GraphRenderingError(
            f"drawing a {suffix} needs Graphviz's `dot` program, which is not installed: "
            f"install Graphviz, or write the graph as DOT text with a .dot file name"
        )
    with atomic_output(path) as temporary:
        result = subprocess.run(
            [program, f"-T{RENDERED_FORMATS[suffix]}", "-o", str(temporary)],
            input=dot.encode("utf-8"),
            capture_output=True,
            check=False,
        )
        if result.returncode != 0:
            raise GraphRenderingError(
                f"Graphviz could not draw the graph: {result.stderr.decode(errors='replace').strip()}"
            )


def _child_fields(node: qm.Node):
    for field in dataclasses.fields(node):
        value = getattr(node, field.name)
        if isinstance(value, qm.Node):
            yield field.name, value
        elif isinstance(value, Mapping):
            for key, item in value.items():
                if isinstance(item, qm.Node):
                    yield f"{field.name}[{_short(key)}]", item
                elif isinstance(item, Mapping):
                    for inner_key, inner in item.items():
                        if isinstance(inner, qm.Node):
                            yield f"{field.name}[{_short(key)}].{inner_key}", inner
                if isinstance(key, qm.Node):
                    yield f"{field.name} key", key
        elif isinstance(value, (tuple, list, frozenset)):
            for i, item in enumerate(value):
                if isinstance(item, qm.Node):
                    yield f"{field.name}[{i}]", item


def _label(node: qm.Node) -> str:
    name = _class_name(node)
    details = []
    for field in dataclasses.fields(node):
        value = getattr(node, field.name)
        if field.name == "schema" or isinstance(value, (qm.Node, Mapping)):
            continue
        if isinstance(value, (tuple, list, frozenset)):
            if any(isinstance(item, qm.Node) for item in value):
                continue
            value = ", ".join(
                sorted(str(getattr(item, "value", item)) for item in value)
            )
        details.append(f"{field.name}: {_short(value)}")
    return "\n".join([name, *details])


def _class_name(node: qm.Node) -> str:
    # `Function.Add`, `AggregateByPatient.Sum`: the namespace says what kind of node it is.
    return type(node).__qualname__


def _short(value, limit: int = 40) -> str:
    text = (
        getattr(value, "value", value)
        if not isinstance(value, (str, int, float))
        else value
    )
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _quote(text: str) -> str:
    escaped = str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'
