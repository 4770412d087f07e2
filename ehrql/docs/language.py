"""The language reference: what `ehrql` exports, and the frame classes.

Series are on their own page (see `ehrql.docs.series`) because there are a
dozen series classes sharing a few families of methods.
"""

from __future__ import annotations

import importlib
import inspect

import ehrql
import ehrql.tables
from ehrql import codelists
from ehrql import query_language as ql
from ehrql.docs import introspect
from ehrql.docs import markdown as md
from ehrql.docs.members import render_class
from ehrql.measures import measures
from ehrql.query_model.table_schema import Constraint

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


def constraint_kinds() -> list[tuple[str, type]]:
    """(name, class) of each constraint a column can declare, as `Constraint.<name>`."""
    return [
        (name, value)
        for name, value in vars(Constraint).items()
        if inspect.isclass(value) and issubclass(value, Constraint)
    ]


def _constructor_signature(cls: type) -> str:
    return introspect.signature(
        cls.__init__, name="", drop_self=True, show_return=False
    )


def declaring_tables_section() -> str:
    """How to declare a table of one's own: `ehrql.tables` and the constraint kinds."""
    blocks = []
    for name in ehrql.tables.__all__:
        value = getattr(ehrql.tables, name)
        if name in ehrql.__all__:
            # Already documented with the other functions.
            continue
        if name == "Constraint":
            kinds = [
                f"- {md.code(f'Constraint.{kind}' + _constructor_signature(cls))}: "
                f"{introspect.summary(introspect.docstring(cls))}"
                for kind, cls in constraint_kinds()
            ]
            blocks.append(
                md.page(
                    md.heading(3, md.code(name)),
                    introspect.docstring(value),
                    "\n".join(kinds),
                )
            )
        elif inspect.isclass(value) and issubclass(value, ql.BaseFrame):
            blocks.append(
                md.page(
                    md.heading(3, md.code(name)),
                    f"See [frames](frames.md#{name.lower()}).",
                )
            )
        elif inspect.isclass(value):
            blocks.append(
                md.page(
                    md.heading(
                        3,
                        md.code(
                            introspect.signature(
                                value.__init__,
                                name=name,
                                drop_self=True,
                                show_return=False,
                            )
                        ),
                    ),
                    introspect.docstring(value) or introspect.NO_DOCSTRING,
                )
            )
        elif callable(value):
            blocks.append(render_export(name, value))
    return md.page(
        md.heading(2, "Declaring tables"),
        "To declare a table of your own, for example for data held in a file, "
        "import these from " + md.code("ehrql.tables") + ".",
        *blocks,
    )


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
        + " and takes its tables from a schema module, such as "
        "[the core schema](schemas/core.md). Tables are [frames](frames.md) and "
        "their columns are [series](series.md), each with a page of its own.",
        md.heading(2, "Functions and constants"),
        *(render_export(name, getattr(ehrql, name)) for name in exports),
        md.heading(2, "Classes"),
        *(render_class(cls, 3) for cls in documented_classes()),
        declaring_tables_section(),
    )


def frames_page() -> str:
    """The page documenting frames: tables and what filtering or picking them gives."""
    return md.page(
        md.heading(1, "Frames"),
        "A table is a frame, and so is the result of filtering or sorting one. "
        "Each column of a frame is a series: see the series page.",
        *(render_class(cls, 2) for cls in FRAME_CLASSES),
    )
