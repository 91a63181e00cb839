"""docs/cli.md is every command's --help, generated, so it never drifts from the code.

Regenerate with:  python3 tests/cli_docs.py   (test_docs.py checks it is current)
"""
from __future__ import annotations

import os
import sys

def commands() -> list[list[str]]:
    """Every command and sub-command of the app, in the order --help lists them."""
    import typer

    from autodx.cli import app

    def walk(group, prefix):
        out = [prefix]
        for name in group.list_commands(None):
            sub = group.get_command(None, name)
            out += walk(sub, prefix + [name]) if hasattr(sub, "list_commands") else \
                [prefix + [name]]
        return out
    return walk(typer.main.get_command(app), [])


PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs",
                    "cli.md")


def render() -> str:
    from typer.testing import CliRunner

    from autodx.cli import app

    runner = CliRunner(env={"COLUMNS": "100", "TERMINAL_WIDTH": "100", "NO_COLOR": "1",
                            "FORCE_COLOR": None, "TERM": "dumb"})
    parts = ["# Command-line reference\n",
             "Generated from `--help` by `python3 tests/cli_docs.py`; the test suite checks",
             "that it is current.\n"]
    for args in commands():
        result = runner.invoke(app, [*args, "--help"])
        assert result.exit_code == 0, result.output
        title = " ".join(["autodx", *args])
        text = "\n".join(line.rstrip() for line in result.stdout.splitlines()).strip("\n")
        parts += [f"## {title}\n", "```", text, "```\n"]
    return "\n".join(parts)


if __name__ == "__main__":
    with open(PATH, "w", encoding="utf-8") as f:
        f.write(render())
    sys.stdout.write(f"wrote {PATH}\n")
