"""The isolated process that runs a definition (started by `ehrql.isolation.run`).

It reads one request on standard input, imports ehrql, boxes itself in with
`sandbox.apply`, and only then runs the definition. It writes back one JSON
document into its private temporary directory: the serialized query model and
settings, or the error, already worded to point at the user's own line.
Nothing it returns is trusted: the parent deserializes it into fresh,
validated query model nodes.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import traceback
from pathlib import Path


def main() -> None:
    request = json.loads(sys.stdin.read())
    sys.stdin.close()
    # Everything the jobs need is imported before the box closes, so imports
    # do not depend on what the sandbox lets this process read.
    from ehrql.isolation import sandbox
    from ehrql.serializer import serialize_document
    from ehrql.utils.study_files import set_study_directories

    _preload()
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if request.get("apply_sandbox", True):
        status = sandbox.apply(sandbox.Policy.from_json(request["rules"]))
    else:
        status = sandbox.unavailable("the sandbox was not applied")
    result_path = Path(request["result"])
    response: dict = {"sandbox": status.to_json()}
    if request["require_sandbox"] and not status.complete:
        response["refused"] = True
        _write(result_path, json.dumps(response))
        return
    set_study_directories([Path(d) for d in request["study_directories"]])
    definition = Path(request["definition"])
    sys.argv = [str(definition)]
    try:
        options = dict(request.get("options") or {}, sandbox_status=status.to_json())
        value = JOBS[request["job"]](definition, request["user_args"], options)
        response["value"] = json.loads(serialize_document(value))
    except BaseException as error:  # noqa: BLE001 - every failure goes back to the parent
        response["error"] = {
            "type": type(error).__name__,
            "message": str(error),
            "traceback": "".join(traceback.format_exception(error)),
        }
    _write(result_path, json.dumps(response))


def _preload() -> None:
    import ehrql  # noqa: F401
    import ehrql.codelists  # noqa: F401
    import ehrql.loaders  # noqa: F401
    import ehrql.measures  # noqa: F401
    import ehrql.query_language  # noqa: F401
    import ehrql.tables.core  # noqa: F401


def _write(path: Path, text: str) -> None:
    temporary = path.with_suffix(".partial")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
    sys.stdout.flush()
    sys.stderr.flush()


def _dummy_data(config) -> dict:
    extra = config.additional_population_constraint
    return {
        "population_size": config.population_size,
        "legacy": config.legacy,
        "timeout": config.timeout,
        "additional_population_constraint": None if extra is None else extra._qm_node,
    }


def _dataset(definition: Path, user_args, options: dict) -> dict:
    from ehrql.loaders import load_dataset_definition

    loaded = load_dataset_definition(definition, user_args)
    return {
        "dataset": loaded.query_model,
        "dummy_data": _dummy_data(loaded.dummy_data_config),
        "population_defined_at": _location(loaded.population_defined_at),
        "condition_locations": _condition_locations(loaded.condition_locations),
        # The parent checks these against the permissions the definition needs.
        "claimed_permissions": list(loaded.claimed_permissions),
    }


def _location(location) -> tuple | None:
    if location is None:
        return None
    file, line = location
    return (str(file), line if isinstance(line, int) else None)


def _condition_locations(locations) -> list:
    """(node, file, line) for each located condition: plain data the parent checks."""
    return [(node, *_location(location)) for node, location in locations.items()]


def _measures(definition: Path, user_args, options: dict) -> dict:
    from ehrql.loaders import load_measure_definitions

    measures = load_measure_definitions(definition, user_args)
    return {
        "measures": [
            {
                "name": m.name,
                "numerator": m.numerator,
                "denominator": m.denominator,
                "group_by": m.group_by,
                "intervals": m.intervals,
            }
            for m in measures
        ],
        "dummy_data": _dummy_data(measures.dummy_data_config),
        "disclosure_control": measures.disclosure_control_enabled,
        "claimed_permissions": list(measures.claimed_permissions),
        "condition_locations": _condition_locations(measures.condition_locations),
    }


def _test_data(definition: Path, user_args, options: dict) -> dict:
    from ehrql.loaders import load_test_data

    dataset, test_data = load_test_data(definition, user_args)
    return {
        "dataset": dataset,
        "test_data": _sendable_test_data(definition, test_data),
    }


def _test_data_file(definition: Path, user_args, options: dict) -> dict:
    from ehrql.loaders import DefinitionFileError, load_module

    # The test file may not ask for the dataset's arguments itself.
    module = load_module(definition, user_args, check_arguments=False)
    test_data = getattr(module, "test_data", None)
    if test_data is None:
        raise DefinitionFileError(
            f"{definition}: no variable named `test_data` was defined"
        )
    return {"test_data": _sendable_test_data(definition, test_data)}


def _sendable_test_data(definition: Path, test_data):
    from ehrql.loaders import DefinitionFileError
    from ehrql.serializer import SerializationError, serialize_document

    try:
        serialize_document(test_data)
    except SerializationError as error:
        raise DefinitionFileError(
            f"{definition}: `test_data` must hold only dicts, lists, numbers, strings, "
            f"dates, codes and None: {error}"
        ) from None
    return test_data


def _debug(definition: Path, user_args, options: dict) -> dict:
    from ehrql import main

    dummy_tables = options.get("dummy_tables")
    main.debug_dataset_in_process(
        definition,
        dummy_tables=None if dummy_tables is None else Path(dummy_tables),
        user_args=user_args,
        stream=sys.stderr,
        display_format=options.get("display_format", "ascii"),
    )
    return {}


def _probe(definition: Path, user_args, options: dict) -> dict:
    """Try, from inside the box, each thing user code must not do (`ehrql isolation-report`)."""
    from ehrql.isolation.probes import run_probes

    return {"sandbox": options["sandbox_status"], "probes": run_probes(options)}


JOBS = {
    "probe": _probe,
    "dataset": _dataset,
    "measures": _measures,
    "test_data": _test_data,
    "test_data_file": _test_data_file,
    "debug": _debug,
}


if __name__ == "__main__":
    main()
