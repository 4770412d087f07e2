"""Loading a researcher's definition file.

The file is run as a fresh module, with its own directory and the study's root
(the working directory) on `sys.path`, so it can import its own helper
modules, and with the user arguments given after `--` on the command line
available to `get_parameter` and as `sys.argv[1:]` (see `ehrql.user_args`). Anything that goes
wrong inside it is reported as a `DefinitionFileError` whose message points at
the researcher's own code: the file, the line, and that line's source, with
none of ehrql's internal frames.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import linecache
import sys
import traceback
import types
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import ehrql
from ehrql.errors import EHRQLError
from ehrql.permissions import collecting_claims
from ehrql.query_language import Dataset, DummyDataConfig, recording_locations
from ehrql.query_model import nodes as qm
from ehrql.user_args import UserArguments, as_argument_list, user_arguments

#: User arguments: the list given after `--` (a name-to-value mapping is also accepted).
UserArgs = Sequence[str] | Mapping[str, str] | None

#: Where ehrql's own code lives: frames from here are never shown to the user.
_EHRQL_DIRECTORY = Path(ehrql.__file__).resolve().parent


class DefinitionFileError(EHRQLError):
    """A definition file could not be loaded; the message says where and why."""


class MissingDefinitionError(DefinitionFileError):
    """A definition file ran, but did not set the variable asked for (`dataset`, `measures`)."""


@dataclasses.dataclass(frozen=True)
class LoadedDataset:
    """What a dataset definition file defines: the query model, and how to make dummy data."""

    query_model: qm.Dataset
    dummy_data_config: DummyDataConfig
    #: (file, line) where the population was defined, when known.
    population_defined_at: tuple | None = None
    #: Permissions the file claimed with `claim_permissions` (dummy data only).
    claimed_permissions: tuple[str, ...] = ()
    #: Series node -> (file, line) where the definition built it, for the
    #: conditions of the population (and of the dummy data constraint).
    condition_locations: Mapping = dataclasses.field(default_factory=dict)


def load_dataset(path: Path | str, user_args: UserArgs = None) -> qm.Dataset:
    """Run a dataset definition file and return the query model of its `dataset`."""
    return load_dataset_definition(path, user_args).query_model


def load_dataset_definition(
    path: Path | str, user_args: UserArgs = None
) -> LoadedDataset:
    """Run a dataset definition file and return what its `dataset` defines."""
    path = Path(path)
    return _dataset_from_module(path, load_module(path, user_args))


def _dataset_from_module(path: Path, module: types.ModuleType) -> LoadedDataset:
    dataset = _required_variable(
        path,
        module,
        "dataset",
        Dataset,
        "a dataset definition must end up with `dataset = create_dataset()` and a population",
    )
    try:
        return LoadedDataset(
            dataset._compile(),
            dataset.dummy_data_config,
            dataset.population_defined_at,
            claimed_permissions(module),
            condition_locations(
                module,
                dataset._population,
                dataset.dummy_data_config.additional_population_constraint,
            ),
        )
    except EHRQLError as e:
        # Raised after the file has run, so no frame of it is on the stack:
        # point at where `dataset` was made instead.
        message = f"{type(e).__name__}: {e}"
        raise DefinitionFileError(
            _located(path, _assignment_line(path, "dataset"), message)
        ) from e


def load_measure_definitions(path: Path | str, user_args: UserArgs = None):
    """Run a measures definition file and return its `measures` (a `Measures`)."""
    from ehrql.measures import Measures

    path = Path(path)
    module = load_module(path, user_args)
    measures = _required_variable(
        path,
        module,
        "measures",
        Measures,
        "a measures definition must set `measures = create_measures()` and define at least one measure",
    )
    if not len(measures):
        raise DefinitionFileError(
            _located(
                path,
                _assignment_line(path, "measures"),
                "no measures were defined: call measures.define_measure(...)",
            )
        )
    measures.claimed_permissions = claimed_permissions(module)
    measures.condition_locations = condition_locations(
        module, *(measure.denominator for measure in measures)
    )
    return measures


def _required_variable(
    path: Path, module: types.ModuleType, name: str, kind: type, hint: str
):
    """The module's variable `name`, which must exist and be made by create_<name>()."""
    value = getattr(module, name, None)
    if value is None:
        raise MissingDefinitionError(
            f"{path}: no variable named `{name}` was defined; {hint}"
        )
    if not isinstance(value, kind):
        raise DefinitionFileError(
            _located(
                path,
                _assignment_line(path, name),
                f"`{name}` must be made by create_{name}(), but it is a {type(value).__name__}",
            )
        )
    return value


def load_test_data(
    path: Path | str, user_args: UserArgs = None
) -> tuple[qm.Dataset, dict]:
    """Run a dataset definition file and return its dataset's query model and its `test_data`."""
    path = Path(path)
    module = load_module(path, user_args)
    test_data = getattr(module, "test_data", None)
    if test_data is None:
        raise DefinitionFileError(
            f"{path}: no variable named `test_data` was defined; give the test patients as "
            "`test_data = {patient_id: {table_name: rows, 'expected_in_population': ..., "
            "'expected_columns': {...}}}`"
        )
    return _dataset_from_module(path, module).query_model, test_data


def load_module(
    path: Path | str, user_args: UserArgs = None, *, check_arguments: bool = True
) -> types.ModuleType:
    """Run a definition file as a new module and return it, or raise DefinitionFileError.

    With `check_arguments`, a user argument the file never asked for is an
    error (see `UserArguments.check_all_used`).
    """
    path = Path(path)
    try:
        source = path.read_text(encoding="utf-8")
    except OSError as e:
        raise DefinitionFileError(
            f"cannot read definition file {path}: {e.strerror}"
        ) from None
    except UnicodeDecodeError:
        raise DefinitionFileError(f"definition file {path} is not UTF-8 text") from None
    try:
        code = compile(source, str(path), "exec", dont_inherit=True)
    except SyntaxError as e:
        raise DefinitionFileError(format_syntax_error(path, e)) from None
    module = types.ModuleType(_module_name(path))
    module.__file__ = str(path)
    with (
        _definition_context(path, as_argument_list(user_args)) as arguments,
        collecting_claims() as claims,
        recording_locations() as locations,
    ):
        # The original error stays attached as the cause, for --debug-traceback.
        try:
            exec(code, module.__dict__)
            if check_arguments:
                arguments.check_all_used()
        except SyntaxError as e:
            # A syntax error in a module the definition imports.
            raise DefinitionFileError(
                format_syntax_error(Path(e.filename or path), e)
            ) from e
        except Exception as e:
            raise DefinitionFileError(format_user_exception(path, e)) from e
        except SystemExit as e:
            # Ending the run from inside a definition would exit silently,
            # with a code that means something else to ehrql's callers.
            raise DefinitionFileError(
                format_user_exception(path, e)
                + f"\nThe definition called sys.exit({e.code!r}); a definition cannot end the run, "
                "raise an exception to report a problem"
            ) from e
    # Set once the file has run, so its own code has nothing left to change it with.
    setattr(module, _CLAIMS_ATTRIBUTE, tuple(claims))
    setattr(module, _LOCATIONS_ATTRIBUTE, types.MappingProxyType(locations))
    return module


_CLAIMS_ATTRIBUTE = "__ehrql_claimed_permissions__"
_LOCATIONS_ATTRIBUTE = "__ehrql_locations__"


def condition_locations(module: types.ModuleType, *conditions) -> dict:
    """Node -> (file, line) where the file run by `load_module` built it, for
    every series node inside `conditions` (series or nodes; None skipped)."""
    recorded = getattr(module, _LOCATIONS_ATTRIBUTE, {})
    return {
        node: recorded[node]
        for condition in conditions
        if condition is not None
        for node in qm.all_nodes(getattr(condition, "_qm_node", condition))
        if isinstance(node, qm.Series) and node in recorded
    }


def claimed_permissions(module: types.ModuleType) -> tuple[str, ...]:
    """The permissions a module run by `load_module` claimed, in the order claimed."""
    return tuple(getattr(module, _CLAIMS_ATTRIBUTE, ()))


def _module_name(path: Path) -> str:
    return path.stem if path.stem.isidentifier() else "dataset_definition"


@contextlib.contextmanager
def _definition_context(path: Path, args: Sequence[str]) -> Iterator[UserArguments]:
    """Make the definition's own directory and the study's root (the working
    directory) importable, and give it its user arguments and `sys.argv`.

    Afterwards, forget any modules it imported from those directories, so
    that loading another definition with helpers of the same name works.
    """
    directories = list(
        dict.fromkeys([str(path.resolve().parent), str(Path.cwd().resolve())])
    )
    modules_before = set(sys.modules)
    sys.path[:0] = directories
    try:
        with user_arguments(str(path), args) as arguments:
            yield arguments
    finally:
        for directory in directories:
            with contextlib.suppress(ValueError):
                sys.path.remove(directory)
        for name in set(sys.modules) - modules_before:
            module_file = getattr(sys.modules[name], "__file__", None) or ""
            if any(
                _is_within(Path(module_file), Path(d)) for d in directories
            ) and not _is_ehrql_file(module_file):
                del sys.modules[name]


def _is_within(path: Path, directory: Path) -> bool:
    try:
        path.resolve().relative_to(directory.resolve())
    except (ValueError, OSError):
        return False
    return True


def _is_ehrql_file(filename: str) -> bool:
    return _is_within(Path(filename), _EHRQL_DIRECTORY)


def user_frames(
    tb: types.TracebackType | None, path: Path
) -> list[traceback.FrameSummary]:
    """The frames of a traceback that run the user's own code.

    That is code in the definition file, next to it or under the study's
    root (helper modules it imports), but never ehrql's own modules or
    installed packages, even when the definition happens to sit in a
    directory that contains them.
    """
    directories = [path.resolve().parent, Path.cwd()]
    return [
        frame
        for frame in traceback.extract_tb(tb)
        # Code made at run time (dataclasses' __init__, say) is named "<string>":
        # never a file of the user's, though as a relative path it looks like one.
        if not frame.filename.startswith("<")
        and any(_is_within(Path(frame.filename), d) for d in directories)
        and not _is_ehrql_file(frame.filename)
        and "site-packages" not in Path(frame.filename).parts
    ]


def format_user_exception(path: Path, error: BaseException) -> str:
    """One paragraph saying where in the user's code `error` came from, and what it is."""
    frames = user_frames(error.__traceback__, path)
    message = f"{type(error).__name__}: {error}"
    if not frames:
        return _located(path, None, message)
    last = frames[-1]
    callers = [f"{_display(f.filename)} line {f.lineno}" for f in frames[:-1]]
    return _located(Path(last.filename), last.lineno, message, callers)


def _located(
    path: Path, line: int | None, message: str, callers: Sequence[str] = ()
) -> str:
    """An error message headed by the file and line it is about, and that line's source."""
    if line is None:
        return f"Error in {_display(str(path))}:\n{message}"
    lines = [f"Error in {_display(str(path))}, line {line}:"]
    if callers:
        lines.append(f"  (called from {', '.join(callers)})")
    linecache.checkcache(str(path))
    source = linecache.getline(str(path), line).strip()
    if source:
        lines.append(f"    {source}")
    lines.append(message)
    return "\n".join(lines)


def format_syntax_error(path: Path, error: SyntaxError) -> str:
    """A syntax error as the file, line, the offending source and a caret under the fault."""
    filename = error.filename or str(path)
    lines = [f"Syntax error in {_display(filename)}, line {error.lineno}:"]
    text = error.text or linecache.getline(filename, error.lineno or 0)
    if text:
        stripped = text.rstrip("\n")
        indent = len(stripped) - len(stripped.lstrip())
        lines.append(f"    {stripped.strip()}")
        if error.offset:
            lines.append("    " + " " * max(error.offset - 1 - indent, 0) + "^")
    lines.append(f"SyntaxError: {error.msg}")
    return "\n".join(lines)


def _display(filename: str) -> str:
    """A filename relative to the working directory when it is inside it."""
    path = Path(filename)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return filename


def _assignment_line(path: Path, name: str) -> int | None:
    """The line of the last top-level assignment to `name` in a file, if there is one."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None
    line = None
    for statement in tree.body:
        targets = []
        if isinstance(statement, ast.Assign):
            targets = statement.targets
        elif isinstance(statement, (ast.AnnAssign, ast.AugAssign)):
            targets = [statement.target]
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            line = statement.lineno
    return line
