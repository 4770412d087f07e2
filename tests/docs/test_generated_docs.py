"""The committed pages are up to date, and the whole site builds without warnings.

When the freshness test fails, a docstring, table or spec test changed:
regenerate the pages with `python -m ehrql.docs` and commit them.
"""

import importlib.util
import os
import subprocess
import sys

import pytest

from ehrql.docs.__main__ import DEFAULT_OUTPUT_DIR, main
from ehrql.docs.output import stale_pages
from ehrql.docs.pages import SOURCE_ROOT, generate_pages
from ehrql.docs.schemas import SCHEMA_MODULES, import_schema_module, page_path


@pytest.fixture(scope="module")
def pages():
    return generate_pages()


def test_generation_is_deterministic(pages):
    assert generate_pages() == pages


def test_there_is_a_page_per_existing_schema_module(pages):
    for name in SCHEMA_MODULES:
        path = page_path(name)
        assert (path in pages) == (import_schema_module(name) is not None)


def test_committed_pages_are_up_to_date(pages):
    stale = stale_pages(pages, DEFAULT_OUTPUT_DIR)
    assert stale == [], (
        f"out of date: {', '.join(stale)}; regenerate with `python -m ehrql.docs`"
    )


def test_check_option_fails_on_stale_pages_and_passes_once_written(tmp_path, capsys):
    (tmp_path / "leftover.md").write_text("# Old\n")
    assert main(["--check", "--output-dir", str(tmp_path)]) == 1
    assert "leftover.md" in capsys.readouterr().err
    assert main(["--output-dir", str(tmp_path)]) == 0
    assert main(["--check", "--output-dir", str(tmp_path)]) == 0
    assert not (tmp_path / "leftover.md").exists()


@pytest.mark.skipif(
    importlib.util.find_spec("mkdocs") is None,
    reason="mkdocs is not installed: install the `docs` or `test` extra",
)
def test_site_builds_strictly(tmp_path):
    # Strict mode turns warnings into errors: broken links, missing pages and
    # pages left out of the navigation all fail the build.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--site-dir",
            str(tmp_path / "site"),
        ],
        cwd=SOURCE_ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert (
        tmp_path / "site" / "reference" / "schemas" / "core" / "index.html"
    ).exists()


@pytest.mark.parametrize("hash_seed", ["1", "2"])
def test_command_line_check_passes_whatever_the_hash_seed(hash_seed):
    # Set iteration order changes with the hash seed: output must not.
    result = subprocess.run(
        [sys.executable, "-m", "ehrql.docs", "--check"],
        cwd=SOURCE_ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": hash_seed},
    )
    assert result.returncode == 0, result.stderr
