"""Small builders for the Markdown the reference pages are made of.

Every builder returns a string, so pages are assembled by joining blocks with
blank lines and nothing is written until the whole page is known.
"""

from __future__ import annotations

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


def cell(text: str) -> str:
    """`text` made safe for one table cell: no pipes or line breaks to end it early."""
    paragraphs = [" ".join(p.split()) for p in text.strip().split("\n\n")]
    return "<br><br>".join(p for p in paragraphs if p).replace("|", "\\|")


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A Markdown table; cells are escaped with `cell`."""
    lines = [
        "| " + " | ".join(cell(h) for h in headers) + " |",
        "| " + " | ".join("---" for _ in headers) + " |",
    ]
    for row in rows:
        if len(row) != len(headers):
            raise ValueError(f"row {row!r} has {len(row)} cells, expected {len(headers)}")
        lines.append("| " + " | ".join(cell(c) for c in row) + " |")
    return "\n".join(lines)


def page(*blocks: str | None) -> str:
    """Join the non-empty blocks with blank lines into a page ending in one newline."""
    return "\n\n".join(b.strip("\n") for b in blocks if b and b.strip()) + "\n"

