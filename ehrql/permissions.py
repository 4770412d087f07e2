"""Permissions: which tables and features a job may use, and claiming them on dummy data.

Some tables hold data only some projects may use, and writing event-level
rows needs its own permission. The names are public ehrQL's. On the
OpenSAFELY platform a job holds the permissions its project was granted, given
to ehrql as the `EHRQL_PERMISSIONS` environment variable (a JSON list of
names); a run against a database that needs one the job lacks stops before any
query runs. On dummy data nothing is at stake, so a definition may *claim* the
permissions it needs with `claim_permissions(...)`; without the claim the run
still goes ahead, with a warning saying which line to add (public ehrQL's
rule while studies catch up).

Other permissions lift a backend's access rules (`include_t1oo`,
`include_ndoo`, `include_gp_unactivated`: see `ehrql.backends.tpp`).

What a definition needs is worked out from its query model by table name,
here, never read from anything the definition itself built, so a definition
cannot declare its way out of a requirement. Claims are recorded per load of
a definition file (see `collecting_claims`) and come back as plain data with
what the file defined, so they cross a process boundary unchanged.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import types
from collections.abc import Iterable, Iterator, Mapping

from ehrql.errors import EHRQLError
from ehrql.query_model import nodes as qm

#: The permission to write event-level rows (`dataset.add_event_table`).
EVENT_LEVEL_DATA = "event_level_data"

#: Permissions that lift a backend's rules on which patients and rows are used.
POPULATION_PERMISSIONS = ("include_t1oo", "include_ndoo", "include_gp_unactivated")

#: Restricted tables, by query model table name: (the permission, the table's public name).
RESTRICTED_TABLES: Mapping[str, tuple[str, str]] = types.MappingProxyType(
    {
        "appointments": ("appointments", "tpp.appointments"),
        "covid_therapeutics": ("covid_therapeutics", "tpp.covid_therapeutics"),
        # The raw version holds the same data as the restricted table.
        "covid_therapeutics_raw": (
            "covid_therapeutics",
            "raw.tpp.covid_therapeutics_raw",
        ),
        "occupation_on_covid_vaccine_record": (
            "occupation_on_covid_vaccine_record",
            "tpp.occupation_on_covid_vaccine_record",
        ),
        "open_prompt": ("open_prompt", "tpp.open_prompt"),
        "sgss_covid_all_tests": ("sgss_covid_all_tests", "tpp.sgss_covid_all_tests"),
        "ukrr": ("ukrr", "tpp.ukrr"),
        "wl_clockstops": ("wl_clockstops", "tpp.wl_clockstops"),
        "wl_openpathways": ("wl_openpathways", "tpp.wl_openpathways"),
        "isaric_raw": ("isaric", "raw.tpp.isaric"),
        "wl_clockstops_raw": ("wl_clockstops", "raw.tpp.wl_clockstops"),
        "wl_openpathways_raw": ("wl_openpathways", "raw.tpp.wl_openpathways"),
    }
)

#: Every permission name ehrql knows.
KNOWN_PERMISSIONS = frozenset(
    {
        EVENT_LEVEL_DATA,
        *POPULATION_PERMISSIONS,
        *(permission for permission, _ in RESTRICTED_TABLES.values()),
    }
)

#: The environment variable holding the permissions a job holds.
PERMISSIONS_VARIABLE = "EHRQL_PERMISSIONS"


class PermissionsError(EHRQLError):
    """A run needs permissions it does not hold, or the permissions given are malformed."""


def claim_permissions(*permissions: str) -> None:
    """Claim permissions, so that a definition needing them runs on dummy data.

    Write the names as strings, e.g. `claim_permissions("appointments")`. The
    call can go anywhere in a dataset or measures definition file, and calls
    add up. A claim only lets work go on with dummy data: against real data
    the job's own permissions, granted by the OpenSAFELY team, are what count.
    """
    for permission in permissions:
        if not isinstance(permission, str):
            raise TypeError(
                f"claim_permissions() takes permission names as strings, e.g. "
                f'claim_permissions("appointments"); got {permission!r}'
            )
        if permission not in KNOWN_PERMISSIONS:
            raise ValueError(
                f"unknown permission {permission!r}; the permissions are: {_names(KNOWN_PERMISSIONS)}"
            )
    claims = _CLAIMS.get()
    if claims is not None:
        claims.extend(p for p in permissions if p not in claims)


#: The claims of the definition being loaded; None outside a load, where a
#: claim has no run to affect.
_CLAIMS: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "ehrql_claims", default=None
)


@contextlib.contextmanager
def collecting_claims() -> Iterator[list[str]]:
    """Record the `claim_permissions` calls made inside, in the list yielded.

    The loader wraps each definition file's run in one, so each load has its
    own claims and nothing is left behind between loads.
    """
    claims: list[str] = []
    token = _CLAIMS.set(claims)
    try:
        yield claims
    finally:
        _CLAIMS.reset(token)


def required_permissions(query: qm.Node) -> dict[str, str]:
    """What a query model needs: permission -> what needs it, in a stable order."""
    tables: dict[str, list[str]] = {}
    for table in sorted(
        qm.get_table_nodes(query), key=lambda t: getattr(t, "name", "")
    ):
        restriction = RESTRICTED_TABLES.get(getattr(table, "name", None))
        if restriction is not None:
            permission, public_name = restriction
            tables.setdefault(permission, [])
            if public_name not in tables[permission]:
                tables[permission].append(public_name)
    needed = {
        permission: "reading " + " and ".join(f"`{name}`" for name in names)
        for permission, names in sorted(tables.items())
    }
    datasets = [node for node in qm.all_nodes(query) if isinstance(node, qm.Dataset)]
    if any(dataset.events for dataset in datasets):
        needed[EVENT_LEVEL_DATA] = (
            "writing event-level rows with `dataset.add_event_table()`"
        )
    return needed


def parse_permissions(
    text: str | None, source: str = PERMISSIONS_VARIABLE
) -> frozenset[str]:
    """The permission names in a JSON list (as `EHRQL_PERMISSIONS` holds them).

    Unset or empty means none. Anything but a JSON list of known names is an
    error naming `source`.
    """
    if text is None or not text.strip():
        return frozenset()
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise PermissionsError(
            f"{source} is not valid JSON ({error.msg} at character {error.pos}): it must be a "
            f'list of permission names, e.g. ["include_t1oo", "appointments"]'
        ) from None
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise PermissionsError(
            f'{source} must be a JSON list of permission names, e.g. ["appointments"], not {text.strip()!r}'
        )
    unknown = sorted(set(value) - KNOWN_PERMISSIONS)
    if unknown:
        raise PermissionsError(
            f"{source} holds unknown permission(s) {_names(unknown)}; the permissions are: "
            f"{_names(KNOWN_PERMISSIONS)}"
        )
    return frozenset(value)


def check_held(query: qm.Node, held: Iterable[str]) -> None:
    """Before a run against a database: refuse a query needing permissions the job lacks."""
    missing = _missing(query, held)
    if missing:
        raise PermissionsError(
            "this job does not hold every permission the definition needs, so nothing was run.\n"
            f"Missing permissions:\n{_listed(missing)}\n"
            f"The permissions a job holds come from its project ({PERMISSIONS_VARIABLE}); if you "
            "think it should hold these, contact OpenSAFELY support."
        )


def unclaimed_warning(query: qm.Node, claimed: Iterable[str]) -> str | None:
    """Before a run on dummy data: a warning naming the permissions the query
    needs and the definition has not claimed, with the line to add; None if
    there are none.

    A warning, not an error, as in public ehrQL (its issue #2553 keeps local
    runs going while studies catch up): definitions written before
    `claim_permissions` existed must still run on dummy data. Against a
    database, `check_held` refuses the run.
    """
    claimed = list(dict.fromkeys(claimed))
    missing = _missing(query, claimed)
    if not missing:
        return None
    names = ", ".join(
        f'"{name}"' for name in [*claimed, *(m for m in missing if m not in claimed)]
    )
    return (
        "warning: the definition uses tables or features that need permissions to run on real data:\n"
        f"{_listed(missing)}\n"
        "Claim them in the definition (this run on dummy data goes ahead without):\n"
        "    from ehrql import claim_permissions\n"
        f"    claim_permissions({names})\n"
        "A claim does not give access to real data: for that, the project needs the "
        "permissions granted by the OpenSAFELY team."
    )


def _missing(query: qm.Node, available: Iterable[str]) -> dict[str, str]:
    available = frozenset(available)
    return {
        name: why
        for name, why in required_permissions(query).items()
        if name not in available
    }


def _listed(missing: Mapping[str, str]) -> str:
    return "\n".join(f"  * {name}: needed for {why}" for name, why in missing.items())


def _names(names: Iterable[str]) -> str:
    return ", ".join(sorted(names))
