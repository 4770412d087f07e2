"""Comparing a test's expected values with an engine's, floats within rounding."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

#: Engines add floats in different orders, so results may differ in the last bits.
FLOAT_REL_TOL = 1e-9


def approx_floats(expected: Mapping) -> dict:
    """`expected` with each float compared approximately and everything else
    (nulls included, which `pytest.approx` refuses in some versions) exactly."""
    return {
        key: pytest.approx(value, rel=FLOAT_REL_TOL)
        if isinstance(value, float)
        else value
        for key, value in expected.items()
    }
