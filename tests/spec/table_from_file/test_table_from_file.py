import csv
import gzip
from datetime import date

import pyarrow
import pyarrow.feather
import pytest

from ehrql import table_from_file
from ehrql.tables import PatientFrame, Series
from tests.spec.tables import p

title = "Patient tables read from a file: table_from_file()"

table_data = {
    p: """
      |  i1
    --+-----
    1 |  10
    2 |  20
    3 |  30
    """,
}

ROWS = [
    {"patient_id": 1, "n": 101, "s": "a", "d": date(2020, 1, 1)},
    {"patient_id": 2, "n": None, "s": "b", "d": date(2021, 6, 30)},
    {"patient_id": 4, "n": 401, "s": None, "d": None},
]


def write_csv(path, opener=open):
    with opener(path, "wt", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(ROWS[0]))
        writer.writeheader()
        for row in ROWS:
            writer.writerow({k: "" if v is None else v for k, v in row.items()})


def write_arrow(path):
    columns = {name: [row[name] for row in ROWS] for name in ROWS[0]}
    pyarrow.feather.write_feather(pyarrow.table(columns), path)


WRITERS = {
    "file.csv": write_csv,
    "file.csv.gz": lambda path: write_csv(path, gzip.open),
    "file.arrow": write_arrow,
}


@pytest.fixture(
    params=[(name, form) for name in WRITERS for form in ("columns", "decorator")],
    ids=str,
)
def from_file(request, tmp_path):
    """The file's table, read in either form public ehrQL accepts."""
    name, form = request.param
    path = tmp_path / name
    WRITERS[name](path)
    if form == "columns":
        return table_from_file(path, columns={"n": int, "s": str, "d": date})

    @table_from_file(path)
    class from_file(PatientFrame):
        n = Series(int)
        s = Series(str)
        d = Series(date)

    return from_file


def test_reading_a_column_of_a_table_from_a_file(spec_test, from_file):
    """CSV, gzipped CSV and Arrow files; empty cells and patients not in the file are null."""
    spec_test(table_data, from_file.n, {1: 101, 2: None, 3: None})


def test_a_date_column(spec_test, from_file):
    """Values are read as the column's declared type."""
    spec_test(
        table_data, from_file.d, {1: date(2020, 1, 1), 2: date(2021, 6, 30), 3: None}
    )


def test_a_string_column(spec_test, from_file):
    """An empty string in a CSV file is null."""
    spec_test(table_data, from_file.s, {1: "a", 2: "b", 3: None})


def test_a_table_from_a_file_in_the_population(spec_test, from_file):
    """Patients only in the file can be in the population."""
    spec_test(
        table_data,
        from_file.n + 1,
        {1: 102, 2: None, 4: 402},
        population=from_file.exists_for_patient(),
    )
