"""Comparing result rows from two engines, allowing float rounding differences."""

from __future__ import annotations

import math

#: Engines may add floats in a different order or use a different but
#: correctly rounded algorithm (e.g. for a mean), so floats are compared with a
#: relative tolerance; tiny absolute differences around zero are also allowed.
REL_TOL = 1e-9
ABS_TOL = 1e-9


def values_match(expected, actual) -> bool:
    """True when two result values are the same, floats within tolerance.

    Types must match too (1 is not 1.0, True is not 1): an engine returning
    the wrong type is a bug even when the value compares equal.
    """
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, float) and isinstance(actual, float):
        return math.isclose(expected, actual, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    return type(expected) is type(actual) and expected == actual


def rows_match(expected: list[tuple], actual: list[tuple]) -> bool:
    """True when two engines' result rows agree value by value."""
    return len(expected) == len(actual) and all(
        len(e) == len(a) and all(values_match(x, y) for x, y in zip(e, a))
        for e, a in zip(expected, actual)
    )


def describe_difference(expected: list[tuple], actual: list[tuple]) -> str:
    """The first rows that differ, for an assertion message."""
    if len(expected) != len(actual):
        return (
            f"{len(expected)} rows expected, got {len(actual)}:\n"
            f"  expected patients {[r[0] for r in expected]}\n"
            f"  actual patients   {[r[0] for r in actual]}"
        )
    for e, a in zip(expected, actual):
        if not (len(e) == len(a) and all(values_match(x, y) for x, y in zip(e, a))):
            return f"row differs:\n  expected {e!r}\n  actual   {a!r}"
    return "no difference"
