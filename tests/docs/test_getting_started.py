"""The commands on the getting started page run, and give the output it shows."""

import shlex
import subprocess
import sys

import pytest

from ehrql.docs.pages import SOURCE_ROOT

PAGE = SOURCE_ROOT / "docs" / "getting-started.md"


def code_blocks(language):
    """The contents of the page's fenced blocks tagged `language` ("" for untagged)."""
    blocks = []
    inside = False
    for line in PAGE.read_text().splitlines():
        if not inside and line.startswith("```"):
            inside, keep, current = True, line[3:] == language, []
        elif inside and line == "```":
            if keep:
                blocks.append("\n".join(current))
            inside = False
        elif inside:
            current.append(line)
    return blocks


def commands():
    return [
        shlex.split(line)
        for block in code_blocks("sh")
        for line in block.splitlines()
        if line.startswith("ehrql ")
    ]


def run(arguments, tmp_path):
    # Outputs go to a temporary directory, not the checkout's output/.
    arguments = [a.replace("output/", f"{tmp_path}/") for a in arguments]
    return subprocess.run(
        [sys.executable, "-m", "ehrql", *arguments[1:]],
        cwd=SOURCE_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_page_has_commands_to_run():
    assert any(c[:2] == ["ehrql", "generate-dataset"] for c in commands())


@pytest.mark.parametrize("command", commands(), ids=lambda c: " ".join(c[:2]))
def test_each_command_on_the_page_succeeds(command, tmp_path):
    result = run(command, tmp_path)
    assert result.returncode == 0, result.stderr


def test_the_sample_output_is_what_the_first_command_writes(tmp_path):
    command = commands()[0]
    output = command[command.index("--output") + 1]
    assert run(command, tmp_path).returncode == 0
    written = (tmp_path / output.removeprefix("output/")).read_text().splitlines()
    (sample,) = code_blocks("")
    for index, line in enumerate(sample.splitlines()):
        assert written[index].startswith(line.removesuffix("..."))
