"""Worked examples taken from the spec tests, without running them.

Each spec module (`tests/spec/<topic>/test_*.py`) is imported for its `title`
and `table_data`, and its source is parsed with `ast` to find every
`spec_test(table_data, <expression>, {patient: expected})` call: the
expression is shown as written, and the expected values as a table.
"""

from __future__ import annotations

import ast
import datetime
import importlib
import inspect
import textwrap
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from ehrql.docs import markdown as md
from ehrql.query_model import nodes as qm

#: The fixture whose calls are the examples.
SPEC_FUNCTION = "spec_test"


@dataclass(frozen=True)
class Example:
    """One `spec_test(...)` call: what it evaluates and what it expects."""

    description: str
    tables_name: str | None
    expression: str
    population: str | None
    expected: tuple[tuple[str, str], ...] | None
    expected_source: str


def spec_module_names(spec_root: Path, import_root: Path) -> list[str]:
    """Dotted names of the spec modules under `spec_root`, sorted by path."""
    paths = sorted(spec_root.rglob("test_*.py"))
    return [".".join(p.relative_to(import_root).with_suffix("").parts) for p in paths]


def segment(source: str, node: ast.AST) -> str:
    """The source text of `node`, dedented when it spans several lines."""
    text = ast.get_source_segment(source, node, padded=True) or ""
    return textwrap.dedent(text).strip()


def display_value(source: str, node: ast.AST) -> str:
    """An expected value written as the input tables write values.

    Booleans are T and F, strings bare, dates ISO; null is spelt out because
    an empty output cell would be easy to miss.
    """
    if isinstance(node, ast.Call) and _called_name(node) in ("date", "datetime.date"):
        try:
            args = [ast.literal_eval(a) for a in node.args]
            return datetime.date(*args).isoformat()
        except (ValueError, TypeError):
            return segment(source, node)
    try:
        value = ast.literal_eval(node)
    except ValueError:
        return segment(source, node)
    if value is None:
        return "*null*"
    if isinstance(value, bool):
        return "T" if value else "F"
    return str(value)


def _called_name(call: ast.Call) -> str:
    return ast.unparse(call.func)


def parse_call(source: str, call: ast.Call, description: str) -> Example | None:
    """The example a `spec_test(...)` call gives, or None if it has too few arguments."""
    if len(call.args) < 3:
        return None
    tables, expression, expected = call.args[:3]
    population = next((k.value for k in call.keywords if k.arg == "population"), None)
    rows = None
    if isinstance(expected, ast.Dict) and all(k is not None for k in expected.keys):
        rows = tuple(
            (display_value(source, k), display_value(source, v))
            for k, v in zip(expected.keys, expected.values)
        )
    return Example(
        description=description,
        tables_name=tables.id if isinstance(tables, ast.Name) else None,
        expression=segment(source, expression),
        population=segment(source, population) if population is not None else None,
        expected=rows,
        expected_source=segment(source, expected),
    )


def describe_test(function: ast.FunctionDef) -> str:
    """A test's docstring's first line, or its name in words."""
    doc = ast.get_docstring(function)
    if doc:
        return " ".join(doc.split("\n\n")[0].split())
    name = function.name.removeprefix("test_").replace("_", " ")
    return name[:1].upper() + name[1:]


def module_examples(source: str) -> list[Example]:
    """Every spec_test call in the test functions of a module's source, in source order."""
    examples = []
    for function in ast.parse(source).body:
        if not isinstance(function, ast.FunctionDef) or not function.name.startswith(
            "test"
        ):
            continue
        description = describe_test(function)
        for node in ast.walk(function):
            if (
                isinstance(node, ast.Call)
                and _called_name(node).split(".")[-1] == SPEC_FUNCTION
            ):
                example = parse_call(source, node, description)
                if example is not None:
                    examples.append(example)
    return examples


def parse_text_table(text: str) -> tuple[list[str], list[list[str]]]:
    """Headers and cells of a spec text table; the unnamed first column is patient_id."""
    lines = [line for line in text.strip("\n").splitlines() if line.strip()]
    if len(lines) < 2:
        return [], []
    header, _rule, *body = lines
    headers = [h.strip() for h in header.split("|")]
    headers[0] = headers[0] or "patient_id"
    rows = []
    for line in body:
        cells = [c.strip() for c in line.split("|")]
        # Short rows leave trailing cells empty, which means null.
        rows.append(cells + [""] * (len(headers) - len(cells)))
    return headers, rows


def frame_label(frame: object) -> str:
    """`e`, many rows per patient: how an input table is introduced."""
    node = getattr(frame, "_qm_node", None)
    if node is None:
        return md.code(str(frame))
    name = getattr(qm.root_table(node), "name", "table")
    rows = "many rows" if isinstance(node, qm.ManyRowsPerPatientFrame) else "one row"
    return f"Table {md.code(name)} ({rows} per patient):"


def render_tables(table_data: object) -> str:
    """The input tables, each as a Markdown table."""
    if not isinstance(table_data, dict):
        return "*The input tables are built inside the test.*"
    blocks = []
    for frame, text in table_data.items():
        headers, rows = parse_text_table(text)
        blocks.append(md.page(frame_label(frame), md.table(headers, rows)))
    return md.page(*blocks)


def render_example(
    example: Example, module: ModuleType, shown_tables: str | None
) -> str:
    """One example: its description, inputs if they differ from the module's, expression, result."""
    inputs = None
    if example.tables_name != shown_tables:
        inputs = render_tables(getattr(module, example.tables_name or "", None))
    if example.expected is not None:
        result = md.table(("patient_id", "result"), example.expected)
    else:
        result = md.code_block(example.expected_source, "python")
    population = None
    if example.population:
        population = "Population: " + md.code(example.population)
    return md.page(
        md.heading(3, example.description),
        inputs,
        md.code_block(example.expression, "python"),
        population,
        result,
    )


def render_module(module: ModuleType, source_path: str) -> str:
    """The section for one spec module: title, shared inputs, then each example."""
    source = inspect.getsource(module)
    examples = module_examples(source)
    title = getattr(module, "title", None) or module.__name__.rsplit(".", 1)[-1]
    shared = "table_data" if hasattr(module, "table_data") else None
    return md.page(
        md.heading(2, title),
        f"*From {md.code(source_path)}.*",
        render_tables(module.table_data) if shared else None,
        *(render_example(e, module, shared) for e in examples),
    )


def examples_page(spec_root: Path, import_root: Path) -> str:
    """The page of worked examples from every spec module under `spec_root`."""
    intro = (
        "Each example below is a spec test: the same small tables and expected "
        "results check every query engine. An empty input cell is null; "
        "booleans are written T and F. The population is every patient in the "
        "input tables unless the example gives one."
    )
    names = spec_module_names(spec_root, import_root) if spec_root.is_dir() else []
    if not names:
        return md.page(md.heading(1, "Examples"), intro, "*No spec tests were found.*")
    sections = []
    for name in names:
        module = importlib.import_module(name)
        path = Path(*name.split(".")).with_suffix(".py").as_posix()
        sections.append(render_module(module, path))
    return md.page(md.heading(1, "Examples"), intro, *sections)
