"""Fixtures shared by the command-line tests."""

import pytest

from tests.lib.cli import SMALL_DEFINITION, write_definition, write_tables


@pytest.fixture
def small(tmp_path):
    """A small definition and the three-patient tables it runs on: (definition, tables)."""
    return write_definition(tmp_path, SMALL_DEFINITION), write_tables(
        tmp_path / "tables"
    )
