"""Codelists: sets of clinical codes, optionally with a category for each code.

As in public ehrQL, a codelist read from a CSV file holds plain code strings;
their coding system is the one of the series they are compared with. The codes
are checked against that system when the codelist is used, and a bad code is
reported with the file and line it came from.
"""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Iterator, Mapping
from pathlib import Path

from ehrql.codes import BaseCode, CodelistError
from ehrql.utils.study_files import check_in_study

__all__ = ["Codelist", "CategorisedCodelist", "codelist_from_csv", "CodelistError"]


@dataclasses.dataclass(frozen=True)
class _Entry:
    code: str
    category: str | None
    line: int


class Codelist:
    """A list of code strings read from a file, remembering where each came from."""

    def __init__(self, entries: tuple[_Entry, ...], source: str):
        self._entries = entries
        self._by_code = {e.code: e for e in entries}
        self.source = source

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_code)

    def __len__(self) -> int:
        return len(self._by_code)

    def __contains__(self, code) -> bool:
        return str(code) in self._by_code

    def __repr__(self):
        return f"{type(self).__name__}({self.source!r}, {len(self)} codes)"

    def codes_for(self, code_class: type[BaseCode]) -> frozenset[BaseCode]:
        """The codes as values of `code_class`, each checked against its system."""
        return frozenset(self._convert(entry, code_class) for entry in self._by_code.values())

    def _convert(self, entry: _Entry, code_class: type[BaseCode]) -> BaseCode:
        try:
            return code_class(entry.code)
        except CodelistError as e:
            raise CodelistError(f"{self.source} line {entry.line}: {e}") from None


class CategorisedCodelist(Codelist, Mapping):
    """A codelist with a category for each code: a mapping code -> category."""

    def __getitem__(self, code) -> str | None:
        return self._by_code[str(code)].category

    def category_map_for(self, code_class: type[BaseCode]) -> dict[BaseCode, str | None]:
        """Code (as `code_class`) -> category, each code checked against its system."""
        return {self._convert(e, code_class): e.category for e in self._by_code.values()}


def codelist_from_csv(
    filename: str | Path, *, column: str, category_column: str | None = None
) -> Codelist:
    """Read a codelist from the CSV file `filename`.

    `column` names the column holding the codes; blank cells are skipped.
    With `category_column`, the result maps each code to its category, for use
    with `to_category()`. Codes are checked against the coding system of the
    series they are used with.
    """
    path = Path(filename)
    check_in_study(path, "codelist file")
    if not path.exists():
        raise CodelistError(f"codelist file not found: {path}")
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        fieldnames = reader.fieldnames or []
        for wanted in (column, category_column):
            if wanted is not None and wanted not in fieldnames:
                raise CodelistError(
                    f"{path}: no column '{wanted}'; the columns are: {', '.join(fieldnames)}"
                )
        entries = []
        for line in reader:
            code = (line[column] or "").strip()
            if code:
                category = line[category_column] if category_column else None
                entries.append(_Entry(code, category, reader.line_num))
    cls = CategorisedCodelist if category_column else Codelist
    return cls(tuple(entries), str(path))
