import textwrap

from ehrql.docs import examples

SPEC_SOURCE = textwrap.dedent(
    '''
    import datetime

    from tests.spec.tables import e, p

    title = "Picking things"

    table_data = {
        e: """
          |  i1 | b1
        --+-----+----
        1 |   7 | T
        1 |     | F
        2 |   5
        """,
    }

    other_data = {
        p: """
          |  d1
        --+------------
        1 | 2020-01-31
        """,
    }


    def test_first_value(spec_test):
        """The first value, nulls first.

        More words that are not shown.
        """
        spec_test(
            table_data,
            e.sort_by(e.i1)
             .first_for_patient()
             .i1,
            {1: None, 2: 5},
        )


    def test_with_other_tables_and_population(spec_test):
        spec_test(other_data, p.d1, {1: datetime.date(2020, 1, 31)}, population=p.exists_for_patient())


    def test_flag(spec_test):
        expected = {1: True}
        spec_test(table_data, e.b1.count_distinct_for_patient() > 0, expected)


    def helper_not_a_test():
        spec_test(table_data, e.i1, {})
    '''
)


def write_spec_package(root):
    package = root / "fake_docs_spec" / "topic"
    package.mkdir(parents=True)
    (root / "fake_docs_spec" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "test_picking.py").write_text(SPEC_SOURCE)
    return root / "fake_docs_spec"


def test_calls_are_found_in_test_functions_only_in_source_order():
    found = examples.module_examples(SPEC_SOURCE)
    assert [e.description for e in found] == [
        "The first value, nulls first.",
        "With other tables and population",
        "Flag",
    ]


def test_expression_is_the_source_text_of_the_second_argument():
    first, second, third = examples.module_examples(SPEC_SOURCE)
    assert first.expression == "e.sort_by(e.i1)\n .first_for_patient()\n .i1"
    assert first.expected == (("1", "*null*"), ("2", "5"))
    assert second.tables_name == "other_data"
    assert second.population == "p.exists_for_patient()"
    assert second.expected == (("1", "2020-01-31"),)
    assert third.expected is None
    assert third.expected_source == "expected"


def test_text_tables_are_parsed_with_patient_id_first_and_short_rows_padded():
    headers, rows = examples.parse_text_table(
        """
          |  i1 | b1
        --+-----+----
        1 |   7 | T
        2 |   5
        """
    )
    assert headers == ["patient_id", "i1", "b1"]
    assert rows == [["1", "7", "T"], ["2", "5", ""]]


def test_examples_page_renders_each_spec_module(tmp_path, monkeypatch):
    spec_root = write_spec_package(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    page = examples.examples_page(spec_root, tmp_path)
    assert "## Picking things" in page
    assert "*From `fake_docs_spec/topic/test_picking.py`.*" in page
    assert "Table `e` (many rows per patient):" in page
    assert (
        "| patient_id | i1 | b1 |\n| --- | --- | --- |\n| 1 | 7 | T |\n| 1 |  | F |\n| 2 | 5 |  |"
        in page
    )
    assert "### The first value, nulls first." in page
    assert "```python\ne.sort_by(e.i1)\n .first_for_patient()\n .i1\n```" in page
    assert "| patient_id | result |\n| --- | --- |\n| 1 | *null* |\n| 2 | 5 |" in page
    # The example with its own tables shows them; the shared ones are shown once.
    assert "Table `p` (one row per patient):" in page
    assert page.count("Table `e` (many rows per patient):") == 1
    assert "Population: `p.exists_for_patient()`" in page
    assert "```python\nexpected\n```" in page


def test_examples_page_without_spec_tests_says_so(tmp_path):
    page = examples.examples_page(tmp_path / "missing", tmp_path)
    assert "*No spec tests were found.*" in page
