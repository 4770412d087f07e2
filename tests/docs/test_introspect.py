from __future__ import annotations

import types

from ehrql.docs import introspect

_SENTINEL = object()


def sample(
    name: str, kind=str, default=_SENTINEL, *rest, flag: bool = False, **extra
) -> int:
    """First line.

    More detail.
    """


class Sample:
    """A class."""

    def method(self, x):
        """Does x."""

    @property
    def value(self):
        """The value."""

    def _private(self):
        pass


def test_signature_is_stable_and_readable():
    assert introspect.signature(sample) == (
        "sample(name: str, kind=str, default=<optional>, *rest, flag: bool = False, **extra) -> int"
    )


def test_signature_puts_the_keyword_only_marker_where_needed():
    def f(a, *, b=1):
        pass

    assert introspect.signature(f) == "f(a, *, b=1)"


def test_signature_drops_self_for_methods():
    assert introspect.signature(Sample.method, drop_self=True) == "method(x)"


def test_docstring_is_cleaned_and_summary_is_first_paragraph():
    assert introspect.docstring(sample) == "First line.\n\nMore detail."
    assert introspect.summary(introspect.docstring(sample)) == "First line."
    assert introspect.docstring(lambda: None) == ""


def test_documented_members_are_public_functions_and_properties():
    members = {
        n for n, v in vars(Sample).items() if introspect.is_documented_member(n, v)
    }
    assert members == {"method", "value"}
    assert introspect.member_function(vars(Sample)["value"]).__doc__ == "The value."


def test_attribute_comment_reads_the_comment_above_a_constant():
    import ehrql.measures.measures as module

    assert "interval a measure" in introspect.attribute_comment(module, "INTERVAL")
    assert introspect.attribute_comment(module, "no_such_name") == ""
    assert introspect.attribute_comment(types.ModuleType("empty"), "x") == ""


def test_signature_can_leave_out_the_name_and_the_return_annotation():
    assert introspect.signature(sample, name="", show_return=False).startswith(
        "(name: str,"
    )
    assert not introspect.signature(sample, show_return=False).endswith("-> int")
