"""The README and the commands say the same thing."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import click

from serptrack.cli import cli

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
CI = (Path(__file__).parent.parent / ".ci" / "run").read_text(encoding="utf-8")


def test_every_command_is_in_the_readme_table() -> None:
    documented = set(re.findall(r"^\| `([a-z-]+(?: [a-z-]+)?)[ `]", README, flags=re.MULTILINE))
    for name, command in cli.commands.items():
        if isinstance(command, click.Group):
            for sub in command.commands:
                assert f"{name} {sub}" in documented, f"README's command table lacks `{name} {sub}`"
        else:
            assert name in documented, f"README's command table lacks `{name}`"


def test_every_documented_command_exists() -> None:
    documented = re.findall(r"^\| `([a-z-]+)", README, flags=re.MULTILINE)
    assert documented
    for name in documented:
        assert name in cli.commands, f"README documents `{name}`, which is not a command"


def test_ci_runs_the_readme_test_command() -> None:
    blocks = re.findall(r"```bash\n(.*?)```", README, flags=re.DOTALL)
    test_command = next(
        line
        for block in blocks
        for line in block.splitlines()
        if "pytest" in line and "pip install" in line
    )
    assert test_command.strip() in CI


def test_readme_examples_use_real_options() -> None:
    for line in re.findall(r"^serptrack ([^\n#]+)", README, flags=re.MULTILINE):
        words = line.split()
        command = cli.commands[words[0]]
        options = {opt for param in command.params for opt in getattr(param, "opts", [])}
        for word in words[1:]:
            if word.startswith("--"):
                assert word.split("=")[0] in options, (
                    f"`serptrack {line.strip()}` uses unknown option {word}"
                )


def test_python_m_serptrack_works() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "serptrack", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert result.stdout.startswith("Usage: serptrack [OPTIONS] COMMAND [ARGS]...")


def test_the_layout_section_names_every_module() -> None:
    section = README.split("## How the code is laid out", 1)[1].split("\n## ", 1)[0]
    package = Path(__file__).parent.parent / "serptrack"
    names = {p.name for p in package.glob("*.py") if p.name not in ("__init__.py", "__main__.py")}
    names |= {f"{p.name}/" for p in package.iterdir() if (p / "__init__.py").exists()}
    missing = sorted(name for name in names if f"`{name}" not in section)
    assert missing == [], f"README's layout section lacks {missing}"


def test_the_readme_explore_command_runs_after_the_readme_set_up() -> None:
    # the set-up makes .venv without activating it: a bare `serptrack` is not on PATH there
    section = README.split("## The two commands", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"`([^`]*serptrack [a-z]+[^`]*)`", section)
    assert commands
    for command in commands:
        assert command.startswith(".venv/bin/serptrack ") or "&&" in command, command
