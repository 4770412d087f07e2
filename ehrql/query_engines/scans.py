"""Which aggregations the SQL compiler computes together, in one scan of a table.

A study typically asks many questions of one event table: a count of asthma
codes, the first diabetes code, the mean HbA1c in the last two years, each over
its own filter of `clinical_events`. Compiled one by one, each is a GROUP BY of
its own filtered rows, so the table is read once per question. This module
plans them instead as one GROUP BY over the rows the filters have in common,
each aggregation counting only the rows its remaining filters keep (in SQL,
`count(CASE WHEN condition THEN 1 END)`, `min(CASE WHEN condition THEN value
END)`, ...), as a hand-written query would.

The plan is made from the query model alone; `base_sql._Compiler` turns it into
SQL. Filters whose condition reads anything patient-level that is computed by
a GROUP BY (another aggregation, a picked row) or a patient table are not
folded: their rows stay a relation of their own, read by the scan, so that no
scan can depend on itself. Filters that vary with a measure's interval are not
folded either, so that what is computed once for all intervals stays so.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping

from ehrql.query_model import nodes as qm


@dataclasses.dataclass(frozen=True)
class Scan:
    """Aggregations (or picked sort keys) computed by one GROUP BY of `rows`.

    `conditions[i]` holds the conditions (of the filters between `rows` and
    the rows `members[i]` aggregates, innermost first) that a row must meet to
    count for `members[i]`; empty when the member aggregates all of `rows`.
    """

    rows: qm.ManyRowsPerPatientFrame
    members: tuple[qm.Node, ...]
    conditions: tuple[tuple[qm.Series, ...], ...]

    def conditions_of(self, member: qm.Node) -> tuple[qm.Series, ...]:
        """The conditions a row must meet to count for `member`."""
        return self.conditions[self.members.index(member)]


def plan_scans(
    groups: Mapping[tuple[qm.ManyRowsPerPatientFrame, bool], Iterable[qm.Node]],
    can_fold: Callable[[qm.Filter], bool],
    varies: Callable[[qm.Frame], bool] = lambda frame: False,
) -> dict[qm.Node, Scan]:
    """Each aggregation's scan, given the aggregations that may share a GROUP BY
    keyed by (the rows each aggregates, whether it varies by interval).

    Aggregations over filters of the same rows share a scan of the rows the
    filters have in common, as far down as `can_fold` allows for each filter;
    those that vary by interval keep their own rows, shared only with the
    aggregations over the very same rows, unless the filters fold down to
    rows that already vary by interval (`varies`: the events in the
    interval, say). Those rows are already paired with each interval, so
    testing the filters in the scan costs no more; folding down to rows that
    do not vary would pair every row with every interval before filtering.
    """
    by_base: dict[tuple, list[tuple[qm.Node, tuple[qm.Filter, ...]]]] = {}
    for (rows, varying), members in groups.items():
        base, folded = _split(rows, can_fold)
        if varying and not varies(base):
            base, folded = rows, ()
        by_base.setdefault((base, varying), []).extend(
            (member, folded) for member in members
        )
    plan: dict[qm.Node, Scan] = {}
    for (base, _), entries in by_base.items():
        common = _common_prefix([folded for _, folded in entries])
        scan = Scan(
            rows=common[-1] if common else base,
            members=tuple(member for member, _ in entries),
            conditions=tuple(
                tuple(f.condition for f in folded[len(common) :])
                for _, folded in entries
            ),
        )
        for member in scan.members:
            plan[member] = scan
    return plan


def _split(
    rows: qm.ManyRowsPerPatientFrame, can_fold: Callable[[qm.Filter], bool]
) -> tuple[qm.ManyRowsPerPatientFrame, tuple[qm.Filter, ...]]:
    """`rows` as (the rows below its last filter that cannot be folded, the
    filters above them, innermost first)."""
    folded: list[qm.Filter] = []
    frame = qm.row_source(rows)
    while isinstance(frame, qm.Filter) and can_fold(frame):
        folded.append(frame)
        frame = qm.row_source(frame.source)
    return frame, tuple(reversed(folded))


def _common_prefix(chains: list[tuple[qm.Filter, ...]]) -> tuple[qm.Filter, ...]:
    shortest = min(chains, key=len)
    for i, node in enumerate(shortest):
        if any(chain[i] != node for chain in chains):
            return shortest[:i]
    return shortest
