from ehrql.docs.output import stale_pages, write_pages


def test_writing_then_checking_finds_nothing_stale(tmp_path):
    pages = {"a.md": "# A\n", "sub/b.md": "# B\n"}
    assert write_pages(pages, tmp_path) == ["a.md", "sub/b.md"]
    assert (tmp_path / "sub" / "b.md").read_text() == "# B\n"
    assert stale_pages(pages, tmp_path) == []
    assert write_pages(pages, tmp_path) == []


def test_changed_missing_and_leftover_pages_are_stale(tmp_path):
    write_pages({"a.md": "# A\n", "b.md": "# B\n", "old.md": "# Old\n"}, tmp_path)
    (tmp_path / "notes.txt").write_text("not a page")
    pages = {"a.md": "# A changed\n", "b.md": "# B\n", "c.md": "# C\n"}
    assert stale_pages(pages, tmp_path) == ["a.md", "c.md", "old.md"]
    write_pages(pages, tmp_path)
    assert not (tmp_path / "old.md").exists()
    assert (tmp_path / "notes.txt").exists()
    assert stale_pages(pages, tmp_path) == []


def test_a_missing_output_directory_makes_every_page_stale(tmp_path):
    assert stale_pages({"a.md": "x"}, tmp_path / "nowhere") == ["a.md"]
