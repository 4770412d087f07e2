"""`python -m ehrql.docs [--output-dir DIR] [--check]`: write or check the reference pages."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ehrql.docs.output import stale_pages, write_pages
from ehrql.docs.pages import SOURCE_ROOT, generate_pages

DEFAULT_OUTPUT_DIR = SOURCE_ROOT / "docs" / "reference"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the docs generator."""
    parser = argparse.ArgumentParser(
        prog="python -m ehrql.docs",
        description="Generate the Markdown reference pages from the code.",
    )
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=DEFAULT_OUTPUT_DIR,
        help="directory the pages are written to (default: docs/reference in the checkout)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit with status 1 and list the stale pages if any differ",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the generator; the return value is the exit status."""
    args = build_parser().parse_args(argv)
    # Spec test modules import `tests.…`, so the checkout must be importable.
    if str(SOURCE_ROOT) not in sys.path:
        sys.path.insert(0, str(SOURCE_ROOT))
    pages = generate_pages()
    if args.check:
        stale = stale_pages(pages, args.output_dir)
        for path in stale:
            print(f"out of date: {args.output_dir / path}", file=sys.stderr)
        if stale:
            print("regenerate the pages with `python -m ehrql.docs`", file=sys.stderr)
            return 1
        return 0
    for path in write_pages(pages, args.output_dir):
        print(f"wrote {args.output_dir / path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
