"""`show()`: print what a series, frame or dataset holds, while debugging.

In a normal run `show()` does nothing. Under `ehrql debug`, the CLI activates
a debug context holding the data to evaluate against, and each `show()` call
prints its value as a table on stderr, labelled with the line that called it.
"""

from __future__ import annotations

import contextlib
import contextvars
import html
import inspect
import sys
from collections.abc import Callable, Iterator
from typing import TextIO

from ehrql.query_engines.in_memory import InMemoryDatabase, InMemoryQueryEngine
from ehrql.query_language import BaseFrame, BaseSeries, Dataset
from ehrql.query_model import nodes as qm

_DEBUG_CONTEXT: contextvars.ContextVar = contextvars.ContextVar(
    "ehrql_debug", default=None
)
_DISPLAY_FORMAT: contextvars.ContextVar = contextvars.ContextVar(
    "ehrql_display_format", default="ascii"
)

#: How `show()` can print its tables: plain text for a terminal, or HTML for a viewer.
DISPLAY_FORMATS = ("ascii", "html")


#: Gives the database to evaluate against, given the table nodes a `show()` reads.
DatabaseProvider = Callable[[set], InMemoryDatabase]


@contextlib.contextmanager
def activate_debug_context(
    database: InMemoryDatabase | DatabaseProvider,
    stream: TextIO | None = None,
    display_format: str = "ascii",
) -> Iterator[None]:
    """Within this block, `show()` evaluates against `database` and prints to `stream`
    in `display_format` (one of `DISPLAY_FORMATS`).

    `database` may instead be a function from the set of table nodes a `show()`
    call reads to a database holding them, so that tables are read only when shown.
    """
    if display_format not in DISPLAY_FORMATS:
        raise ValueError(
            f"unknown display format {display_format!r}; choose one of: {', '.join(DISPLAY_FORMATS)}"
        )
    provider = database if callable(database) else (lambda tables: database)
    token = _DEBUG_CONTEXT.set((provider, stream))
    format_token = _DISPLAY_FORMAT.set(display_format)
    try:
        yield
    finally:
        _DISPLAY_FORMAT.reset(format_token)
        _DEBUG_CONTEXT.reset(token)


def show(
    element,
    *other_elements,
    label: str | None = None,
    head: int | None = None,
    tail: int | None = None,
) -> None:
    """Print the value of a series, frame or dataset when running `ehrql debug`.

    Several series can be shown side by side in one table: patient series
    one row per patient, or event series of one frame (with any patient
    series alongside) one row per event. `label` titles the output; `head` /
    `tail` limit it to the first or last rows. Outside a debug run this does
    nothing, so it can stay in a definition.
    """
    if other_elements:
        element = _SideBySide((element, *other_elements))
    context = _DEBUG_CONTEXT.get()
    if context is None:
        return
    provider, stream = context
    stream = stream or sys.stderr
    caller = inspect.stack()[1]
    title = f"Show line {caller.lineno}" + (f": {label}" if label else "")
    database = provider(qm.get_table_nodes(_node_of(element)))
    headers, rows = _evaluate(element, database)
    if head is not None:
        rows = rows[:head]
    if tail is not None:
        rows = rows[-tail:] if tail else []
    if _DISPLAY_FORMAT.get() == "html":
        print(render_html_table(title, headers, rows), file=stream)
        return
    print(title, file=stream)
    print(render_table(headers, rows), file=stream)
    print(file=stream)


class _SideBySide:
    """Several series shown as the columns of one table, checked when `show()` is called."""

    def __init__(self, elements: tuple):
        for position, element in enumerate(elements, start=1):
            if not isinstance(element, BaseSeries):
                raise TypeError(
                    f"show() with several items takes only series; item {position} is "
                    f"{type(element).__name__}: show frames and datasets one at a time"
                )
        self.columns = qm.FrozenDict(
            {f"series_{i}": e._qm_node for i, e in enumerate(elements, start=1)}
        )
        try:
            self.domain = qm.Domain.union(*(n.domain for n in self.columns.values()))
        except qm.DomainMismatchError as e:
            raise TypeError(
                f"show() cannot put these series side by side: {e}"
            ) from None

    def root(self) -> qm.Node:
        return qm.Dataset(
            population=_everyone_reading(self.columns.values()),
            variables=qm.FrozenDict(),
        )


def _everyone_reading(nodes) -> qm.Series:
    tables = set().union(*(qm.get_table_nodes(n) for n in nodes))
    population = None
    for table in sorted(tables, key=repr):
        exists = qm.AggregateByPatient.Exists(table)
        population = (
            exists if population is None else qm.Function.Or(population, exists)
        )
    return population


def _node_of(element) -> qm.Node:
    if isinstance(element, _SideBySide):
        return element.root()
    if isinstance(element, Dataset):
        return element._compile()
    if isinstance(element, (BaseSeries, BaseFrame)):
        return element._qm_node
    raise TypeError(
        f"show() takes a series, frame or dataset, not {type(element).__name__}"
    )


def _evaluate(element, database: InMemoryDatabase) -> tuple[list[str], list[tuple]]:
    engine = InMemoryQueryEngine(database)
    if isinstance(element, _SideBySide):
        population = _everyone_reading(element.columns.values())
        if element.domain.is_patient:
            model = qm.Dataset(population=population, variables=element.columns)
            return ["patient_id", *element.columns], engine.get_results(model)
        model = qm.Dataset(
            population=population,
            variables=qm.FrozenDict(),
            events=qm.FrozenDict({"rows": element.columns}),
        )
        return ["patient_id", *element.columns], engine.get_event_results(model)["rows"]
    if isinstance(element, Dataset):
        model = element._compile()
        return ["patient_id", *model.variables], engine.get_results(model)
    if isinstance(element, BaseSeries):
        node = element._qm_node
        if node.domain.is_patient:
            model = qm.Dataset(
                population=_everyone(node), variables=qm.FrozenDict({"value": node})
            )
            return ["patient_id", "value"], engine.get_results(model)
        columns = qm.FrozenDict({"value": node})
        return _event_rows(engine, node, columns)
    if isinstance(element, BaseFrame):
        frame = element._qm_node
        columns = qm.FrozenDict(
            {name: qm.SelectColumn(frame, name) for name in frame.schema.column_names}
        )
        if isinstance(frame, qm.ManyRowsPerPatientFrame):
            return _event_rows(engine, frame, columns)
        model = qm.Dataset(population=_everyone(frame), variables=columns)
        return ["patient_id", *columns], engine.get_results(model)
    raise TypeError(
        f"show() takes a series, frame or dataset, not {type(element).__name__}"
    )


def _event_rows(engine, root, columns) -> tuple[list[str], list[tuple]]:
    model = qm.Dataset(
        population=_everyone(root),
        variables=qm.FrozenDict(),
        events=qm.FrozenDict({"rows": columns}),
    )
    return ["patient_id", *columns], engine.get_event_results(model)["rows"]


def _everyone(root: qm.Node) -> qm.Series:
    """A population of every patient with a row in any table `root` reads."""
    population = None
    for table in sorted(qm.get_table_nodes(root), key=repr):
        exists = qm.AggregateByPatient.Exists(table)
        population = (
            exists if population is None else qm.Function.Or(population, exists)
        )
    return population


def render_table(headers: list[str], rows: list[tuple]) -> str:
    """A plain-text table with aligned columns; nulls are shown as blanks."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]

    def line(values):
        return " | ".join(v.ljust(w) for v, w in zip(values, widths)).rstrip()

    rule = "-+-".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in cells)])


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "T" if value else "F"
    return str(value)


def render_html_table(title: str, headers: list[str], rows: list[tuple]) -> str:
    """A titled HTML table; cells are escaped, nulls are empty cells."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row) + "</tr>"
        for row in rows
    )
    return f"<h4>{html.escape(title)}</h4>\n<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>\n"
