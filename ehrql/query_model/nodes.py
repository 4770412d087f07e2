"""The query model: small immutable nodes that describe a dataset.

The DSL in `ehrql.query_language` builds these nodes; every engine compiles
them. Nothing else passes between the two. Each node checks its inputs when it
is built (types, domains, population rules), so that a wrong definition fails at
the line that wrote it.

Two kinds of node:

* frames, which are tables of rows: `ManyRowsPerPatientFrame` (events) or
  `OneRowPerPatientFrame` (patient-level);
* series, which are one value per row of some frame, or one value per patient.

Every series has a `type` (a Python class: bool, int, float, str,
datetime.date, a code class, or `Set[...]`) and a `domain`: the set of
event-level row sources it is evaluated over (empty for patient-level series).

Nodes are declared rather than programmed: a node's fields are annotated (and
checked against their annotations), and a node declares the types its
operands may have and, for a series, the type it gives (see `Node`). One
validator applies those declarations when any node is built. Errors speak the
model's language (node and field names) and carry the facts as attributes, so
that the DSL can say the same thing in the researcher's words.

A new row-wise operation takes a few lines here (see `Function.Absolute`),
its meaning in `semantics.FUNCTIONS`, its SQL in the compiler's table, a DSL
method (with its name in `query_language._OPERATION_NAMES`, for messages), a
spec test and a generative strategy.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import enum
import functools
import types
import typing
from collections.abc import Iterable, Iterator, Mapping
from functools import cached_property
from typing import Any

from ehrql.codes import BaseCode
from ehrql.errors import EHRQLError
from ehrql.query_model.table_schema import TableSchema


class ValidationError(EHRQLError):
    """A query model node was built from inputs that do not make sense together.

    `node` is the class of the node refused, `operand` the name of the field
    at fault and `reason` a short name for the rule broken, where there are.
    """

    def __init__(
        self,
        message: str,
        *,
        node: type | None = None,
        operand: str | None = None,
        reason: str | None = None,
    ):
        super().__init__(message)
        self.node = node
        self.operand = operand
        self.reason = reason

    def reworded(self, message: str) -> ValidationError:
        """The same error, of the same class and with the same facts, saying `message`."""
        new = copy.copy(self)
        new.args = (message,)
        return new


class TypeValidationError(ValidationError, TypeError):
    """An operation was given a series of the wrong type.

    Either `actual` (the type given) is not in `expected` (a `TypeSet`), or,
    for operands that must share a type, `actual` is the type they have and
    `other` the type of the operand that differs.
    """

    def __init__(
        self,
        message: str,
        *,
        expected: TypeSet | None = None,
        actual=None,
        other=None,
        **where,
    ):
        super().__init__(message, **where)
        self.expected = expected
        self.actual = actual
        self.other = other


class DomainMismatchError(ValidationError):
    """Series drawn from unrelated event frames were combined."""


class PopulationValidationError(ValidationError):
    """The population definition is not acceptable; `reason` is the rule it breaks."""

    NOT_BOOLEAN = "not boolean"
    NOT_PATIENT_LEVEL = "not patient-level"
    TRUE_WITHOUT_RECORDS = "true without records"


# ---------------------------------------------------------------------------
# Types
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Set:
    """The type of a constant set of values of one element type, as used by `In`."""

    element_type: type

    def __repr__(self):
        return f"Set[{type_name(self.element_type)}]"


#: Types a series may have (besides the code classes).
SCALAR_TYPES = (bool, int, float, str, datetime.date)


def is_code_type(type_) -> bool:
    """True when `type_` is one of the clinical code classes."""
    return isinstance(type_, type) and issubclass(type_, BaseCode)


def is_valid_series_type(type_) -> bool:
    """True when a series may hold values of `type_`."""
    return type_ in SCALAR_TYPES or is_code_type(type_)


def type_name(type_) -> str:
    """The name of a series type as a researcher would say it."""
    names = {
        bool: "boolean",
        int: "integer",
        float: "float",
        str: "string",
        datetime.date: "date",
    }
    if type_ in names:
        return names[type_]
    if is_code_type(type_):
        return f"{type_.system_id} code"
    if isinstance(type_, Set):
        return f"set of {type_name(type_.element_type)}"
    return getattr(type_, "__name__", repr(type_))


def a_type_name(type_) -> str:
    """`type_name` with its indefinite article: "an integer", "a date"."""
    return with_article(type_name(type_))


def type_of_value(value) -> Any:
    """The series type of a Python constant, or raise TypeValidationError."""
    if value is None:
        return None
    # bool before int: bool is a subclass of int in Python.
    for type_ in (bool, int, float, str):
        if type(value) is type_:
            return type_
    if type(value) is datetime.date:
        return datetime.date
    if isinstance(value, BaseCode):
        return type(value)
    if isinstance(value, frozenset):
        element_types = {type_of_value(v) for v in value} - {None}
        if len(element_types) > 1:
            names = ", ".join(sorted(type_name(t) for t in element_types))
            raise TypeValidationError(
                f"a set of values must all be of one type, got {names}"
            )
        element = element_types.pop() if element_types else None
        return Set(element)
    raise TypeValidationError(f"{value!r} is not a value ehrQL can use")


@dataclasses.dataclass(frozen=True)
class TypeSet:
    """The series types an operand may have, with a name for messages.

    `codes` admits every clinical code class as well as `types`. A null
    constant (type None) is in no set: an operation that takes one declares
    `same_type` (see `Node`).
    """

    name: str
    types: tuple
    codes: bool = False

    def __contains__(self, type_) -> bool:
        return type_ in self.types or (self.codes and is_code_type(type_))


BOOL = TypeSet("boolean", (bool,))
INT = TypeSet("integer", (int,))
DATE = TypeSet("date", (datetime.date,))
STR = TypeSet("string", (str,))
#: Strings, and codes (whose values are strings).
TEXT = TypeSet("string", (str,), codes=True)
NUMERIC = TypeSet("integer or float", (int, float))
CASTABLE = TypeSet("boolean or integer or float or string", (bool, int, float, str))
#: Types whose values have an order (minimum, maximum, <).
ORDERED = TypeSet("ordered", (int, float, str, datetime.date), codes=True)
SORTABLE = TypeSet("sortable", (bool, *ORDERED.types), codes=True)


def with_article(name: str) -> str:
    """ "an integer", "a date": `name` with its indefinite article."""
    return f"an {name}" if name[0] in "aeiou" else f"a {name}"


# ---------------------------------------------------------------------------
# Base classes and the one validator
# ---------------------------------------------------------------------------


class Node:
    """Base of every query model node: a frozen, hashable dataclass.

    A kind of node is declared, and `__post_init__` checks each node built
    against the declarations, in this order:

    * its fields are annotated, and each value must fit its annotation;
    * `aggregates`: its series operands are event-level series, which it
      collapses to one value per patient;
    * `operand_types`: the types its series operands may have, as one
      `TypeSet` for them all or a dict from field name to `TypeSet`;
    * `same_type`: its series operands share one type: the first must be in
      `operand_types`, and each other has its type or is a null constant;
    * `check()`: any rule particular to the kind of node.

    A series also declares `type`, the type of its values: a type
    (`type = bool`) or worked out from its operands (`type = same_as("lhs")`).
    """

    operand_types: typing.ClassVar[TypeSet | Mapping[str, TypeSet] | None] = None
    same_type: typing.ClassVar[bool] = False
    aggregates: typing.ClassVar[bool] = False

    def __post_init__(self):
        _check_fields(self)
        _check_operands(self)
        self.check()

    def check(self) -> None:
        """Rules particular to this kind of node, beyond what it declares."""

    def refused(
        self, message: str, operand: str, error: type = ValidationError, **facts
    ) -> ValidationError:
        """The error refusing this node: `message`, about its field `operand`, with other facts."""
        return error(message, node=type(self), operand=operand, **facts)

    def children(self) -> Iterator[Node]:
        """The nodes this node is built directly from."""
        for name in field_names(type(self)):
            yield from _nodes_in(getattr(self, name))


def _nodes_in(value) -> Iterator[Node]:
    if isinstance(value, Node):
        yield value
    elif isinstance(value, FrozenDict):
        for k, v in value.items():
            yield from _nodes_in(k)
            yield from _nodes_in(v)
    elif isinstance(value, tuple):
        for item in value:
            yield from _nodes_in(item)


class FrozenDict(Mapping):
    """An immutable, hashable, insertion-ordered mapping for node fields."""

    __slots__ = ("_items", "_dict", "_hash")

    def __init__(self, *args, **kwargs):
        d = dict(*args, **kwargs)
        self._items = tuple(d.items())
        self._dict = d
        self._hash = None

    def __getitem__(self, key):
        return self._dict[key]

    def __iter__(self):
        return iter(self._dict)

    def __len__(self):
        return len(self._dict)

    def __hash__(self):
        if self._hash is None:
            self._hash = hash(self._items)
        return self._hash

    def __eq__(self, other):
        if isinstance(other, FrozenDict):
            return self._items == other._items
        return NotImplemented

    def __repr__(self):
        return f"FrozenDict({self._dict!r})"


def node(cls):
    """Make `cls` a node that can be built: a frozen dataclass with a cached hash.

    Nodes are used as dict keys all through the engines, and a deep tree's
    dataclass hash is recomputed from every field each time, so we cache it.
    """
    cls = dataclasses.dataclass(frozen=True, eq=True, repr=True)(cls)
    field_hash = cls.__hash__

    def __hash__(self):
        try:
            return self.__dict__["_cached_hash"]
        except KeyError:
            value = field_hash(self)
            object.__setattr__(self, "_cached_hash", value)
            return value

    cls.__hash__ = __hash__
    return cls


def shared_fields(cls):
    """Declare fields on an abstract base, for the nodes built on it to inherit.

    Such a base is never built itself (its name starts with `_`, and the
    serializer skips it).
    """
    return dataclasses.dataclass(frozen=True, eq=False, repr=False)(cls)


class Frame(Node):
    """A table of rows. Every frame has a `schema` (a field or a property)."""

    schema: TableSchema


class ManyRowsPerPatientFrame(Frame):
    """A frame that may have any number of rows per patient."""


class OneRowPerPatientFrame(Frame):
    """A frame with at most one row per patient."""


class Series(Node):
    """One value per row of a frame, or one value per patient; each has a `type`.

    Its domain is worked out when it is built, so that series drawn from
    unrelated frames fail where they are combined, not later in an engine.
    """

    def __post_init__(self):
        super().__post_init__()
        self.domain  # noqa: B018 (computed for its check)

    @cached_property
    def domain(self) -> Domain:
        return Domain.union(*(get_domain(c) for c in self.children()))


class _DerivedType:
    """A series' `type` worked out from its operands, once per node."""

    def __init__(self, derive):
        self.derive = derive

    def __get__(self, series, owner=None):
        if series is None:
            return self
        value = self.derive(series)
        # Not a data descriptor: the value stored on the node is found first from now on.
        series.__dict__["type"] = value
        return value


def same_as(*fields: str) -> _DerivedType:
    """The type of the first operand in `fields` that has one (a null constant has none)."""
    return _DerivedType(
        lambda series: next(
            (s.type for _, s in series_operands(series, fields) if s.type is not None),
            None,
        )
    )


def set_of(field: str) -> _DerivedType:
    """The type of a set of the values of the operand in `field`."""
    return _DerivedType(lambda series: Set(getattr(series, field).type))


def series_operands(
    node: Node, fields: Iterable[str] | None = None
) -> Iterator[tuple[str, Series]]:
    """(field name, series) for each series operand of `node`, in field order.

    A field may hold a series, a tuple of series, or a mapping whose values
    are series (the outputs of `Case`); None stands for no value.
    """
    for name in field_names(type(node)) if fields is None else fields:
        value = getattr(node, name)
        if isinstance(value, FrozenDict):
            value = tuple(value.values())
        items = value if isinstance(value, tuple) else (value,)
        yield from ((name, item) for item in items if isinstance(item, Series))


def _check_fields(node: Node) -> None:
    for name, hint in _field_hints(type(node)).items():
        value = getattr(node, name)
        if not _fits(value, hint):
            raise node.refused(
                f"{type(node).__qualname__}.{name} must be {_describe_hint(hint)}, "
                f"not {type(value).__name__}",
                name,
            )


@functools.cache
def field_names(cls: type) -> tuple[str, ...]:
    """The names of a node class's fields, in order (worked out once per class:
    `dataclasses.fields` is slow for something asked of every node visited)."""
    return tuple(f.name for f in dataclasses.fields(cls))


@functools.cache
def _field_hints(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _fits(value, hint) -> bool:
    if hint is Any:
        return True
    if hint is None or hint is type(None):
        return value is None
    if isinstance(hint, types.UnionType):
        return any(_fits(value, arm) for arm in typing.get_args(hint))
    if isinstance(hint, types.GenericAlias):
        # Only `tuple[X, ...]` is used.
        (element, _) = typing.get_args(hint)
        return isinstance(value, tuple) and all(_fits(item, element) for item in value)
    # bool is a subclass of int in Python, but not a whole number of anything.
    return isinstance(value, hint) and not (hint is int and isinstance(value, bool))


def _describe_hint(hint) -> str:
    if isinstance(hint, types.UnionType):
        return " or ".join(_describe_hint(arm) for arm in typing.get_args(hint))
    if isinstance(hint, types.GenericAlias):
        return f"a tuple of {typing.get_args(hint)[0].__name__}"
    if hint is type(None):
        return "None"
    return with_article(hint.__name__)


def _check_operands(node: Node) -> None:
    """Apply what `node` declares about its series operands (see `Node`)."""
    cls = type(node)
    if not (cls.aggregates or cls.same_type or cls.operand_types is not None):
        return
    operands = list(series_operands(node))
    if cls.aggregates:
        for name, operand in operands:
            if operand.domain.is_patient:
                raise node.refused(
                    f"{cls.__qualname__} needs an event-level series as its {name}: "
                    "a patient-level series already has one value per patient",
                    name,
                )
    declared = cls.operand_types
    if cls.same_type:
        if operands and declared is not None:
            require_operand_type(node, *operands[0], declared)
        typed = [(name, s) for name, s in operands if s.type is not None]
        for name, other in typed[1:]:
            if other.type != typed[0][1].type:
                raise node.refused(
                    f"{cls.__qualname__} needs operands of one type, not "
                    f"{a_type_name(typed[0][1].type)} series and {a_type_name(other.type)} series",
                    name,
                    error=TypeValidationError,
                    actual=typed[0][1].type,
                    other=other.type,
                )
    elif declared is not None:
        for name, operand in operands:
            allowed = declared.get(name) if isinstance(declared, Mapping) else declared
            if allowed is not None:
                require_operand_type(node, name, operand, allowed)


def require_operand_type(
    node: Node, name: str, operand: Series, allowed: TypeSet
) -> None:
    """Raise TypeValidationError unless `operand` (field `name` of `node`) has a type in `allowed`."""
    if operand.type not in allowed:
        cls = type(node)
        raise node.refused(
            f"{cls.__qualname__} needs {with_article(allowed.name)} series as its {name}, "
            f"not {a_type_name(operand.type)} series",
            name,
            error=TypeValidationError,
            expected=allowed,
            actual=operand.type,
        )


# ---------------------------------------------------------------------------
# Domains
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Domain:
    """The event-level row sources a series or frame is evaluated over.

    A row source is a many-rows frame with its sorts removed (sorting does not
    change which rows there are). Two sources can be combined when one is
    derived from the other by filtering: the rows of the filtered frame are rows
    of its parent, so a parent's column can be read on them. The combination is
    evaluated on the more filtered one. Sources from different tables, or from
    sibling filters, cannot be combined: their rows do not correspond.
    """

    sources: frozenset

    PATIENT: typing.ClassVar[Domain]

    @classmethod
    def union(cls, *domains: Domain) -> Domain:
        sources = frozenset().union(*(d.sources for d in domains))
        if len(sources) <= 1:
            return cls(sources)
        # Keep only the most derived source, provided all lie on one lineage.
        # Ties broken by name, so that a message names the frames in the same order every run.
        ordered = sorted(sources, key=lambda s: (len(_lineage(s)), describe_frame(s)))
        deepest = ordered[-1]
        lineage = set(_lineage(deepest))
        for source in ordered[:-1]:
            if source not in lineage:
                raise DomainMismatchError(
                    "cannot combine series drawn from different frames: "
                    f"{describe_frame(source)} and {describe_frame(deepest)}"
                )
        return cls(frozenset([deepest]))

    @property
    def is_patient(self) -> bool:
        return not self.sources

    @property
    def source(self) -> ManyRowsPerPatientFrame | None:
        """The single row source, or None for the patient domain."""
        return next(iter(self.sources)) if self.sources else None


Domain.PATIENT = Domain(frozenset())


def _lineage(source) -> tuple:
    """The chain of row sources from `source` back to its table, nearest first."""
    chain = []
    while True:
        chain.append(source)
        if isinstance(source, Filter):
            source = row_source(source.source)
        else:
            return tuple(chain)


def row_source(frame: ManyRowsPerPatientFrame) -> ManyRowsPerPatientFrame:
    """`frame` with its sorts removed."""
    while isinstance(frame, Sort):
        frame = frame.source
    return frame


def root_table(frame: Frame) -> Frame:
    """The table a frame is ultimately selected from."""
    while isinstance(frame, (Filter, Sort, PickOneRowPerPatient)):
        frame = frame.source
    return frame


def describe_frame(frame) -> str:
    table = root_table(frame)
    name = getattr(table, "name", "an inline table")
    if table is frame:
        return f"the table '{name}'"
    return f"a filtered version of '{name}'"


def get_domain(node: Node) -> Domain:
    """The domain of a series or frame."""
    if isinstance(node, Series):
        return node.domain
    if isinstance(node, ManyRowsPerPatientFrame):
        return Domain(frozenset([row_source(node)]))
    return Domain.PATIENT


# ---------------------------------------------------------------------------
# Frames
# ---------------------------------------------------------------------------


@node
class SelectTable(ManyRowsPerPatientFrame):
    """All rows of an event-level table."""

    name: str
    schema: TableSchema


@node
class SelectPatientTable(OneRowPerPatientFrame):
    """All rows of a patient-level table (at most one row per patient)."""

    name: str
    schema: TableSchema


@node
class InlinePatientTable(OneRowPerPatientFrame):
    """A patient-level table whose rows are given in the definition itself.

    `rows` are tuples of (patient_id, *column values), in schema column order.
    """

    rows: tuple
    schema: TableSchema

    def check(self):
        seen = set()
        width = len(self.schema.column_names) + 1
        for row in self.rows:
            if len(row) != width:
                raise ValidationError(
                    f"each row of an inline table needs {width} values "
                    f"(patient_id and {', '.join(self.schema.column_names)}), got {len(row)}"
                )
            if row[0] in seen:
                raise ValidationError(
                    f"patient_id {row[0]} appears more than once in an inline patient table"
                )
            seen.add(row[0])


@shared_fields
class _FromEventFrame(Node):
    """A frame made from the rows of an event frame; its series operands must be
    evaluable on those rows."""

    source: ManyRowsPerPatientFrame

    @property
    def schema(self):
        return self.source.schema

    def check(self):
        frame = row_source(self.source)
        for name, series in series_operands(self):
            for source in series.domain.sources:
                if source not in _lineage(frame):
                    # The node's name is the verb: "cannot filter ...", "cannot sort ...".
                    raise self.refused(
                        f"cannot {type(self).__name__.lower()} {describe_frame(frame)} using a series "
                        f"drawn from {describe_frame(source)}",
                        name,
                        error=DomainMismatchError,
                    )


@node
class Filter(_FromEventFrame, ManyRowsPerPatientFrame):
    """The rows of `source` for which `condition` is true (not false, not null)."""

    condition: Series
    operand_types = {"condition": BOOL}


@node
class Sort(_FromEventFrame, ManyRowsPerPatientFrame):
    """The rows of `source` ordered by `sort_by` (ascending, nulls first).

    Sorts nest like a stable sort: in `Sort(Sort(t, b), a)` the outer key `a`
    is the most significant and `b` breaks its ties. `sort_keys` lists them.
    """

    sort_by: Series
    operand_types = {"sort_by": SORTABLE}


def sort_keys(frame: ManyRowsPerPatientFrame) -> tuple[Series, ...]:
    """The sort keys applying to `frame`, most significant first.

    The DSL's `sort_by(a, b)` builds `Sort(Sort(source, b), a)`: the last sort
    applied is the most significant, as with a stable sort.
    """
    keys = []
    while isinstance(frame, (Sort, Filter)):
        if isinstance(frame, Sort):
            keys.append(frame.sort_by)
        frame = frame.source
    return tuple(keys)


class Position(enum.Enum):
    """Which end of a sorted frame to pick."""

    FIRST = "first"
    LAST = "last"


@node
class PickOneRowPerPatient(_FromEventFrame, OneRowPerPatientFrame):
    """The first or last row of a sorted frame, for each patient.

    Ties in the sort keys are broken by every column of the table, in schema
    order, so the row picked never depends on the engine.
    """

    position: Position

    def check(self):
        if not sort_keys(self.source):
            raise self.refused(
                "PickOneRowPerPatient needs a sorted frame: its source has no Sort",
                "source",
            )


# ---------------------------------------------------------------------------
# Series: columns and values
# ---------------------------------------------------------------------------


@node
class SelectColumn(Series):
    """One column of a frame."""

    source: Frame
    name: str

    def check(self):
        if self.name not in self.source.schema.column_names:
            table = root_table(self.source)
            raise self.refused(
                f"table '{getattr(table, 'name', 'inline table')}' has no column "
                f"'{self.name}'; its columns are: {', '.join(self.source.schema.column_names)}",
                "name",
            )

    @property
    def type(self):
        return self.source.schema.get_column_type(self.name)

    @cached_property
    def domain(self):
        return get_domain(self.source)


@node
class Value(Series):
    """A constant, the same for every row and patient."""

    value: Any

    def check(self):
        if isinstance(self.value, (list, set, tuple)):
            raise self.refused(
                "use a frozenset for a set of values",
                "value",
                error=TypeValidationError,
            )
        # Worked out once: for a big codelist it means visiting every code.
        self.__dict__["type"] = type_of_value(self.value)

    # Python has 1 == 1.0 == True (and equal hashes), but in ehrQL they are
    # values of different types: engines key results by node, so two constants
    # must be equal only when their types are too.
    def __eq__(self, other):
        if self is other:
            return True
        if type(other) is not Value:
            return NotImplemented
        return self.type == other.type and self.value == other.value

    def __hash__(self):
        return hash((self.type, self.value))

    @cached_property
    def domain(self):
        return Domain.PATIENT


@node
class Parameter(Series):
    """A placeholder filled in per run, e.g. the start of a measure's interval."""

    name: str
    parameter_type: Any

    @property
    def type(self):
        return self.parameter_type

    @cached_property
    def domain(self):
        return Domain.PATIENT


# ---------------------------------------------------------------------------
# Series: aggregations (event domain -> patient domain)
# ---------------------------------------------------------------------------


class AggregateByPatient:
    """Namespace of aggregations: each collapses many rows per patient into one value."""

    class _Base(Series):
        """An aggregation: one value per patient from their rows."""

        aggregates = True

        @cached_property
        def domain(self):
            return Domain.PATIENT

    @shared_fields
    class _OfSeries(_Base):
        """An aggregation of the values of an event series."""

        source: Series

    @node
    class Sum(_OfSeries):
        """The sum of non-null values; null when there are none."""

        operand_types = NUMERIC
        type = same_as("source")

    @node
    class Mean(_OfSeries):
        """The mean of non-null values, as a float; null when there are none."""

        operand_types = NUMERIC
        type = float

    class _Extreme(_OfSeries):
        operand_types = ORDERED
        type = same_as("source")

    @node
    class Min(_Extreme):
        """The smallest non-null value; null when there are none."""

    @node
    class Max(_Extreme):
        """The largest non-null value; null when there are none."""

    @node
    class CountDistinct(_OfSeries):
        """The number of distinct non-null values; 0 when there are none."""

        type = int

    @node
    class Count(_Base):
        """The number of rows per patient; 0 when there are none."""

        source: ManyRowsPerPatientFrame
        type = int

    @node
    class CountEpisodes(_OfSeries):
        """The number of episodes in a patient's non-null dates; 0 when there are none.

        Sorted, dates no more than `maximum_gap_days` after the previous one
        belong to its episode (the clock restarts at each date).
        """

        maximum_gap_days: int
        operand_types = DATE
        type = int

        def check(self):
            if self.maximum_gap_days < 0:
                raise self.refused(
                    f"the maximum gap between dates of an episode must be a whole number of days "
                    f"(0 or more), not {self.maximum_gap_days!r}",
                    "maximum_gap_days",
                )

    @node
    class CombineAsSet(_OfSeries):
        """The set of a patient's non-null values (empty when there are none).

        Only `In` reads it: `x.is_in(event_series)` tests each value against
        the patient's own values of the other series.
        """

        type = set_of("source")

    @node
    class Exists(_Base):
        """Whether the patient has any row; never null."""

        source: Frame
        type = bool


# ---------------------------------------------------------------------------
# Series: functions (row-wise operations)
# ---------------------------------------------------------------------------


class Function:
    """Namespace of row-wise operations. Each takes series and gives a series."""

    class _Base(Series):
        """A row-wise operation: one value per row (or patient) of its operands."""

    @shared_fields
    class _Unary(_Base):
        """An operation on one series."""

        source: Series

    @shared_fields
    class _Binary(_Base):
        """An operation on two series."""

        lhs: Series
        rhs: Series

    # -- comparisons --------------------------------------------------------

    class _Comparison(_Binary):
        same_type = True
        type = bool

    class _OrderComparison(_Comparison):
        operand_types = ORDERED

    @node
    class EQ(_Comparison):
        """Equal; null if either side is null."""

    @node
    class NE(_Comparison):
        """Not equal; null if either side is null."""

    @node
    class LT(_OrderComparison):
        """Less than."""

    @node
    class LE(_OrderComparison):
        """Less than or equal."""

    @node
    class GT(_OrderComparison):
        """Greater than."""

    @node
    class GE(_OrderComparison):
        """Greater than or equal."""

    # -- logic (three-valued, as SQL) ---------------------------------------

    class _Logic(_Binary):
        operand_types = BOOL
        type = bool

    @node
    class And(_Logic):
        """Logical and, with SQL's three-valued logic: False & null is False."""

    @node
    class Or(_Logic):
        """Logical or, with SQL's three-valued logic: True | null is True."""

    @node
    class Not(_Unary):
        """Logical not; null stays null."""

        operand_types = BOOL
        type = bool

    @node
    class IsNull(_Unary):
        """Whether the value is null; never null itself."""

        type = bool

    # -- arithmetic ---------------------------------------------------------

    class _Arithmetic(_Binary):
        operand_types = NUMERIC
        same_type = True
        type = same_as("lhs")

    @node
    class Add(_Arithmetic):
        """lhs + rhs."""

    @node
    class Subtract(_Arithmetic):
        """lhs - rhs."""

    @node
    class Multiply(_Arithmetic):
        """lhs * rhs."""

    @node
    class TrueDivide(_Arithmetic):
        """lhs / rhs as a float; null when rhs is zero."""

        type = float

    @node
    class FloorDivide(_Arithmetic):
        """lhs // rhs, rounded towards minus infinity, as an int; null when rhs is zero."""

        type = int

    @node
    class Power(_Arithmetic):
        """lhs ** rhs, computed in floats, as a float.

        Null where Python's float power has no real, finite answer: zero to a
        negative power, a negative number to a fractional power, or a result
        too large for a float.
        """

        type = float

    class _NumericUnary(_Unary):
        operand_types = NUMERIC
        type = same_as("source")

    @node
    class Absolute(_NumericUnary):
        """The absolute value of a number: negative values made positive."""

    @node
    class Negate(_NumericUnary):
        """-source."""

    class _Cast(_Unary):
        operand_types = CASTABLE

    @node
    class CastToInt(_Cast):
        """An int from a bool, int, float (truncated towards zero) or string of digits."""

        type = int

    @node
    class CastToFloat(_Cast):
        """A float from a bool, int, float or numeric string."""

        type = float

    @node
    class CastToStr(_Unary):
        """The string form of a value (ISO format for dates, the code for codes)."""

        type = str

    # -- strings ------------------------------------------------------------

    @node
    class StringContains(_Binary):
        """Whether `lhs` contains `rhs` as a substring (case-sensitive)."""

        operand_types = {"lhs": TEXT, "rhs": STR}
        type = bool

    # -- membership ---------------------------------------------------------

    @node
    class In(_Binary):
        """Whether `lhs` is one of the values in the constant set `rhs`."""

        type = bool

        def check(self):
            if not isinstance(self.rhs.type, Set):
                raise self.refused(
                    f"Function.In needs a set of values as its rhs, not {a_type_name(self.rhs.type)} series",
                    "rhs",
                    error=TypeValidationError,
                    actual=self.rhs.type,
                )
            element = self.rhs.type.element_type
            if element is not None and element != self.lhs.type:
                raise self.refused(
                    f"Function.In cannot look for {a_type_name(self.lhs.type)} series in a set of "
                    f"{type_name(element)} values",
                    "rhs",
                    error=TypeValidationError,
                    actual=self.lhs.type,
                    other=element,
                )

    # -- dates --------------------------------------------------------------

    class _DatePart(_Unary):
        operand_types = DATE
        type = int

    @node
    class YearFromDate(_DatePart):
        """The year of a date."""

    @node
    class MonthFromDate(_DatePart):
        """The month (1-12) of a date."""

    @node
    class DayFromDate(_DatePart):
        """The day of the month (1-31) of a date."""

    class _DateTruncate(_Unary):
        operand_types = DATE
        type = datetime.date

    @node
    class ToFirstOfYear(_DateTruncate):
        """1 January of the date's year."""

    @node
    class ToFirstOfMonth(_DateTruncate):
        """The first day of the date's month."""

    class _DateAdd(_Binary):
        operand_types = {"lhs": DATE, "rhs": INT}
        type = datetime.date

    @node
    class DateAddYears(_DateAdd):
        """A date plus a number of years. 29 February onto a non-leap year gives 1 March."""

    @node
    class DateAddMonths(_DateAdd):
        """A date plus a number of months. A day past the month's end rolls into the next month's first."""

    @node
    class DateAddDays(_DateAdd):
        """A date plus a number of days."""

    class _DateDifference(_Binary):
        operand_types = DATE
        type = int

    @node
    class DateDifferenceInYears(_DateDifference):
        """Whole years from `rhs` to `lhs` (an age when lhs is today and rhs a birth date)."""

    @node
    class DateDifferenceInMonths(_DateDifference):
        """Whole months from `rhs` to `lhs`."""

    @node
    class DateDifferenceInDays(_DateDifference):
        """Days from `rhs` to `lhs`."""

    # -- across series ------------------------------------------------------

    @shared_fields
    class _Extremum(_Base):
        sources: tuple[Series, ...]
        operand_types = ORDERED
        same_type = True
        type = same_as("sources")

        def check(self):
            if len(self.sources) < 2:
                raise self.refused(
                    f"{type(self).__qualname__} needs at least two sources", "sources"
                )

    @node
    class MaximumOf(_Extremum):
        """The largest non-null value across several series; null if all are null."""

    @node
    class MinimumOf(_Extremum):
        """The smallest non-null value across several series; null if all are null."""


@node
class Case(Series):
    """The value of the first case whose condition is true, else `default`.

    `cases` maps conditions to values (a value may be None, meaning null); a
    null condition counts as not true. `default` None means null.
    """

    cases: FrozenDict
    default: Series | None = None
    same_type = True
    type = same_as("cases", "default")

    def check(self):
        if not self.cases:
            raise self.refused("Case needs at least one case", "cases", reason="empty")
        for condition in self.cases:
            if not isinstance(condition, Series):
                raise self.refused("Case's conditions must be series", "cases")
            require_operand_type(self, "cases", condition, BOOL)
        if all(v is None for v in [*self.cases.values(), self.default]):
            raise self.refused(
                "Case needs at least one value that is not None",
                "cases",
                reason="all null",
            )


# ---------------------------------------------------------------------------
# The dataset
# ---------------------------------------------------------------------------


@node
class Dataset(Node):
    """What is extracted: one row per patient in the population.

    `variables` maps column name to patient-level series, in definition order.
    `events` maps a name to an event frame for event-level tables.
    """

    population: Series
    variables: FrozenDict
    events: FrozenDict = dataclasses.field(default_factory=FrozenDict)

    def check(self):
        validate_population(self.population)
        for name, series in self.variables.items():
            if not isinstance(series, Series) or not series.domain.is_patient:
                raise self.refused(
                    f"dataset column '{name}' must have one value per patient",
                    "variables",
                )


def validate_population(population: Series):
    """Reject a population that is not a patient-level bool, or that would be
    true for a patient with no records at all (which would include every
    patient who ever existed)."""
    if not isinstance(population, Series):
        raise PopulationValidationError(
            "the population must be a boolean series",
            reason=PopulationValidationError.NOT_BOOLEAN,
        )
    if population.type is not bool:
        raise PopulationValidationError(
            f"the population must be a boolean series, not {a_type_name(population.type)} series",
            reason=PopulationValidationError.NOT_BOOLEAN,
        )
    if not population.domain.is_patient:
        raise PopulationValidationError(
            "the population must have one value per patient",
            reason=PopulationValidationError.NOT_PATIENT_LEVEL,
        )
    if _value_with_no_records(population) is True:
        raise PopulationValidationError(
            "the population would include patients who have no records at all",
            reason=PopulationValidationError.TRUE_WITHOUT_RECORDS,
        )


def _value_with_no_records(series: Series):
    """The value `series` would take for a patient with no rows in any table.

    Returns UNKNOWN where that cannot be told without data (parameters).
    """
    from ehrql.query_model.semantics import value_for_patient_with_no_records

    return value_for_patient_with_no_records(series)


# ---------------------------------------------------------------------------
# Traversal
# ---------------------------------------------------------------------------


def all_nodes(root: Node) -> list[Node]:
    """Every node reachable from `root`, each once, children before parents."""
    seen = set()
    ordered = []
    stack = [(root, False)]
    while stack:
        current, expanded = stack.pop()
        if expanded:
            ordered.append(current)
            continue
        if current in seen:
            continue
        seen.add(current)
        stack.append((current, True))
        for child in current.children():
            if child not in seen:
                stack.append((child, False))
    return ordered


def columns_read(root: Node) -> frozenset:
    """The (table, column name) pairs `root` reads, each column's table
    being the root table of the frame it is selected from."""
    return frozenset(
        (root_table(node.source), node.name)
        for node in all_nodes(root)
        if isinstance(node, SelectColumn)
    )


#: The node types that are tables (event, patient, inline): the leaves every
#: frame and series reads its rows from.
TABLE_TYPES = (SelectTable, SelectPatientTable, InlinePatientTable)


def get_table_nodes(*roots: Node) -> set[Frame]:
    """The tables (event, patient, inline) the given nodes read from."""
    tables = set()
    for root in roots:
        for n in all_nodes(root):
            if isinstance(n, TABLE_TYPES):
                tables.add(n)
    return tables


def used_columns(*roots: Node) -> dict[Frame, frozenset[str]]:
    """For each table the given nodes read from, the names of the columns they use.

    A table file (or database table) need only have these columns: public
    ehrQL's dummy tables, for instance, leave out the columns a definition
    never reads.
    """
    used: dict[Frame, set[str]] = {table: set() for table in get_table_nodes(*roots)}
    for root in roots:
        for n in all_nodes(root):
            if isinstance(n, SelectColumn):
                used.setdefault(root_table(n.source), set()).add(n.name)
    return {table: frozenset(names) for table, names in used.items()}
