"""Writing a finished result: to ``--out`` atomically, or to stdout in one piece in the
chosen format; warnings to stderr; the progress bar of long batches."""
from __future__ import annotations

import os
import sys
from typing import Callable, Optional

from ..errors import OutputError
from .edge import silence_stdout, stderr
from .options import Format, Sink


def check_stdout(out: Optional[str]) -> None:
    """Before any work: the results must have somewhere to go."""
    if not out and sys.stdout is None:
        raise OutputError("standard output is closed, so the results have nowhere to go: "
                          "give --out FILE, or leave stdout open")


class Progress:
    """A rich progress bar on stderr, shown only on a terminal and only once the work
    has taken more than half a second."""

    def __init__(self):
        import time

        self.clock = time.perf_counter
        self.start = self.clock()
        self.bar = None
        self.task = None
        self.enabled = sys.stderr.isatty() and os.environ.get("CI", "") == ""

    def __call__(self, rows: int, total: Optional[int]) -> None:
        if not self.enabled:
            return
        if self.bar is None and self.clock() - self.start > 0.5:
            from rich.console import Console
            from rich.progress import Progress as Bar

            self.bar = Bar(console=Console(stderr=True), transient=True)
            self.bar.start()
            self.task = self.bar.add_task("rows", total=total)
        if self.bar is not None:
            self.bar.update(self.task, advance=rows)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()


def emit(result, sink: Sink) -> None:
    """Write a result with numbers: warnings first, then the results."""
    from .. import csvout, outfile, render

    fmt, out = sink.fmt, sink.out
    for w in render.warnings_of(result):
        stderr(f"warning: {w}")
    if out:
        outfile.write_out(out, lambda: render.document(result),
                          lambda: csvout.csv_text(result), result.arrays,
                          result.main_array())
        count = result.rows.count
        stderr(f"wrote {count} result{'s' if count != 1 else ''} to {out}")
        return
    _stdout(fmt, lambda: render.document(result), lambda: csvout.csv_text(result),
            lambda: render.plain(result, sink.digits),
            lambda width: render.table(result, width, sink.digits))


def streams(sink: Sink, symbolic: bool = False, check: bool = False) -> bool:
    """Whether the results go out as CSV chunk by chunk, as they are computed: CSV to
    stdout or to a .csv file, without --symbolic or --check (which need every row)."""
    csv = sink.out.lower().endswith(".csv") if sink.out else sink.fmt is Format.csv
    return csv and not symbolic and not check


def streamed(compute: Callable, sink: Sink):
    """Run ``compute(stream)`` with a CSV stream to ``--out`` (written to a temporary file,
    renamed into place once complete) or to stdout; then the warnings, and for a file
    the line that says so. Returns the result (without values).

    On stdout the rows appear as they are computed, so an error found in a later row of
    the data (a ragged line) ends the output there: the exit status (2) and the error
    line say so. A file is never left half-written."""
    from .. import csvout, outfile

    def run(write):
        stream = csvout.Stream(write)
        try:
            result = compute(stream)
        finally:
            try:
                stream.close()
            except BrokenPipeError:
                raise
            except OSError as e:
                if sink.out:
                    raise
                silence_stdout()
                raise OutputError(f"cannot write the results to standard output: "
                                  f"{e.strerror or e}") from None
        return result, stream

    if sink.out:
        box = []

        def write_file(tmp: str) -> None:
            with open(tmp, "w", encoding="utf-8", newline="") as f:
                box.append(run(f.write))
        outfile.write_atomic(sink.out, write_file)
        result, stream = box[0]
    else:
        check_stdout(None)
        result, stream = run(sys.stdout.write)
        sys.stdout.flush()
    for w in stream.warnings(result):
        stderr(f"warning: {w}")
    if sink.out:
        count = stream.rows
        stderr(f"wrote {count} result{'s' if count != 1 else ''} to {sink.out}")
    return result


def emit_formulas(result, sink: Sink) -> None:
    """Write the symbolic derivatives of a result without rows."""
    from .. import outfile, render

    fmt, out = sink.fmt, sink.out
    if out:
        outfile.write_out(out, lambda: render.document(result), None, None, "")
        stderr(f"wrote the symbolic derivatives to {out}")
        return
    _stdout(fmt, lambda: render.document(result), None,
            lambda: render.formula_lines(result), lambda width: render.formula_table(result))


def _stdout(fmt: Format, document, csv_text, plain, table) -> None:
    """The one place a format is chosen for stdout; each form is built only if used.
    A stdout that cannot take the results (a full disk, /dev/full) is one error line."""
    check_stdout(None)
    try:
        _write_stdout(fmt, document, csv_text, plain, table)
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as e:
        silence_stdout()
        raise OutputError(f"cannot write the results to standard output: "
                          f"{e.strerror or e}") from None


def _write_stdout(fmt: Format, document, csv_text, plain, table) -> None:
    if fmt is Format.json:
        from ..jsontext import text_of

        sys.stdout.write(text_of(document) + "\n")
    elif fmt is Format.csv:
        sys.stdout.writelines(csv_text())
    elif fmt is Format.plain:
        sys.stdout.write("".join(line + "\n" for line in plain()))
    else:
        print_table(table)


def table_width() -> int | None:
    """The columns a table may take: the terminal's; when stdout is not a terminal,
    COLUMNS if it is set, else None (the table's natural width)."""
    import shutil

    if sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else None


def print_table(table) -> None:
    """A table for a person: on a terminal, in its width and colours; elsewhere as
    plain text, each line without the spaces that pad it."""
    from rich.console import Console

    width = table_width()
    if sys.stdout.isatty():
        Console(highlight=False, markup=False, width=width).print(table(width))
        return
    import io

    console = Console(file=io.StringIO(), highlight=False, markup=False, color_system=None,
                      width=width or 100_000, legacy_windows=False)
    console.print(table(width))
    text = console.file.getvalue()
    sys.stdout.write("".join(line.rstrip() + "\n" for line in text.splitlines()))
