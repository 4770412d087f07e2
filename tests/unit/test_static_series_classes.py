"""The series classes can be seen without running ehrql, as IDEs and type checkers see them.

An editor completes `series.` from the source of `ehrql.query_language`, not
from the running module, so each concrete series class must be written out
there, and reading its bases in the source must find the methods that Python
finds on the class.
"""

import ast
from pathlib import Path

import jedi
import pytest

from ehrql import query_language as ql

SOURCE_PATH = Path(ql.__file__)
REPO_ROOT = SOURCE_PATH.parent.parent
SERIES_CLASSES = sorted(ql._SERIES_CLASSES.values(), key=lambda cls: cls.__name__)


def _class_definitions() -> dict[str, ast.ClassDef]:
    tree = ast.parse(SOURCE_PATH.read_text(encoding="utf-8"))
    return {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}


def _static_members(definitions: dict[str, ast.ClassDef], name: str) -> set[str]:
    """The names a class and its bases define, read from the source alone."""
    members = set()
    pending, seen = [name], set()
    while pending:
        current = pending.pop()
        if current in seen or current not in definitions:
            continue
        seen.add(current)
        for item in definitions[current].body:
            if isinstance(item, ast.FunctionDef):
                members.add(item.name)
            elif isinstance(item, ast.Assign):
                members.update(
                    target.id for target in item.targets if isinstance(target, ast.Name)
                )
        pending.extend(
            base.id for base in definitions[current].bases if isinstance(base, ast.Name)
        )
    return members


#: What Python itself puts on every class; 3.13 added the last two.
_CLASS_BOOKKEEPING = frozenset(
    {
        "__doc__",
        "__module__",
        "__dict__",
        "__weakref__",
        "__qualname__",
        "__firstlineno__",
        "__static_attributes__",
    }
)


def _runtime_members(cls: type) -> set[str]:
    """The names the language's own classes give `cls` at runtime."""
    return {
        name
        for klass in cls.__mro__
        if klass.__module__ == ql.__name__
        for name in vars(klass)
        if name not in _CLASS_BOOKKEEPING
    }


def _public(names) -> set[str]:
    return {name for name in names if not name.startswith("_")}


def test_every_series_class_is_written_out_in_the_source():
    definitions = _class_definitions()
    for cls in SERIES_CLASSES:
        assert cls.__name__ in definitions
        assert getattr(ql, cls.__name__) is cls
        assert cls.__name__ in ql.__all__


@pytest.mark.parametrize("cls", SERIES_CLASSES, ids=lambda cls: cls.__name__)
def test_reading_the_source_finds_the_runtime_methods(cls):
    assert _static_members(_class_definitions(), cls.__name__) == _runtime_members(cls)


@pytest.fixture(scope="module")
def jedi_project():
    return jedi.Project(REPO_ROOT)


@pytest.mark.parametrize("cls", SERIES_CLASSES, ids=lambda cls: cls.__name__)
def test_ide_completion_offers_the_runtime_methods(cls, jedi_project):
    # What an editor using jedi (as IPython, VS Code's Jedi mode and others
    # do) offers after `series.`.
    line = f"{cls.__name__}(None)."
    script = jedi.Script(
        f"from ehrql.query_language import {cls.__name__}\n{line}", project=jedi_project
    )
    offered = {completion.name for completion in script.complete(2, len(line))}
    assert _public(offered) == _public(dir(cls))
