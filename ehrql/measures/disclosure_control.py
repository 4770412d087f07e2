"""Statistical disclosure control for measure counts.

Before measures leave a secure environment, small counts are hidden and the
rest made coarse, following OpenSAFELY's published rules: a count of 7 or
fewer becomes 0, and every count is then rounded to the nearest multiple of 5.
The ratio is recomputed from the controlled counts.
"""

from __future__ import annotations

SUPPRESSION_THRESHOLD = 7
ROUNDING_MULTIPLE = 5


def control_count(count: int) -> int:
    """A count after suppression of small values and rounding to a multiple of 5."""
    if count < 0:
        raise ValueError(f"counts cannot be negative, got {count}")
    if count <= SUPPRESSION_THRESHOLD:
        return 0
    # Integers never fall exactly halfway between multiples of 5, so plain
    # rounding of count / 5 is unambiguous.
    return ROUNDING_MULTIPLE * round(count / ROUNDING_MULTIPLE)


def ratio(numerator: int | None, denominator: int | None) -> float | None:
    """numerator / denominator, or None when the denominator is 0 or missing."""
    if not denominator or numerator is None:
        return None
    return numerator / denominator
