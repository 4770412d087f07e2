import pytest

from ehrql.dummy import generate_dummy_tables
from ehrql.dummy.writer import write_dummy_tables
from ehrql.file_formats import read_rows, table_column_specs
from tests.unit.dummy.tables import events, spells
from tests.unit.dummy.test_generate import registrations, window_and_codelist


def test_csv_files_are_named_after_tables_and_follow_csv_conventions(tmp_path):
    tables = generate_dummy_tables(window_and_codelist(), population_size=20)
    (path,) = write_dummy_tables(tables, tmp_path)
    assert path == tmp_path / "events.csv"
    lines = path.read_text().splitlines()
    assert lines[0] == "patient_id,day,code,reading,flagged"
    cells = [line.split(",") for line in lines[1:]]
    assert len(cells) == len(tables[events._qm_node])
    assert {row[4] for row in cells} <= {"T", "F", ""}
    assert "" in {row[3] for row in cells}
    assert all(row[1] == "" or len(row[1]) == 10 and row[1][4] == "-" for row in cells)


@pytest.mark.parametrize("format", ["csv", "csv.gz", "arrow", "parquet"])
def test_written_rows_read_back_unchanged(tmp_path, format):
    tables = generate_dummy_tables(registrations(), population_size=15)
    (path,) = write_dummy_tables(tables, tmp_path / "out", format=format)
    specs = table_column_specs(spells._qm_node.schema)
    expected = [tuple(row[s.name] for s in specs) for row in tables[spells._qm_node]]
    assert list(read_rows(path, specs)) == expected


def test_unknown_format_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown dummy table format 'xlsx'"):
        write_dummy_tables({}, tmp_path, format="xlsx")
