"""Measures: counts per time interval and group, as researchers define them.

    measures = create_measures()
    measures.define_measure(
        name="flu_vaccine",
        numerator=had_vaccine_in(INTERVAL),
        denominator=registered_at(INTERVAL.start_date),
        group_by={"sex": patients.sex},
        intervals=months(12).starting_on("2022-01-01"),
    )

`INTERVAL.start_date` and `INTERVAL.end_date` stand for the bounds of each
interval in turn.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Mapping
from typing import NamedTuple

from ehrql.errors import DefinitionError
from ehrql.query_language import (
    BaseSeries,
    Dataset,
    DummyDataConfig,
    _parse_date,
    _wrap,
)
from ehrql.query_model import nodes as qm


class _Interval(NamedTuple):
    start_date: BaseSeries
    end_date: BaseSeries


#: The interval a measure is being calculated for: `INTERVAL.start_date` and
#: `INTERVAL.end_date` are date series that take each interval's bounds in turn.
INTERVAL = _Interval(
    start_date=_wrap(qm.Parameter("interval_start_date", datetime.date)),
    end_date=_wrap(qm.Parameter("interval_end_date", datetime.date)),
)

#: Output column names, which group_by columns cannot use.
RESERVED_NAMES = frozenset(
    {"measure", "interval_start", "interval_end", "ratio", "numerator", "denominator"}
)
_VALID_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_ARGUMENTS = ("numerator", "denominator", "group_by", "intervals")


@dataclasses.dataclass(frozen=True)
class Measure:
    """One measure: its counts per interval, grouped by its group_by columns."""

    name: str
    numerator: qm.Series
    denominator: qm.Series
    group_by: qm.FrozenDict
    intervals: tuple


class Measures:
    """A collection of measures: made with `create_measures()`."""

    def __init__(self):
        self._measures: dict[str, Measure] = {}
        self._defaults: dict = {}
        self.dummy_data_config = DummyDataConfig()
        self.disclosure_control_enabled = True
        #: Permissions the definition file claimed (`claim_permissions`), set
        #: by the loader; they count on dummy data only.
        self.claimed_permissions: tuple[str, ...] = ()
        #: Series node -> (file, line) where the definition built it, for the
        #: denominators' conditions (set by the loader, for dummy data's messages).
        self.condition_locations: Mapping = {}

    @classmethod
    def _rebuilt(
        cls,
        measures: list[Measure],
        *,
        dummy_data_config: DummyDataConfig,
        disclosure_control_enabled: bool,
        claimed_permissions: tuple[str, ...] = (),
        condition_locations: Mapping | None = None,
    ) -> Measures:
        """Measures as a definition loaded in another process defined them.

        Checked as `define_measure` checks them: unique names, and group_by
        names that mean the same thing in every measure.
        """
        rebuilt = cls()
        for given in measures:
            if not _VALID_NAME.fullmatch(given.name) or given.name in rebuilt._measures:
                raise DefinitionError(
                    f"invalid or repeated measure name {given.name!r}"
                )
            measure = Measure(
                name=given.name,
                numerator=_count_series("numerator", _wrap(given.numerator)),
                denominator=_count_series("denominator", _wrap(given.denominator)),
                group_by=_group_by(
                    {name: _wrap(node) for name, node in given.group_by.items()}
                ),
                intervals=_intervals(list(given.intervals)),
            )
            rebuilt._check_group_by_consistent(measure.group_by)
            rebuilt._measures[measure.name] = measure
        rebuilt.dummy_data_config = dummy_data_config
        rebuilt.disclosure_control_enabled = disclosure_control_enabled
        rebuilt.claimed_permissions = tuple(claimed_permissions)
        rebuilt.condition_locations = dict(condition_locations or {})
        return rebuilt

    def define_defaults(
        self,
        numerator: BaseSeries | None = None,
        denominator: BaseSeries | None = None,
        group_by: Mapping[str, BaseSeries] | None = None,
        intervals: list[tuple[datetime.date, datetime.date]] | None = None,
    ) -> None:
        """Set values used by every later `define_measure` that does not give its own."""
        if self._defaults:
            raise DefinitionError("define_defaults() can only be called once")
        given = dict(zip(_ARGUMENTS, (numerator, denominator, group_by, intervals)))
        self._defaults = {
            k: _validate_argument(k, v) for k, v in given.items() if v is not None
        }

    def define_measure(
        self,
        name: str,
        numerator: BaseSeries | None = None,
        denominator: BaseSeries | None = None,
        group_by: Mapping[str, BaseSeries] | None = None,
        intervals: list[tuple[datetime.date, datetime.date]] | None = None,
    ) -> None:
        """Add a measure: the ratio numerator / denominator per interval and group.

        `numerator` and `denominator` are boolean or integer patient series;
        patients whose denominator is False, 0 or null are left out.
        `group_by` maps output column names to patient series; without it
        (and without a default) the measure is not grouped. `intervals` is a
        list of (start, end) date pairs, e.g. `months(12).starting_on(...)`;
        dates may be written as 'YYYY-MM-DD' strings. Arguments not given come
        from `define_defaults`.
        """
        if not isinstance(name, str) or not _VALID_NAME.fullmatch(name):
            raise DefinitionError(
                f"{name!r} is not a valid measure name: use letters, digits and underscores"
            )
        if name in self._measures:
            raise DefinitionError(f"a measure named '{name}' is already defined")
        given = dict(zip(_ARGUMENTS, (numerator, denominator, group_by, intervals)))
        arguments = {}
        for key in _ARGUMENTS:
            if given[key] is not None:
                arguments[key] = _validate_argument(key, given[key])
            elif key in self._defaults:
                arguments[key] = self._defaults[key]
            elif key == "group_by":
                # As in public ehrQL, a measure with no group_by is not grouped.
                arguments[key] = qm.FrozenDict({})
            else:
                raise DefinitionError(
                    f"measure '{name}' has no {key}, and no default was set with define_defaults()"
                )
        self._check_group_by_consistent(arguments["group_by"])
        self._measures[name] = Measure(name=name, **arguments)

    def configure_dummy_data(
        self,
        *,
        population_size: int = 10,
        legacy: bool = False,
        timeout: int = 60,
        additional_population_constraint=None,
    ) -> None:
        self.dummy_data_config = DummyDataConfig.checked(
            population_size, legacy, timeout, additional_population_constraint
        )

    # One text for both: the options mean the same for measures as for a dataset.
    configure_dummy_data.__doc__ = Dataset.configure_dummy_data.__doc__

    def configure_disclosure_control(self, *, enabled: bool = True) -> None:
        """Turn disclosure control on (the default) or off for these measures.

        When on, counts of 7 or fewer are reported as 0 and every count is
        rounded to the nearest multiple of 5 before anything is written.
        """
        if not isinstance(enabled, bool):
            raise DefinitionError("enabled must be True or False")
        self.disclosure_control_enabled = enabled

    def _check_group_by_consistent(self, group_by: qm.FrozenDict):
        for measure in self._measures.values():
            for column, node in group_by.items():
                if column in measure.group_by and measure.group_by[column] != node:
                    raise DefinitionError(
                        f"group_by column '{column}' is defined differently in measure "
                        f"'{measure.name}': a group_by name must mean the same thing in every measure"
                    )

    def __iter__(self):
        return iter(self._measures.values())

    def __len__(self):
        return len(self._measures)


def create_measures() -> Measures:
    """A new, empty collection of measures."""
    return Measures()


def _validate_argument(key: str, value):
    if key in ("numerator", "denominator"):
        return _count_series(key, value)
    if key == "group_by":
        return _group_by(value)
    return _intervals(value)


def _count_series(key: str, value) -> qm.Series:
    if not isinstance(value, BaseSeries):
        raise DefinitionError(
            f"{key} must be a boolean or integer patient series, got {value!r}"
        )
    node = value._qm_node
    if not node.domain.is_patient:
        raise DefinitionError(f"{key} must have one value per patient")
    if node.type not in (bool, int):
        raise DefinitionError(
            f"{key} must be a boolean or integer series, not {qm.a_type_name(node.type)} series"
        )
    return node


def _group_by(value) -> qm.FrozenDict:
    if not isinstance(value, Mapping):
        raise DefinitionError(
            "group_by must be a dict of column name -> patient series"
        )
    columns = {}
    for name, series in value.items():
        if not isinstance(name, str) or not _VALID_NAME.fullmatch(name):
            raise DefinitionError(f"{name!r} is not a valid group_by column name")
        if name in RESERVED_NAMES:
            raise DefinitionError(
                f"'{name}' cannot be a group_by column name: it is one of the output columns "
                f"({', '.join(sorted(RESERVED_NAMES))})"
            )
        if not isinstance(series, BaseSeries) or not series._qm_node.domain.is_patient:
            raise DefinitionError(f"group_by column '{name}' must be a patient series")
        columns[name] = series._qm_node
    return qm.FrozenDict(columns)


def _intervals(value) -> tuple:
    # An empty list is allowed, as in public ehrQL: that measure has no rows.
    if not isinstance(value, (list, tuple)):
        raise DefinitionError(
            "intervals must be a list of (start, end) date pairs, "
            "e.g. months(12).starting_on('2022-01-01')"
        )
    intervals = []
    for interval in value:
        if not isinstance(interval, (tuple, list)) or len(interval) != 2:
            raise DefinitionError(
                f"each interval must be a (start, end) pair of dates, got {interval!r}"
            )
        start, end = (_interval_date(d, interval) for d in interval)
        if start > end:
            raise DefinitionError(f"interval {interval!r} starts after it ends")
        intervals.append((start, end))
    return tuple(sorted(set(intervals)))


def _interval_date(value, interval) -> datetime.date:
    if type(value) is datetime.date:
        return value
    if isinstance(value, str):
        return _parse_date(value)
    raise DefinitionError(
        f"each interval must be a (start, end) pair of dates or 'YYYY-MM-DD' strings, got {interval!r}"
    )
