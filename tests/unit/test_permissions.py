import inspect
import textwrap

import pytest

from ehrql import claim_permissions, create_dataset
from ehrql.loaders import load_dataset_definition, load_measure_definitions
from ehrql.permissions import (
    KNOWN_PERMISSIONS,
    RESTRICTED_TABLES,
    PermissionsError,
    check_held,
    collecting_claims,
    parse_permissions,
    required_permissions,
    unclaimed_warning,
)
from ehrql.query_language import BaseFrame
from ehrql.tables import core, tpp
from ehrql.tables.raw import tpp as raw_tpp


def dataset_reading(*frames, events=False):
    dataset = create_dataset()
    population = core.patients.exists_for_patient()
    for frame in frames:
        population = population | frame.exists_for_patient()
    dataset.define_population(population)
    if events:
        dataset.add_event_table("rows", date=core.clinical_events.date)
    return dataset._compile()


def test_plain_definitions_need_nothing():
    assert required_permissions(dataset_reading(core.clinical_events, tpp.apcs)) == {}


def test_restricted_tables_and_event_tables_are_required_by_public_name():
    needed = required_permissions(
        dataset_reading(
            tpp.appointments,
            raw_tpp.isaric,
            tpp.wl_clockstops,
            raw_tpp.wl_clockstops,
            events=True,
        )
    )
    assert needed == {
        "appointments": "reading `tpp.appointments`",
        "isaric": "reading `raw.tpp.isaric`",
        "wl_clockstops": "reading `tpp.wl_clockstops` and `raw.tpp.wl_clockstops`",
        "event_level_data": "writing event-level rows with `dataset.add_event_table()`",
    }


def test_a_table_is_restricted_by_its_name_whoever_declares_it():
    from ehrql.tables import EventFrame, Series, table

    @table
    class appointments(EventFrame):
        booked_date = Series(int)

    assert "appointments" in required_permissions(dataset_reading(appointments))


def test_every_restricted_table_exists_and_says_so_in_its_docstring():
    modules = {"tpp": tpp, "raw.tpp": raw_tpp}
    for name, (permission, public_name) in RESTRICTED_TABLES.items():
        module_name, attribute = public_name.rsplit(".", 1)
        frame = getattr(modules[module_name], attribute)
        assert isinstance(frame, BaseFrame) and frame._qm_node.name == name
        assert f"`{permission}` permission" in inspect.getdoc(type(frame)), name


def test_every_restricted_table_in_the_tpp_modules_is_listed():
    for module in (tpp, raw_tpp):
        for attribute in module.__all__:
            frame = getattr(module, attribute)
            if "permission:" in (inspect.getdoc(type(frame)) or ""):
                assert frame._qm_node.name in RESTRICTED_TABLES, attribute


@pytest.mark.parametrize(
    "text,expected",
    [
        (None, set()),
        ("", set()),
        ("[]", set()),
        ('["include_t1oo", "appointments"]', {"include_t1oo", "appointments"}),
    ],
)
def test_parse_permissions(text, expected):
    assert parse_permissions(text) == expected


@pytest.mark.parametrize(
    "text,message",
    [
        ("[", "is not valid JSON"),
        ('{"a": 1}', "must be a JSON list"),
        ("[1]", "must be a JSON list"),
        ('["t1oo"]', "unknown permission(s) t1oo"),
    ],
)
def test_parse_permissions_refuses_bad_values(text, message):
    with pytest.raises(
        PermissionsError, match=message.replace("(", r"\(").replace(")", r"\)")
    ):
        parse_permissions(text)


def test_check_held_lists_each_missing_permission_and_what_needs_it():
    query = dataset_reading(tpp.appointments, tpp.ukrr, events=True)
    check_held(query, {"appointments", "ukrr", "event_level_data"})
    with pytest.raises(PermissionsError) as error:
        check_held(query, {"ukrr"})
    message = str(error.value)
    assert "  * appointments: needed for reading `tpp.appointments`\n" in message
    assert "  * event_level_data: needed for writing event-level rows" in message
    assert "ukrr:" not in message


def test_unclaimed_warning_shows_the_line_to_add_keeping_earlier_claims():
    query = dataset_reading(tpp.appointments, tpp.ukrr)
    assert unclaimed_warning(query, ["ukrr", "appointments"]) is None
    warning = unclaimed_warning(query, ["open_prompt", "ukrr"])
    assert warning.startswith("warning: ")
    assert (
        '    from ehrql import claim_permissions\n    claim_permissions("open_prompt", "ukrr", "appointments")\n'
        in warning
    )


def test_claims_are_collected_per_load_and_ignored_outside_one():
    claim_permissions("appointments")  # no load: nothing to record, nothing kept
    with collecting_claims() as first:
        claim_permissions("appointments", "ukrr")
        claim_permissions("appointments")
    with collecting_claims() as second:
        pass
    assert first == ["appointments", "ukrr"]
    assert second == []


@pytest.mark.parametrize("bad,error", [(1, TypeError), ("appointmnets", ValueError)])
def test_claiming_a_non_string_or_unknown_name_fails(bad, error):
    with pytest.raises(error):
        claim_permissions(bad)


def test_known_permissions_include_the_population_permissions():
    assert {
        "include_t1oo",
        "include_ndoo",
        "include_gp_unactivated",
        "event_level_data",
    } <= KNOWN_PERMISSIONS


def test_loaded_definitions_carry_their_claims_as_data(tmp_path):
    path = tmp_path / "dataset_definition.py"
    path.write_text(
        textwrap.dedent(
            """
            from ehrql import claim_permissions, create_dataset
            from ehrql.tables.core import patients
            claim_permissions("ukrr")
            dataset = create_dataset()
            dataset.define_population(patients.exists_for_patient())
            claim_permissions("appointments", "ukrr")
            """
        )
    )
    assert load_dataset_definition(path).claimed_permissions == ("ukrr", "appointments")
    other = tmp_path / "other.py"
    other.write_text(path.read_text().replace("claim_permissions(", "print("))
    assert load_dataset_definition(other).claimed_permissions == ()


def test_loaded_measures_carry_their_claims(tmp_path):
    path = tmp_path / "measures.py"
    path.write_text(
        textwrap.dedent(
            """
            from ehrql import INTERVAL, claim_permissions, create_measures, years
            from ehrql.tables.core import patients
            claim_permissions("appointments")
            measures = create_measures()
            measures.define_measure(
                "m", numerator=patients.exists_for_patient(), denominator=patients.exists_for_patient(),
                group_by={}, intervals=years(1).starting_on("2020-01-01"),
            )
            """
        )
    )
    assert load_measure_definitions(path).claimed_permissions == ("appointments",)
