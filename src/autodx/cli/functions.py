"""``autodx functions``: the expression language's vocabulary, read from the registry
(no JAX, no sympy: it answers at once)."""
from __future__ import annotations

import enum
import json
from typing import Annotated

import typer

from ..registry import vocabulary
from .app import app

COLUMNS = ("name", "arguments", "domain", "aliases", "meaning")


class Format(str, enum.Enum):
    table = "table"
    json = "json"
    plain = "plain"


def markdown_table() -> str:
    """The vocabulary as the Markdown table of docs/expressions.md (a test keeps the
    two equal)."""
    def cell(text: str) -> str:
        return text.replace("|", "\\|") or " "
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in vocabulary():
        name = f"`{row['name']}`"
        aliases = ", ".join(f"`{a}`" for a in row["aliases"].split(", ") if a)
        lines.append("| " + " | ".join(cell(v) for v in (
            name, row["arguments"], row["domain"], aliases, row["meaning"])) + " |")
    return "\n".join(lines) + "\n"


@app.command("functions")
def cli_functions(
    format: Annotated[Format, typer.Option("--format", "-f", help="table, json or plain")
                      ] = Format.table,
) -> None:
    """The functions of the expression language: name, arguments, domain, aliases.

    Other spellings (sympy's Abs, numpy's arcsin, ln) are read as the function itself;
    operators (x > 0, a % b, c1 & c2) are calls of the entries that list them.

    Examples:

    \b
      autodx functions
      autodx functions --format json
    """
    rows = vocabulary()
    if format is Format.json:
        print(json.dumps(rows, indent=2))
    elif format is Format.plain:
        for row in rows:
            print("\t".join(row[c] for c in COLUMNS))
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(*COLUMNS, show_lines=False)
        for row in rows:
            table.add_row(*(row[c] for c in COLUMNS), )
        Console(markup=False).print(table)
