"""Which values a column may take, and how to draw one.

Each column starts from a finite pool of candidates built from its type, its
constraints and the definition's constants (`ValueChoice`). Solving a
condition on one column is then just filtering that pool, and drawing a value
is choosing from what is left, favouring the values the definition mentions.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime
import functools
import random
from collections.abc import Callable

from ehrql.codes import MultiCodeString
from ehrql.dummy.codes import random_codes
from ehrql.dummy.hints import Hints
from ehrql.dummy.regex_strings import random_matching_string
from ehrql.query_model import nodes as qm
from ehrql.query_model.table_schema import (
    CategoricalConstraint,
    ClosedRangeConstraint,
    Column,
    FirstOfMonthConstraint,
    GeneralRangeConstraint,
    RegexConstraint,
)

#: How often a nullable column is null in rows with nothing asked of it.
NULL_SHARE = 0.1
#: How often a value comes from those the definition mentions (when any are allowed).
PREFERRED_SHARE = 0.5
#: In a long list of mentioned codes (a codelist), half the draws come from
#: its first few: real records favour a few codes, and measures grouped by
#: code get groups large enough to survive disclosure control.
FAVOURITES = 6
#: Made-up codes per code column, to fall outside the definition's codelists.
OTHER_CODES = 12
#: Made-up strings per unconstrained string column.
OTHER_STRINGS = 12

_EARLIEST = datetime.date(1900, 1, 1)
_LATEST = datetime.date(2030, 12, 31)
_RECENT_START = datetime.date(1990, 1, 1)
_RECENT_END = datetime.date(2025, 12, 31)
_LIFESPAN = 100
# Dates within this many days of a date the definition mentions are favoured.
_DATE_NEIGHBOURHOOD = 3 * 365
_FLOAT_GRID = tuple(x / 2 for x in range(0, 401))
#: Pools at least this large are filtered lazily (`ValueChoice.restrict`).
LAZY_POOL = 500
#: Draws tried against a lazy filter before the pool is filtered once and for all.
LAZY_TRIES = 24
#: Values drawn lazily from one choice before filtering it pays for itself.
LAZY_DRAWS = 400


@dataclasses.dataclass(frozen=True)
class ValueChoice:
    """The values a column may take: `values` (not null), whether null is
    allowed, and how to draw among them.

    A draw is null with chance `null_share` (when allowed); otherwise it is
    mostly one of the `preferred` values (those the definition mentions), and
    else one of the `typical` values (a realistic subset), or any value.
    """

    values: tuple
    preferred: tuple
    null_allowed: bool
    typical: tuple = ()
    null_share: float = NULL_SHARE
    #: True when every tuple is in ascending order, so ranges can be cut by bisection.
    ordered: bool = False
    #: True when `values` holds every value the column can take (booleans,
    #: dates, categories, closed ranges), so an empty choice proves that no
    #: value exists; other pools are samples of an unbounded set.
    exhaustive: bool = True
    #: Filters not yet applied to the pools (each value must pass all of them):
    #: a date pool holds ~50,000 values and most filters pass most of them, so
    #: drawing and checking is far cheaper than filtering up front.
    pending: tuple = ()

    @functools.cached_property
    def empty(self) -> bool:
        """True when no value at all, not even null, is allowed."""
        if self.null_allowed:
            return False
        if not self.pending:
            return not self.values
        return not any(self._passes(v) for v in self.values)

    def _passes(self, value) -> bool:
        # A loop rather than all() over a generator: this runs per value drawn.
        for accept in self.pending:
            if not accept(value):
                return False
        return True

    @functools.cached_property
    def filtered(self) -> ValueChoice:
        """This choice with the pending filters applied to its pools."""
        return self._keeping(self._passes)

    def _keeping(self, keep: Callable[[object], bool]) -> ValueChoice:
        """Only the values `keep` accepts, with the pending filters applied."""
        values = tuple(v for v in self.values if keep(v))
        # The other pools are subsets of `values`: membership is cheaper than the filters.
        kept = frozenset(values)
        return dataclasses.replace(
            self,
            values=values,
            preferred=tuple(v for v in self.preferred if v in kept),
            typical=tuple(v for v in self.typical if v in kept),
            pending=(),
        )

    def _draw_lazily(self, rng: random.Random, draw: Callable):
        """A value from `draw` (a draw from the unfiltered pools) that passes
        the pending filters; else one drawn from the filtered pools."""
        if self.null_allowed and rng.random() < self.null_share:
            return None
        # Once a filter has proved too rare to hit by chance, or the choice
        # is drawn from often, the filtered pools are kept (cached) and used
        # from then on.
        draws = self.__dict__.get("_lazy_draws", 0)
        if "filtered" not in self.__dict__ and draws < LAZY_DRAWS:
            self.__dict__["_lazy_draws"] = draws + 1
            plain = dataclasses.replace(self, pending=(), null_allowed=False)
            for _ in range(LAZY_TRIES):
                value = draw(plain)
                if self._passes(value):
                    return value
        filtered = self.filtered
        if filtered.values:
            filtered = dataclasses.replace(filtered, null_allowed=False)
        return draw(filtered)

    def sample(self, rng: random.Random):
        """Draw one allowed value."""
        if self.pending:
            if not self.values:
                return self.filtered.sample(rng)
            return self._draw_lazily(rng, lambda choice: choice.sample(rng))
        if self.null_allowed and (not self.values or rng.random() < self.null_share):
            return None
        if not self.values:
            raise ValueError("no value is allowed here")
        if self.preferred and rng.random() < PREFERRED_SHARE:
            if (
                not self.ordered
                and len(self.preferred) > FAVOURITES
                and rng.random() < 0.5
            ):
                return rng.choice(self.preferred[:FAVOURITES])
            return rng.choice(self.preferred)
        return rng.choice(self.typical or self.values)

    def sample_within(self, rng: random.Random, low, high):
        """Draw one allowed value, keeping to [low, high] (None: unbounded)
        where some allowed value lies there; otherwise as `sample`.

        Ordered pools are cut by bisection, without copying them.
        """
        if not self.ordered or (low is None and high is None):
            return self.sample(rng)
        if self.pending:
            if not self.values:
                return self.filtered.sample_within(rng, low, high)
            return self._draw_lazily(
                rng, lambda choice: choice.sample_within(rng, low, high)
            )
        if self.null_allowed and (not self.values or rng.random() < self.null_share):
            return None
        for pool in (
            self.preferred if rng.random() < PREFERRED_SHARE else (),
            self.typical,
            self.values,
        ):
            if not pool:
                continue
            start = 0 if low is None else bisect.bisect_left(pool, low)
            end = len(pool) if high is None else bisect.bisect_right(pool, high)
            if start < end:
                return pool[rng.randrange(start, end)]
        return self.sample(rng)

    def allows(self, value) -> bool:
        """Whether `value` (or null) is one of the allowed values."""
        if value is None:
            return self.null_allowed
        return self._holds(value) and (not self.pending or self._passes(value))

    def _holds(self, value) -> bool:
        """Whether `value` is in `values`: an ordered pool (tens of
        thousands of dates, narrowed afresh for many recipes) is searched
        by bisection rather than copied into a set."""
        if not self.ordered:
            return value in self._value_set
        values = self.values
        try:
            index = bisect.bisect_left(values, value)
        except TypeError:
            return False
        return index < len(values) and values[index] == value

    @functools.cached_property
    def _value_set(self) -> frozenset:
        return frozenset(self.values)

    def among(self, members: frozenset) -> ValueChoice:
        """Only the values in `members`; never null.

        Where the pool holds every member (or there are none, as for an
        empty codelist), the result holds every value allowed: an empty
        result then proves that no value exists.
        """
        choice = self._keeping(lambda v: v in members and self._passes(v))
        exhaustive = self.exhaustive or all(m in self._value_set for m in members)
        return dataclasses.replace(choice, null_allowed=False, exhaustive=exhaustive)

    def only_null(self) -> ValueChoice:
        """Only null (no value at all if null is not allowed)."""
        return dataclasses.replace(
            self, values=(), preferred=(), typical=(), pending=()
        )

    def within(
        self,
        low,
        low_inclusive: bool,
        high,
        high_inclusive: bool,
        keep_null: bool = False,
    ) -> ValueChoice:
        """Only values between `low` and `high` (None for no bound); null only
        with `keep_null` (and if allowed already).

        The same as `restrict` with a comparison, but by bisection when the
        values are ordered: a date pool holds tens of thousands of values.
        """
        if not self.ordered:
            return self.restrict(
                lambda v: (
                    keep_null
                    if v is None
                    else _in_range(v, low, low_inclusive, high, high_inclusive)
                )
            )
        # Cutting commutes with the pending filters, which stay pending.
        return dataclasses.replace(
            self,
            values=_cut(self.values, low, low_inclusive, high, high_inclusive),
            preferred=_cut(self.preferred, low, low_inclusive, high, high_inclusive),
            typical=_cut(self.typical, low, low_inclusive, high, high_inclusive),
            null_allowed=self.null_allowed and keep_null,
        )

    def restrict(self, accept: Callable[[object], bool]) -> ValueChoice:
        """Only the values for which `accept` is true (null included).

        A large pool is filtered lazily: values are checked as they are drawn.
        """
        if len(self.values) >= LAZY_POOL:
            return dataclasses.replace(
                self,
                pending=self.pending + (accept,),
                null_allowed=self.null_allowed and accept(None),
            )
        if self.pending:
            return self.filtered.restrict(accept)
        return dataclasses.replace(
            self,
            values=tuple(v for v in self.values if accept(v)),
            preferred=tuple(v for v in self.preferred if accept(v)),
            typical=tuple(v for v in self.typical if accept(v)),
            null_allowed=self.null_allowed and accept(None),
        )


def _in_range(value, low, low_inclusive, high, high_inclusive) -> bool:
    if low is not None and (value < low or (value == low and not low_inclusive)):
        return False
    if high is not None and (value > high or (value == high and not high_inclusive)):
        return False
    return True


def _cut(values: tuple, low, low_inclusive, high, high_inclusive) -> tuple:
    start = 0
    if low is not None:
        start = (bisect.bisect_left if low_inclusive else bisect.bisect_right)(
            values, low
        )
    end = len(values)
    if high is not None:
        end = (bisect.bisect_right if high_inclusive else bisect.bisect_left)(
            values, high
        )
    return values[start:end]


def column_choice(
    table_name: str, column_name: str, column: Column, hints: Hints, rng: random.Random
) -> ValueChoice:
    """Every value a column may ever take, given its type and constraints.

    A column's `dummy_data_constraints` (rules only for dummy data, such as a
    realistic range) are obeyed as well as its constraints.
    """
    extra = tuple(getattr(column, "dummy_data_constraints", ()))
    if extra:
        column = dataclasses.replace(column, constraints=column.constraints + extra)
    type_ = column.type
    mentioned = hints.for_column(table_name, column_name)
    typical = ()
    if type_ is bool:
        values, preferred = (False, True), ()
    elif type_ is datetime.date:
        values, preferred, typical = _date_pool(
            hints.dates,
            column.get_constraint(FirstOfMonthConstraint) is not None,
            "birth" in column_name.lower().split("_"),
        )
    elif type_ is int:
        values, preferred = _int_values(column, mentioned, hints.for_type(int))
    elif type_ is float:
        values, preferred = _float_values(column, mentioned)
    elif type_ is str:
        values, preferred = _string_values(column, mentioned, hints.for_type(str), rng)
    elif qm.is_code_type(type_) and issubclass(type_, MultiCodeString):
        values, preferred = _multi_code_values(type_, mentioned, rng)
    elif qm.is_code_type(type_):
        values, preferred = _code_values(column, mentioned, hints.for_type(type_), rng)
    else:
        raise ValueError(
            f"cannot make dummy values for column '{column_name}' of type {type_!r}"
        )
    ordered = type_ in (datetime.date, int, float) and _categories(column) is None
    exhaustive = (
        type_ in (bool, datetime.date)
        or _categories(column) is not None
        or column.get_constraint(ClosedRangeConstraint) is not None
    )
    choice = ValueChoice(
        values,
        preferred,
        column.nullable,
        typical,
        _null_share(column_name),
        ordered,
        exhaustive,
    )
    if not _has_value_constraints(column):
        return choice
    return choice.restrict(lambda v: v is None or obeys_value_constraints(column, v))


def _has_value_constraints(column: Column) -> bool:
    # First-of-month dates are already built in; skipping the filter matters
    # because a date pool has tens of thousands of values.
    return any(
        isinstance(
            c,
            (
                CategoricalConstraint,
                ClosedRangeConstraint,
                GeneralRangeConstraint,
                RegexConstraint,
            ),
        )
        for c in column.constraints
    )


def obeys_value_constraints(column: Column, value) -> bool:
    """Whether a non-null value obeys every constraint that one value can be checked against.

    Categories of a code column may be written as plain strings, so a code is
    also compared by its string.
    """
    for constraint in column.constraints:
        if isinstance(constraint, CategoricalConstraint) and qm.is_code_type(
            column.type
        ):
            if value not in constraint.values and str(value) not in constraint.values:
                return False
        elif isinstance(constraint, RegexConstraint):
            if not constraint.validate(str(value)):
                return False
        elif isinstance(
            constraint,
            (
                CategoricalConstraint,
                ClosedRangeConstraint,
                GeneralRangeConstraint,
                FirstOfMonthConstraint,
            ),
        ):
            if not constraint.validate(value):
                return False
    return True


def _categories(column: Column):
    constraint = column.get_constraint(CategoricalConstraint)
    return None if constraint is None else tuple(constraint.values)


def _null_share(column_name: str) -> float:
    # In real records most patients are alive and most registrations are
    # still open, so these columns are mostly null.
    if {"death", "end", "ended"} & set(column_name.lower().split("_")):
        return 0.7
    return NULL_SHARE


@functools.lru_cache(maxsize=4)
def _date_pool(
    mentioned: tuple, first_of_month: bool, birth: bool
) -> tuple[tuple, tuple, tuple]:
    """(values, preferred, typical) for a date column.

    Values run from 1900 (or well before the earliest date mentioned) to 2030
    (or well after the latest). Preferred are those near a mentioned date —
    except for birth dates, which spread over a lifetime before the latest
    mentioned date. Typical are recent decades. Cached: a pool of ~50,000
    dates is the costliest thing to build.
    """
    earliest, latest = _EARLIEST, _LATEST
    if mentioned:
        earliest = min(earliest, _shift_years(mentioned[0], -10))
        latest = max(latest, _shift_years(mentioned[-1], 10))
    start = earliest.toordinal()
    values = tuple(
        datetime.date.fromordinal(o) for o in range(start, latest.toordinal() + 1)
    )
    if first_of_month:
        values = tuple(d for d in values if d.day == 1)
    last_mentioned = mentioned[-1] if mentioned else _RECENT_END
    if birth:
        oldest = _shift_years(last_mentioned, -_LIFESPAN)
        preferred = tuple(d for d in values if oldest <= d <= last_mentioned)
        return values, preferred, preferred
    typical_end = max(_RECENT_END, _shift_years(last_mentioned, 2))
    typical = tuple(d for d in values if _RECENT_START <= d <= typical_end)
    if mentioned:
        preferred = _near(values, [d.toordinal() for d in mentioned])
    else:
        preferred = typical
    return values, preferred, typical


def _shift_years(date: datetime.date, years: int) -> datetime.date:
    year = min(max(date.year + years, 1), 9999)
    return date.replace(year=year, day=min(date.day, 28))


def _near(dates: tuple, sorted_ordinals: list) -> tuple:
    """The `dates` (in order) within `_DATE_NEIGHBOURHOOD` days of one of
    `sorted_ordinals`: taken a window of days at a time, as a pool holds
    some 50,000 dates and a definition with hundreds of intervals mentions
    hundreds of dates."""
    windows: list = []
    for n in sorted_ordinals:
        low, high = n - _DATE_NEIGHBOURHOOD, n + _DATE_NEIGHBOURHOOD
        if windows and low <= windows[-1][1]:
            windows[-1][1] = max(windows[-1][1], high)
        else:
            windows.append([low, high])
    ordinals = [d.toordinal() for d in dates]
    near: list = []
    for low, high in windows:
        near.extend(
            dates[
                bisect.bisect_left(ordinals, low) : bisect.bisect_right(ordinals, high)
            ]
        )
    return tuple(near)


def _int_values(column: Column, mentioned: tuple, all_ints: tuple):
    categories = _categories(column)
    if categories is not None:
        return categories, tuple(v for v in mentioned if v in categories)
    closed = column.get_constraint(ClosedRangeConstraint)
    numbers = [
        v for v in mentioned if isinstance(v, (int, float)) and not isinstance(v, bool)
    ]
    if closed is not None:
        values = tuple(range(closed.minimum, closed.maximum + 1, closed.step))
    else:
        low = int(min([0, *(n - 10 for n in numbers)]))
        high = int(max([120, *(n + 10 for n in numbers)]))
        general = column.get_constraint(GeneralRangeConstraint)
        if general is not None:
            # Centre the default span on the allowed range, so that some values obey it.
            if general.minimum is not None:
                low = (
                    max(low, int(general.minimum))
                    if general.maximum is not None
                    else int(general.minimum)
                )
                high = max(high, low + 120)
            if general.maximum is not None:
                high = min(high, int(general.maximum))
                low = min(low, high - 120) if general.minimum is None else low
        values = tuple(
            v for v in range(low, high + 1) if general is None or general.validate(v)
        )
    near = {int(n) + d for n in numbers for d in (-1, 0, 1)}
    preferred = tuple(v for v in values if v in near)
    return values, preferred


def _float_values(column: Column, mentioned: tuple):
    categories = _categories(column)
    if categories is not None:
        return categories, tuple(v for v in mentioned if v in categories)
    closed = column.get_constraint(ClosedRangeConstraint)
    numbers = sorted(
        {
            float(v)
            for v in mentioned
            if isinstance(v, (int, float)) and not isinstance(v, bool)
        }
    )
    if closed is not None:
        count = int((closed.maximum - closed.minimum) / closed.step) + 1
        stride = max(1, count // 400)
        values = tuple(
            closed.minimum + i * closed.step for i in range(0, count, stride)
        )
        return values, ()
    near = sorted({n + d for n in numbers for d in (-1.0, -0.5, 0.0, 0.5, 1.0)})
    values = tuple(sorted(set(_FLOAT_GRID) | set(near)))
    return values, tuple(near)


def _string_values(
    column: Column, mentioned: tuple, any_strings: tuple, rng: random.Random
):
    categories = _categories(column)
    if categories is not None:
        return categories, tuple(v for v in mentioned if v in categories)
    strings = tuple(v for v in mentioned if isinstance(v, str))
    regex = column.get_constraint(RegexConstraint)
    if regex is not None:
        made = tuple(
            random_matching_string(regex.regex, rng) for _ in range(OTHER_STRINGS)
        )
    else:
        # Strings the definition uses elsewhere, and short strings of all
        # sorts, so comparisons and substring searches can go either way.
        made = tuple(v for v in any_strings if isinstance(v, str)) + tuple(
            random_matching_string(r"[A-Za-z0-9 _]{1,8}", rng)
            for _ in range(OTHER_STRINGS)
        )
    return tuple(dict.fromkeys(strings + made)), strings


def _code_values(
    column: Column, mentioned: tuple, same_type: tuple, rng: random.Random
):
    categories = _categories(column)
    if categories is not None:
        codes = tuple(column.type(v) if isinstance(v, str) else v for v in categories)
        return codes, tuple(v for v in mentioned if v in codes)
    used = tuple(
        dict.fromkeys(v for v in mentioned + same_type if isinstance(v, column.type))
    )
    made = random_codes(column.type, OTHER_CODES, rng)
    return tuple(dict.fromkeys(used + made)), used


def _multi_code_values(code_class: type, mentioned: tuple, rng: random.Random):
    """Strings listing a few codes, as hospital records hold all of a spell's diagnoses.

    The codes (or code prefixes) the definition searches for appear alone,
    in pairs and among made-up codes, so that `contains()` is sometimes true.
    """
    searched = tuple(v for v in mentioned if isinstance(v, str))
    others = tuple(
        c.value for c in random_codes(code_class.single_code_class, OTHER_CODES, rng)
    )
    listings = [(code,) for code in searched]
    listings += list(zip(searched, searched[1:]))
    listings += [(code, rng.choice(others)) for code in searched]
    listings += [
        tuple(rng.sample(others, rng.randint(1, 4))) for _ in range(OTHER_STRINGS)
    ]
    values = tuple(dict.fromkeys(code_class(_join_codes(codes)) for codes in listings))
    preferred = tuple(v for v in values if any(code in v.value for code in searched))
    return values, preferred


def _join_codes(codes: tuple) -> str:
    # The layout hospital episode data uses: "||" then codes separated by " ,".
    return "||" + " ,".join(codes)
