"""One reference page per table schema module (`ehrql.tables.core` and friends)."""

from __future__ import annotations

import importlib
import inspect
from types import ModuleType

from ehrql import query_language as ql
from ehrql.docs import introspect
from ehrql.docs import markdown as md
from ehrql.docs.type_names import researcher_type_name
from ehrql.query_model import nodes as qm

#: The schema modules that get a page, in the order the navigation shows them.
SCHEMA_MODULES = (
    "ehrql.tables.core",
    "ehrql.tables.tpp",
    "ehrql.tables.emis",
    "ehrql.tables.emisv2",
    "ehrql.tables.smoketest",
    "ehrql.tables.raw.core",
    "ehrql.tables.raw.tpp",
    "ehrql.tables.raw.emis",
)

_PACKAGE_PREFIX = "ehrql.tables."


def page_path(module_name: str) -> str:
    """Where a schema module's page goes: `ehrql.tables.raw.core` -> `schemas/raw/core.md`."""
    return (
        "schemas/" + module_name.removeprefix(_PACKAGE_PREFIX).replace(".", "/") + ".md"
    )


def import_schema_module(name: str) -> ModuleType | None:
    """The schema module called `name`, or None while it has not been written yet."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        # Only a missing module (or package) of its own is tolerated, not a
        # broken import inside it.
        if e.name == name or name.startswith(f"{e.name}."):
            return None
        raise


def is_table(value: object) -> bool:
    """True for a frame made by `@table` from a database table declaration."""
    return isinstance(value, ql.BaseFrame) and isinstance(
        value._qm_node, (qm.SelectTable, qm.SelectPatientTable)
    )


def module_tables(module: ModuleType) -> list[tuple[str, ql.BaseFrame]]:
    """The tables a module exports, in `__all__` order (else definition order)."""
    names = getattr(module, "__all__", None) or list(vars(module))
    return [
        (name, getattr(module, name))
        for name in names
        if is_table(getattr(module, name, None))
    ]


def table_helpers(frame: ql.BaseFrame) -> list[tuple[str, object]]:
    """The helper methods a table class declares, in definition order.

    Methods inherited from the language's own frame classes are documented
    once in the language reference, so only the schema's own are listed.
    """
    helpers: dict[str, object] = {}
    for klass in reversed(type(frame).__mro__):
        if klass is object or klass.__module__ == ql.__name__:
            continue
        for name, value in vars(klass).items():
            if introspect.is_documented_member(name, value):
                helpers[name] = value
    return list(helpers.items())


def row_description(frame: ql.BaseFrame) -> str:
    """Whether the table has one row per patient or many."""
    if isinstance(frame, ql.PatientFrame):
        return "one row per patient"
    return "many rows per patient"


def render_columns(frame: ql.BaseFrame) -> str:
    """The column table of one table: name, type, description, constraints."""
    schema = frame._qm_node.schema
    rows = []
    for name, column in schema.columns:
        constraints = "<br>".join(c.description for c in column.constraints)
        rows.append(
            (
                md.code(name),
                researcher_type_name(column.type),
                column.description or "",
                constraints,
            )
        )
    return md.table(("Column", "Type", "Description", "Constraints"), rows)


def render_helper(name: str, value: object) -> str:
    """One helper method: its signature as a heading, then its docstring."""
    function = introspect.member_function(value)
    if isinstance(value, property):
        title = md.code(name)
    else:
        title = md.code(introspect.signature(function, name=name, drop_self=True))
    return md.page(
        md.heading(4, title), introspect.docstring(function) or introspect.NO_DOCSTRING
    )


def render_table(module: ModuleType, name: str, frame: ql.BaseFrame) -> str:
    """The section documenting one table."""
    cls = type(frame)
    origin = None
    if cls.__module__ != module.__name__:
        origin = f"The same table as in {md.code(cls.__module__)}."
    helpers = table_helpers(frame)
    return md.page(
        md.heading(2, md.code(name)),
        f"*{row_description(frame).capitalize()}.*",
        origin,
        introspect.docstring(cls) or introspect.NO_DOCSTRING,
        md.heading(3, "Columns"),
        render_columns(frame),
        md.heading(3, "Methods") if helpers else None,
        *(render_helper(n, v) for n, v in helpers),
    )


def render_schema_page(module: ModuleType) -> str:
    """The whole reference page of one schema module."""
    tables = module_tables(module)
    contents = md.table(
        ("Table", "Rows", "Description"),
        [
            (
                md.code(name),
                row_description(frame),
                introspect.summary(introspect.docstring(type(frame))),
            )
            for name, frame in tables
        ],
    )
    return md.page(
        md.heading(1, md.code(module.__name__)),
        inspect.cleandoc(module.__doc__ or ""),
        f"Import tables with {md.code(f'from {module.__name__} import ...')}.",
        contents if tables else "*This module declares no tables yet.*",
        *(render_table(module, name, frame) for name, frame in tables),
    )


def schema_pages() -> dict[str, str]:
    """Page path (relative to the reference directory) -> content, per existing schema module."""
    pages = {}
    for name in SCHEMA_MODULES:
        module = import_schema_module(name)
        if module is not None:
            pages[page_path(name)] = render_schema_page(module)
    return pages
