"""Codelists: lists of clinical codes, optionally with a category for each code.

As in public ehrQL, `codelist_from_csv` gives a plain list of code strings, or,
with a category column, a dict from code to category. They are a `list` and a
`dict` subclass, so everything a definition does with lists and dicts works
(`a + b`, `codes[0]`, `len`, iteration, `in`, `dict(...)`); the subclasses only
remember the file and line each code came from, so that a code that is not
valid for the series it is used with is reported at that line.

The coding system of the codes is the one of the series they are compared with;
they are checked against it when the codelist is used.
"""

from __future__ import annotations

import csv
import io
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path

from ehrql.codes import BaseCode, CodelistError
from ehrql.utils.study_files import check_in_study

__all__ = [
    "Codelist",
    "CategorisedCodelist",
    "codelist_from_csv",
    "codelist_from_csv_lines",
    "CodelistError",
]


def _describe_origin(origins: Mapping[str, str], code: str) -> str:
    origin = origins.get(code)
    return f"{origin}: " if origin else ""


def _convert(
    code: str, code_class: type[BaseCode], origins: Mapping[str, str]
) -> BaseCode:
    try:
        return code_class(code)
    except CodelistError as e:
        raise CodelistError(f"{_describe_origin(origins, code)}{e}") from None


class Codelist(list):
    """A list of code strings read from a CSV file.

    It is an ordinary `list` of strings: join two with `+`, index, loop over
    it, test `code in codelist`. It also remembers where each code was read, so
    that an invalid code is reported with its file and line.
    """

    def __init__(
        self, codes: Iterable[str] = (), origins: Mapping[str, str] | None = None
    ):
        super().__init__(codes)
        #: Where each code was read, as "FILE line N".
        self.origins: dict[str, str] = dict(origins or {})

    def __add__(self, other):
        if not isinstance(other, list):
            return NotImplemented
        return Codelist([*self, *other], {**_origins_of(other), **self.origins})

    def __radd__(self, other):
        if not isinstance(other, list):
            return NotImplemented
        return Codelist([*other, *self], {**self.origins, **_origins_of(other)})

    def codes_for(self, code_class: type[BaseCode]) -> frozenset[BaseCode]:
        """The codes as values of `code_class`, each checked against its system."""
        return frozenset(_convert(code, code_class, self.origins) for code in self)


class CategorisedCodelist(dict):
    """A dict from code string to category, read from a CSV file with a category column.

    Pass it to `to_category()` to turn a series of codes into their categories;
    `is_in()` uses its codes. It remembers where each code was read.
    """

    def __init__(
        self, mapping: Mapping[str, str] = (), origins: Mapping[str, str] | None = None
    ):
        super().__init__(mapping)
        #: Where each code was read, as "FILE line N".
        self.origins: dict[str, str] = dict(origins or {})

    def codes_for(self, code_class: type[BaseCode]) -> frozenset[BaseCode]:
        """The codes as values of `code_class`, each checked against its system."""
        return frozenset(_convert(code, code_class, self.origins) for code in self)

    def category_map_for(self, code_class: type[BaseCode]) -> dict[BaseCode, str]:
        """Code (as `code_class`) -> category, each code checked against its system."""
        return {
            _convert(code, code_class, self.origins): cat for code, cat in self.items()
        }


def _origins_of(value) -> dict[str, str]:
    return getattr(value, "origins", {})


def codelist_from_csv(
    filename: str | Path, *, column: str, category_column: str | None = None
) -> Codelist | CategorisedCodelist:
    """Read a codelist from the CSV file `filename` (a path relative to where ehrql runs).

    `column` names the column holding the codes; blank cells are skipped, and
    each code is kept once. Without `category_column` the result is a list of
    code strings. With it, the result is a dict mapping each code to the value
    of that column on its row, for use with `to_category()`. Codes are checked
    against the coding system of the series they are used with.
    """
    path = Path(filename)
    check_in_study(path, "codelist file")
    if not path.is_file():
        hint = ""
        if "\\" in str(filename):
            hint = ": write paths with forward slashes (/), not backslashes"
        raise CodelistError(f"codelist file not found: {path}{hint}")
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            return _read(f, column, category_column, str(path))
    except UnicodeDecodeError as e:
        raise CodelistError(
            f"{path} is not UTF-8 text ({e.reason} at byte {e.start}): save it as CSV UTF-8"
        ) from None


def codelist_from_csv_lines(
    lines: Iterable[str], *, column: str, category_column: str | None = None
) -> Codelist | CategorisedCodelist:
    """Read a codelist from lines of CSV text (for example, a string's `splitlines()`).

    Works as `codelist_from_csv`, for a codelist that is not in a file.
    """
    if isinstance(lines, str):
        lines = io.StringIO(lines)
    return _read(lines, column, category_column, "codelist")


def _read(lines: Iterable[str], column: str, category_column: str | None, source: str):
    reader = csv.DictReader(iter(lines), restval="")
    fieldnames = reader.fieldnames or []
    if not fieldnames:
        raise CodelistError(
            f"{source} is empty: a codelist file needs a header line naming its columns"
        )
    for wanted in (column, category_column):
        if wanted is not None and wanted not in fieldnames:
            raise CodelistError(
                f"{source}: no column '{wanted}'; the columns are: {', '.join(fieldnames)}"
            )
    categories: dict[str, str] = {}
    origins: dict[str, str] = {}
    for row in reader:
        code = (row[column] or "").strip()
        if not code:
            continue
        category = (row[category_column] or "").strip() if category_column else ""
        if code in categories and categories[code] != category:
            # Taking either one would put the code's patients in a category silently.
            raise CodelistError(
                f"{source}: code {code!r} is in two categories: {categories[code]!r} "
                f"({origins[code]}) and {category!r} (line {reader.line_num})"
            )
        categories[code] = category
        origins.setdefault(code, f"{source} line {reader.line_num}")
    if not categories:
        warnings.warn(
            f"codelist {source} has no codes (only a header line): anything compared with it never matches",
            CodelistWarning,
            stacklevel=3,
        )
    if category_column is None:
        return Codelist(categories, origins)
    return CategorisedCodelist(categories, origins)


class CodelistWarning(UserWarning):
    """A codelist that can be used but is probably not what was meant (it has no codes)."""
