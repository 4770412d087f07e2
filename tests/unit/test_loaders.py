import sys
import textwrap
import traceback

import pytest

from ehrql.loaders import (
    DefinitionFileError,
    load_dataset,
    load_dataset_definition,
    load_module,
    user_frames,
)
from ehrql.query_model import nodes as qm
from ehrql.user_args import CURRENT, parse_options

HEADER = """\
from ehrql import create_dataset, get_parameter
from ehrql.tables.core import clinical_events, patients
"""


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def definition(tmp_path, body, name="dataset_definition.py"):
    return write(tmp_path / name, HEADER + textwrap.dedent(body))


def load_error(path, user_args=None) -> str:
    with pytest.raises(DefinitionFileError) as info:
        load_dataset(path, user_args)
    return str(info.value)


# -- user arguments -------------------------------------------------------------


def test_parse_options():
    assert parse_options(["--start", "2020-01-01", "--n=3", "--note", "-1"]) == {
        "start": ("2020-01-01",),
        "n": ("3",),
        "note": ("-1",),
    }
    assert parse_options(["pos", "--sex", "m", "f", "--light", "--sex", "u"]) == {
        "sex": ("m", "f", "u"),
        "light": (),
    }
    assert parse_options([]) == {}


def test_the_definition_sees_its_arguments_in_sys_argv(tmp_path):
    path = definition(
        tmp_path,
        """
        import argparse, sys
        parser = argparse.ArgumentParser()
        parser.add_argument("group")
        parser.add_argument("--light", action="store_true")
        args = parser.parse_args()
        assert sys.argv[0].endswith("dataset_definition.py"), sys.argv
        dataset = create_dataset()
        dataset.define_population(patients.exists_for_patient())
        dataset.group = patients.sex == args.group
        dataset.light = patients.exists_for_patient() == args.light
        """,
    )
    saved = list(sys.argv)
    dataset = load_dataset(path, ["female", "--light"])
    assert {n.value for n in qm.all_nodes(dataset) if isinstance(n, qm.Value)} >= {
        "female",
        True,
    }
    assert sys.argv == saved


def test_an_argument_nobody_asked_for_is_an_error(tmp_path):
    path = definition(
        tmp_path,
        """
        dataset = create_dataset()
        dataset.define_population(patients.exists_for_patient())
        dataset.age = patients.age_on(get_parameter("index-date", default="2020-01-01"))
        """,
    )
    message = load_error(path, ["--index_date", "2021-01-01"])
    assert (
        "user argument '--index_date' is not used by the definition (did you mean --index-date?)"
        in message
    )
    assert "the definition asks for: --index-date" in message
    assert "unexpected user argument 'x'" in load_error(path, ["x"])


def test_arguments_to_a_definition_that_takes_none_are_an_error(tmp_path):
    path = definition(
        tmp_path,
        "dataset = create_dataset()\ndataset.define_population(patients.exists_for_patient())\n",
    )
    assert "the definition takes no user arguments" in load_error(path, ["--x", "1"])


def test_the_study_root_is_importable(tmp_path, monkeypatch):
    write(tmp_path / "analysis" / "__init__.py", "")
    write(tmp_path / "analysis" / "codelists.py", "AGE = 18\n")
    path = definition(
        tmp_path / "analysis" / "definitions",
        """
        from analysis.codelists import AGE
        dataset = create_dataset()
        dataset.define_population(patients.age_on("2020-01-01") > AGE)
        """,
    )
    monkeypatch.chdir(tmp_path)
    assert 18 in {
        n.value for n in qm.all_nodes(load_dataset(path)) if isinstance(n, qm.Value)
    }
    assert "analysis.codelists" not in sys.modules


# -- loading --------------------------------------------------------------------


def test_load_dataset_returns_the_query_model_with_parameters_applied(tmp_path):
    path = definition(
        tmp_path,
        """
        dataset = create_dataset()
        dataset.define_population(patients.exists_for_patient())
        dataset.age = patients.age_on(get_parameter("index"))
        dataset.born_after = patients.date_of_birth > get_parameter("after", default="1900-01-01")
        """,
    )
    dataset = load_dataset(path, {"index": "2021-06-30"})
    assert isinstance(dataset, qm.Dataset)
    assert list(dataset.variables) == ["age", "born_after"]
    values = {n.value for n in qm.all_nodes(dataset) if isinstance(n, qm.Value)}
    assert {str(v) for v in values} >= {"2021-06-30", "1900-01-01"}
    # The arguments are only visible while the definition runs.
    assert CURRENT.get() is None


def test_dummy_data_configuration_is_returned(tmp_path):
    path = definition(
        tmp_path,
        """
        dataset = create_dataset()
        dataset.define_population(patients.exists_for_patient())
        dataset.configure_dummy_data(population_size=42)
        """,
    )
    assert load_dataset_definition(path).dummy_data_config.population_size == 42


def test_definition_runs_as_a_fresh_module_with_its_file_set(tmp_path):
    path = definition(
        tmp_path,
        """
        from pathlib import Path
        HERE = Path(__file__)
        dataset = create_dataset()
        dataset.define_population(patients.exists_for_patient())
        """,
    )
    first = load_module(path)
    second = load_module(path)
    assert first is not second
    assert first.HERE == path
    assert first.__name__ == "dataset_definition"


def test_definition_can_import_helpers_from_its_own_directory(tmp_path):
    for number, dob_year in [(1, 1950), (2, 1990)]:
        directory = tmp_path / f"study{number}"
        directory.mkdir()
        write(directory / "helpers.py", f"YEAR = {dob_year}\n")
        definition(
            directory,
            """
            from helpers import YEAR
            dataset = create_dataset()
            dataset.define_population(patients.date_of_birth.year > YEAR)
            """,
        )
    path_entries = list(sys.path)
    # Each study sees its own helpers module, though both are called `helpers`.
    years = [
        next(
            n.value
            for n in qm.all_nodes(
                load_dataset(tmp_path / f"study{i}" / "dataset_definition.py")
            )
            if isinstance(n, qm.Value) and isinstance(n.value, int)
        )
        for i in (1, 2)
    ]
    assert years == [1950, 1990]
    assert sys.path == path_entries
    assert "helpers" not in sys.modules


# -- errors point at the user's code ----------------------------------------------


def assert_no_internal_frames(message):
    for internal in ("query_language.py", "nodes.py", "loaders.py", "Traceback"):
        assert internal not in message


def test_syntax_error(tmp_path):
    path = definition(
        tmp_path,
        """
        dataset = create_dataset(
        dataset.x = 1
        """,
    )
    message = load_error(path)
    assert message.splitlines() == [
        f"Syntax error in {path}, line 4:",
        "    dataset = create_dataset(",
        "                            ^",
        "SyntaxError: '(' was never closed",
    ]


def test_exception_raised_in_the_definition(tmp_path):
    path = definition(
        tmp_path,
        """
        dataset = create_dataset()
        ratio = 1 / 0
        """,
    )
    assert load_error(path).splitlines() == [
        f"Error in {path}, line 5:",
        "    ratio = 1 / 0",
        "ZeroDivisionError: division by zero",
    ]


def test_ehrql_error_raised_deep_inside_ehrql_shows_only_the_users_line(tmp_path):
    path = definition(
        tmp_path,
        """
        dataset = create_dataset()
        dataset.define_population(patients.exists_for_patient())
        dataset.bad = patients.sex + 1
        """,
    )
    message = load_error(path)
    lines = message.splitlines()
    assert lines[:2] == [
        f"Error in {path}, line 6:",
        "    dataset.bad = patients.sex + 1",
    ]
    assert len(lines) == 3
    assert_no_internal_frames(message)


def test_a_type_error_run_from_the_definitions_own_folder_names_its_file_and_line(
    tmp_path, monkeypatch
):
    # Validation runs in generated dataclass code whose file is "<string>",
    # which looked like a file in the working directory.
    path = definition(
        tmp_path, "dataset = create_dataset()\ndataset.x = patients.sex > 3\n"
    )
    monkeypatch.chdir(tmp_path)
    lines = load_error(path.name).splitlines()
    assert lines[:2] == [
        "Error in dataset_definition.py, line 4:",
        "    dataset.x = patients.sex > 3",
    ]
    assert "cannot compare a string series with an integer series" in lines[2]


def test_unknown_column(tmp_path):
    path = definition(
        tmp_path,
        """
        dataset = create_dataset()
        dataset.define_population(patients.exists_for_patient())
        dataset.x = clinical_events.snomed_code.count_distinct_for_patient()
        """,
    )
    message = load_error(path)
    assert message.startswith(f"Error in {path}, line 6:\n")
    assert "clinical_events.snomed_code" in message
    assert "AttributeError:" in message and "snomed_code" in message.splitlines()[-1]
    assert_no_internal_frames(message)


def test_validation_error_from_the_query_model(tmp_path):
    path = definition(
        tmp_path,
        """
        dataset = create_dataset()
        dataset.define_population(~patients.exists_for_patient())
        """,
    )
    message = load_error(path)
    assert message.startswith(
        f"Error in {path}, line 5:\n    dataset.define_population("
    )
    assert (
        "PopulationValidationError: the population would include patients who have no records"
        in message
    )
    assert_no_internal_frames(message)


def test_error_in_a_function_shows_the_call_chain_in_the_users_file(tmp_path):
    path = definition(
        tmp_path,
        """
        def age_at(date):
            return patients.age_on(date)

        dataset = create_dataset()
        dataset.age = age_at("2020-02-30")
        """,
    )
    message = load_error(path)
    assert message.splitlines()[:3] == [
        f"Error in {path}, line 5:",
        f"  (called from {path} line 8)",
        "    return patients.age_on(date)",
    ]
    assert "'2020-02-30' is not a date" in message
    assert_no_internal_frames(message)


def test_error_in_an_imported_helper_module(tmp_path):
    write(tmp_path / "broken_helper.py", "VALUE = undefined_name\n")
    path = definition(tmp_path, "import broken_helper\n")
    message = load_error(path)
    assert message.splitlines() == [
        f"Error in {tmp_path / 'broken_helper.py'}, line 1:",
        f"  (called from {path} line 3)",
        "    VALUE = undefined_name",
        "NameError: name 'undefined_name' is not defined",
    ]


def test_missing_parameter(tmp_path):
    path = definition(tmp_path, 'index = get_parameter("index_date")\n')
    message = load_error(path)
    assert message.splitlines()[:2] == [
        f"Error in {path}, line 3:",
        '    index = get_parameter("index_date")',
    ]
    assert "parameter 'index_date' was not given" in message


def test_no_dataset_variable(tmp_path):
    path = definition(tmp_path, "data = create_dataset()\n")
    assert load_error(path) == (
        f"{path}: no variable named `dataset` was defined; a dataset definition must end up "
        "with `dataset = create_dataset()` and a population"
    )


def test_dataset_of_the_wrong_type(tmp_path):
    path = definition(tmp_path, "dataset = patients\n")
    assert load_error(path).splitlines() == [
        f"Error in {path}, line 3:",
        "    dataset = patients",
        "`dataset` must be made by create_dataset(), but it is a patients",
    ]


def test_no_population_points_at_where_the_dataset_was_made(tmp_path):
    path = definition(
        tmp_path,
        """
        dataset = create_dataset()
        dataset.sex = patients.sex
        """,
    )
    assert load_error(path).splitlines() == [
        f"Error in {path}, line 4:",
        "    dataset = create_dataset()",
        "DefinitionError: the dataset has no population: call dataset.define_population(...)",
    ]


def test_unreadable_definition(tmp_path):
    with pytest.raises(
        DefinitionFileError, match="cannot read definition file .*nope.py"
    ):
        load_dataset(tmp_path / "nope.py")
    (tmp_path / "latin1.py").write_bytes(b"# caf\xe9\n")
    with pytest.raises(DefinitionFileError, match="is not UTF-8 text"):
        load_dataset(tmp_path / "latin1.py")


def test_user_frames_keeps_only_the_users_files(tmp_path):
    path = definition(
        tmp_path,
        """
        dataset = create_dataset()
        dataset.x = patients.sex.is_in("female")
        """,
    )
    with pytest.raises(DefinitionFileError) as info:
        load_dataset(path)
    original = info.value.__cause__
    all_frames = [f.filename for f in traceback.extract_tb(original.__traceback__)]
    assert any(name.endswith("query_language.py") for name in all_frames)
    frames = user_frames(original.__traceback__, path)
    assert [(f.filename, f.lineno) for f in frames] == [(str(path), 5)]
    assert "is_in() needs a list" in str(info.value)


def test_the_population_s_conditions_come_back_with_the_lines_that_built_them(
    tmp_path,
):
    path = definition(
        tmp_path,
        """
        age = patients.age_on("2020-01-01")
        dataset = create_dataset()
        dataset.define_population(
            (age >= 18)
            & (age > 200)
        )
        dataset.unused = clinical_events.count_for_patient()
        """,
    )
    loaded = load_dataset_definition(path)
    lines = {
        type(node).__name__: line
        for node, (file, line) in loaded.condition_locations.items()
        if file == str(path)
    }
    assert lines["DateDifferenceInYears"] == 4
    assert lines["GE"] == 7
    assert lines["GT"] == 8
    # Only the population's conditions travel: not the columns'.
    assert not any(
        isinstance(node, qm.AggregateByPatient.Count)
        for node in loaded.condition_locations
    )


def test_series_built_outside_a_load_record_no_location():
    from ehrql import query_language
    from ehrql.tables.core import patients

    assert query_language._LOCATIONS.get() is None
    patients.age_on("2020-01-01") > 200
    assert query_language._LOCATIONS.get() is None
