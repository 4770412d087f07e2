import pytest

from ehrql import codelist_from_csv, create_dataset
from ehrql.codes import CodelistError, CodeWarning, CTV3Code, SNOMEDCTCode
from ehrql.query_engines.in_memory import InMemoryDatabase, InMemoryQueryEngine
from ehrql.tables import EventFrame, Series, table


@table
class events(EventFrame):
    snomed = Series(SNOMEDCTCode)
    ctv3 = Series(CTV3Code)


def write(tmp_path, text, name="codes.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_codes_are_plain_strings_until_used(tmp_path):
    path = write(
        tmp_path, "code,term\n22298006,Heart attack\n\n,blank\nXaIkW,ctv3 code\n"
    )
    codelist = codelist_from_csv(path, column="code")
    assert sorted(codelist) == ["22298006", "XaIkW"]
    assert "22298006" in codelist
    # Valid for CTV3 only where every code is: the bad one is named with its line.
    with pytest.raises(
        CodelistError, match=r"codes.csv line 5: 'XaIkW' is not a valid snomedct code"
    ):
        events.snomed.is_in(codelist)


def test_missing_column_names_the_columns_that_exist(tmp_path):
    path = write(tmp_path, "code,term\n22298006,x\n")
    with pytest.raises(
        CodelistError, match="no column 'snomed'; the columns are: code, term"
    ):
        codelist_from_csv(path, column="snomed")


def test_missing_file(tmp_path):
    with pytest.raises(CodelistError, match="not found"):
        codelist_from_csv(tmp_path / "nope.csv", column="code")


def test_is_in_and_to_category_evaluate(tmp_path):
    path = write(
        tmp_path,
        "code,group\n22298006,cardiac\n195967001,respiratory\n233604007,respiratory\n",
    )
    codelist = codelist_from_csv(path, column="code", category_column="group")
    assert codelist["233604007"] == "respiratory"
    dataset = create_dataset()
    dataset.define_population(events.exists_for_patient())
    row = events.sort_by(events.snomed).first_for_patient()
    dataset.category = row.snomed.to_category(codelist, default="other")
    dataset.matches = events.where(events.snomed.is_in(codelist)).count_for_patient()
    database = InMemoryDatabase(
        {
            "events": [
                {"patient_id": 1, "snomed": SNOMEDCTCode("195967001")},
                {"patient_id": 1, "snomed": SNOMEDCTCode("22298006")},
                {"patient_id": 2, "snomed": SNOMEDCTCode("233604007")},
                {"patient_id": 3, "snomed": SNOMEDCTCode("73211009")},
            ]
        }
    )
    results = InMemoryQueryEngine(database).get_results(dataset._compile())
    assert results == [(1, "respiratory", 2), (2, "respiratory", 1), (3, "other", 0)]


def test_to_category_groups_codes_into_one_test_per_category(tmp_path):
    lines = "\n".join(
        f"{code},{'a' if i % 2 else 'b'}"
        for i, code in enumerate(["22298006", "195967001", "233604007", "73211009"])
    )
    codelist = codelist_from_csv(
        write(tmp_path, "code,cat\n" + lines), column="code", category_column="cat"
    )
    series = events.snomed.to_category(codelist)
    assert len(series._qm_node.cases) == 2


def test_a_codelist_is_a_list_of_strings(tmp_path):
    a = codelist_from_csv(
        write(tmp_path, "code\n22298006\n195967001\n", "a.csv"), column="code"
    )
    b = codelist_from_csv(write(tmp_path, "code\n233604007\n", "b.csv"), column="code")
    assert isinstance(a, list)
    assert a[0] == "22298006"
    assert len(a) == 2
    assert list(a) == ["22298006", "195967001"]
    joined = a + b
    assert joined == ["22298006", "195967001", "233604007"]
    assert joined + ["73211009"] == [*joined, "73211009"]
    assert ["73211009"] + a == ["73211009", *a]
    # Joined codelists still say where a bad code was read.
    bad = joined + codelist_from_csv(
        write(tmp_path, "code\nXaIkW\n", "c.csv"), column="code"
    )
    with pytest.raises(CodelistError, match=r"c.csv line 2: 'XaIkW'"):
        events.snomed.is_in(bad)


def test_a_categorised_codelist_is_a_dict(tmp_path):
    path = write(
        tmp_path, "code,group\n22298006, cardiac \n195967001,resp\n22298006,cardiac\n"
    )
    codelist = codelist_from_csv(path, column="code", category_column="group")
    assert codelist == {"22298006": "cardiac", "195967001": "resp"}
    assert isinstance(codelist, dict)
    # A code in two categories is an error (see test_codelist_files), not the last one silently.


def test_codelist_from_csv_lines():
    from ehrql.codes import codelist_from_csv as from_codes
    from ehrql.codes import codelist_from_csv_lines

    assert from_codes is codelist_from_csv
    lines = ["code,cat", "22298006,a", "", "195967001,b"]
    assert codelist_from_csv_lines(lines, column="code") == ["22298006", "195967001"]
    assert codelist_from_csv_lines(lines, column="code", category_column="cat") == {
        "22298006": "a",
        "195967001": "b",
    }
    with pytest.raises(CodelistError, match="no column 'x'"):
        codelist_from_csv_lines(lines, column="x")


def test_wrong_check_digit_is_a_warning_at_the_users_line(tmp_path):
    codelist = codelist_from_csv(
        write(tmp_path, "code\n73211008\n22298006\n"), column="code"
    )
    with pytest.warns(
        CodeWarning,
        match=r"'73211008' \(.*codes.csv line 2\): its check digit is wrong",
    ) as record:
        events.snomed.is_in(codelist)
    assert record[0].filename == __file__


def test_any_code_public_ehrql_accepts_is_accepted():
    # ICD-10 codes padded with X, CTV3 codes with dots, SNOMED codes with any check digit.
    with pytest.warns(CodeWarning):
        events.snomed.is_in(["73211008"])
    events.ctv3.is_in(["Xa1..", "XaIkW"])
