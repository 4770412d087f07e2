import random

import pytest

from ehrql.codes import CODE_SYSTEMS, SNOMEDCTCode, verhoeff_valid
from ehrql.dummy.codes import random_code, random_codes, verhoeff_check_digit


@pytest.mark.parametrize(
    "payload,expected",
    [
        # Worked examples of the Verhoeff scheme: 236 -> 3, 12345 -> 1.
        ("236", "3"),
        ("12345", "1"),
        # A real SNOMED CT concept id, 22298006 (myocardial infarction), split.
        ("2229800", "6"),
    ],
)
def test_verhoeff_check_digit_known_values(payload, expected):
    assert verhoeff_check_digit(payload) == expected


def test_verhoeff_check_digit_always_validates():
    rng = random.Random(4)
    for _ in range(500):
        payload = str(rng.randint(1, 10**12))
        assert verhoeff_valid(payload + verhoeff_check_digit(payload))
        wrong = str((int(verhoeff_check_digit(payload)) + 1) % 10)
        assert not verhoeff_valid(payload + wrong)


@pytest.mark.parametrize("system", sorted(CODE_SYSTEMS))
def test_random_codes_are_valid_distinct_and_of_the_class(system):
    code_class = CODE_SYSTEMS[system]
    codes = random_codes(code_class, 30, random.Random(1))
    assert len(set(codes)) == 30
    assert all(type(c) is code_class and code_class.is_valid(c.value) for c in codes)


def test_random_codes_are_deterministic_for_a_seed():
    assert random_codes(SNOMEDCTCode, 5, random.Random(9)) == random_codes(
        SNOMEDCTCode, 5, random.Random(9)
    )


def test_unknown_code_class_is_refused():
    class Unheard(SNOMEDCTCode):
        system_id = "unheard"

    with pytest.raises(ValueError, match="Unheard"):
        random_code(Unheard, random.Random(0))
