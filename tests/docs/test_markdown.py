import pytest

from ehrql.docs import markdown as md


def test_code_uses_a_longer_fence_when_the_text_has_backticks():
    assert md.code("a") == "`a`"
    assert md.code("a`b") == "``a`b``"
    assert md.code("`a") == "`` `a ``"


def test_code_block_fence_outgrows_backtick_runs_inside():
    block = md.code_block("x = '```'", "python")
    assert block.startswith("````python\n")
    assert block.endswith("\n````")


def test_cell_escapes_pipes_and_keeps_paragraph_breaks():
    assert md.cell("a | b") == "a \\| b"
    assert md.cell("one\nline\n\nnext") == "one line<br><br>next"


def test_table_renders_header_rule_and_rows():
    assert md.table(["x", "y"], [["1", ""], ["a|b", "2"]]) == (
        "| x | y |\n| --- | --- |\n| 1 |  |\n| a\\|b | 2 |"
    )


def test_table_rejects_rows_of_the_wrong_width():
    with pytest.raises(ValueError):
        md.table(["x", "y"], [["1"]])


def test_heading_levels_are_checked():
    assert md.heading(2, "Title") == "## Title"
    with pytest.raises(ValueError):
        md.heading(7, "Too deep")


def test_page_drops_empty_blocks_and_ends_with_one_newline():
    assert md.page("# T", None, "", "  ", "text\n") == "# T\n\ntext\n"


def test_pipes_inside_code_spans_are_left_alone():
    # The tables extension does not split on them, and would show a backslash.
    assert md.cell("`a|b` or c|d") == "`a|b` or c\\|d"
    assert md.cell("``x`|y`` |") == "``x`|y`` \\|"


def test_a_lone_backtick_does_not_protect_what_follows():
    assert md.cell("it`s a|b") == "it`s a\\|b"


def test_escaped_cells_render_as_intended():
    markdown = pytest.importorskip("markdown")
    html = markdown.markdown(md.table(["x"], [["`p|q` r|s"]]), extensions=["tables"])
    assert "<code>p|q</code> r|s" in html
