"""Read the small text tables spec tests are written in.

    '''
      |  i1 | d1
    --+-----+-----------
    1 | 101 | 2020-01-01
    2 |     | 2020-02-01
    '''

The first column is patient_id; an empty cell is null; booleans are T and F;
dates are ISO; codes and strings are written bare.
"""

from __future__ import annotations

import datetime

from ehrql.query_model import nodes as qm
from ehrql.query_model.table_schema import TableSchema


def parse_cell(text: str, type_):
    """A typed value from a cell's text; the empty cell is null."""
    text = text.strip()
    if text == "":
        return None
    if type_ is bool:
        return {"T": True, "F": False}[text]
    if type_ is int:
        return int(text)
    if type_ is float:
        return float(text)
    if type_ is datetime.date:
        return datetime.date.fromisoformat(text)
    if qm.is_code_type(type_):
        return type_(text)
    return text


def parse_table(text: str, schema: TableSchema) -> list[dict]:
    """Row dicts (with patient_id) from a text table, typed by `schema`."""
    lines = [line for line in text.strip("\n").splitlines() if line.strip()]
    header, _rule, *body = lines
    names = [cell.strip() for cell in header.split("|")[1:]]
    unknown = set(names) - set(schema.column_names)
    if unknown:
        raise ValueError(f"columns not in the table: {sorted(unknown)}")
    rows = []
    for line in body:
        cells = line.split("|")
        row = {"patient_id": int(cells[0])}
        for name, cell in zip(names, cells[1:]):
            row[name] = parse_cell(cell, schema.get_column_type(name))
        for name in schema.column_names:
            row.setdefault(name, None)
        rows.append(row)
    return rows
