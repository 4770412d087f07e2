"""The series reference: a dozen classes, documented once per family of methods.

`ehrql.query_language` builds each concrete series class (`IntPatientSeries`,
`DateEventSeries`, ...) from a few mixins. Documenting every class would
repeat each method up to twelve times, so this page has one section per class
that defines methods, listing the concrete classes that have them.
"""

from __future__ import annotations

import inspect

from ehrql import query_language as ql
from ehrql.docs import introspect
from ehrql.docs import markdown as md
from ehrql.docs.members import own_members, render_member

# Operators a series supports, as researchers write them. Reflected variants
# (`__radd__` and so on) are left out: they mean the same as the plain ones.
OPERATORS = {
    "__eq__": "a == b",
    "__ne__": "a != b",
    "__lt__": "a < b",
    "__le__": "a <= b",
    "__gt__": "a > b",
    "__ge__": "a >= b",
    "__add__": "a + b",
    "__sub__": "a - b",
    "__mul__": "a * b",
    "__truediv__": "a / b",
    "__floordiv__": "a // b",
    "__neg__": "-a",
    "__and__": "a & b",
    "__or__": "a | b",
    "__invert__": "~a",
}


def concrete_series_classes() -> list[type]:
    """The series classes a definition can hold, in the order the language declares them."""
    bases = (ql.PatientSeries, ql.EventSeries)
    found = []
    for name in ql.__all__:
        value = getattr(ql, name)
        if inspect.isclass(value) and issubclass(value, bases) and value not in bases:
            found.append(value)
    return found


def defining_classes(concrete: list[type]) -> list[type]:
    """Every language class that defines methods or operators for some series class.

    Ordered as they appear in the source, so general families come before
    specific ones as their author wrote them.
    """
    found = {
        klass
        for cls in concrete
        for klass in cls.__mro__
        if klass.__module__ == ql.__name__
        and klass not in concrete
        and klass is not object
    }
    documented = [k for k in found if own_members(k) or operators_of(k)]
    return sorted(documented, key=lambda k: inspect.getsourcelines(k)[1])


def operators_of(cls: type) -> list[tuple[str, str]]:
    """(symbol form, docstring) for each operator `cls` itself defines."""
    return [
        (form, introspect.docstring(vars(cls)[dunder]))
        for dunder, form in OPERATORS.items()
        if dunder in vars(cls)
    ]


def one_value_per(cls: type) -> str:
    """ "patient" or "event row"."""
    return "patient" if issubclass(cls, ql.PatientSeries) else "event row"


def render_operators(cls: type) -> str | None:
    """A bullet list of the operators `cls` defines, with what each means when documented."""
    operators = operators_of(cls)
    if not operators:
        return None
    items = [
        f"- {md.code(form)}" + (f": {introspect.summary(doc)}" if doc else "")
        for form, doc in operators
    ]
    return "Operators:\n\n" + "\n".join(items)


def split_title(doc: str, fallback: str) -> tuple[str, str]:
    """A docstring's first sentence, as a heading, and the rest of it."""
    text = " ".join(doc.split())
    if not text:
        return fallback, ""
    first, _, rest = text.partition(". ")
    return first.rstrip("."), rest


def render_family(cls: type, concrete: list[type]) -> str:
    """The section for one defining class: what it is, where it applies, its members."""
    title, rest = split_title(introspect.docstring(cls), fallback=cls.__name__)
    applies = [c for c in concrete if issubclass(c, cls)]
    return md.page(
        md.heading(2, title),
        rest,
        "Applies to: " + ", ".join(md.code(c.__name__) for c in applies) + ".",
        render_operators(cls),
        *(render_member(name, value, 3) for name, value in own_members(cls)),
    )


def series_page() -> str:
    """The page documenting every series class, one section per family of methods."""
    concrete = concrete_series_classes()
    overview = md.table(
        ("Class", "One value per", "Description"),
        [
            (md.code(c.__name__), one_value_per(c), introspect.docstring(c))
            for c in concrete
        ],
    )
    return md.page(
        md.heading(1, "Series"),
        "A column of a table is a series, and so is anything computed from one. "
        "Which operations a series has depends on the type of its values and on "
        "whether it has one value per patient or one per row of an event frame. "
        "Constants (numbers, strings, and dates written as 'YYYY-MM-DD') can be "
        "used wherever a series of the same type can.",
        overview,
        *(render_family(cls, concrete) for cls in defining_classes(concrete)),
    )
