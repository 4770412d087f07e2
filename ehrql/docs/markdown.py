"""Small builders for the Markdown the reference pages are made of.

Every builder returns a string, so pages are assembled by joining blocks with
blank lines and nothing is written until the whole page is known.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence


def heading(level: int, text: str) -> str:
    """A Markdown heading of `level` (1 to 6)."""
    if not 1 <= level <= 6:
        raise ValueError(f"heading level must be between 1 and 6, not {level}")
    return f"{'#' * level} {text}"


def code(text: str) -> str:
    """`text` as inline code, with enough backticks to hold any it contains."""
    fence = "`"
    while fence in text:
        fence += "`"
    # A space keeps a leading or trailing backtick from joining the fence.
    padding = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{padding}{text}{padding}{fence}"


def code_block(text: str, language: str = "") -> str:
    """A fenced code block, with a fence longer than any backtick run inside."""
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}{language}\n{text.rstrip()}\n{fence}"


# A code span: a run of backticks, its text, and a run of the same length.
_CODE_SPAN = re.compile(r"(`+)(?:.+?)(?<!`)\1(?!`)", re.DOTALL)


def escape_pipes(text: str) -> str:
    """Escape `|` so it cannot end a table cell, except inside code spans.

    Python-Markdown's tables already ignore pipes in code spans, and would
    show a backslash there.
    """
    parts = []
    position = 0
    for match in _CODE_SPAN.finditer(text):
        parts.append(text[position : match.start()].replace("|", "\\|"))
        parts.append(match.group(0))
        position = match.end()
    parts.append(text[position:].replace("|", "\\|"))
    return "".join(parts)


def cell(text: str) -> str:
    """`text` made safe for one table cell: no pipes or line breaks to end it early."""
    paragraphs = [" ".join(p.split()) for p in text.strip().split("\n\n")]
    return escape_pipes("<br><br>".join(p for p in paragraphs if p))


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A Markdown table; cells are escaped with `cell`."""
    lines = [
        "| " + " | ".join(cell(h) for h in headers) + " |",
        "| " + " | ".join("---" for _ in headers) + " |",
    ]
    for row in rows:
        if len(row) != len(headers):
            raise ValueError(
                f"row {row!r} has {len(row)} cells, expected {len(headers)}"
            )
        lines.append("| " + " | ".join(cell(c) for c in row) + " |")
    return "\n".join(lines)


def page(*blocks: str | None) -> str:
    """Join the non-empty blocks with blank lines into a page ending in one newline."""
    return "\n\n".join(b.strip("\n") for b in blocks if b and b.strip()) + "\n"
