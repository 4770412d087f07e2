"""What a backend is: a mapping from public tables to queries over a provider's raw tables.

A backend knows nothing about SQL dialects. Each mapping is a SQLAlchemy Core
`Select` over the backend's `raw_metadata`, written only with constructs that
every engine's dialect can render (MS SQL Server, Trino and DuckDB), so the
same mapping runs at the provider and in our tests.

`table_expression` is what the compiler reads a table from: whatever columns a
mapping selects, the result has exactly `patient_id` and the public schema's
columns, in schema order, so core and backend-specific versions of a table
(say `core.clinical_events` and `tpp.clinical_events`) share one mapping.

Data access rules live here too, applied whatever the definition says:
`inclusion_condition` says which patients may appear in any result (the
compiler adds it to every population), and `restricted_table` is the rows of a
table a definition may read (`table_expression` less any rows a rule keeps
back, such as a GP record after its cut-off). Both take the permissions the
job holds, which can lift a rule.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterable
from typing import ClassVar
from urllib import parse

import sqlalchemy as sa
from sqlalchemy.sql.selectable import FromClause, Select, Subquery

from ehrql.errors import EHRQLError
from ehrql.query_model.table_schema import TableSchema


class BackendError(EHRQLError):
    """A backend was asked for something it cannot provide."""


class UnknownTableError(BackendError):
    """The backend has no mapping for a public table."""


class MissingColumnError(BackendError):
    """A mapping does not select a column the public schema declares."""


class PermissionNotGrantedError(BackendError):
    """A definition claims a permission this backend does not recognise."""


def mapping(table_name: str) -> Callable[[Callable], Callable]:
    """Mark a backend method as the mapping of the public table `table_name`."""

    def mark(method: Callable) -> Callable:
        method.maps_table = table_name
        return method

    return mark


class Backend:
    """Base of every backend; subclasses declare their raw schema and mappings.

    Class attributes a subclass sets:

    * `name`: the short name used to choose the backend ("tpp");
    * `display_name`: the name shown to researchers ("TPP");
    * `query_engine`: the name of the engine that runs at the provider;
    * `implements`: the public table modules whose tables it maps;
    * `raw_metadata`: the provider's raw tables, names and types;
    * `permissions`: the permissions it can grant to a definition;
    * `patient_id_type`: the Python type of the provider's patient ids (`int`,
      or `str` where patients are keyed by text), which the compiler declares
      the `patient_id` column of its intermediate tables with.
    """

    name: ClassVar[str]
    display_name: ClassVar[str]
    query_engine: ClassVar[str]
    implements: ClassVar[tuple[types.ModuleType, ...]] = ()
    raw_metadata: ClassVar[sa.MetaData]
    permissions: ClassVar[frozenset[str]] = frozenset()
    patient_id_type: ClassVar[type] = int
    mappings: ClassVar[types.MappingProxyType]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        found: dict[str, str] = {}
        # Walk the MRO base-first so that a subclass can override a mapping.
        for klass in reversed(cls.__mro__):
            for attribute, value in vars(klass).items():
                table_name = getattr(value, "maps_table", None)
                if table_name is not None:
                    found[table_name] = attribute
        cls.mappings = types.MappingProxyType(found)

    # -- tables -------------------------------------------------------------

    def implemented_table_names(self) -> frozenset[str]:
        """The public table names this backend has a mapping for."""
        return frozenset(self.mappings)

    def raw_table(self, name: str) -> sa.Table:
        """One of the provider's raw tables, by its raw name."""
        return self.raw_metadata.tables[name]

    def table_expression(self, table_name: str, schema: TableSchema) -> Subquery:
        """The rows of the public table `table_name`, read from the raw tables.

        The result has exactly `patient_id` and the columns of `schema`, in
        that order, and is named after the table.
        """
        try:
            method_name = self.mappings[table_name]
        except KeyError:
            raise UnknownTableError(
                f"the {self.display_name} backend does not provide the table "
                f"'{table_name}'"
            ) from None
        query = getattr(self, method_name)(schema).subquery(f"{table_name}_raw")
        wanted = ["patient_id", *schema.column_names]
        missing = [name for name in wanted if name not in query.c]
        if missing:
            raise MissingColumnError(
                f"the {self.display_name} mapping of '{table_name}' has no "
                f"column {', '.join(repr(m) for m in missing)}"
            )
        # Explicit labels: SQLAlchemy shortens long derived column names on
        # dialects with short identifiers, and the public names must survive.
        return sa.select(*(query.c[name].label(name) for name in wanted)).subquery(
            table_name
        )

    def resolve_table(
        self, table, permissions: Iterable[str] = frozenset()
    ) -> FromClause:
        """The rows of a query model table node (has `name` and `schema`) that a
        job holding `permissions` may read: `restricted_table`."""
        return self.restricted_table(table.name, table.schema, permissions)

    def restricted_table(
        self,
        table_name: str,
        schema: TableSchema,
        permissions: Iterable[str] = frozenset(),
    ) -> FromClause:
        """`table_expression`, less any rows the backend's access rules keep back
        from a job holding `permissions`. By default nothing is kept back."""
        self.check_permissions(permissions)
        return self.table_expression(table_name, schema)

    # -- patients and permissions ----------------------------------------

    def check_permissions(self, claimed: Iterable[str]) -> frozenset[str]:
        """The claimed permissions as a set, refusing any this backend cannot grant."""
        claimed = frozenset(claimed)
        unknown = sorted(claimed - self.permissions)
        if unknown:
            raise PermissionNotGrantedError(
                f"the {self.display_name} backend does not grant the permission(s) "
                f"{', '.join(unknown)}"
            )
        return claimed

    def patient_exclusions(
        self, permissions: Iterable[str] = frozenset()
    ) -> Select | None:
        """A one-column (`patient_id`) SELECT of patients to leave out of every result.

        None when no patient needs excluding, given the claimed `permissions`.
        """
        self.check_permissions(permissions)
        return None

    def inclusion_condition(
        self, patient_id: sa.ColumnElement, permissions: Iterable[str] = frozenset()
    ) -> sa.ColumnElement | None:
        """A condition on a `patient_id` column that is false for every excluded patient.

        None when nobody is excluded. By default that is everyone in
        `patient_exclusions`; a backend with other rules (patients who must be
        listed somewhere to be included) extends it. Exclusions are written
        NOT EXISTS rather than NOT IN so that a NULL in the exclusion list
        cannot exclude everyone.
        """
        exclusions = self.patient_exclusions(permissions)
        if exclusions is None:
            return None
        excluded = exclusions.subquery("excluded_patients")
        return ~sa.exists().where(excluded.c.patient_id == patient_id)


#: The query parameter through which OpenSAFELY's job runner grants a permission.
DSN_PERMISSION_PREFIX = "opensafely_include_"


def split_dsn_permissions(dsn: str) -> tuple[str, frozenset[str]]:
    """Separate permissions granted through the DSN from the DSN the database sees.

    The job runner used to append `opensafely_include_<name>=true` to the
    connection string of a job whose project holds the permission
    `include_<name>` (for TPP, `opensafely_include_t1oo` grants
    `include_t1oo`); `EHRQL_PERMISSIONS` has replaced it, but the form is
    still read. The parameters are removed, since the database driver would
    reject them; the permissions set to true are returned, by the names
    `EHRQL_PERMISSIONS` uses.
    """
    parts = parse.urlsplit(dsn)
    kept, seen, granted = [], set(), set()
    for key, value in parse.parse_qsl(parts.query, keep_blank_values=True):
        if key.startswith(DSN_PERMISSION_PREFIX):
            permission = "include_" + key.removeprefix(DSN_PERMISSION_PREFIX)
            if permission in seen:
                # Two values could disagree; refuse rather than pick one.
                raise BackendError(f"the DSN gives '{key}' more than once")
            seen.add(permission)
            if value.lower() == "true":
                granted.add(permission)
        else:
            kept.append((key, value))
    if not seen:
        # Re-encoding could respell other parameters; leave the DSN as given.
        return dsn, frozenset()
    return parts._replace(query=parse.urlencode(kept)).geturl(), frozenset(granted)
