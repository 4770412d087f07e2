"""Rendering the documented methods and properties of a class."""

from __future__ import annotations

from ehrql.docs import introspect
from ehrql.docs import markdown as md


def own_members(cls: type) -> list[tuple[str, object]]:
    """The public methods and properties `cls` itself defines, in definition order."""
    return [
        (name, value)
        for name, value in vars(cls).items()
        if introspect.is_documented_member(name, value)
    ]


def member_title(name: str, value: object, owner: str = "") -> str:
    """How a member is written in its heading: `owner.name(args)` or `owner.name`."""
    prefix = f"{owner}." if owner else ""
    if isinstance(value, property):
        return md.code(f"{prefix}{name}")
    function = introspect.member_function(value)
    drop_self = not isinstance(value, staticmethod)
    return md.code(
        prefix + introspect.signature(function, name=name, drop_self=drop_self)
    )


def render_member(name: str, value: object, level: int, owner: str = "") -> str:
    """A heading with the member's signature, then its docstring."""
    function = introspect.member_function(value)
    kind = "*Property.*" if isinstance(value, property) else None
    return md.page(
        md.heading(level, member_title(name, value, owner)),
        kind,
        introspect.docstring(function) or introspect.NO_DOCSTRING,
    )


def render_class(cls: type, level: int, owner: str = "") -> str:
    """A section for `cls`: its docstring, then each of its own members."""
    bases = [
        b.__name__
        for b in cls.__bases__
        if b is not object and b.__module__.startswith("ehrql")
    ]
    inherits = None
    if bases:
        inherits = (
            "Also has everything " + " and ".join(md.code(b) for b in bases) + " has."
        )
    return md.page(
        md.heading(level, md.code(cls.__name__)),
        introspect.docstring(cls) or introspect.NO_DOCSTRING,
        inherits,
        *(
            render_member(name, value, level + 1, owner)
            for name, value in own_members(cls)
        ),
    )
