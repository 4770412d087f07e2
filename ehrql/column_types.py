"""The one table of column types: for each series type, the SQL and Arrow types holding its values.

SQL dialects, the engines that load rows as Arrow and the Arrow and Parquet
file formats all take their types from here, so a series type is added (or
a column type changed) in one place. Codes are held as text.
"""

from __future__ import annotations

import dataclasses
import datetime
import types
from typing import TYPE_CHECKING

import sqlalchemy as sa

from ehrql.query_model.nodes import is_code_type, type_name

if TYPE_CHECKING:
    import pyarrow as pa


@dataclasses.dataclass(frozen=True)
class ColumnType:
    """How values of one series type are held."""

    #: The generic SQLAlchemy type; each SQL dialect renders it under its own name.
    sql: type[sa.types.TypeEngine]
    #: The name of the pyarrow function making the Arrow type (see `arrow`).
    arrow_name: str

    @property
    def arrow(self) -> pa.DataType:
        """The Arrow type."""
        # Made on demand: pyarrow is slow to import, and writing CSV never needs it.
        import pyarrow

        return getattr(pyarrow, self.arrow_name)()


#: Series type -> how its values are held.
COLUMN_TYPES: types.MappingProxyType = types.MappingProxyType(
    {
        bool: ColumnType(sa.Boolean, "bool_"),
        int: ColumnType(sa.BigInteger, "int64"),
        float: ColumnType(sa.Double, "float64"),
        datetime.date: ColumnType(sa.Date, "date32"),
        str: ColumnType(sa.String, "string"),
    }
)


def column_type(series_type) -> ColumnType:
    """How values of `series_type` are held (a code type as text)."""
    try:
        return COLUMN_TYPES[str if is_code_type(series_type) else series_type]
    except KeyError:
        raise TypeError(
            f"no column type for series type {type_name(series_type)}"
        ) from None


def arrow_type(series_type) -> pa.DataType:
    """The Arrow type holding values of `series_type`."""
    return column_type(series_type).arrow
