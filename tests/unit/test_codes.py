"""Unit tests for the coding systems: which codes each accepts, and the Verhoeff check."""

import pytest

from ehrql.codes import (
    CODE_SYSTEMS,
    BaseCode,
    BNFCode,
    CodelistError,
    CodeWarning,
    CTV3Code,
    DMDCode,
    ICD10Code,
    OPCS4Code,
    ReadV2Code,
    SNOMEDCTCode,
    verhoeff_valid,
    warn_about_suspicious_codes,
)

VALID = {
    SNOMEDCTCode: [
        "73211009",  # diabetes mellitus
        "38341003",  # hypertension
        "195967001",  # asthma
        "840539006",  # COVID-19
        "100005",  # six digits, the shortest
    ],
    DMDCode: ["39113611000001102", "322236009"],
    CTV3Code: ["Xa1..", "XaBCD", "Y1234", "X....", ".....", "xa1b."],
    ReadV2Code: ["G30..", "12345", "g30.."],
    ICD10Code: ["J45", "J450", "E10X", "M2551"],
    OPCS4Code: ["K40", "K401", "O01", "Z99"],
    BNFCode: ["02", "0204", "020401", "0204000C0AAAAAA", "21480000001"],
}

INVALID = {
    SNOMEDCTCode: [
        "073211009",  # leading zero
        "12345",  # too short
        "1234567890123456789",  # too long
        "7321100a",
        " 73211009",
        "",
    ],
    DMDCode: ["0123456", "12345"],
    CTV3Code: ["Xa1", "X.a1.", "Xa1.. ", "Xa1...", "Xa-1."],
    ReadV2Code: ["G30", "G3.0.", "G30...", ""],
    ICD10Code: ["J45.0", "j45", "J4", "J45000", "145"],
    OPCS4Code: ["K4011", "k40", "K40.1", "K4", "I01"],
    BNFCode: ["2", "0204000C0AAAAAAA", "0204000c0", "02 04"],
}


@pytest.mark.parametrize(
    "code_class, value",
    [(cls, value) for cls, values in VALID.items() for value in values],
)
def test_valid_codes(code_class, value):
    assert code_class(value).value == value
    assert code_class.is_valid(value)


@pytest.mark.parametrize(
    "code_class, value",
    [(cls, value) for cls, values in INVALID.items() for value in values],
)
def test_invalid_codes(code_class, value):
    assert not code_class.is_valid(value)
    with pytest.raises(
        CodelistError, match=f"is not a valid {code_class.system_id} code"
    ):
        code_class(value)


@pytest.mark.parametrize(
    "code_class, value", [(SNOMEDCTCode, "73211008"), (DMDCode, "39113611000001103")]
)
def test_wrong_check_digit_is_accepted_but_doubted(code_class, value):
    # Public ehrQL does not check the Verhoeff digit, so neither may we refuse it.
    assert code_class(value).value == value
    assert code_class.doubt(value) == "its check digit is wrong"
    assert code_class.doubt(VALID[code_class][0]) is None


def test_suspicious_codes_give_one_warning_naming_them():
    codes = [SNOMEDCTCode(v) for v in ("73211008", "73211009", "38341004")]
    with pytest.warns(
        CodeWarning,
        match=r"2 snomedct code\(s\) are probably mistyped: '38341004'.*'73211008' \(f.csv line 3\)",
    ):
        warn_about_suspicious_codes(codes, {"73211008": "f.csv line 3"})


def test_no_warning_for_good_codes(recwarn):
    warn_about_suspicious_codes([SNOMEDCTCode("73211009"), CTV3Code("Xa1..")])
    assert not recwarn.list


def test_code_from_a_non_string():
    with pytest.raises(CodelistError, match="must be made from a string"):
        SNOMEDCTCode(73211009)


def test_codes_are_values():
    assert SNOMEDCTCode("73211009") == SNOMEDCTCode("73211009")
    assert hash(SNOMEDCTCode("73211009")) == hash(SNOMEDCTCode("73211009"))
    assert str(SNOMEDCTCode("73211009")) == "73211009"
    assert SNOMEDCTCode("195967001") < SNOMEDCTCode("73211009")  # compared as strings


def test_codes_of_different_systems_are_different():
    assert SNOMEDCTCode("322236009") != DMDCode("322236009")


def test_code_systems_are_registered_by_their_identifier():
    assert CODE_SYSTEMS["snomedct"] is SNOMEDCTCode
    assert CODE_SYSTEMS["ctv3"] is CTV3Code
    assert set(CODE_SYSTEMS) == {
        "snomedct",
        "dmd",
        "ctv3",
        "readv2",
        "icd10",
        "opcs4",
        "bnf",
    }
    assert all(issubclass(cls, BaseCode) for cls in CODE_SYSTEMS.values())


# The Verhoeff scheme: a check digit that catches every single-digit error and
# every swap of adjacent digits.


@pytest.mark.parametrize(
    "digits", ["2363", "1428570", "84736430954837284567892", "0", "73211009"]
)
def test_verhoeff_accepts_correct_check_digits(digits):
    assert verhoeff_valid(digits)


@pytest.mark.parametrize("digits", ["2364", "1428571", "84736430954837284567891", "1"])
def test_verhoeff_rejects_wrong_check_digits(digits):
    assert not verhoeff_valid(digits)


def test_verhoeff_catches_every_single_digit_error():
    code = "73211009"
    for position in range(len(code)):
        for digit in "0123456789":
            if digit != code[position]:
                changed = code[:position] + digit + code[position + 1 :]
                assert not verhoeff_valid(changed), changed


def test_verhoeff_catches_every_adjacent_swap():
    code = "195967001"
    for position in range(len(code) - 1):
        a, b = code[position], code[position + 1]
        if a != b:
            swapped = code[:position] + b + a + code[position + 2 :]
            assert not verhoeff_valid(swapped), swapped


def test_codes_give_their_string_as_public_ehrql_codes_do():
    # Studies written for public ehrQL validate a code string this way.
    assert ICD10Code("J45")._to_primitive_type() == "J45"
    assert ICD10Code._primitive_type() is str


def test_a_code_as_a_plain_string_as_studies_ask_for_it():
    # Public ehrQL's name, used by real studies to check a code's format.
    assert ICD10Code("J45")._to_primitive_type() == "J45"
    assert type(ICD10Code("J45")._to_primitive_type()) is str
