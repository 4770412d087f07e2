"""The definition loaders every command uses: each runs the definition in the
isolated child (`ehrql.isolation.run`) and rebuilds what it sent back into the
objects the in-process loaders in `ehrql.loaders` return."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ehrql.isolation.run import run_definition
from ehrql.loaders import DefinitionFileError, LoadedDataset
from ehrql.query_language import DummyDataConfig, _wrap
from ehrql.query_model import nodes as qm


def load_dataset_definition(
    path: Path | str,
    user_args: Any = None,
    *,
    against_database: bool = False,
    protected: Iterable[Path] = (),
    warn: Callable[[str], None] | None = None,
    meanwhile: Callable[[], object] | None = None,
) -> LoadedDataset:
    """A dataset definition's query model, dummy-data settings and claimed
    permissions; `meanwhile` as `run_definition` takes it."""
    value = run_definition(
        "dataset",
        path,
        user_args,
        against_database=against_database,
        protected=protected,
        warn=warn,
        meanwhile=meanwhile,
    )
    dataset = _expect(value, "dataset", qm.Dataset, path)
    return LoadedDataset(
        dataset,
        _dummy_data_config(value, path),
        population_defined_at=_location(value, path),
        claimed_permissions=_permissions(value, path),
        condition_locations=_condition_locations(value, path),
    )


def load_measure_definitions(
    path: Path | str,
    user_args: Any = None,
    *,
    against_database: bool = False,
    protected: Iterable[Path] = (),
    warn: Callable[[str], None] | None = None,
    meanwhile: Callable[[], object] | None = None,
):
    """A measures definition's `Measures`, rebuilt from what the child sent;
    `meanwhile` as `run_definition` takes it."""
    from ehrql.measures.measures import Measure, Measures

    value = run_definition(
        "measures",
        path,
        user_args,
        against_database=against_database,
        protected=protected,
        warn=warn,
        meanwhile=meanwhile,
    )
    records = value.get("measures") if isinstance(value, dict) else None
    if not isinstance(records, list):
        raise _bad(path, "no list of measures")
    built = []
    for record in records:
        try:
            measure = Measure(
                name=str(record["name"]),
                numerator=record["numerator"],
                denominator=record["denominator"],
                group_by=record["group_by"],
                intervals=tuple(record["intervals"]),
            )
        except (KeyError, TypeError) as e:
            raise _bad(path, f"a malformed measure ({e})") from None
        if not isinstance(measure.numerator, qm.Series) or not isinstance(
            measure.denominator, qm.Series
        ):
            raise _bad(
                path,
                f"measure {measure.name!r} without numerator and denominator series",
            )
        if not isinstance(measure.group_by, qm.FrozenDict):
            raise _bad(path, f"measure {measure.name!r} with a malformed group_by")
        built.append(measure)
    disclosure = value.get("disclosure_control")
    if not isinstance(disclosure, bool):
        raise _bad(path, "no disclosure control setting")
    return Measures._rebuilt(
        built,
        dummy_data_config=_dummy_data_config(value, path),
        disclosure_control_enabled=disclosure,
        claimed_permissions=_permissions(value, path),
        condition_locations=_condition_locations(value, path),
    )


def load_test_data(
    path: Path | str,
    user_args: Any = None,
    *,
    warn: Callable[[str], None] | None = None,
) -> tuple[qm.Dataset, dict]:
    """A definition's dataset query model and its `test_data`, for `assure`."""
    value = run_definition("test_data", path, user_args, warn=warn)
    return _expect(value, "dataset", qm.Dataset, path), _expect(
        value, "test_data", dict, path
    )


def load_test_data_file(
    path: Path | str,
    user_args: Any = None,
    *,
    warn: Callable[[str], None] | None = None,
) -> dict:
    """The `test_data` a Python file sets (for `generate-dataset --test-data-file`)."""
    value = run_definition("test_data_file", path, user_args, warn=warn)
    return _expect(value, "test_data", dict, path)


def run_debug(
    path: Path | str,
    user_args: Any = None,
    *,
    dummy_tables: Path | None = None,
    display_format: str = "ascii",
    warn: Callable[[str], None] | None = None,
) -> None:
    """Run a definition with show() turned on, inside the child, over dummy data only."""
    run_definition(
        "debug",
        path,
        user_args,
        extra_readable=[] if dummy_tables is None else [Path(dummy_tables)],
        options={
            "dummy_tables": None
            if dummy_tables is None
            else str(Path(dummy_tables).resolve()),
            "display_format": display_format,
        },
        warn=warn,
    )


def _expect(value, key: str, kind: type, path) -> Any:
    item = value.get(key) if isinstance(value, dict) else None
    if not isinstance(item, kind):
        raise _bad(path, f"no {key}")
    return item


def _dummy_data_config(value: dict, path) -> DummyDataConfig:
    settings = _expect(value, "dummy_data", dict, path)
    constraint = settings.get("additional_population_constraint")
    if constraint is not None and not (
        isinstance(constraint, qm.Series)
        and constraint.type is bool
        and constraint.domain.is_patient
    ):
        raise _bad(
            path,
            "an additional_population_constraint that is not a boolean patient series",
        )
    try:
        return DummyDataConfig.checked(
            settings["population_size"],
            bool(settings["legacy"]),
            settings["timeout"],
            None if constraint is None else _wrap(constraint),
        )
    except Exception as e:
        raise _bad(path, f"invalid dummy data settings ({e})") from None


def _permissions(value: dict, path) -> tuple[str, ...]:
    """The permissions the definition claimed with `claim_permissions`, in order."""
    names = value.get("claimed_permissions", ())
    if not isinstance(names, (list, tuple)) or not all(
        isinstance(n, str) for n in names
    ):
        raise _bad(path, "a malformed list of claimed permissions")
    return tuple(names)


def _location(value: dict, path) -> tuple | None:
    """Where the population was defined: (file, line), or None."""
    location = value.get("population_defined_at")
    if location is None:
        return None
    if not (
        isinstance(location, tuple)
        and len(location) == 2
        and isinstance(location[0], str)
        and (location[1] is None or isinstance(location[1], int))
    ):
        raise _bad(path, "a malformed population location")
    return location


def _condition_locations(value: dict, path) -> dict:
    """Series node -> (file, line) where the definition built it: plain
    strings and integers, checked like everything else the child sends."""
    entries = value.get("condition_locations", [])
    if not isinstance(entries, list):
        raise _bad(path, "a malformed list of condition locations")
    locations = {}
    for entry in entries:
        if not (
            isinstance(entry, tuple)
            and len(entry) == 3
            and isinstance(entry[0], qm.Series)
            and isinstance(entry[1], str)
            and (entry[2] is None or type(entry[2]) is int)
        ):
            raise _bad(path, "a malformed condition location")
        node, file, line = entry
        locations[node] = (file, line)
    return locations


def _bad(path, what: str) -> DefinitionFileError:
    return DefinitionFileError(
        f"Error in {path}:\nthe definition's process sent back {what}; was ehrql tampered with?"
    )
