"""How much work each generative test does under the active hypothesis profile."""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, settings


def example_budget(fast: int) -> int:
    """`fast` examples normally; the profile's own count under the `long` profile.

    Each generative test states its share of the quick budget here, so the
    quick run stays short however the tests are split, while the long profile
    (see tests/conftest.py) gives every test the count it asks for.
    """
    if settings.get_current_profile_name() == "long":
        return settings().max_examples
    return fast


def generative_settings(fast_examples: int) -> settings:
    """Settings for one generative test with a quick budget of `fast_examples`."""
    return settings(
        max_examples=example_budget(fast_examples),
        # Generating nested queries is slowish and the CPUs are shared, so the
        # too-slow check would fail at random; the budget bounds the run time.
        suppress_health_check=[HealthCheck.too_slow],
        # The explain phase reruns a failure many times to annotate it, which
        # takes minutes with a SQL engine; the shrunk example says enough.
        phases=[phase for phase in Phase if phase is not Phase.explain],
    )
