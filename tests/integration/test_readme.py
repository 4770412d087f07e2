"""The README's first two commands are the project's front door: keep them true."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def readme_commands() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", (REPO / "README.md").read_text(), re.DOTALL)
    return [block.strip() for block in blocks[:2]]


def test_first_command_installs_and_runs_the_example_on_generated_dummy_data(tmp_path):
    install, run = readme_commands()[0].split(" && ")
    assert install == "python -m pip install -e ."
    argv = shlex.split(run)
    assert argv[:2] == ["ehrql", "generate-dataset"]
    assert "--dummy-tables" not in argv and "--dsn" not in argv  # generated dummy data
    output = tmp_path / argv[argv.index("--output") + 1]
    argv[argv.index("--output") + 1] = str(output)
    result = subprocess.run(
        [sys.executable, "-m", "ehrql", *argv[1:]],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    lines = output.read_text().splitlines()
    assert lines[0].startswith("patient_id,age,")
    assert (
        len(lines) == 301
    )  # the population size the example asks for, plus the header


def test_second_command_is_what_ci_runs():
    install_and_test = readme_commands()[1]
    assert install_and_test in (REPO / ".ci" / "run").read_text()
    assert "pytest" in install_and_test
