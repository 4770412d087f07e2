"""Reading documentation out of live Python objects: docstrings and signatures.

Signatures are rendered by hand rather than with `str(inspect.signature(...))`
because that would show string annotations in quotes and sentinel defaults as
`<object object at 0x...>`, which changes on every run.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

#: Shown in place of a missing docstring, so gaps are visible in the pages.
NO_DOCSTRING = "*No description.*"


def docstring(obj: Any) -> str:
    """The cleaned docstring of `obj`, not inherited from a base class; "" if it has none."""
    doc = getattr(obj, "__doc__", None)
    if not isinstance(doc, str):
        return ""
    return inspect.cleandoc(doc)


def summary(text: str) -> str:
    """The first paragraph of a docstring, on one line."""
    first = text.strip().split("\n\n", 1)[0]
    return " ".join(first.split())


def format_default(value: Any) -> str:
    """A parameter's default as it would be written in a call."""
    if value is None or isinstance(value, (bool, int, float, str, tuple)):
        return repr(value)
    if isinstance(value, type) or callable(value):
        return getattr(value, "__name__", "...")
    # Sentinels such as `object()` have no stable repr: they only mean "optional".
    return "<optional>"


def format_annotation(annotation: Any) -> str:
    """An annotation as source text, whether or not it was stringified."""
    if isinstance(annotation, str):
        return annotation
    return inspect.formatannotation(annotation)


def signature(
    function: Callable,
    name: str | None = None,
    drop_self: bool = False,
    show_return: bool = True,
) -> str:
    """`name(parameters) -> return` for `function`, stable from run to run.

    `name` defaults to the function's own; pass "" for just the parameters.
    """
    sig = inspect.signature(function)
    parameters = list(sig.parameters.values())
    if drop_self and parameters:
        parameters = parameters[1:]
    parts = []
    seen_keyword_only_marker = False
    for index, parameter in enumerate(parameters):
        kind = parameter.kind
        if kind is parameter.KEYWORD_ONLY and not seen_keyword_only_marker:
            parts.append("*")
            seen_keyword_only_marker = True
        text = parameter.name
        if kind is parameter.VAR_POSITIONAL:
            text = "*" + text
            seen_keyword_only_marker = True
        elif kind is parameter.VAR_KEYWORD:
            text = "**" + text
        if parameter.annotation is not parameter.empty:
            text += f": {format_annotation(parameter.annotation)}"
            separator = " = "
        else:
            separator = "="
        if parameter.default is not parameter.empty:
            text += separator + format_default(parameter.default)
        parts.append(text)
        if kind is parameter.POSITIONAL_ONLY and (
            index + 1 == len(parameters)
            or parameters[index + 1].kind is not parameter.POSITIONAL_ONLY
        ):
            parts.append("/")
    result = f"{function.__name__ if name is None else name}({', '.join(parts)})"
    if show_return and sig.return_annotation is not sig.empty:
        result += f" -> {format_annotation(sig.return_annotation)}"
    return result


def is_documented_member(name: str, value: Any) -> bool:
    """True for a public method or property that belongs in the reference."""
    if name.startswith("_"):
        return False
    return inspect.isfunction(value) or isinstance(
        value, (property, staticmethod, classmethod)
    )


def member_function(value: Any) -> Callable:
    """The underlying function of a method, property, staticmethod or classmethod."""
    if isinstance(value, property):
        return value.fget
    if isinstance(value, (staticmethod, classmethod)):
        return value.__func__
    return value


def attribute_comment(module: Any, name: str) -> str:
    """The `#:` comment lines just above `name = ...` at the top level of `module`.

    Constants cannot carry a docstring, so this is how they are documented.
    """
    try:
        lines = inspect.getsource(module).splitlines()
    except (OSError, TypeError):
        return ""
    for index, line in enumerate(lines):
        if line.startswith(f"{name} =") or line.startswith(f"{name}:"):
            comments = []
            for previous in reversed(lines[:index]):
                if not previous.startswith("#:"):
                    break
                comments.append(previous[2:].strip())
            return " ".join(reversed(comments))
    return ""
