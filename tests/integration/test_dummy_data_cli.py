"""What the command line says when dummy data falls short (issue 15 item 6, issue 17)."""

import csv
import textwrap

from tests.lib.cli import command, run


def definition(tmp_path, body, name="dataset_definition.py"):
    path = tmp_path / name
    path.write_text(
        "from ehrql import create_dataset\n"
        "from ehrql.tables.core import clinical_events, patients\n"
        "dataset = create_dataset()\n" + textwrap.dedent(body)
    )
    return path


def test_an_impossible_population_exits_non_zero_naming_the_condition_and_line(
    tmp_path, capsys
):
    path = definition(
        tmp_path,
        """
        age = patients.age_on("2020-01-01")
        dataset.define_population((age > 150) & clinical_events.exists_for_patient())
        dataset.age = age
        """,
    )
    output = tmp_path / "out.csv"
    code, _, err = run(command("generate-dataset", path, output=output), capsys)
    assert code == 1
    assert "no dummy patients were made (0 of 10 asked)" in err
    assert "patients.date_of_birth" in err and "> 150" in err
    assert f"the condition in {path}, line 6 is never true" in err
    # Said once, and nothing is written.
    assert err.count("0 of 10") == 1
    assert not output.exists()


def test_the_condition_no_patient_can_meet_is_named_by_its_own_line(tmp_path, capsys):
    path = definition(
        tmp_path,
        """
        age = patients.age_on("2020-01-01")
        dataset.define_population(
            (age >= 18)
            & clinical_events.exists_for_patient()
            & (age > 200)
            & patients.sex.is_in(["female", "male"])
        )
        dataset.age = age
        """,
    )
    code, _, err = run(
        command("generate-dataset", path, output=tmp_path / "out.csv"), capsys
    )
    assert code == 1
    assert "no dummy patients were made (0 of 10 asked)" in err
    # Line 9 holds `age > 200`; the population starts on line 6.
    assert f"the condition in {path}, line 9 is never true" in err
    assert "line 6" not in err


def test_conditions_that_contradict_each_other_are_named_where_they_are_combined(
    tmp_path, capsys
):
    path = definition(
        tmp_path,
        """
        age = patients.age_on("2020-01-01")
        old = age > 80
        young = age < 20
        dataset.define_population(
            clinical_events.exists_for_patient()
            & (old & young)
        )
        """,
    )
    code, _, err = run(
        command("generate-dataset", path, output=tmp_path / "out.csv"), capsys
    )
    assert code == 1
    # Neither `old` (line 6) nor `young` (line 7) is impossible alone: line
    # 10 combines them.
    assert f"the condition in {path}, line 10 is never true" in err


def test_a_condition_left_to_chance_that_no_patient_meets_is_named_by_its_line(
    tmp_path, capsys
):
    path = definition(
        tmp_path,
        """
        n = clinical_events.count_for_patient()
        dataset.define_population(
            patients.exists_for_patient()
            & ((n * n - n * 3) == 11)
        )
        dataset.configure_dummy_data(timeout=1)
        """,
    )
    code, _, err = run(
        command("generate-dataset", path, output=tmp_path / "out.csv"), capsys
    )
    assert code == 1
    assert "no dummy patients were made (0 of 10 asked): the time limit" in err
    # The solver cannot tell that no count meets it, but names where it is.
    assert "left to chance and checked afterwards: " in err
    assert f"== 11) ({path}, line 8)" in err


def test_a_run_cut_short_by_the_time_limit_says_so_once_and_succeeds(tmp_path, capsys):
    path = definition(
        tmp_path,
        """
        dataset.define_population(clinical_events.exists_for_patient())
        dataset.configure_dummy_data(population_size=2_000_000, timeout=1)
        """,
    )
    output = tmp_path / "out.csv"
    code, _, err = run(command("generate-dataset", path, output=output), capsys)
    assert code == 0, err
    made = len(list(csv.reader(output.open()))) - 1
    assert 0 < made < 2_000_000
    lines = [line for line in err.splitlines() if "dummy patients" in line]
    assert len(lines) == 1
    assert f"made {made} of 2000000 dummy patients" in lines[0]
    assert "time limit of 1 s ran out" in lines[0]


def test_a_full_run_reports_the_count_once(tmp_path, capsys):
    path = definition(
        tmp_path, "dataset.define_population(patients.exists_for_patient())\n"
    )
    code, _, err = run(
        command("generate-dataset", path, output=tmp_path / "o.csv"), capsys
    )
    assert code == 0, err
    assert err.count("made 10 of 10 dummy patients") == 1


def test_legacy_dummy_data_uses_the_one_generator_and_says_so(tmp_path, capsys):
    path = definition(
        tmp_path,
        """
        dataset.define_population(patients.exists_for_patient())
        dataset.configure_dummy_data(population_size=5, legacy=True)
        """,
    )
    code, _, err = run(
        command("generate-dataset", path, output=tmp_path / "o.csv"), capsys
    )
    assert code == 0, err
    assert (
        err.count(
            "configure_dummy_data(legacy=True): this ehrql has one dummy data generator"
        )
        == 1
    )
    assert len((tmp_path / "o.csv").read_text().splitlines()) == 6


def test_legacy_must_be_a_bool(tmp_path, capsys):
    path = definition(tmp_path, "dataset.configure_dummy_data(legacy='yes')\n")
    code, _, err = run(
        command("generate-dataset", path, output=tmp_path / "o.csv"), capsys
    )
    assert code == 10
    assert "legacy must be True or False, not 'yes'" in err


def test_legacy_with_an_additional_constraint_is_refused(tmp_path, capsys):
    # As public ehrQL documents: its legacy generator takes no constraint.
    path = definition(
        tmp_path,
        """
        dataset.define_population(patients.exists_for_patient())
        dataset.configure_dummy_data(
            legacy=True, additional_population_constraint=patients.sex == "female"
        )
        """,
    )
    code, _, err = run(
        ["generate-dataset", path, "--output", tmp_path / "o.csv"], capsys
    )
    assert code == 10
    assert "additional_population_constraint cannot be used with legacy=True" in err
    assert not (tmp_path / "o.csv").exists()


def test_measures_with_no_possible_patient_exit_non_zero(tmp_path, capsys):
    path = tmp_path / "measures.py"
    path.write_text(
        textwrap.dedent(
            """
            from ehrql import INTERVAL, create_measures, years
            from ehrql.tables.core import clinical_events, patients
            measures = create_measures()
            age = patients.age_on(INTERVAL.start_date)
            measures.define_measure(
                "m",
                numerator=clinical_events.where(clinical_events.date.is_during(INTERVAL)).exists_for_patient(),
                denominator=patients.exists_for_patient()
                & (age > 150),
                group_by={"sex": patients.sex},
                intervals=years(2).starting_on("2020-01-01"),
            )
            """
        )
    )
    code, _, err = run(
        command("generate-measures", path, output=tmp_path / "m.csv"), capsys
    )
    assert code == 1
    assert "no dummy patients were made" in err
    # The denominator's impossible condition, on its own line.
    assert f"the condition in {path}, line 10 is never true" in err


def test_measures_on_too_few_dummy_patients_say_once_that_numerators_are_hidden(
    tmp_path, capsys
):
    path = tmp_path / "measures.py"
    path.write_text(
        textwrap.dedent(
            """
            from ehrql import INTERVAL, create_measures, months
            from ehrql.tables.core import clinical_events, patients
            measures = create_measures()
            measures.configure_dummy_data(population_size=20)
            measures.define_measure(
                "m",
                numerator=clinical_events.where(clinical_events.date.is_during(INTERVAL)).exists_for_patient(),
                denominator=patients.exists_for_patient(),
                group_by={"sex": patients.sex},
                intervals=months(6).starting_on("2020-01-01"),
            )
            """
        )
    )
    code, _, err = run(
        command("generate-measures", path, output=tmp_path / "m.csv"), capsys
    )
    assert code == 0, err
    lines = [line for line in err.splitlines() if "disclosure control" in line]
    assert len(lines) == 1
    assert "20 dummy patients are too few" in lines[0]
