from tests.spec.tables import p

title = "Mapping codes to categories: to_category()"

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


def test_to_category_with_a_dict(spec_test):
    """Codes not in the mapping, and null codes, get null."""
    spec_test(
        table_data,
        p.c1.to_category({"73211009": "diabetes", "38341003": "hypertension"}),
        {1: "diabetes", 2: "hypertension", 3: None, 4: None},
    )


def test_to_category_with_several_codes_per_category(spec_test):
    """Several codes may share one category."""
    spec_test(
        table_data,
        p.c1.to_category(
            {"73211009": "chronic", "38341003": "chronic", "195967001": "asthma"}
        ),
        {1: "chronic", 2: "chronic", 3: "asthma", 4: None},
    )


def test_to_category_with_a_default(spec_test):
    """Codes not in the mapping get the default; so do null codes."""
    spec_test(
        table_data,
        p.c1.to_category({"73211009": "diabetes"}, default="other"),
        {1: "diabetes", 2: "other", 3: "other", 4: "other"},
    )


def test_to_category_with_a_categorised_codelist(spec_test, tmp_path):
    """A codelist read with a category column maps each code to its category."""
    from ehrql import codelist_from_csv

    path = tmp_path / "codelist.csv"
    path.write_text("code,group\n73211009,1\n38341003,2\n195967001,2\n")
    codelist = codelist_from_csv(path, column="code", category_column="group")
    spec_test(table_data, p.c1.to_category(codelist), {1: "1", 2: "2", 3: "2", 4: None})
