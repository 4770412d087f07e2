import datetime
import types

import pytest

from ehrql.codes import SNOMEDCTCode
from ehrql.docs import schemas
from ehrql.docs.type_names import researcher_type_name
from ehrql.query_model.table_schema import Constraint
from ehrql.tables import EventFrame, PatientFrame, Series, table


def existing_schema_modules():
    return [
        name for name in schemas.SCHEMA_MODULES if schemas.import_schema_module(name)
    ]


def test_there_is_a_page_per_existing_schema_module():
    pages = schemas.schema_pages()
    expected = {schemas.page_path(name) for name in existing_schema_modules()}
    assert set(pages) == expected
    assert "schemas/core.md" in pages


@pytest.mark.parametrize("module_name", schemas.SCHEMA_MODULES)
def test_each_schema_page_documents_every_table_and_column(module_name):
    module = schemas.import_schema_module(module_name)
    if module is None:
        pytest.skip(f"{module_name} does not exist yet")
    page = schemas.render_schema_page(module)
    tables = schemas.module_tables(module)
    assert tables, f"{module_name} exports no tables"
    for name, frame in tables:
        assert f"## `{name}`" in page
        for column_name, column in frame._qm_node.schema.columns:
            row_start = f"| `{column_name}` | {researcher_type_name(column.type)} |"
            assert row_start in page
            for constraint in column.constraints:
                assert constraint.description.split("|")[0] in page


def test_missing_schema_modules_are_skipped_but_broken_ones_fail(tmp_path, monkeypatch):
    assert schemas.import_schema_module("ehrql.tables.no_such_backend") is None
    assert schemas.import_schema_module("ehrql.tables.no_such_package.core") is None
    (tmp_path / "fake_broken_schema.py").write_text(
        "import no_such_dependency_for_docs\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError):
        schemas.import_schema_module("fake_broken_schema")


def test_page_paths_keep_raw_schemas_apart():
    assert schemas.page_path("ehrql.tables.core") == "schemas/core.md"
    assert schemas.page_path("ehrql.tables.raw.core") == "schemas/raw/core.md"


@table
class people(PatientFrame):
    """One row per person."""

    born = Series(
        datetime.date,
        description="Month of birth.",
        constraints=[Constraint.FirstOfMonth(), Constraint.NotNull()],
    )

    def born_before(self, date: str) -> bool:
        """True when born before `date`."""
        return self.born < date


@table
class events(EventFrame):
    """Many rows per person."""

    code = Series(SNOMEDCTCode, description="What | happened.")


def fake_schema_module():
    """A stand-in schema module, so the rendering is checked on known input."""
    module = types.ModuleType("tests.docs.fake_schema", "A fake schema.")
    module.people = people
    module.events = events
    module.not_a_table = 3
    module.__all__ = ["people", "events", "not_a_table"]
    return module


def test_schema_page_renders_rows_types_constraints_and_helpers():
    page = schemas.render_schema_page(fake_schema_module())
    assert page.startswith("# `tests.docs.fake_schema`\n\nA fake schema.\n")
    assert "| `people` | one row per patient | One row per person. |" in page
    assert "| `events` | many rows per patient | Many rows per person. |" in page
    assert (
        "| `born` | date | Month of birth. | Always the first day of a month<br>Never null |"
        in page
    )
    assert "| `code` | SNOMED CT code | What \\| happened. |  |" in page
    assert (
        "#### `born_before(date: str) -> bool`\n\nTrue when born before `date`." in page
    )
    # Frame methods belong to the language reference, not to each table.
    assert "where(" not in page
    assert page.index("## `people`") < page.index("## `events`")
    assert "The same table as in `tests.docs.test_schemas`." in page
