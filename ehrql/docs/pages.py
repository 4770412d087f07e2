"""Every generated reference page, as a mapping of relative path to content."""

from __future__ import annotations

from pathlib import Path

from ehrql.docs.cli import cli_page
from ehrql.docs.examples import examples_page
from ehrql.docs.language import frames_page, language_page
from ehrql.docs.schemas import schema_pages
from ehrql.docs.series import series_page

#: The directory holding the `ehrql` package and, in a checkout, `tests/`.
SOURCE_ROOT = Path(__file__).resolve().parents[2]


def generate_pages(source_root: Path = SOURCE_ROOT) -> dict[str, str]:
    """Page path (relative to the reference directory, `/`-separated) -> Markdown.

    The spec tests are looked for under `source_root`, which must also be
    importable (on `sys.path`) for their modules to load.
    """
    pages = {
        "language.md": language_page(),
        "frames.md": frames_page(),
        "series.md": series_page(),
        "cli.md": cli_page(),
        "examples.md": examples_page(source_root / "tests" / "spec", source_root),
        **schema_pages(),
    }
    return dict(sorted(pages.items()))
