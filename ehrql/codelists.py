"""Codelists: sets of clinical codes, optionally with a category for each code."""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Mapping
from pathlib import Path

from ehrql.codes import CODE_SYSTEMS, BaseCode, CodelistError

__all__ = ["Codelist", "codelist_from_csv", "CodelistError"]


@dataclasses.dataclass(frozen=True)
class Codelist:
    """A set of codes of one system, with an optional category per code."""

    codes: frozenset
    categories: Mapping | None = None

    def category_map(self) -> dict:
        """Code -> category, for `to_category()`."""
        if self.categories is None:
            raise CodelistError(
                "this codelist has no categories: pass category_column= to codelist_from_csv"
            )
        return dict(self.categories)

    def __iter__(self):
        return iter(self.codes)

    def __len__(self):
        return len(self.codes)


def codelist_from_csv(
    filename: str | Path,
    *,
    column: str,
    category_column: str | None = None,
    system: str | None = None,
) -> Codelist:
    """Read a codelist from a CSV file.

    `column` names the column of codes. The code system is taken from `system`
    if given (e.g. "snomedct", "ctv3", "icd10") or guessed from the codes;
    each code is checked against its system's format. With `category_column`,
    each code also gets a category for `to_category()`.
    """
    path = Path(filename)
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
        raw = []
        for line in reader:
            value = (line[column] or "").strip()
            if value:
                raw.append((reader.line_num, value, line[category_column] if category_column else None))
    code_class = _code_class(path, system, [v for _, v, _ in raw])
    codes = {}
    for line_num, value, category in raw:
        try:
            code = code_class(value)
        except CodelistError as e:
            raise CodelistError(f"{path} line {line_num}: {e}") from None
        codes[code] = category
    return Codelist(frozenset(codes), codes if category_column else None)


def _code_class(path: Path, system: str | None, values: list[str]) -> type[BaseCode]:
    if system is not None:
        if system not in CODE_SYSTEMS:
            raise CodelistError(
                f"unknown code system '{system}'; known systems: {', '.join(CODE_SYSTEMS)}"
            )
        return CODE_SYSTEMS[system]
    # Guess: the first system, in a fixed order, that accepts every code.
    for candidate in ("snomedct", "icd10", "opcs4", "ctv3", "bnf", "dmd", "readv2"):
        cls = CODE_SYSTEMS[candidate]
        if values and all(cls.is_valid(v) for v in values):
            return cls
    raise CodelistError(
        f"{path}: cannot tell which code system these codes belong to; pass system=..."
    )
