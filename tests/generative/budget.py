"""How many examples each generative test tries under the active profile."""

from __future__ import annotations

from hypothesis import settings


def example_budget(fast: int) -> int:
    """`fast` examples normally; the profile's own count under the `long` profile.

    Each generative test states its share of the quick CI budget here, so the
    quick run stays short however the tests are split, while the long profile
    (see tests/conftest.py) gives every test the count it asks for.
    """
    if settings.get_current_profile_name() == "long":
        return settings().max_examples
    return fast
