import ehrql
from ehrql import query_language as ql
from ehrql.docs import language, series
from ehrql.docs.members import own_members


def test_language_page_documents_every_export():
    page = language.language_page()
    for name in ehrql.__all__:
        assert f"### `{name}" in page, name


def test_language_page_documents_each_method_of_the_returned_classes():
    page = language.language_page()
    for cls in language.documented_classes():
        assert f"### `{cls.__name__}`" in page
        for name, _ in own_members(cls):
            assert f"#### `{name}" in page, f"{cls.__name__}.{name}"


def test_frames_page_documents_picking_filtering_and_aggregating():
    page = language.frames_page()
    for method in (
        "where(condition)",
        "except_where(condition)",
        "sort_by(*sort_values)",
        "first_for_patient()",
        "last_for_patient()",
        "exists_for_patient()",
        "count_for_patient()",
    ):
        assert f"### `{method}" in page


def test_every_concrete_series_class_is_listed():
    concrete = series.concrete_series_classes()
    names = {c.__name__ for c in concrete}
    assert {
        "BoolPatientSeries",
        "IntEventSeries",
        "DateEventSeries",
        "CodePatientSeries",
    } <= names
    page = series.series_page()
    for name in names:
        assert f"| `{name}` |" in page


def test_each_series_method_is_documented_once_per_defining_class():
    page = series.series_page()
    # Defined once, shared by ten classes: a single entry.
    assert page.count("### `is_before(other)`") == 1
    assert page.count("### `minimum_for_patient()`") == 1
    # Two different families define as_int() with different meanings.
    assert page.count("### `as_int()`") == 2


def test_each_family_section_lists_exactly_the_classes_that_have_its_methods():
    page = series.series_page()
    concrete = series.concrete_series_classes()
    for cls in series.defining_classes(concrete):
        applies = [c.__name__ for c in concrete if issubclass(c, cls)]
        line = "Applies to: " + ", ".join(f"`{n}`" for n in applies) + "."
        assert line in page
    section = page.split("## Sum and mean per patient", 1)[1].split("\n## ", 1)[0]
    assert "Applies to: `IntEventSeries`, `FloatEventSeries`." in section


def test_operators_are_listed_in_the_form_researchers_write_them():
    page = series.series_page()
    assert (
        "- `a == b`: True where the values are equal; null where either is null."
        in page
    )
    assert "- `a // b`" in page
    assert "__add__" not in page


def test_every_documented_series_member_appears():
    page = series.series_page()
    for cls in series.defining_classes(series.concrete_series_classes()):
        for name, _ in own_members(cls):
            assert f"### `{name}" in page, f"{cls.__name__}.{name}"
    assert ql.BaseSeries.is_null.__doc__ in page


def test_declaring_tables_section_lists_every_constraint_kind():
    section = language.declaring_tables_section()
    for kind, _cls in language.constraint_kinds():
        assert f"`Constraint.{kind}(" in section
    assert (
        "`Constraint.ClosedRange(minimum: Any, maximum: Any, step: Any = 1)`" in section
    )
    assert "### `table(cls: type)" in section
