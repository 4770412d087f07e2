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
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import typing
from collections.abc import Iterator, Mapping
from functools import cached_property
from typing import Any

from ehrql.codes import BaseCode
from ehrql.errors import EHRQLError
from ehrql.query_model.table_schema import TableSchema


class ValidationError(EHRQLError):
    """A query model node was built from inputs that do not make sense together."""


class TypeValidationError(ValidationError, TypeError):
    """An operation was given a series of the wrong type."""


class DomainMismatchError(ValidationError):
    """Series drawn from unrelated event frames were combined."""


class PopulationValidationError(ValidationError):
    """The population definition is not acceptable."""


# ---------------------------------------------------------------------------
# Types
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Set:
    """The type of a constant set of values of one element type, as used by `In`."""

    element_type: type

    def __repr__(self):
        return f"Set[{type_name(self.element_type)}]"


#: Types a series may have.
SCALAR_TYPES = (bool, int, float, str, datetime.date)
NUMERIC_TYPES = (int, float)
ORDERED_TYPES = (int, float, str, datetime.date)


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
    name = type_name(type_)
    return f"an {name}" if name[0] in "aeiou" else f"a {name}"


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
            raise TypeValidationError(f"a set of values must all be of one type, got {names}")
        element = element_types.pop() if element_types else None
        return Set(element)
    raise TypeValidationError(f"{value!r} is not a value ehrQL can use")


# ---------------------------------------------------------------------------
# Base classes
# ---------------------------------------------------------------------------


class Node:
    """Base of every query model node: a frozen, hashable dataclass."""

    def children(self) -> Iterator[Node]:
        """The nodes this node is built directly from."""
        for field in dataclasses.fields(self):
            yield from _nodes_in(getattr(self, field.name))

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)


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
    """Make `cls` a frozen dataclass with a cached hash.

    Nodes are used as dict keys all through the engines, and a deep tree's
    dataclass hash is recomputed from every field each time, so we cache it.

    A series also works out its domain when it is built, so that series drawn
    from unrelated frames fail where they are combined, not later in an engine.
    """
    if issubclass(cls, Series):
        checks = getattr(cls, "__post_init__", None)

        def __post_init__(self):
            if checks is not None:
                checks(self)
            self.domain  # noqa: B018 (computed for its check)

        cls.__post_init__ = __post_init__
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


class Frame(Node):
    """A table of rows. Every frame has a `schema` (a field or a property)."""

    schema: TableSchema


class ManyRowsPerPatientFrame(Frame):
    """A frame that may have any number of rows per patient."""


class OneRowPerPatientFrame(Frame):
    """A frame with at most one row per patient."""


class Series(Node):
    """One value per row of a frame, or one value per patient. Each has a `type`."""

    @cached_property
    def domain(self) -> Domain:
        return Domain.union(*(get_domain(c) for c in self.children()))


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
        ordered = sorted(sources, key=lambda s: len(_lineage(s)))
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

    def __post_init__(self):
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


@node
class Filter(ManyRowsPerPatientFrame):
    """The rows of `source` for which `condition` is true (not false, not null)."""

    source: ManyRowsPerPatientFrame
    condition: Series

    def __post_init__(self):
        _require_frame(self.source, ManyRowsPerPatientFrame, "filter")
        _require_type(self.condition, bool, "the condition of a filter")
        _require_usable_on(self.condition, self.source, "filter")

    @property
    def schema(self):
        return self.source.schema


@node
class Sort(ManyRowsPerPatientFrame):
    """The rows of `source` ordered by `sort_by` (ascending, nulls first).

    Sorts nest like a stable sort: in `Sort(Sort(t, b), a)` the outer key `a`
    is the most significant and `b` breaks its ties. `sort_keys` lists them.
    """

    source: ManyRowsPerPatientFrame
    sort_by: Series

    def __post_init__(self):
        _require_frame(self.source, ManyRowsPerPatientFrame, "sort")
        if self.sort_by.type not in ORDERED_TYPES + (bool,) and not is_code_type(
            self.sort_by.type
        ):
            raise TypeValidationError(
                f"cannot sort by {a_type_name(self.sort_by.type)} series"
            )
        _require_usable_on(self.sort_by, self.source, "sort")

    @property
    def schema(self):
        return self.source.schema


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
class PickOneRowPerPatient(OneRowPerPatientFrame):
    """The first or last row of a sorted frame, for each patient.

    Ties in the sort keys are broken by every column of the table, in schema
    order, so the row picked never depends on the engine.
    """

    source: ManyRowsPerPatientFrame
    position: Position

    def __post_init__(self):
        _require_frame(self.source, ManyRowsPerPatientFrame, "pick one row per patient from")
        if not sort_keys(self.source):
            raise ValidationError(
                "cannot pick the first or last row of a frame that has not been sorted: "
                "use .sort_by(...) first"
            )

    @property
    def schema(self):
        return self.source.schema


# ---------------------------------------------------------------------------
# Series: columns and values
# ---------------------------------------------------------------------------


@node
class SelectColumn(Series):
    """One column of a frame."""

    source: Frame
    name: str

    def __post_init__(self):
        if self.name not in self.source.schema.column_names:
            table = root_table(self.source)
            raise ValidationError(
                f"table '{getattr(table, 'name', 'inline table')}' has no column "
                f"'{self.name}'; its columns are: {', '.join(self.source.schema.column_names)}"
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

    def __post_init__(self):
        if isinstance(self.value, (list, set, tuple)):
            raise TypeValidationError("use a frozenset for a set of values")
        # Worked out once: for a big codelist it means visiting every code.
        object.__setattr__(self, "_value_type", type_of_value(self.value))

    # Python has 1 == 1.0 == True (and equal hashes), but in ehrQL they are
    # values of different types: engines key results by node, so two constants
    # must be equal only when their types are too.
    def __eq__(self, other):
        if self is other:
            return True
        if type(other) is not Value:
            return NotImplemented
        return self._value_type == other._value_type and self.value == other.value

    def __hash__(self):
        return hash((self._value_type, self.value))

    @property
    def type(self):
        return self._value_type

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
        @cached_property
        def domain(self):
            return Domain.PATIENT

    @node
    class Sum(_Base):
        """The sum of non-null values; null when there are none."""

        source: Series

        def __post_init__(self):
            _require_aggregable(self.source, "sum")
            _require_type(self.source, NUMERIC_TYPES, "sum_for_patient()")

        @property
        def type(self):
            return self.source.type

    @node
    class Mean(_Base):
        """The mean of non-null values, as a float; null when there are none."""

        source: Series

        def __post_init__(self):
            _require_aggregable(self.source, "mean")
            _require_type(self.source, NUMERIC_TYPES, "mean_for_patient()")

        @property
        def type(self):
            return float

    @node
    class Min(_Base):
        """The smallest non-null value; null when there are none."""

        source: Series

        def __post_init__(self):
            _require_aggregable(self.source, "minimum")
            _require_ordered(self.source, "minimum_for_patient()")

        @property
        def type(self):
            return self.source.type

    @node
    class Max(_Base):
        """The largest non-null value; null when there are none."""

        source: Series

        def __post_init__(self):
            _require_aggregable(self.source, "maximum")
            _require_ordered(self.source, "maximum_for_patient()")

        @property
        def type(self):
            return self.source.type

    @node
    class CountDistinct(_Base):
        """The number of distinct non-null values; 0 when there are none."""

        source: Series

        def __post_init__(self):
            _require_aggregable(self.source, "count distinct values of")

        @property
        def type(self):
            return int

    @node
    class Count(_Base):
        """The number of rows per patient; 0 when there are none."""

        source: ManyRowsPerPatientFrame

        def __post_init__(self):
            _require_frame(self.source, ManyRowsPerPatientFrame, "count rows of")

        @property
        def type(self):
            return int

    @node
    class CountEpisodes(_Base):
        """The number of episodes in a patient's non-null dates; 0 when there are none.

        Sorted, dates no more than `maximum_gap_days` after the previous one
        belong to its episode (the clock restarts at each date).
        """

        source: Series
        maximum_gap_days: int

        def __post_init__(self):
            _require_aggregable(self.source, "count episodes of")
            _require_type(self.source, datetime.date, "count_episodes_for_patient()")
            if type(self.maximum_gap_days) is not int or self.maximum_gap_days < 0:
                raise ValidationError(
                    f"the maximum gap between dates of an episode must be a whole number of days "
                    f"(0 or more), not {self.maximum_gap_days!r}"
                )

        @property
        def type(self):
            return int

    @node
    class CombineAsSet(_Base):
        """The set of a patient's non-null values (empty when there are none).

        Only `In` reads it: `x.is_in(event_series)` tests each value against
        the patient's own values of the other series.
        """

        source: Series

        def __post_init__(self):
            _require_aggregable(self.source, "combine into a set")

        @property
        def type(self):
            return Set(self.source.type)

    @node
    class Exists(_Base):
        """Whether the patient has any row; never null."""

        source: Frame

        @property
        def type(self):
            return bool


def _require_aggregable(series: Series, verb: str):
    if series.domain.is_patient:
        raise ValidationError(
            f"cannot {verb} a patient-level series: it already has one value per patient"
        )


# ---------------------------------------------------------------------------
# Series: functions (row-wise operations)
# ---------------------------------------------------------------------------


class Function:
    """Namespace of row-wise operations. Each takes series and gives a series."""

    class _Base(Series):
        #: Human description used in type errors.
        describe: typing.ClassVar[str] = ""

    # -- comparisons --------------------------------------------------------

    class _Comparison(_Base):
        ordered: typing.ClassVar[bool] = True

        def __post_init__(self):
            _require_same_type(self.lhs, self.rhs, f"compare ({self.describe})")
            if self.ordered:
                _require_ordered(self.lhs, self.describe)

        @property
        def type(self):
            return bool

    @node
    class EQ(_Comparison):
        """Equal; null if either side is null."""

        lhs: Series
        rhs: Series
        describe = "=="
        ordered = False

    @node
    class NE(_Comparison):
        """Not equal; null if either side is null."""

        lhs: Series
        rhs: Series
        describe = "!="
        ordered = False

    @node
    class LT(_Comparison):
        """Less than."""

        lhs: Series
        rhs: Series
        describe = "<"

    @node
    class LE(_Comparison):
        """Less than or equal."""

        lhs: Series
        rhs: Series
        describe = "<="

    @node
    class GT(_Comparison):
        """Greater than."""

        lhs: Series
        rhs: Series
        describe = ">"

    @node
    class GE(_Comparison):
        """Greater than or equal."""

        lhs: Series
        rhs: Series
        describe = ">="

    # -- logic (three-valued, as SQL) ---------------------------------------

    @node
    class And(_Base):
        """Logical and, with SQL's three-valued logic: False & null is False."""

        lhs: Series
        rhs: Series

        def __post_init__(self):
            _require_type(self.lhs, bool, "&")
            _require_type(self.rhs, bool, "&")

        @property
        def type(self):
            return bool

    @node
    class Or(_Base):
        """Logical or, with SQL's three-valued logic: True | null is True."""

        lhs: Series
        rhs: Series

        def __post_init__(self):
            _require_type(self.lhs, bool, "|")
            _require_type(self.rhs, bool, "|")

        @property
        def type(self):
            return bool

    @node
    class Not(_Base):
        """Logical not; null stays null."""

        source: Series

        def __post_init__(self):
            _require_type(self.source, bool, "~")

        @property
        def type(self):
            return bool

    @node
    class IsNull(_Base):
        """Whether the value is null; never null itself."""

        source: Series

        @property
        def type(self):
            return bool

    # -- arithmetic ---------------------------------------------------------

    class _Arithmetic(_Base):
        def __post_init__(self):
            _require_type(self.lhs, NUMERIC_TYPES, self.describe)
            _require_same_type(self.lhs, self.rhs, self.describe)

        @property
        def type(self):
            return self.lhs.type

    @node
    class Add(_Arithmetic):
        """lhs + rhs."""

        lhs: Series
        rhs: Series
        describe = "+"

    @node
    class Subtract(_Arithmetic):
        """lhs - rhs."""

        lhs: Series
        rhs: Series
        describe = "-"

    @node
    class Multiply(_Arithmetic):
        """lhs * rhs."""

        lhs: Series
        rhs: Series
        describe = "*"

    @node
    class TrueDivide(_Arithmetic):
        """lhs / rhs as a float; null when rhs is zero."""

        lhs: Series
        rhs: Series
        describe = "/"

        @property
        def type(self):
            return float

    @node
    class FloorDivide(_Arithmetic):
        """lhs // rhs, rounded towards minus infinity, as an int; null when rhs is zero."""

        lhs: Series
        rhs: Series
        describe = "//"

        @property
        def type(self):
            return int

    @node
    class Power(_Arithmetic):
        """lhs ** rhs, computed in floats, as a float.

        Null where Python's float power has no real, finite answer: zero to a
        negative power, a negative number to a fractional power, or a result
        too large for a float.
        """

        lhs: Series
        rhs: Series
        describe = "**"

        @property
        def type(self):
            return float

    @node
    class Absolute(_Base):
        """The absolute value of a number: negative values made positive."""

        source: Series

        def __post_init__(self):
            _require_type(self.source, NUMERIC_TYPES, "absolute()")

        @property
        def type(self):
            return self.source.type

    @node
    class Negate(_Base):
        """-source."""

        source: Series

        def __post_init__(self):
            _require_type(self.source, NUMERIC_TYPES, "unary -")

        @property
        def type(self):
            return self.source.type

    @node
    class CastToInt(_Base):
        """An int from a bool, int, float (truncated towards zero) or string of digits."""

        source: Series

        def __post_init__(self):
            _require_type(self.source, (bool, int, float, str), "as_int()")

        @property
        def type(self):
            return int

    @node
    class CastToFloat(_Base):
        """A float from a bool, int, float or numeric string."""

        source: Series

        def __post_init__(self):
            _require_type(self.source, (bool, int, float, str), "as_float()")

        @property
        def type(self):
            return float

    @node
    class CastToStr(_Base):
        """The string form of a value (ISO format for dates, the code for codes)."""

        source: Series

        @property
        def type(self):
            return str

    # -- strings ------------------------------------------------------------

    @node
    class StringContains(_Base):
        """Whether `lhs` contains `rhs` as a substring (case-sensitive)."""

        lhs: Series
        rhs: Series

        def __post_init__(self):
            if not (self.lhs.type is str or is_code_type(self.lhs.type)):
                raise TypeValidationError(
                    f"contains() needs a string series, not {a_type_name(self.lhs.type)} series"
                )
            _require_type(self.rhs, str, "contains()")

        @property
        def type(self):
            return bool

    # -- membership ---------------------------------------------------------

    @node
    class In(_Base):
        """Whether `lhs` is one of the values in the constant set `rhs`."""

        lhs: Series
        rhs: Series

        def __post_init__(self):
            if not isinstance(self.rhs.type, Set):
                raise TypeValidationError("is_in() needs a collection of values")
            element = self.rhs.type.element_type
            if element is not None and element != self.lhs.type:
                raise TypeValidationError(
                    f"cannot look for {a_type_name(self.lhs.type)} series in a "
                    f"collection of {type_name(element)} values"
                )

        @property
        def type(self):
            return bool

    # -- dates --------------------------------------------------------------

    class _DatePart(_Base):
        def __post_init__(self):
            _require_type(self.source, datetime.date, self.describe)

        @property
        def type(self):
            return int

    @node
    class YearFromDate(_DatePart):
        """The year of a date."""

        source: Series
        describe = "year"

    @node
    class MonthFromDate(_DatePart):
        """The month (1-12) of a date."""

        source: Series
        describe = "month"

    @node
    class DayFromDate(_DatePart):
        """The day of the month (1-31) of a date."""

        source: Series
        describe = "day"

    class _DateTruncate(_Base):
        def __post_init__(self):
            _require_type(self.source, datetime.date, self.describe)

        @property
        def type(self):
            return datetime.date

    @node
    class ToFirstOfYear(_DateTruncate):
        """1 January of the date's year."""

        source: Series
        describe = "to_first_of_year()"

    @node
    class ToFirstOfMonth(_DateTruncate):
        """The first day of the date's month."""

        source: Series
        describe = "to_first_of_month()"

    class _DateAdd(_Base):
        def __post_init__(self):
            _require_type(self.lhs, datetime.date, f"adding {self.describe}")
            _require_type(self.rhs, int, f"the number of {self.describe}")

        @property
        def type(self):
            return datetime.date

    @node
    class DateAddYears(_DateAdd):
        """A date plus a number of years. 29 February onto a non-leap year gives 1 March."""

        lhs: Series
        rhs: Series
        describe = "years"

    @node
    class DateAddMonths(_DateAdd):
        """A date plus a number of months. A day past the month's end rolls into the next month's first."""

        lhs: Series
        rhs: Series
        describe = "months"

    @node
    class DateAddDays(_DateAdd):
        """A date plus a number of days."""

        lhs: Series
        rhs: Series
        describe = "days"

    class _DateDifference(_Base):
        def __post_init__(self):
            _require_type(self.lhs, datetime.date, "date difference")
            _require_type(self.rhs, datetime.date, "date difference")

        @property
        def type(self):
            return int

    @node
    class DateDifferenceInYears(_DateDifference):
        """Whole years from `rhs` to `lhs` (an age when lhs is today and rhs a birth date)."""

        lhs: Series
        rhs: Series

    @node
    class DateDifferenceInMonths(_DateDifference):
        """Whole months from `rhs` to `lhs`."""

        lhs: Series
        rhs: Series

    @node
    class DateDifferenceInDays(_DateDifference):
        """Days from `rhs` to `lhs`."""

        lhs: Series
        rhs: Series

    # -- across series ------------------------------------------------------

    class _Extremum(_Base):
        def __post_init__(self):
            if len(self.sources) < 2:
                raise ValidationError(f"{self.describe} needs at least two values")
            first = self.sources[0]
            for other in self.sources[1:]:
                _require_same_type(first, other, self.describe)
            _require_ordered(first, self.describe)

        @property
        def type(self):
            return self.sources[0].type

    @node
    class MaximumOf(_Extremum):
        """The largest non-null value across several series; null if all are null."""

        sources: tuple
        describe = "maximum_of()"

    @node
    class MinimumOf(_Extremum):
        """The smallest non-null value across several series; null if all are null."""

        sources: tuple
        describe = "minimum_of()"


@node
class Case(Series):
    """The value of the first case whose condition is true, else `default`.

    `cases` maps conditions to values (a value may be None, meaning null); a
    null condition counts as not true. `default` None means null.
    """

    cases: FrozenDict
    default: Series | None = None

    def __post_init__(self):
        if not self.cases:
            raise ValidationError("case() needs at least one when(...).then(...)")
        for condition in self.cases:
            _require_type(condition, bool, "a when() condition")
        outputs = [v for v in [*self.cases.values(), self.default] if v is not None]
        if not outputs:
            raise ValidationError("case() needs at least one value that is not None")
        for other in outputs[1:]:
            _require_same_type(outputs[0], other, "case()")

    @property
    def type(self):
        for value in [*self.cases.values(), self.default]:
            if value is not None:
                return value.type


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

    def __post_init__(self):
        validate_population(self.population)
        for name, series in self.variables.items():
            if not isinstance(series, Series) or not series.domain.is_patient:
                raise ValidationError(
                    f"dataset column '{name}' must have one value per patient"
                )


def validate_population(population: Series):
    """Reject a population that is not a patient-level bool, or that would be
    true for a patient with no records at all (which would include every
    patient who ever existed)."""
    if not isinstance(population, Series):
        raise PopulationValidationError("the population must be a boolean series")
    if population.type is not bool:
        raise PopulationValidationError(
            f"the population must be a boolean series, not {a_type_name(population.type)} series"
        )
    if not population.domain.is_patient:
        raise PopulationValidationError(
            "the population must have one value per patient: use an aggregation "
            "such as .exists_for_patient() on an event frame"
        )
    if _value_with_no_records(population) is True:
        raise PopulationValidationError(
            "the population would include patients who have no records at all: "
            "combine it with a condition that needs a record, such as "
            "practice_registrations.exists_for_patient()"
        )


def _value_with_no_records(series: Series):
    """The value `series` would take for a patient with no rows in any table.

    Returns UNKNOWN where that cannot be told without data (parameters).
    """
    from ehrql.query_model.semantics import value_for_patient_with_no_records

    return value_for_patient_with_no_records(series)


# ---------------------------------------------------------------------------
# Validation helpers
# ---------------------------------------------------------------------------


def _require_frame(frame, kind, verb):
    if not isinstance(frame, kind):
        what = "an event frame" if kind is ManyRowsPerPatientFrame else "a frame"
        raise ValidationError(f"can only {verb} {what}")


def _require_type(series: Series, types, context: str):
    allowed = types if isinstance(types, tuple) else (types,)
    if series.type not in allowed:
        names = " or ".join(type_name(t) for t in allowed)
        raise TypeValidationError(
            f"{context} needs {'an' if names[0] in 'aeiou' else 'a'} {names} series, "
            f"not {a_type_name(series.type)} series"
        )


def _require_ordered(series: Series, context: str):
    if series.type not in ORDERED_TYPES and not is_code_type(series.type):
        raise TypeValidationError(
            f"cannot use {context} on {a_type_name(series.type)} series: its values have no order"
        )


def _require_same_type(lhs: Series, rhs: Series, context: str):
    # A null constant has no type of its own and fits anywhere.
    if lhs.type is None or rhs.type is None or lhs.type == rhs.type:
        return
    raise TypeValidationError(
        f"cannot {context.split(' ')[0] if context.startswith('compare') else 'combine'} "
        f"{a_type_name(lhs.type)} series with {a_type_name(rhs.type)} series"
        f" (in {context.removeprefix('compare ').strip('()') if context.startswith('compare') else context})"
    )


def _require_usable_on(series: Series, frame: ManyRowsPerPatientFrame, verb: str):
    """A filter condition or sort key must be evaluable on the frame's rows."""
    frame_source = row_source(frame)
    for source in series.domain.sources:
        if source not in _lineage(frame_source):
            raise DomainMismatchError(
                f"cannot {verb} {describe_frame(frame_source)} using a series "
                f"drawn from {describe_frame(source)}"
            )


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


def get_table_nodes(*roots: Node) -> set[Frame]:
    """The tables (event, patient, inline) the given nodes read from."""
    tables = set()
    for root in roots:
        for n in all_nodes(root):
            if isinstance(n, (SelectTable, SelectPatientTable, InlinePatientTable)):
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
