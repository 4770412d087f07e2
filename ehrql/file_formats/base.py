"""Column specs: the name and type of each column a file holds.

Writers and readers of every format take the same list of `ColumnSpec`, so
that a dataset written as CSV and read back as Arrow agree on what each column
means. `patient_id` is an ordinary spec, always first.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Sequence
from typing import Any

from ehrql.codes import BaseCode
from ehrql.errors import DataError
from ehrql.query_model.nodes import is_code_type, type_name


class FileValidationError(DataError):
    """A file's contents do not match the columns or types expected of it."""


#: The Python types a column may hold, besides the code classes.
COLUMN_TYPES = (bool, int, float, str, datetime.date)


@dataclasses.dataclass(frozen=True)
class ColumnSpec:
    """One column of a file: its name, value type, and the values it may take.

    `type` is one of `COLUMN_TYPES` or a code class (codes are stored as
    strings). `categories`, when not None, lists every value the column can
    hold (besides null), in the order they should be listed.
    """

    name: str
    type: Any
    nullable: bool = True
    categories: tuple | None = None

    def __post_init__(self):
        if self.type not in COLUMN_TYPES and not is_code_type(self.type):
            raise TypeError(f"column '{self.name}' has unsupported type {self.type!r}")

    @property
    def type_name(self) -> str:
        """The type as a researcher would say it: "integer", "date", "SNOMED-CT code"."""
        return type_name(self.type)


def patient_id_spec(patient_id_type: type = int) -> ColumnSpec:
    """The spec of the `patient_id` column that starts every file.

    Ids are integers, except from a backend that keys patients by text (EMIS).
    """
    return ColumnSpec("patient_id", patient_id_type, nullable=False)


def plain_value(value) -> Any:
    """A value as stored in a file: codes become their strings, the rest is unchanged."""
    return value.value if isinstance(value, BaseCode) else value


def check_column_names(
    source: str, found: Sequence[str], specs: Sequence[ColumnSpec], *, allow_extra: bool
) -> None:
    """Raise FileValidationError unless `found` has every spec's column (and no others
    unless `allow_extra`)."""
    expected = [spec.name for spec in specs]
    missing = [name for name in expected if name not in found]
    extra = [name for name in found if name not in expected]
    duplicated = sorted({name for name in found if list(found).count(name) > 1})
    problems = []
    if missing:
        problems.append("missing columns: " + ", ".join(missing))
    if extra and not allow_extra:
        problems.append("unexpected columns: " + ", ".join(extra))
    if duplicated:
        problems.append("repeated columns: " + ", ".join(duplicated))
    if problems:
        raise FileValidationError(
            f"{source}: {'; '.join(problems)} (expected columns: {', '.join(expected)})"
        )
