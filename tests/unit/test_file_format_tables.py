"""Directory outputs: naming, and writing every table or none."""

from pathlib import Path

import pytest

from ehrql.file_formats import (
    FileValidationError,
    check_output_path,
    write_output_tables,
)
from ehrql.file_formats.base import ColumnSpec
from ehrql.file_formats.tables import OutputTable, split_directory_output, table_file

SPECS = (ColumnSpec("patient_id", int, nullable=False), ColumnSpec("n", int))


@pytest.mark.parametrize(
    "text,expected",
    [
        ("out/:csv", (Path("out"), ".csv")),
        ("out:csv.gz", (Path("out"), ".csv.gz")),
        ("a/b/c/:parquet", (Path("a/b/c"), ".parquet")),
        (":arrow", (Path("."), ".arrow")),
        ("out.csv", None),
        ("we:ird/out.csv", None),
        ("trailing:", None),
    ],
)
def test_split_directory_output(text, expected):
    assert split_directory_output(text) == expected


def test_table_names_are_quoted_into_safe_file_names():
    assert table_file(Path("d"), "a/b c", ".csv") == Path("d/a%2Fb%20c.csv")
    assert table_file(Path("d"), "..", ".csv") == Path("d/...csv")


def test_a_single_file_holds_only_one_table():
    assert check_output_path("x.csv", 1) is None
    with pytest.raises(FileValidationError, match=r"such as out/x/:csv\.gz"):
        check_output_path("out/x.csv.gz", 2)


def test_nothing_is_left_when_a_table_fails(tmp_path):
    def failing():
        yield (1, 1)
        raise RuntimeError("boom")

    tables = [
        OutputTable("good", SPECS, lambda: [(1, 2)]),
        OutputTable("bad", SPECS, failing),
    ]
    with pytest.raises(RuntimeError):
        write_output_tables(f"{tmp_path}/new/:csv", tables)
    assert list(tmp_path.iterdir()) == []


def test_two_tables_of_one_name_are_refused(tmp_path):
    tables = [OutputTable("t", SPECS, list), OutputTable("t", SPECS, list)]
    with pytest.raises(FileValidationError, match="both named t"):
        write_output_tables(f"{tmp_path}/o/:csv", tables)
    assert list(tmp_path.iterdir()) == []


def test_a_file_where_the_directory_should_be(tmp_path):
    (tmp_path / "o").write_text("")
    with pytest.raises(FileValidationError, match="not a directory"):
        write_output_tables(f"{tmp_path}/o/:csv", [OutputTable("t", SPECS, list)])
