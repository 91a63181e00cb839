"""CSV ``--data`` files (and ``-``, CSV on stdin) -> chunks of rows.

CSV as people have it: a header naming variables (``x[0],x[1]`` for a vector; no header
when one variable is read), separated by tabs, commas, semicolons or whitespace, quoted
or not, with a byte-order mark, an unnamed leading index column and columns that are not
variables (ignored, with one warning). Read in blocks of bounded size and parsed a chunk
of lines at a time with numpy's C parser (comments off: a ``#`` is no number, never a
comment); a chunk that fails is read again line by line to say exactly which line and
column is wrong. Memory is bounded in bytes, not only in lines: a line longer than
:data:`MAX_LINE` characters is an error.
"""
from __future__ import annotations

import csv
import re
import sys
import warnings
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from .errors import DataError
from .sources import Chunk, DataWarning, Source, clip, quoted, reason

_HEADER = re.compile(r"([A-Za-z][A-Za-z0-9_]*)(?:\[(\d{1,9})\])?")  # int() takes 4,300
# A cell numpy's parser reads, and nothing more (Python's float() also takes 1_000 and
# non-ASCII digits): the line-by-line check must find whatever made numpy fail.
_CELL = re.compile(r"\s*[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?|inf(?:inity)?|nan)\s*",
                   re.IGNORECASE | re.ASCII)
MAX_LINE = 16 << 20    # characters in one CSV line
CHUNK_TEXT = 64 << 20  # characters of CSV text held for one chunk of rows
_BLOCK = 1 << 20       # characters read at a time


def _seekable(handle) -> bool:
    try:
        return handle.seekable()
    except (OSError, ValueError):
        return False


class _Lines:
    """The lines of a text stream, without their line ends, read a block at a time, so
    that neither one endless line (``/dev/zero``) nor a chunk of long lines holds more
    than about 2 * CHUNK_TEXT + MAX_LINE characters."""

    def __init__(self, handle, label: str):
        self.handle, self.label = handle, label
        self.lines: list[str] = []    # complete lines read and not yet taken
        self.partial: list[str] = []  # the start of a line that goes on in the next block
        self.partial_chars = 0
        self.taken = 0                # lines taken so far: the next is line taken + 1
        self.eof = False
        # a pipe is read as its bytes come (read1), so the rows already sent are
        # computed (and streamed out) while the writer goes on; read(n) would wait for n
        self.raw, self.decoder = None, None
        raw = getattr(handle, "buffer", None)
        if raw is not None and hasattr(raw, "read1") and not _seekable(handle):
            import codecs

            self.raw = raw
            self.decoder = codecs.getincrementaldecoder(handle.encoding or "utf-8")(
                handle.errors or "strict")

    def _read(self, n: int) -> str:
        """Up to n characters: what a pipe has (at least one, or "" at its end)."""
        if self.decoder is None:
            return self.handle.read(n)
        while True:
            data = self.raw.read1(n)
            text = self.decoder.decode(data, final=not data)
            if text or not data:
                return text

    def peek(self) -> str | None:
        """The next line, not taken; None at the end."""
        while not self.lines and not self.eof:
            self._fill()
        return self.lines[0] if self.lines else None

    def peek_data(self, i: int) -> str | None:
        """The i-th line after the first that is not blank, not taken (it must be in the
        first block or two: None if not, or at the end)."""
        while len(self.lines) < 2 and not self.eof:
            self._fill()
        rest = [line for line in self.lines[1:] if line.strip()]
        return rest[i - 1] if len(rest) >= i else None

    def take(self, n: int) -> list[str]:
        """Up to n lines; fewer where reading them would take more than CHUNK_TEXT."""
        read = 0
        while len(self.lines) < n and read < CHUNK_TEXT and not self.eof:
            read += self._fill()
        out = self.lines[:n]
        del self.lines[:n]
        self.taken += len(out)
        return out

    def _fill(self) -> int:
        """Read one block; return its length."""
        try:  # a block no longer than a line may be: a line inside one is short enough
            block = self._read(min(_BLOCK, MAX_LINE))
        except (OSError, UnicodeDecodeError) as e:
            raise DataError(f"{self.label}, after line {self.taken + len(self.lines)}: "
                            f"cannot be read ({reason(e)})") from None
        end = block.rfind("\n")
        if end < 0:
            self._grow(block)
            if not block:
                self.eof = True
                if self.partial_chars:
                    self.lines.append("".join(self.partial))
            return len(block)
        self._check_length(self.partial_chars + block.find("\n"))
        self.partial.append(block[:end])
        self.lines.extend("".join(self.partial).split("\n"))
        self.partial, self.partial_chars = [], 0
        self._grow(block[end + 1:])
        return len(block)

    def _grow(self, piece: str) -> None:
        self.partial.append(piece)
        self.partial_chars += len(piece)
        self._check_length(self.partial_chars)

    def _check_length(self, chars: int) -> None:
        if chars > MAX_LINE:
            raise DataError(f"{self.label}, line {self.taken + len(self.lines) + 1}: longer "
                            f"than {MAX_LINE:,} characters, the limit for one line of "
                            "CSV: is this the right file? (save very long rows as .npy)")


def csv_source(handle, label: str, needed: list[str], vectors: dict[str, str],
         given: list[str]) -> Source:
    try:
        return _csv_source(handle, label, needed, vectors, given)
    except BaseException:
        if handle is not sys.stdin:
            handle.close()
        raise


# A byte-order mark, as UTF-8 decodes it and as Latin-1 or cp1252 do (a stdin whose
# encoding is not UTF-8); a file is opened as utf-8-sig, which drops it before.
_BOMS = ("\ufeff", "\xef\xbb\xbf")
_DELIMITERS = ("\t", ",", ";")  # tried in this order; none of them: runs of whitespace
_QUOTED = re.compile(r'"[^"]*"')
_WS_FIELD = re.compile(r'"((?:[^"]|"")*)"|(\S+)')
_INDEX_NAMES = ("", "Unnamed: 0")  # a leading index column: R's row names, pandas'


@dataclass(frozen=True)
class Dialect:
    """How the fields of a line are separated: ``delimiter`` (tab, comma or semicolon),
    or None for runs of spaces and tabs. A field may be quoted with ``"``, as R and
    Excel write text (``""`` inside is one quote).

    Example:
        >>> Dialect.of('"","x","y"', None).split('"1",0.5,2')
        ['1', '0.5', '2']
    """

    delimiter: str | None

    @staticmethod
    def of(first: str, second: str | None) -> "Dialect":
        """The dialect the header (or first row) shows; a line of one field leaves it to
        the next line."""
        for line in (first, second or ""):
            outside = _QUOTED.sub("", line)
            for d in _DELIMITERS:
                if d in outside:
                    return Dialect(d)
            if len(outside.split()) > 1 or len(_WS_FIELD.findall(line)) > 1:
                return Dialect(None)
        return Dialect(",")

    def split(self, line: str) -> list[str]:
        """The fields of a line, unquoted, spaces around them removed."""
        d = self.delimiter
        if d is None:
            if '"' not in line:
                return line.split()
            return [q.replace('""', '"') if q or not b else b
                    for q, b in _WS_FIELD.findall(line)]
        if '"' not in line:
            return [f.strip() for f in line.split(d)]
        return [f.strip() for f in next(csv.reader([line], delimiter=d,
                                                   skipinitialspace=True))]

    def blank(self, line: str) -> bool:
        return not line.strip() if self.delimiter is None else not line

    def rows(self, lines: list[str]) -> int:
        """The lines that are not blank: the rows numpy should return."""
        if self.delimiter is None:
            return sum(1 for line in lines if line.strip())
        return len(lines) - lines.count("")

    def widths_ok(self, lines: list[str], width: int) -> bool:
        """Whether every line that is not blank has ``width`` fields (numpy checks this
        itself only when it reads every column)."""
        d = self.delimiter
        if d is None:
            odd = [s for s in lines if '"' in s or len(s.split()) != width]
        else:
            odd = [s for s in lines if '"' in s or s.count(d) != width - 1]
        return all(self.blank(s) or len(self.split(s)) == width for s in odd)

    @property
    def name(self) -> str:
        return {None: "whitespace", "\t": "tab", ",": "comma", ";": "semicolon"}[
            self.delimiter]


@dataclass
class _Columns:
    """What to read of each line: its width, the columns read (``usecols``, None for
    all) and each variable's positions among those read."""

    dialect: Dialect
    width: int
    usecols: list[int] | None
    order: dict[str, list[int]]
    ignored: list[tuple[int, str]] = field(default_factory=list)  # (column, header text)


def _csv_source(handle, label: str, needed: list[str], vectors: dict[str, str],
                given: list[str]) -> Source:
    reader = _Lines(handle, label)
    first = reader.peek()
    if first is None:
        raise DataError(f"{label}: the file is empty; it needs a header line and rows")
    for bom in _BOMS:
        if first.startswith(bom):
            reader.lines[0] = first = first[len(bom):]
    if not first.strip():
        raise DataError(f"{label}, line 1: the first line is blank; it should be the header "
                        "(or, in a file without one, the first row)")
    second = reader.peek_data(1)
    dialect = Dialect.of(first, second)
    fields = dialect.split(first)
    if all(is_number(f) for f in fields) and not _names(fields, needed):
        layout, cols = _headerless(label, fields, needed, vectors, dialect)
    else:
        if '"' in first and second is not None and len(dialect.split(second)) == len(
                fields) + 1:  # R's write.table: no header field over the quoted row names
            fields = [""] + fields
        layout, cols = _header(label, fields, needed, vectors, given, dialect)
        reader.take(1)
    # said once every row has been read: a run that fails says only what failed
    note = cols.ignored and _ignored_message(label, cols.ignored, needed)

    def chunks(size: int) -> Iterator[Chunk]:
        seen = False
        try:
            while True:
                line_no = reader.taken + 1
                lines = reader.take(size)
                if not lines:
                    break
                table = _parse_lines(label, lines, line_no, cols)
                if len(table) == 0:
                    continue
                seen = True
                yield {name: table[:, at] if layout[name] is not None else table[:, at[0]]
                       for name, at in cols.order.items()}
            if not seen:
                raise DataError(f"{label}: there are no rows after the header")
            if note:
                warnings.warn(DataWarning(note), stacklevel=2)
        finally:
            close()

    def close() -> None:
        if handle is not sys.stdin:
            handle.close()
    return Source(label, layout, None, chunks, close)


def is_number(text: str) -> bool:
    """Whether numpy's parser reads ``text`` (spaces around allowed) as a number."""
    return _CELL.fullmatch(text) is not None


def _names(fields: list[str], needed: list[str]) -> bool:
    """Whether every field names a variable: a header, even where the names read as
    numbers too (a variable called ``inf`` or ``nan``)."""
    return all((m := _HEADER.fullmatch(f)) is not None and m.group(1) in needed
               for f in fields)


def _headerless(label, fields, needed, vectors, dialect):
    if len(needed) != 1:
        raise DataError(f"{label}, line 1: the first line is all numbers, so it has no "
                        f"header; that works for one variable, but {len(needed)} are "
                        f"needed ({', '.join(needed) or 'none'}): add a header line")
    name = needed[0]
    n = len(fields)
    vector = n > 1 or name in vectors
    return {name: n if vector else None}, _Columns(dialect, n, None, {name: list(range(n))})


def _header(label, fields, needed, vectors, given, dialect):
    seen: dict[str, dict[int | None, int]] = {}
    ignored: list[tuple[int, str]] = []  # (column, header text)
    for col, text in enumerate(fields, start=1):
        m = _HEADER.fullmatch(text)
        if m is None or m.group(1) not in needed and m.group(1) not in given:
            ignored.append((col, text))
            continue
        name, index = m.group(1), (int(m.group(2)) if m.group(2) is not None else None)
        if name in given:
            raise DataError(f"{label}, line 1, column {col}: {name} is given by --at too; "
                            "give it in one place")
        slots = seen.setdefault(name, {})
        if index in slots or (index is None and slots) or (None in slots):
            raise DataError(f"{label}, line 1, column {col}: column {quoted(text)} repeats or "
                            f"mixes a scalar and a vector {name}")
        slots[index] = col - 1
    missing = [n for n in needed if n not in seen]
    if missing:
        raise DataError(f"{label}: no column for {missing[0]}, and --at does not give it"
                        + _named(ignored, needed, "; the header's other columns: "))
    layout, order = _layouts(label, seen, vectors)
    used = sorted(i for slots in seen.values() for i in slots.values())
    if len(used) == len(fields):
        return layout, _Columns(dialect, len(fields), None, order)
    position = {c: i for i, c in enumerate(used)}
    return layout, _Columns(dialect, len(fields), used,
                            {k: [position[c] for c in v] for k, v in order.items()}, ignored)


def _layouts(label, seen, vectors):
    layout, order = {}, {}
    for name, slots in seen.items():
        if None in slots:
            if name in vectors:
                raise DataError(f"{label}, line 1: {name} is a vector ({vectors[name]}); "
                                f"give its entries as columns {name}[0], {name}[1], ...")
            layout[name], order[name] = None, [slots[None]]
            continue
        n = len(slots)
        if sorted(slots) != list(range(n)):
            gap = min(set(range(n)) - set(slots))
            raise DataError(f"{label}, line 1: vector {name} has no column {name}[{gap}]")
        layout[name], order[name] = n, [slots[i] for i in range(n)]
    return layout, order


def _index(col: int, text: str) -> bool:
    return col == 1 and text in _INDEX_NAMES


def _named(ignored: list[tuple[int, str]], needed: list[str], lead: str) -> str:
    """The ignored columns for a message, each cut short, a few at most."""
    shown = [f"column {c} (no name)" if not t else quoted(t, 24) for c, t in ignored[:5]]
    if len(ignored) > 5:
        shown.append(f"and {len(ignored) - 5:,} more")
    return lead + ", ".join(shown) if shown else ""


def _ignored_message(label, ignored, needed) -> str:
    index = ignored[:1] if _index(*ignored[0]) else []
    rest = ignored[len(index):]
    parts = ["the unnamed index column (column 1)"] if index else []
    if rest:
        wanted = ", ".join(needed[:8]) + (", ..." if len(needed) > 8 else "")
        many = len(rest) > 1
        parts.append(_named(rest, needed, "the columns " if many else "the column ")
                     + (": not variables" if many else ": not a variable")
                     + f" of the expression (it needs: {wanted})")
    return f"{label}: ignored " + " and ".join(parts)


def _parse_lines(label: str, lines: list[str], first_line: int, cols: _Columns) -> np.ndarray:
    """The lines as a table of numbers. ``comments=None``: numpy's default drops the rest
    of a line from a ``#`` on, which would drop or alter rows without a word."""
    try:
        with warnings.catch_warnings():  # "input contained no data": blank lines only
            warnings.simplefilter("ignore", UserWarning)
            table = np.loadtxt(lines, delimiter=cols.dialect.delimiter, usecols=cols.usecols,
                               quotechar='"', comments=None, ndmin=2, dtype=np.float64)
    except ValueError:
        table = None
    read = cols.width if cols.usecols is None else len(cols.usecols)
    if (table is None or (table.size and table.shape[1] != read)
            or len(table) != cols.dialect.rows(lines)  # a quote that joined lines
            or (cols.usecols is not None and not cols.dialect.widths_ok(lines, cols.width))):
        _locate(label, lines, first_line, cols)
        raise DataError(f"{label}: rows {first_line}-{first_line + len(lines) - 1} "
                        "cannot be read as numbers")
    return table


def _locate(label: str, lines: list[str], first_line: int, cols: _Columns) -> None:
    """Raise a DataError for the first bad line: ragged, or a cell that is no number.
    Blank lines are skipped, as numpy's parser skips them; nothing else is."""
    dialect, width = cols.dialect, cols.width
    used = range(width) if cols.usecols is None else cols.usecols
    for offset, line in enumerate(lines):
        line = line.rstrip("\r")
        if dialect.blank(line):
            continue
        where = f"{label}, line {first_line + offset}"
        if line.count('"') % 2:
            raise DataError(f"{where}: a quote (\") is not closed on its line")
        cells = dialect.split(line)
        if len(cells) != width:
            raise DataError(f"{where}: {len(cells)} fields where the header has {width}"
                            + (f" ({dialect.name} separated)" if dialect.delimiter != ","
                               else ""))
        for col in used:
            cell = cells[col]
            if not cell.strip():
                raise DataError(f"{where}, column {col + 1}: the field is empty; give a "
                                "number (nan where a value is missing)")
            if not is_number(cell):
                raise DataError(f"{where}, column {col + 1}: {quoted(cell.strip())} is not "
                                "a number")


