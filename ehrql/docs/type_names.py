"""Column and series types named the way researchers name them."""

from __future__ import annotations

from typing import Any

from ehrql.query_model import nodes as qm

# Coding systems by their `system_id`, written as their owners write them.
_CODING_SYSTEMS = {
    "bnf": "BNF",
    "ctv3": "CTV3 (Read v3)",
    "dmd": "dm+d",
    "icd10": "ICD-10",
    "opcs4": "OPCS-4",
    "readv2": "Read v2",
    "snomedct": "SNOMED CT",
}


def researcher_type_name(type_: Any) -> str:
    """ "integer", "date", "SNOMED CT code"... for a column type."""
    if qm.is_code_type(type_):
        system = getattr(type_, "system_id", type_.__name__)
        return f"{_CODING_SYSTEMS.get(system, system)} code"
    return qm.type_name(type_)
