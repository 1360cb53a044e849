"""Recipient lists, streamed: an iterable of numbers, or a CSV file (a path or an open file,
text or bytes) read row by row - a list of any length is never held whole.

A CSV either names its phone column in a header (phone, phone_number, number, recipient,
to, msisdn, mobile, whatsapp - any case) or has the number in its first column with no
header. A malformed file (not UTF-8, a NUL byte, an unterminated quote, no phone column) is
refused with its line number.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from conveyor_commerce.errors import InvalidCampaign

PHONE_COLUMNS = ("phone", "phone_number", "number", "recipient", "to", "msisdn", "mobile",
                 "whatsapp")
MAX_FIELD = 200
"""Characters kept of an invalid value (for its reason), and the longest field a CSV may hold."""

Source = Iterable[str] | str | os.PathLike[str] | IO[str] | IO[bytes]


def rows(source: Source) -> Iterator[tuple[int, str]]:
    """(line or position, raw value) of every recipient in `source`."""
    if isinstance(source, str | os.PathLike):
        return _csv_path(Path(source))
    if hasattr(source, "read"):
        return _csv_stream(source)  # type: ignore[arg-type]
    if isinstance(source, bytes):
        raise InvalidCampaign("recipients: give numbers, a CSV path or an open CSV file, not "
                              "bytes")
    return _iterable(source)


def _iterable(values: Iterable[Any]) -> Iterator[tuple[int, str]]:
    for position, value in enumerate(values, 1):
        yield position, value if isinstance(value, str) else repr(value)[:MAX_FIELD]


def _csv_path(path: Path) -> Iterator[tuple[int, str]]:
    if not path.is_file():
        raise InvalidCampaign(f"recipients: no CSV file at {str(path)!r}")

    def read() -> Iterator[tuple[int, str]]:
        with path.open("rb") as handle:
            yield from _csv_stream(handle)

    return read()


def _csv_stream(handle: IO[str] | IO[bytes]) -> Iterator[tuple[int, str]]:
    text: Iterable[str] = handle if isinstance(handle, io.TextIOBase) \
        else _decoded(handle)  # type: ignore[arg-type]
    return _csv_rows(text)


def _decoded(handle: IO[bytes]) -> Iterator[str]:
    """UTF-8 lines (a BOM is dropped), with the line number of undecodable bytes."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    for number, line in enumerate(handle, 1):
        try:
            yield decoder.decode(line)
        except UnicodeDecodeError:
            raise InvalidCampaign(f"recipients CSV line {number}: not UTF-8 text (save the "
                                  "file as CSV UTF-8)") from None


def _csv_rows(text: Iterable[str]) -> Iterator[tuple[int, str]]:
    reader = csv.reader(_no_nul(text), strict=True)
    try:
        first = next(reader, None)
        if first is None:
            return
        column = _phone_column(first, reader.line_num)
        if column is None:  # no header: the first row is a recipient
            column = 0
            if first and any(cell.strip() for cell in first):
                yield reader.line_num, first[0]
        for row in reader:
            if not row or not any(cell.strip() for cell in row):
                continue
            if len(row) <= column:
                yield reader.line_num, ""
                continue
            yield reader.line_num, row[column]
    except csv.Error as exc:
        raise InvalidCampaign(f"recipients CSV line {reader.line_num}: {exc}") from None


def _no_nul(text: Iterable[str]) -> Iterator[str]:
    for number, line in enumerate(text, 1):
        if "\x00" in line:
            raise InvalidCampaign(f"recipients CSV line {number}: a NUL byte (is this a "
                                  "spreadsheet rather than a CSV file?)")
        if len(line) > 64 * MAX_FIELD:
            raise InvalidCampaign(f"recipients CSV line {number}: longer than "
                                  f"{64 * MAX_FIELD} characters")
        yield line


def _phone_column(header: list[str], line: int) -> int | None:
    names = [cell.strip().lower().replace(" ", "_") for cell in header]
    for index, name in enumerate(names):
        if name in PHONE_COLUMNS:
            return index
    if len(header) > 1 and not any(ch.isdigit() for ch in header[0]):
        raise InvalidCampaign(f"recipients CSV line {line}: no phone column; name it in the "
                              f"header as one of {', '.join(PHONE_COLUMNS)}, or put the "
                              "numbers in the first column without a header")
    return None


def batched(values: Iterator[tuple[int, str]], size: int) -> Iterator[list[tuple[int, str]]]:
    while True:
        batch = list(itertools.islice(values, size))
        if not batch:
            return
        yield batch
