import datetime
import gzip
import io

import pyarrow as pa
import pyarrow.ipc
import pyarrow.parquet
import pytest

from ehrql import case, create_dataset, when
from ehrql.codes import SNOMEDCTCode
from ehrql.file_formats import (
    ColumnSpec,
    FileValidationError,
    arrow_format,
    dataset_column_specs,
    get_file_extension,
    read_rows,
    table_column_specs,
    write_rows,
    write_table,
)
from ehrql.file_formats.atomic import atomic_output
from ehrql.tables.core import clinical_events, patients

SPECS = [
    ColumnSpec("patient_id", int, nullable=False),
    ColumnSpec("flag", bool),
    ColumnSpec("count", int),
    ColumnSpec("score", float),
    ColumnSpec("name", str),
    ColumnSpec("seen_on", datetime.date),
    ColumnSpec("code", SNOMEDCTCode),
    ColumnSpec("band", str, categories=("low", "high")),
]

ROWS = [
    (
        3,
        True,
        -7,
        2.25,
        'Ann, "Jo"',
        datetime.date(1999, 12, 31),
        SNOMEDCTCode("44054006"),
        "high",
    ),
    (
        5,
        False,
        0,
        -0.5,
        "",
        datetime.date(2024, 2, 29),
        SNOMEDCTCode("195967001"),
        "low",
    ),
    (8, None, None, None, None, None, None, None),
]

FORMATS = [".csv", ".csv.gz", ".arrow", ".parquet"]


def expected_read_back(extension):
    # CSV cannot tell an empty string from null; typed formats can.
    rows = [list(row) for row in ROWS]
    if extension.startswith(".csv"):
        rows[1][4] = None
    return [tuple(row) for row in rows]


@pytest.mark.parametrize("extension", FORMATS)
def test_every_format_reads_back_the_values_written(tmp_path, extension):
    path = tmp_path / f"data{extension}"
    assert write_rows(path, SPECS, iter(ROWS)) == 3
    assert list(read_rows(path, SPECS)) == expected_read_back(extension)


def test_csv_conventions(tmp_path):
    path = tmp_path / "out.csv"
    write_rows(path, SPECS, ROWS)
    assert path.read_text().splitlines() == [
        "patient_id,flag,count,score,name,seen_on,code,band",
        '3,T,-7,2.25,"Ann, ""Jo""",1999-12-31,44054006,high',
        "5,F,0,-0.5,,2024-02-29,195967001,low",
        "8,,,,,,,",
    ]


def test_csv_gz_is_gzipped_and_the_same_every_time(tmp_path):
    first, second = tmp_path / "a.csv.gz", tmp_path / "b.csv.gz"
    write_rows(first, SPECS, ROWS)
    write_rows(second, SPECS, ROWS)
    assert gzip.decompress(first.read_bytes()).decode().startswith("patient_id,flag")
    assert first.read_bytes() == second.read_bytes()


@pytest.mark.parametrize("extension", [".arrow", ".parquet"])
def test_typed_formats_have_typed_columns(tmp_path, extension):
    path = tmp_path / f"data{extension}"
    write_rows(path, SPECS, ROWS)
    if extension == ".arrow":
        table = pa.ipc.open_file(pa.memory_map(str(path))).read_all()
    else:
        table = pyarrow.parquet.read_table(path)
    assert [str(t) for t in table.schema.types] == [
        "int64",
        "bool",
        "int64",
        "double",
        "string",
        "date32[day]",
        "string",
        "dictionary<values=string, indices=int8, ordered=0>",
    ]
    assert table.column("band").chunk(0).dictionary.to_pylist() == ["low", "high"]
    assert table.column("seen_on").to_pylist()[0] == datetime.date(1999, 12, 31)


def test_arrow_output_is_written_in_batches(tmp_path, monkeypatch):
    monkeypatch.setattr(arrow_format, "BATCH_SIZE", 2)
    path = tmp_path / "data.arrow"
    rows = ((i, None, i, None, None, None, None, None) for i in range(5))
    assert write_rows(path, SPECS, rows) == 5
    reader = pa.ipc.open_file(pa.memory_map(str(path)))
    assert [reader.get_batch(i).num_rows for i in range(reader.num_record_batches)] == [
        2,
        2,
        1,
    ]
    assert [row[0] for row in read_rows(path, SPECS)] == [0, 1, 2, 3, 4]


def test_a_value_outside_the_categories_is_refused(tmp_path):
    with pytest.raises(
        ValueError, match="'medium', which is not one of its categories"
    ):
        write_rows(
            tmp_path / "x.arrow",
            SPECS,
            [(1, None, None, None, None, None, None, "medium")],
        )


@pytest.mark.parametrize(
    "name,extension",
    [
        ("a.csv", ".csv"),
        ("a.csv.gz", ".csv.gz"),
        ("dir/a.b.arrow", ".arrow"),
        ("a.parquet", ".parquet"),
    ],
)
def test_get_file_extension(name, extension):
    assert get_file_extension(name) == extension


@pytest.mark.parametrize("name", ["a.txt", "a", "a.gz", ".csv", "a.feather"])
def test_get_file_extension_names_the_supported_formats(name):
    with pytest.raises(
        FileValidationError,
        match=r"must end in one of \.csv, \.csv\.gz, \.arrow, \.parquet",
    ):
        get_file_extension(name)


# -- writing is all or nothing -------------------------------------------------


def failing_rows():
    yield ROWS[0]
    raise RuntimeError("the database went away")


@pytest.mark.parametrize("extension", FORMATS)
def test_a_failed_write_leaves_nothing_behind(tmp_path, extension):
    path = tmp_path / "new" / "deeper" / f"out{extension}"
    with pytest.raises(RuntimeError, match="went away"):
        write_rows(path, SPECS, failing_rows())
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_keeps_the_previous_file(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text("old contents\n")
    with pytest.raises(RuntimeError):
        write_rows(path, SPECS, failing_rows())
    assert path.read_text() == "old contents\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_atomic_output_creates_missing_directories_and_renames(tmp_path):
    path = tmp_path / "a" / "b" / "out.txt"
    with atomic_output(path) as temporary:
        assert temporary.parent == path.parent
        assert not path.exists()
        temporary.write_text("done")
    assert path.read_text() == "done"
    assert [p.name for p in path.parent.iterdir()] == ["out.txt"]


# -- reading checks the file against the specs --------------------------------


def write_text(path, text):
    path.write_text(text)
    return path


TWO_SPECS = [
    ColumnSpec("patient_id", int, nullable=False),
    ColumnSpec("seen_on", datetime.date),
]


@pytest.mark.parametrize(
    "text,message",
    [
        (
            "patient_id,seen_on\n1,2024-13-01\n",
            r"line 2, column 'seen_on': '2024-13-01' is not a valid date",
        ),
        ("patient_id,seen_on\n1,1/2/2024\n", r"line 2, column 'seen_on'.*YYYY-MM-DD"),
        (
            "patient_id,seen_on\nx,\n",
            r"line 2, column 'patient_id': 'x' is not a valid integer",
        ),
        (
            "patient_id,seen_on\n,2024-01-01\n",
            r"column 'patient_id': it is empty, but this column cannot be null",
        ),
        ("patient_id\n1\n", r"missing columns: seen_on"),
        ("patient_id,seen_on,other\n1,,\n", r"unexpected columns: other"),
        ("patient_id,seen_on,seen_on\n1,,\n", r"repeated columns: seen_on"),
        ("patient_id,seen_on\n1,2024-01-01,3\n", r"line 2: expected 2 cells, found 3"),
        ("", r"the file is empty"),
    ],
)
def test_csv_problems_are_reported_with_line_and_column(tmp_path, text, message):
    path = write_text(tmp_path / "in.csv", text)
    with pytest.raises(FileValidationError, match=message):
        list(read_rows(path, TWO_SPECS))


def test_csv_bools_must_be_t_or_f(tmp_path):
    path = write_text(tmp_path / "in.csv", "patient_id,flag\n1,yes\n")
    with pytest.raises(
        FileValidationError, match="'yes' is not a valid boolean.*T or F"
    ):
        list(read_rows(path, [ColumnSpec("patient_id", int), ColumnSpec("flag", bool)]))


def test_csv_codes_are_checked(tmp_path):
    path = write_text(tmp_path / "in.csv", "patient_id,code\n1,04405400\n")
    with pytest.raises(
        FileValidationError, match="line 2, column 'code'.*not a valid snomedct code"
    ):
        list(
            read_rows(
                path, [ColumnSpec("patient_id", int), ColumnSpec("code", SNOMEDCTCode)]
            )
        )


def test_csv_codes_with_a_wrong_check_digit_are_read(tmp_path):
    # Public ehrQL's dummy tables hold such codes; its readers do not check the digit.
    path = write_text(tmp_path / "in.csv", "patient_id,code\n1,44054007\n")
    rows = list(
        read_rows(
            path, [ColumnSpec("patient_id", int), ColumnSpec("code", SNOMEDCTCode)]
        )
    )
    assert rows == [(1, SNOMEDCTCode("44054007"))]


def test_csv_categories_are_checked(tmp_path):
    path = write_text(tmp_path / "in.csv", "patient_id,band\n1,medium\n")
    specs = [
        ColumnSpec("patient_id", int),
        ColumnSpec("band", str, categories=("low", "high")),
    ]
    with pytest.raises(
        FileValidationError, match="'medium' is not one of the allowed values"
    ):
        list(read_rows(path, specs))


def test_extra_columns_can_be_allowed_and_columns_come_in_any_order(tmp_path):
    path = write_text(tmp_path / "in.csv", "seen_on,extra,patient_id\n2020-02-02,x,4\n")
    assert list(read_rows(path, TWO_SPECS, allow_extra_columns=True)) == [
        (4, datetime.date(2020, 2, 2))
    ]


@pytest.mark.parametrize("extension", [".arrow", ".parquet"])
def test_typed_files_with_the_wrong_column_type_are_refused(tmp_path, extension):
    path = tmp_path / f"in{extension}"
    wrong = [ColumnSpec("patient_id", int), ColumnSpec("seen_on", str)]
    write_rows(path, wrong, [(1, "2020-01-01")])
    with pytest.raises(
        FileValidationError,
        match=r"column 'seen_on' should be date \(date32\[day\]\), but the file has string",
    ):
        list(read_rows(path, TWO_SPECS))


@pytest.mark.parametrize("extension", [".arrow", ".parquet"])
def test_typed_files_check_nulls_and_categories(tmp_path, extension):
    path = tmp_path / f"in{extension}"
    loose = [ColumnSpec("patient_id", int), ColumnSpec("band", str)]
    write_rows(path, loose, [(None, "medium")])
    with pytest.raises(FileValidationError, match="column 'patient_id' has a null"):
        list(
            read_rows(
                path,
                [
                    ColumnSpec("patient_id", int, nullable=False),
                    ColumnSpec("band", str),
                ],
            )
        )
    with pytest.raises(
        FileValidationError, match="'medium', which is not one of the allowed values"
    ):
        list(
            read_rows(
                path,
                [
                    ColumnSpec("patient_id", int),
                    ColumnSpec("band", str, categories=("low",)),
                ],
            )
        )


def test_a_file_in_the_wrong_format_is_refused(tmp_path):
    path = write_text(tmp_path / "in.arrow", "patient_id\n1\n")
    with pytest.raises(FileValidationError, match="is not an Arrow IPC file"):
        list(read_rows(path, TWO_SPECS))
    path = write_text(tmp_path / "in.parquet", "patient_id\n1\n")
    with pytest.raises(FileValidationError, match="is not a Parquet file"):
        list(read_rows(path, TWO_SPECS))


def test_a_missing_file_is_reported(tmp_path):
    with pytest.raises(FileValidationError, match="file not found"):
        read_rows(tmp_path / "nope.csv", TWO_SPECS)


# -- the console table ---------------------------------------------------------


def test_console_table_aligns_columns():
    stream = io.StringIO()
    specs = [
        ColumnSpec("patient_id", int),
        ColumnSpec("sex", str),
        ColumnSpec("seen", datetime.date),
    ]
    count = write_table(
        stream, specs, [(1, "female", None), (22, None, datetime.date(2020, 1, 2))]
    )
    assert count == 2
    assert stream.getvalue().splitlines() == [
        "patient_id | sex    | seen",
        "-----------+--------+-----------",
        "         1 | female |",
        "        22 |        | 2020-01-02",
    ]


# -- specs from schemas and datasets --------------------------------------------


def test_table_column_specs_follow_the_schema():
    specs = table_column_specs(patients._qm_node.schema)
    assert [(s.name, s.type, s.nullable) for s in specs] == [
        ("patient_id", int, False),
        ("date_of_birth", datetime.date, False),
        ("sex", str, False),
        ("date_of_death", datetime.date, True),
    ]
    assert specs[2].categories == ("female", "male", "intersex", "unknown")


def test_dataset_column_specs_know_categories_only_when_certain():
    dataset = create_dataset()
    dataset.define_population(patients.exists_for_patient())
    dataset.sex = patients.sex
    dataset.band = case(
        when(patients.date_of_birth.year < 1950).then("old"), otherwise="young"
    )
    dataset.maybe = case(when(patients.sex == "male").then("m"))
    dataset.name = patients.sex.map_values({"male": "M"}, default=None)
    dataset.code = (
        clinical_events.sort_by(clinical_events.date).first_for_patient().snomedct_code
    )
    dataset.free_text = patients.sex.when_null_then(patients.sex)
    specs = dataset_column_specs(dataset._compile())
    assert [(s.name, s.categories) for s in specs] == [
        ("patient_id", None),
        ("sex", ("female", "male", "intersex", "unknown")),
        ("band", ("old", "young")),
        ("maybe", ("m",)),
        ("name", ("M",)),
        ("code", None),
        ("free_text", ("female", "male", "intersex", "unknown")),
    ]
    assert specs[5].type is SNOMEDCTCode
