"""Codelist files that cannot be what was meant: each is named in its error or warning."""

import pytest

from ehrql import codelist_from_csv
from ehrql.codelists import CodelistWarning
from ehrql.codes import CodelistError


def test_empty_file_says_it_is_empty(tmp_path):
    path = tmp_path / "codes.csv"
    path.write_text("")
    with pytest.raises(
        CodelistError, match=r"codes.csv is empty: a codelist file needs a header line"
    ):
        codelist_from_csv(path, column="code")


def test_header_only_file_warns(tmp_path):
    path = tmp_path / "codes.csv"
    path.write_text("code,term\n")
    with pytest.warns(CodelistWarning, match=r"codelist .*codes.csv has no codes"):
        codelist = codelist_from_csv(path, column="code")
    assert len(codelist) == 0


def test_a_code_in_two_categories_is_an_error_naming_both(tmp_path):
    path = tmp_path / "codes.csv"
    path.write_text("code,cat\n123,a\n456,b\n123,b\n")
    with pytest.raises(
        CodelistError,
        match=r"code .123. is in two categories: .a. \(.*codes.csv line 2\) and .b. \(line 4\)",
    ):
        codelist_from_csv(path, column="code", category_column="cat")


def test_a_code_repeated_in_the_same_category_is_fine(tmp_path):
    path = tmp_path / "codes.csv"
    path.write_text("code,cat\n123,a\n123,a\n")
    assert list(codelist_from_csv(path, column="code", category_column="cat")) == [
        "123"
    ]


def test_non_utf8_file_is_named(tmp_path):
    path = tmp_path / "codes.csv"
    path.write_bytes("code,term\n123,caf\xe9\n".encode("latin-1"))
    with pytest.raises(
        CodelistError, match=r"codes.csv is not UTF-8 text .*save it as CSV UTF-8"
    ):
        codelist_from_csv(path, column="code")


def test_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "codes.csv"
    path.write_bytes(b"\xef\xbb\xbfcode,term\n123,x\n")
    assert list(codelist_from_csv(path, column="code")) == ["123"]
