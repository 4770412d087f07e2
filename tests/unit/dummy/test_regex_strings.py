import random
import re

import pytest

from ehrql.dummy.regex_strings import UnsupportedRegex, random_matching_string


@pytest.mark.parametrize(
    "pattern",
    [
        r"E[0-9]{8}",
        r"[A-Z]{1,2}[0-9][0-9A-Z]? ?[0-9][A-Z]{2}",
        r"(alpha|beta)-\d+",
        r"[^0-9]{3}x*",
        r"\w+\.\w{2,3}",
        r"a.c",
        r"(ab)+\1?",
    ],
)
def test_generated_strings_match_in_full(pattern):
    rng = random.Random(2)
    for _ in range(40):
        assert re.fullmatch(pattern, random_matching_string(pattern, rng))


def test_generated_strings_vary():
    rng = random.Random(3)
    assert len({random_matching_string(r"[a-z]{6}", rng) for _ in range(10)}) > 5


def test_lookarounds_are_refused_clearly():
    with pytest.raises(UnsupportedRegex, match="not supported"):
        random_matching_string(r"(?=a)a", random.Random(0))
