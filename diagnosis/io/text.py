"""Reading text tables (CSV and the like): encodings, line ends, separators, quotes.

Every row of the file is either read or named by an event that the import
report shows (unbalanced quotes, mixed encodings, cells spread over several
lines); nothing is dropped silently.
"""

from __future__ import annotations

import csv
import logging
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from diagnosis.core.numbers import fr_number
from diagnosis.errors import PerimeterFileError
from diagnosis.io.columns import header_score
from diagnosis.io.formats import EXPECTED_FORMATS_FR
from diagnosis.io.limits import (
    MAX_CELL_CHARS,
    MAX_ROWS,
    MAX_UPLOAD_MB,
    MIB,
    check_cells,
)

logger = logging.getLogger(__name__)


@dataclass
class RawTable:
    """A table read from a file: header, cells and spreadsheet row numbers."""

    frame: pd.DataFrame  # object cells, columns named by the header
    row_numbers: np.ndarray  # 1-based row number in the file of each data row
    header_row: int  # 1-based
    info: dict[str, Any] = field(default_factory=dict)


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode bytes of a text file; returns (text, encoding name).

    Byte-order marks (UTF-8, UTF-16, UTF-32) win; UTF-16 without a mark is
    recognised by its zero bytes; then strict UTF-8, then Windows-1252, then
    Latin-1 (which decodes anything).
    """
    text, encoding, _ = _decode(data)
    return text, encoding


_UTF16_REFUSAL = (
    "Le fichier annonce un encodage UTF-16 mais son contenu est tronqué ou abîmé : "
    "attendu un texte UTF-8, UTF-16 ou Windows-1252 complet (réenregistrez-le en « CSV UTF-8 »)."
)


def _utf16_without_bom(data: bytes) -> str | None:
    sample = data[:4096]
    if len(sample) < 4 or len(sample) % 2:
        return None
    even, odd = sample[0::2], sample[1::2]
    zeros_even, zeros_odd = even.count(0) / len(even), odd.count(0) / len(odd)
    if zeros_odd > 0.3 and zeros_even < 0.05:
        return "utf-16-le"
    if zeros_even > 0.3 and zeros_odd < 0.05:
        return "utf-16-be"
    return None


def _decode(data: bytes) -> tuple[str, str, list[int]]:
    """(text, encoding label, 1-based lines decoded as Windows-1252 in a UTF-8 file)."""
    boms = (
        (b"\xef\xbb\xbf", "utf-8", "UTF-8 avec BOM"),
        (b"\xff\xfe\x00\x00", "utf-32-le", "UTF-32"),
        (b"\x00\x00\xfe\xff", "utf-32-be", "UTF-32"),
        (b"\xff\xfe", "utf-16-le", "UTF-16"),
        (b"\xfe\xff", "utf-16-be", "UTF-16"),
    )
    for bom, codec, label in boms:
        if data.startswith(bom):
            body = data[len(bom) :]
            if codec == "utf-8":
                try:
                    return body.decode("utf-8"), label, []
                except UnicodeDecodeError:
                    text, lines = _decode_mixed(body)
                    return text, label, lines
            try:
                return body.decode(codec), label, []
            except UnicodeDecodeError as exc:
                raise PerimeterFileError(_UTF16_REFUSAL, detail=str(exc)) from exc
    codec16 = _utf16_without_bom(data)
    if codec16 is not None:
        try:
            return data.decode(codec16), "UTF-16 (sans BOM)", []
        except UnicodeDecodeError:
            pass  # not UTF-16 after all: binary, refused by the caller
    try:
        return data.decode("utf-8"), "UTF-8", []
    except UnicodeDecodeError:
        pass
    text, lines = _decode_mixed(data)
    if lines and not text.isascii() and _has_utf8_lines(data):
        return text, "UTF-8 et Windows-1252 mélangés", lines
    try:
        return data.decode("cp1252"), "Windows-1252 (Latin-1)", []
    except UnicodeDecodeError:
        return data.decode("latin-1"), "Latin-1 (ISO-8859-1)", []


def _has_utf8_lines(data: bytes) -> bool:
    for line in data.splitlines():
        if not line.isascii():
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                continue
            return True
    return False


def _decode_mixed(data: bytes) -> tuple[str, list[int]]:
    """Decode line by line: UTF-8 when valid, else Windows-1252 (listed)."""
    out, legacy = [], []
    for number, line in enumerate(_normalise_line_ends_bytes(data).split(b"\n"), start=1):
        try:
            out.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            out.append(line.decode("cp1252", errors="replace"))
            legacy.append(number)
    return "\n".join(out), legacy


def _normalise_line_ends_bytes(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


def normalise_line_ends(text: str) -> str:
    """CRLF, bare CR (classic Mac) and LF all become LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


_SEPARATORS = (";", ",", "\t", "|")
_SEPARATOR_NAMES = {
    ";": "point-virgule",
    ",": "virgule",
    "\t": "tabulation",
    "|": "barre verticale",
}


#: Scores a row as a header (higher is better, 0 or less: not a header).
HeaderScore = Callable[[Sequence[Any]], int]


def detect_separator(
    text: str, *, wanted: Sequence[str] = (), score: HeaderScore | None = None
) -> str:
    """The field separator under which the first lines read best.

    Each candidate reads the first 60 lines as the reader would (quoted cells,
    even over several lines, and unbalanced quotes included). The best has,
    in this order: the best recognised header row (the columns a perimeter
    file has, or the ``wanted`` ones, or as ``score`` rates them), the most
    records of the most common width, the first line split, the widest
    records. Records left in one cell (notes, junk) say nothing.
    """
    sample = "\n".join(normalise_line_ends(text[:200_000]).split("\n")[:60])
    rate = score or (lambda row: header_score(row, wanted))
    best, best_score = ";", (0, 0, 0, 0)
    for sep in _SEPARATORS:
        rows, _, _ = _split_records(sample, sep)
        counts = Counter(len(r) for r in rows if len(r) >= 2)
        if not counts:
            continue
        modal, freq = counts.most_common(1)[0]
        header = max((rate(r) for r in rows[:30]), default=0)
        first = next((r for r in rows if any(c is not None for c in r)), [])
        rank = (header, freq, int(len(first) >= 2), modal)
        if rank > best_score:
            best, best_score = sep, rank
    return best


def rows_to_table(  # noqa: D103 - documented where it is used (read_table)
    rows: list[list[Any]],
    *,
    info: dict[str, Any],
    wanted: Sequence[str] = (),
    line_numbers: Sequence[int] | None = None,
    score: HeaderScore | None = None,
) -> RawTable:
    if not any(any(v is not None and str(v).strip() for v in r) for r in rows):
        raise PerimeterFileError("Le fichier est vide : " + EXPECTED_FORMATS_FR + ".")
    scan = rows[:30]
    rate = score or (lambda row: header_score(row, wanted))
    scores = [rate(r) for r in scan]
    best = int(np.argmax(scores))
    if scores[best] <= 0:
        raise PerimeterFileError(
            "Aucune ligne d'en-tête reconnue dans les 30 premières lignes. Colonnes attendues, "
            "par exemple : « code INSEE » (ou codgeo, insee, code_commune, depcom) et "
            "« nom CPTS » (ou cpts, périmètre, nom), éventuellement « statut » et « date ». "
            "Vous pouvez aussi indiquer vous-même les colonnes à utiliser."
        )
    width = max(len(r) for r in rows)
    check_cells(len(rows) - best - 1, width)
    header = [str(v).strip() if v is not None else "" for v in rows[best]]
    header += [""] * (width - len(header))
    seen: Counter[str] = Counter()
    names = []
    for i, h in enumerate(header):
        name = h or f"colonne {i + 1}"
        seen[name] += 1
        names.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    body = [list(r) + [None] * (width - len(r)) for r in rows[best + 1 :]]
    frame = (
        pd.DataFrame(body, columns=names, dtype=object)
        if body
        else pd.DataFrame(columns=names, dtype=object)
    )
    if line_numbers is None:
        row_numbers = np.arange(best + 2, best + 2 + len(body))
        header_row = best + 1
    else:
        row_numbers = np.asarray(line_numbers[best + 1 :], dtype=np.int64)
        header_row = int(line_numbers[best])
    return RawTable(frame=frame, row_numbers=row_numbers, header_row=header_row, info=info)


#: A quoted cell may span this many lines at most; beyond, its opening quote is unbalanced.
MAX_QUOTED_LINES = 20

# The csv module's own limit (131,072 characters) would raise on a long list cell:
# cells are measured against MAX_CELL_CHARS below instead, with their row.
csv.field_size_limit(max(csv.field_size_limit(), MAX_UPLOAD_MB * MIB + 1))


def _ends_in_quotes(line: str, *, inside: bool, sep: str) -> bool:
    """Whether a line ends inside a quoted cell, starting inside one or not."""
    if '"' not in line:
        return inside
    at_cell_start = not inside
    i, n = 0, len(line)
    while i < n:
        ch = line[i]
        if inside:
            if ch == '"':
                if i + 1 < n and line[i + 1] == '"':
                    i += 1  # escaped quote
                else:
                    inside = False
        elif ch == '"' and at_cell_start:
            inside = True
        at_cell_start = ch == sep
        i += 1
    return inside


def _complete_line(sep: str) -> re.Pattern[str]:
    """A line of well-formed cells (quoted, or unquoted not opening with a quote)."""
    s = re.escape(sep)
    cell = f'(?:"(?:[^"]|"")*"|[^"{s}][^{s}]*|)'
    return re.compile(f"{cell}(?:{s}{cell})*")


def _strip_quotes(cell: str) -> str:
    return cell.strip().strip('"').replace('""', '"')


def _split_records(text: str, sep: str) -> tuple[list[list[Any]], list[int], list[dict[str, Any]]]:
    """Rows of cells (None for empty cells), their first line, and reading events.

    A quoted cell may hold line breaks; a quote still open after
    :data:`MAX_QUOTED_LINES` lines or at the end of the file, or a multi-line
    cell holding the separator (it swallowed whole rows), is unbalanced: that
    line is read alone, its quotes ignored, an event names it, and the next
    lines are read normally.
    """
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    records, starts, literal, events = _group_lines(lines, sep)
    return _parse_records(records, starts, literal, sep), starts, events


def _group_lines(
    lines: list[str], sep: str
) -> tuple[list[str], list[int], dict[int, str], list[dict[str, Any]]]:
    """Lines grouped into records: (records, first line of each, unbalanced ones, events).

    ``literal`` maps the index of a record with an unbalanced quote to its line,
    to be read with quotes ignored.
    """
    records: list[str] = []
    starts: list[int] = []
    literal: dict[int, str] = {}
    events: list[dict[str, Any]] = []
    complete = _complete_line(sep)
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        if (
            '"' not in line
            or complete.fullmatch(line)
            or not _ends_in_quotes(line, inside=False, sep=sep)
        ):
            records.append(line)
            starts.append(i + 1)
            i += 1
            continue
        end = _quoted_record_end(lines, i, sep)
        starts.append(i + 1)
        if end is None:
            literal[len(records)] = line
            records.append(line)
            events.append(_unbalanced_quote_event(i + 1))
            i += 1
        else:
            records.append("\n".join(lines[i : end + 1]))
            events.append(_multiline_cell_event(i + 1, end + 1))
            i = end + 1
    return records, starts, literal, events


def _quoted_record_end(lines: list[str], first: int, sep: str) -> int | None:
    """The last line of a record whose quoted cell opens on ``first``; None when unbalanced.

    The quote must close within :data:`MAX_QUOTED_LINES` lines, and the cell
    must not hold the separator: a real multi-line cell is a note or an
    address; one holding the separator swallowed whole rows after an
    unbalanced quote.
    """
    last = first
    while last + 1 < len(lines) and last - first < MAX_QUOTED_LINES:
        last += 1
        if not _ends_in_quotes(lines[last], inside=True, sep=sep):
            record = "\n".join(lines[first : last + 1])
            cells = next(csv.reader([record], delimiter=sep), [])
            return None if any("\n" in cell and sep in cell for cell in cells) else last
    return None


def _multiline_cell_event(first: int, last: int) -> dict[str, Any]:
    return {
        "kind": "multiline_cell",
        "row": first,
        "message": (
            f"Ligne {first} : une cellule entre guillemets s'étend sur les lignes "
            f"{first} à {last} du fichier (retour à la ligne dans la cellule) ; "
            "elles forment une seule ligne du tableau."
        ),
    }


def _unbalanced_quote_event(line: int) -> dict[str, Any]:
    return {
        "kind": "unbalanced_quote",
        "row": line,
        "message": (
            f"Guillemet ouvert en ligne {line} et jamais refermé : la ligne a été lue "
            "seule, guillemets ignorés, et les lignes suivantes normalement. "
            "Vérifiez le nom ou le code de cette ligne."
        ),
    }


def _parse_records(
    records: list[str], starts: list[int], literal: dict[int, str], sep: str
) -> list[list[Any]]:
    """Cells of each record (None for empty cells); a cell over the limit is refused."""
    # One record per element; unbalanced lines are parsed apart (an empty line stands in).
    bulk = [("" if k in literal else r) for k, r in enumerate(records)] if literal else records
    parsed_rows = list(csv.reader(bulk, delimiter=sep))
    for index, line in literal.items():
        parsed_rows[index] = [_strip_quotes(c) for c in line.split(sep)]
    rows: list[list[Any]] = []
    for number, (record, cells) in enumerate(zip(records, parsed_rows, strict=True)):
        if len(record) > MAX_CELL_CHARS:
            longest = max((len(c) for c in cells), default=0)
            if longest > MAX_CELL_CHARS:
                raise PerimeterFileError(
                    f"Cellule trop longue en ligne {starts[number]} : {fr_number(longest)} "
                    f"caractères, la limite est de {fr_number(MAX_CELL_CHARS)}. Attendu : un "
                    "code ou une liste de codes de communes par cellule ; vérifiez les "
                    "guillemets de cette ligne."
                )
        rows.append([c.strip() or None for c in cells])
    return rows


def _looks_binary(text: str) -> bool:
    if "\x00" in text:
        return True
    sample = text[:100_000]
    if not sample:
        return False
    odd = sum(
        1
        for ch in sample
        if (ord(ch) < 32 and ch not in "\t\n\r\x0c") or 0x7F <= ord(ch) < 0xA0 or ch == "\ufffd"
    )
    return odd / len(sample) > 0.01


def read_csv_table(
    data: bytes, *, wanted: Sequence[str] = (), score: HeaderScore | None = None
) -> RawTable:
    """Read a delimited text file (encoding, line ends, separator and header detected)."""
    text, encoding, legacy_lines = _decode(data)
    if _looks_binary(text):
        raise PerimeterFileError(
            "Le fichier n'est pas un texte lisible (données binaires) : attendu "
            + EXPECTED_FORMATS_FR
            + "."
        )
    text = normalise_line_ends(text)
    head = text[:2000].lstrip().lower()
    if head.startswith(("<!doctype html", "<html", "<?xml", "<head", "<body")):
        raise PerimeterFileError(
            "Le fichier est une page web ou un document XML, pas un tableau CSV : attendu "
            + EXPECTED_FORMATS_FR
            + ". Si vous l'avez téléchargé, vérifiez que le lien menait bien au fichier."
        )
    n_lines = text.count("\n")
    if n_lines > MAX_ROWS + 1000:
        check_cells(n_lines, 1)
    sep = detect_separator(text, wanted=wanted, score=score)
    rows, starts, events = _split_records(text, sep)
    if legacy_lines:
        events.append(
            {
                "kind": "mixed_encoding",
                "row": None,
                "message": (
                    "Encodages mélangés : la plupart des lignes sont en UTF-8 mais "
                    f"{len(legacy_lines)} ligne(s) en Windows-1252 (lignes "
                    + _short_numbers(legacy_lines)
                    + ") ; elles ont été décodées une à une. Vérifiez les accents de ces "
                    "lignes et réenregistrez le fichier en « CSV UTF-8 »."
                ),
                "rows": legacy_lines,
            }
        )
    return rows_to_table(
        rows,
        info={
            "format": "csv",
            "encoding": encoding,
            "separator": _SEPARATOR_NAMES[sep],
            "read_events": events,
        },
        wanted=wanted,
        line_numbers=starts,
        score=score,
    )


def _short_numbers(values: Sequence[int], limit: int = 12) -> str:
    text = ", ".join(str(v) for v in values[:limit])
    return text + (f"… ({len(values)} au total)" if len(values) > limit else "")
