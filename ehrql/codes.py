"""Clinical coding systems.

Each coding system is a small immutable value class. A code is checked against
its system's format when it is made, so a mistyped code in a definition fails at
the user's line rather than silently matching nothing.
"""

from __future__ import annotations

import dataclasses
import re
import sys
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

__all__ = [
    "BaseCode",
    "BNFCode",
    "ICD10MultiCodeString",
    "MultiCodeString",
    "OPCS4MultiCodeString",
    "CTV3Code",
    "DMDCode",
    "ICD10Code",
    "OPCS4Code",
    "ReadV2Code",
    "SNOMEDCTCode",
    "CodelistError",
    "CodeWarning",
    "warn_about_suspicious_codes",
]


class CodelistError(ValueError):
    """A code, or a codelist, that is not valid for its coding system."""


class CodeWarning(UserWarning):
    """A code that is accepted, as public ehrQL accepts it, but is probably mistyped."""


@dataclasses.dataclass(frozen=True, order=True)
class BaseCode:
    """A code from one clinical coding system; subclasses name the system."""

    value: str

    #: Regular expression that every code of this system must match in full.
    regex: ClassVar[re.Pattern]
    #: Short identifier of the system, as used in codelist files and docs.
    system_id: ClassVar[str]

    def __post_init__(self):
        if not isinstance(self.value, str):
            raise CodelistError(
                f"{type(self).__name__} must be made from a string, not {self.value!r}"
            )
        if not self.regex.fullmatch(self.value):
            raise CodelistError(f"{self.value!r} is not a valid {self.system_id} code")
        extra = self.extra_check(self.value)
        if extra:
            raise CodelistError(
                f"{self.value!r} is not a valid {self.system_id} code: {extra}"
            )

    @classmethod
    def extra_check(cls, value: str) -> str | None:
        """Return why `value` is invalid beyond its format, or None when it is valid."""
        return None

    def _to_primitive_type(self) -> str:
        """The code as a plain string.

        Underscored, but public ehrQL has it and real studies call it to check a
        code's format (`ICD10Code(code)._to_primitive_type()`), so it is kept.
        """
        return self.value

    @classmethod
    def doubt(cls, value: str) -> str | None:
        """Why a valid `value` is probably mistyped (a wrong check digit), or None.

        Public ehrQL accepts such codes, so they are accepted here too; the
        language warns about them where a definition uses them.
        """
        return None

    def __str__(self):
        return self.value

    # Public ehrQL's codes have these two, and real studies call them (to turn
    # a checked code back into its string), so they are kept by name.
    @classmethod
    def _primitive_type(cls) -> type:
        return str

    def _to_primitive_type(self) -> str:
        return self.value

    @classmethod
    def is_valid(cls, value: str) -> bool:
        """True when `value` is a well-formed code of this system."""
        try:
            cls(value)
        except CodelistError:
            return False
        return True


# The Verhoeff scheme, used by SNOMED CT and dm+d identifiers for their final
# check digit. The tables are the dihedral group D5 and its permutation.
_VERHOEFF_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_VERHOEFF_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)


def verhoeff_valid(digits: str) -> bool:
    """True when the last digit of `digits` is its correct Verhoeff check digit."""
    check = 0
    for position, digit in enumerate(reversed(digits)):
        check = _VERHOEFF_D[check][_VERHOEFF_P[position % 8][int(digit)]]
    return check == 0


def _verhoeff_problem(value: str) -> str | None:
    return None if verhoeff_valid(value) else "its check digit is wrong"


class SNOMEDCTCode(BaseCode):
    """A SNOMED CT concept identifier: 6 to 18 digits, no leading zero.

    Its last digit is a Verhoeff check digit; a wrong one gives a warning, not
    an error, as public ehrQL does not check it.
    """

    regex = re.compile(r"[1-9][0-9]{5,17}")
    system_id = "snomedct"
    doubt = classmethod(lambda cls, value: _verhoeff_problem(value))


class DMDCode(BaseCode):
    """A dm+d (Dictionary of Medicines and Devices) identifier: a SNOMED-style number.

    A wrong Verhoeff check digit gives a warning, not an error, as in public ehrQL.
    """

    regex = re.compile(r"[1-9][0-9]{5,17}")
    system_id = "dmd"
    doubt = classmethod(lambda cls, value: _verhoeff_problem(value))


def _five_characters(system: str, value: str) -> str | None:
    return None if len(value) == 5 else f"{system} are five characters long"


class CTV3Code(BaseCode):
    """A Clinical Terms Version 3 (Read v3) code: five characters of letters, digits and dots."""

    # Dots may only pad the end of a code ("Xa1.." is valid, "X.a1." is not).
    regex = re.compile(r"[0-9A-Za-z]{1,5}|[0-9A-Za-z]{1,4}\.{1,4}(?<=^.{5})|\.{5}")
    system_id = "ctv3"
    extra_check = classmethod(lambda cls, value: _five_characters("CTV3 codes", value))


class ReadV2Code(BaseCode):
    """A Read version 2 code: five characters, dot-padded at the end."""

    regex = re.compile(r"[0-9A-Za-z]{1,5}\.{0,4}")
    system_id = "readv2"
    extra_check = classmethod(
        lambda cls, value: _five_characters("Read v2 codes", value)
    )


class ICD10Code(BaseCode):
    """An ICD-10 code: a letter, two digits, and optionally up to two more characters, no dot."""

    regex = re.compile(r"[A-Z][0-9]{2}[0-9A-Z]{0,2}")
    system_id = "icd10"


class OPCS4Code(BaseCode):
    """An OPCS-4 procedure code: a chapter letter (any but I) and two or three digits, no dot."""

    # OPCS-4 has no chapter I.
    regex = re.compile(r"[A-HJ-Z][0-9]{2,3}")
    system_id = "opcs4"


class BNFCode(BaseCode):
    """A BNF code: a chapter/section prefix of digits, or a full 15-character product code."""

    # Chapter, section and paragraph are digits; what follows is alphanumeric.
    regex = re.compile(r"[0-9]{2}(?:[0-9]{2}(?:[0-9]{2}[0-9A-Z]{0,9})?)?")
    system_id = "bnf"


class MultiCodeString(BaseCode):
    """Several codes of one system in one string, as hospital records list diagnoses.

    The string is kept as the source gave it (e.g. "||E119 ,J849 ,K869"); it is
    searched with `contains()` and `contains_any_of()`, which look for a code
    or a code prefix anywhere in it.
    """

    regex = re.compile(r".*", re.DOTALL)
    #: The system of the codes the string holds.
    single_code_class: ClassVar[type[BaseCode]]


class ICD10MultiCodeString(MultiCodeString):
    """A string of ICD-10 codes, such as all the diagnoses of a hospital spell."""

    system_id = "icd10_multi"
    single_code_class = ICD10Code


class OPCS4MultiCodeString(MultiCodeString):
    """A string of OPCS-4 codes, such as all the procedures of a hospital spell."""

    system_id = "opcs4_multi"
    single_code_class = OPCS4Code


#: Every coding system, by its identifier.
CODE_SYSTEMS: dict[str, type[BaseCode]] = {
    cls.system_id: cls
    for cls in (
        SNOMEDCTCode,
        DMDCode,
        CTV3Code,
        ReadV2Code,
        ICD10Code,
        OPCS4Code,
        BNFCode,
    )
}

#: Every code type, including multi-code strings, by its identifier.
ALL_CODE_TYPES: dict[str, type[BaseCode]] = {
    **CODE_SYSTEMS,
    ICD10MultiCodeString.system_id: ICD10MultiCodeString,
    OPCS4MultiCodeString.system_id: OPCS4MultiCodeString,
}


_EHRQL_DIRECTORY = Path(__file__).resolve().parent

#: How many doubtful codes one warning names before it just counts the rest.
_NAMED_IN_WARNING = 5


def warn_about_suspicious_codes(
    codes: Iterable[BaseCode], origins: dict[str, str] | None = None
) -> None:
    """Warn, once for all of them, about codes that are valid but probably mistyped.

    The warning points at the first line of the caller outside ehrql (the
    definition's own line); `origins` says where each code was read, if known.
    """
    codes = sorted(codes, key=lambda c: c.value)
    origins = origins or {}
    doubts = []
    systems = []
    for code in codes:
        reason = code.doubt(code.value)
        if reason:
            systems.append(code.system_id)
            where = f" ({origins[code.value]})" if code.value in origins else ""
            doubts.append(f"{code.value!r}{where}: {reason}")
    if not doubts:
        return
    named = "; ".join(doubts[:_NAMED_IN_WARNING])
    more = (
        f"; and {len(doubts) - _NAMED_IN_WARNING} more"
        if len(doubts) > _NAMED_IN_WARNING
        else ""
    )
    system = "/".join(sorted(set(systems)))
    message = f"{len(doubts)} {system} code(s) are probably mistyped: {named}{more}"
    frame = sys._getframe(1)
    while frame.f_back is not None and _is_ehrql_frame(frame):
        frame = frame.f_back
    warnings.warn_explicit(
        message,
        CodeWarning,
        frame.f_code.co_filename,
        frame.f_lineno,
        module=frame.f_globals.get("__name__", "definition"),
        module_globals=frame.f_globals,
    )


def _is_ehrql_frame(frame) -> bool:
    try:
        Path(frame.f_code.co_filename).resolve().relative_to(_EHRQL_DIRECTORY)
    except ValueError:
        return False
    return True


def __getattr__(name):
    # `ehrql.codes.codelist_from_csv` is where public ehrQL defines it; the
    # reading lives in `ehrql.codelists`, which imports this module, so it is
    # looked up lazily here rather than imported in a cycle.
    if name in ("codelist_from_csv", "codelist_from_csv_lines"):
        from ehrql import codelists

        return getattr(codelists, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
