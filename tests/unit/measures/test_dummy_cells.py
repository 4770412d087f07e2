"""Measures' dummy data fills every (measure, interval, group) cell it can
above the suppression threshold, and says once when the population asked
for is too small to."""

import textwrap

from ehrql.dummy import generate_dummy_data
from ehrql.loaders import load_measure_definitions
from ehrql.main import engine_over_tables, generate_measures
from ehrql.measures import get_measure_results
from ehrql.measures.disclosure_control import SUPPRESSION_THRESHOLD
from ehrql.measures.dummy_data import measures_dummy_cells, measures_dummy_dataset

DEFINITION = """
from ehrql import INTERVAL, case, create_measures, months, when
from ehrql.tables.core import clinical_events, patients

age = patients.age_on(INTERVAL.start_date)
measures = create_measures()
measures.configure_dummy_data(population_size={size})
measures.define_measure(
    "diagnosed",
    numerator=clinical_events.where(
        (clinical_events.snomedct_code == "22298006")
        & clinical_events.date.is_on_or_before(INTERVAL.end_date)
    ).exists_for_patient(),
    denominator=patients.sex.is_in(["female", "male"]) & (age < 100),
    group_by={{
        "sex": patients.sex,
        "band": case(
            when(age < 40).then("young"),
            when(age < 70).then("middle"),
            otherwise="old",
        ),
    }},
    intervals=months(3).starting_on("2022-01-01"),
)
"""


def write_definition(tmp_path, size):
    definition = tmp_path / "measures.py"
    definition.write_text(textwrap.dedent(DEFINITION.format(size=size)))
    return definition


def test_every_interval_and_group_gets_numerators_that_pass_disclosure_control(
    tmp_path,
):
    measures = load_measure_definitions(write_definition(tmp_path, 10), [])
    cells = measures_dummy_cells(measures)
    # Two sexes (the denominator leaves out the other two) by three bands, in
    # three intervals; a diagnosis before the first counts in all three, so
    # one patient serves a group's three cells (and a few more patients
    # are made for every interval whatever the group, and for variety).
    assert cells.cells == 2 * 3 * 3
    needed = (SUPPRESSION_THRESHOLD + 1) * 2 * 3
    assert needed < cells.patients_needed < needed * 1.4
    assert cells.shortfall(cells.patients_needed) is None

    data = generate_dummy_data(
        measures_dummy_dataset(measures),
        population_size=cells.patients_needed,
        quotas=cells.quotas,
        quota_plans=cells.plans,
    )
    measures.disclosure_control_enabled = False
    rows = list(get_measure_results(engine_over_tables(None, data.tables), measures))
    numerators = {(row[1], row[6], row[7]): row[4] for row in rows}
    assert len(numerators) == 18
    assert all(n > SUPPRESSION_THRESHOLD for n in numerators.values()), sorted(
        numerators.items()
    )


def run_measures(tmp_path, size) -> list:
    logged = []
    generate_measures(
        write_definition(tmp_path, size), tmp_path / "measures.csv", log=logged.append
    )
    return logged


def test_too_small_a_population_is_said_once_with_what_would_do(tmp_path):
    logged = run_measures(tmp_path, 10)
    said = [line for line in logged if "disclosure control" in line]
    assert said == [
        "Dummy data: the measures have 18 (measure, interval, group) cells, each "
        "needing more than 7 patients in its numerator to pass disclosure control: "
        "that takes about 63 dummy patients, and 10 were asked, so some numerators "
        "will be reported as 0; configure_dummy_data(population_size=63) asks for "
        "as many"
    ]


def test_a_population_large_enough_says_nothing_about_disclosure_control(tmp_path):
    logged = run_measures(tmp_path, 63)
    assert not [line for line in logged if "disclosure control" in line], logged
