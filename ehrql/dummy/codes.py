"""Made-up clinical codes that are valid in their coding system.

Dummy data needs some codes from outside the codelists a definition uses, so
that `is_in()` is sometimes false. They must still pass each system's format
check, or the tables would not load.
"""

from __future__ import annotations

import random
import string

from ehrql.codes import (
    _VERHOEFF_D,
    _VERHOEFF_P,
    BaseCode,
    BNFCode,
    CTV3Code,
    DMDCode,
    ICD10Code,
    OPCS4Code,
    ReadV2Code,
    SNOMEDCTCode,
)

_ALNUM = string.ascii_uppercase + string.digits


def verhoeff_check_digit(digits: str) -> str:
    """The digit that, appended to `digits`, makes a valid Verhoeff number."""
    check = 0
    # The check digit will sit at position 0, so the payload starts at position 1.
    for position, digit in enumerate(reversed(digits), start=1):
        check = _VERHOEFF_D[check][_VERHOEFF_P[position % 8][int(digit)]]
    inverse = [0, 4, 3, 2, 1, 5, 6, 7, 8, 9]
    return str(inverse[check])


def _snomed_like(rng: random.Random) -> str:
    # Real concept ids are mostly 6 to 9 digits before the check digit.
    length = rng.randint(6, 9)
    payload = str(rng.randint(1, 9)) + "".join(
        rng.choice(string.digits) for _ in range(length - 1)
    )
    return payload + verhoeff_check_digit(payload)


def _ctv3(rng: random.Random) -> str:
    return "".join(rng.choice(_ALNUM) for _ in range(5))


def _readv2(rng: random.Random) -> str:
    stem = "".join(rng.choice(_ALNUM) for _ in range(rng.randint(3, 5)))
    return stem.ljust(5, ".")


def _icd10(rng: random.Random) -> str:
    extra = "".join(rng.choice(string.digits) for _ in range(rng.randint(0, 1)))
    return rng.choice(string.ascii_uppercase) + f"{rng.randint(0, 99):02d}" + extra


def _opcs4(rng: random.Random) -> str:
    return rng.choice(string.ascii_uppercase) + f"{rng.randint(0, 999):03d}"


def _bnf(rng: random.Random) -> str:
    chapters = (
        f"{rng.randint(1, 15):02d}{rng.randint(1, 12):02d}{rng.randint(1, 9):02d}"
    )
    return chapters + "".join(rng.choice(_ALNUM) for _ in range(9))


_MAKERS = {
    SNOMEDCTCode: _snomed_like,
    DMDCode: _snomed_like,
    CTV3Code: _ctv3,
    ReadV2Code: _readv2,
    ICD10Code: _icd10,
    OPCS4Code: _opcs4,
    BNFCode: _bnf,
}


def random_code(code_class: type[BaseCode], rng: random.Random) -> BaseCode:
    """One random code of `code_class` that passes that system's validation."""
    try:
        maker = _MAKERS[code_class]
    except KeyError:
        raise ValueError(f"cannot make dummy codes for {code_class.__name__}") from None
    # Every maker produces valid codes by construction; the retry only guards
    # against systems whose rules are stricter than their maker knows.
    for _ in range(100):
        value = maker(rng)
        if code_class.is_valid(value) and not code_class.doubt(value):
            return code_class(value)
    raise ValueError(f"could not make a valid {code_class.system_id} code")


def random_codes(
    code_class: type[BaseCode], count: int, rng: random.Random
) -> tuple[BaseCode, ...]:
    """`count` distinct random codes of `code_class`, in a stable order."""
    codes: dict[BaseCode, None] = {}
    while len(codes) < count:
        codes[random_code(code_class, rng)] = None
    return tuple(codes)
