from ehrql.codes import SNOMEDCTCode
from tests.spec.tables import e, p

title = "Testing codes: membership of a list of codes, equality, and codes as strings"

table_data = {
    p: """
      |    c1
    --+-----------
    1 | 73211009
    2 | 38341003
    3 | 195967001
    4 |
    """,
}


def test_is_in_with_code_strings(spec_test):
    """Codes can be written as plain strings; a null code gives null."""
    spec_test(
        table_data,
        p.c1.is_in(["73211009", "195967001"]),
        {1: True, 2: False, 3: True, 4: None},
    )


def test_is_in_with_code_objects(spec_test):
    """Codes can also be written as code objects of the series' system."""
    spec_test(
        table_data,
        p.c1.is_in([SNOMEDCTCode("38341003")]),
        {1: False, 2: True, 3: False, 4: None},
    )


def test_is_not_in_with_codes(spec_test):
    """is_not_in() is the opposite of is_in(), and null stays null."""
    spec_test(
        table_data,
        p.c1.is_not_in({"73211009", "195967001"}),
        {1: False, 2: True, 3: False, 4: None},
    )


def test_is_in_with_a_codelist(spec_test, tmp_path):
    """A codelist read from a CSV file works like a list of its codes."""
    from ehrql import codelist_from_csv

    path = tmp_path / "codelist.csv"
    path.write_text("code,term\n73211009,Diabetes mellitus\n38341003,Hypertension\n")
    codelist = codelist_from_csv(path, column="code")
    spec_test(table_data, p.c1.is_in(codelist), {1: True, 2: True, 3: False, 4: None})


def test_code_equality_with_a_string(spec_test):
    """A code can be compared with a code written as a string."""
    spec_test(table_data, p.c1 == "38341003", {1: False, 2: True, 3: False, 4: None})


def test_is_in_on_events_then_exists(spec_test):
    """The usual way to ask whether a patient ever had one of a list of codes."""
    table_data = {
        e: """
          |    c1
        --+-----------
        1 | 73211009
        1 | 38341003
        2 | 195967001
        3 |
        """,
    }
    spec_test(
        table_data,
        e.where(e.c1.is_in(["38341003", "195967001"])).exists_for_patient(),
        {1: True, 2: True, 3: False},
    )


def test_code_as_str(spec_test):
    """A code as its plain string, which string operations then apply to."""
    spec_test(
        table_data,
        p.c1.as_str().contains("38"),
        {1: False, 2: True, 3: False, 4: None},
    )
