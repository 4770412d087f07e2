"""The language reference: what `ehrql` exports, and the frame classes.

Series are on their own page (see `ehrql.docs.series`) because there are a
dozen series classes sharing a few families of methods.
"""

from __future__ import annotations

import importlib
import inspect

import ehrql
from ehrql import codelists
from ehrql import query_language as ql
from ehrql.docs import introspect
from ehrql.docs import markdown as md
from ehrql.docs.members import render_class
from ehrql.measures import measures

#: Classes a definition meets without naming them: what the exported functions return.
RETURNED_CLASSES = (
    ql.Dataset,
    measures.Measures,
    ql.Duration,
    ql.DateDifference,
    ql.When,
    ql.WhenThen,
    codelists.Codelist,
    codelists.CategorisedCodelist,
)

#: The frame classes, from the most general to the most specific.
FRAME_CLASSES = (ql.BaseFrame, ql.PatientFrame, ql.EventFrame, ql.SortedEventFrame)


def constant_description(name: str, value: object) -> str:
    """The `#:` comment documenting a constant, looked up where its type is defined."""
    for module_name in ("ehrql", type(value).__module__):
        module = importlib.import_module(module_name)
        comment = introspect.attribute_comment(module, name)
        if comment:
            return comment
    return introspect.NO_DOCSTRING


def render_export(name: str, value: object) -> str:
    """One name exported by `ehrql`: a function's signature, or a constant."""
    if callable(value):
        return md.page(
            md.heading(3, md.code(introspect.signature(value, name=name))),
            introspect.docstring(value) or introspect.NO_DOCSTRING,
        )
    return md.page(md.heading(3, md.code(name)), constant_description(name, value))


def documented_classes() -> tuple[type, ...]:
    """`RETURNED_CLASSES`, then any class `ehrql` exports that is not among them."""
    exported = [getattr(ehrql, name) for name in sorted(ehrql.__all__)]
    extra = [v for v in exported if inspect.isclass(v) and v not in RETURNED_CLASSES]
    return (*RETURNED_CLASSES, *extra)


def language_page() -> str:
    """The page documenting every name `ehrql` exports and the classes they return."""
    exports = [
        name
        for name in sorted(ehrql.__all__, key=str.lower)
        if not inspect.isclass(getattr(ehrql, name))
    ]
    return md.page(
        md.heading(1, "Language reference"),
        inspect.cleandoc(ehrql.__doc__ or ""),
        "A dataset definition starts with "
        + md.code("from ehrql import ...")
        + " and with tables from a schema module (see the schema pages). "
        "Frames and series, which tables and columns are, have pages of their own.",
        md.heading(2, "Functions and constants"),
        *(render_export(name, getattr(ehrql, name)) for name in exports),
        md.heading(2, "Classes"),
        *(render_class(cls, 3) for cls in documented_classes()),
    )


def frames_page() -> str:
    """The page documenting frames: tables and what filtering or picking them gives."""
    return md.page(
        md.heading(1, "Frames"),
        "A table is a frame, and so is the result of filtering or sorting one. "
        "Each column of a frame is a series: see the series page.",
        *(render_class(cls, 2) for cls in FRAME_CLASSES),
    )
