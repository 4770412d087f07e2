"""Writing the generated pages, and finding which committed pages are stale.

The output directory belongs to the generator: a Markdown file there that the
generator no longer produces is stale too, and is removed when writing.
"""

from __future__ import annotations

from pathlib import Path


def existing_pages(output_dir: Path) -> set[str]:
    """Relative `/`-separated paths of the Markdown files under `output_dir`."""
    if not output_dir.is_dir():
        return set()
    return {p.relative_to(output_dir).as_posix() for p in output_dir.rglob("*.md")}


def stale_pages(pages: dict[str, str], output_dir: Path) -> list[str]:
    """Paths of pages that are missing, different, or no longer generated; sorted."""
    stale = set(existing_pages(output_dir)) - set(pages)
    for path, content in pages.items():
        target = output_dir / path
        if not target.is_file() or target.read_text(encoding="utf-8") != content:
            stale.add(path)
    return sorted(stale)


def write_pages(pages: dict[str, str], output_dir: Path) -> list[str]:
    """Bring `output_dir` in line with `pages`; return the paths that changed."""
    changed = stale_pages(pages, output_dir)
    for path in changed:
        target = output_dir / path
        if path in pages:
            target.parent.mkdir(parents=True, exist_ok=True)
            # Written as bytes so Windows does not turn the newlines into CRLF.
            target.write_bytes(pages[path].encode("utf-8"))
        else:
            target.unlink()
    return changed
