"""Reference datasets: the team's current training set, read once from the file they upload
(CSV, JSON Lines or Parquet) into the sorted 64-bit keys of its inputs, so that an export can
tell which of its rows the team already trains on. Pure: a file in, keys and problems out.

Inputs match by near-duplicate key (triage/exports/split.py: case, spacing, punctuation and
numbers do not count), the same notion that keeps near-duplicates on one side of a split.
A row without a usable text is skipped and reported by its number; the other rows count.
"""

import csv
import hashlib
import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import orjson

from .split import near_duplicate_key

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
# Problems listed by row; beyond this many only counted.
MAX_PROBLEMS = 20
BATCH = 65_536

BAD_FORMAT = "Must be a .csv, .jsonl, .ndjson or .parquet file."
NO_COLUMN = "The file has no column {column!r}; its columns: {columns}."
NOT_TEXT = "Column {column!r} holds {kind}, not text."
NOT_UTF8 = "Not UTF-8 text (line {line})."
NOT_CSV = "Not a readable CSV file (line {line}): {error}."
NOT_PARQUET = "Not a readable Parquet file."
NO_ROWS = "No row of the file has a text in column {column!r}."


class ReferenceInvalid(Exception):
    """The file cannot be used at all; `errors` maps the field at fault to messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors


@dataclass
class ReferenceKeys:
    keys: np.ndarray  # sorted unique uint64
    rows: int = 0  # data rows read
    skipped: int = 0  # rows without a usable text
    problems: list[str] = field(default_factory=list)  # the first MAX_PROBLEMS, by row


def reference_key(text: str) -> int:
    """The 64-bit key of an input: a hash of its near-duplicate key."""
    return _hashed(near_duplicate_key(text))


def _hashed(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")


def file_format(name: str) -> str:
    for suffix, kind in FORMATS.items():
        if name.lower().endswith(suffix):
            return kind
    raise ReferenceInvalid({"file": [BAD_FORMAT]})


class _Position:
    """How far a reader is through its file, 0..1 (Parquet: rows of the row count; the
    others: bytes of the file's size)."""

    def __init__(self, raw):
        self.raw, self.rows_total = raw, 0
        try:
            self.size = os.fstat(raw.fileno()).st_size
        except (AttributeError, OSError, io.UnsupportedOperation):
            self.size = 0

    def fraction(self, rows: int) -> float:
        if self.rows_total:
            return min(1.0, rows / self.rows_total)
        try:
            return min(1.0, self.raw.tell() / self.size) if self.size else 0.0
        except (OSError, ValueError):
            return 0.0


Progress = Callable[[ReferenceKeys, float], None]


def read_keys(raw, *, kind: str, column: str, progress: Progress | None = None) -> ReferenceKeys:
    """Every usable text of `column` in the file (a binary file object) as keys. Streams:
    memory is one batch of texts plus 8 bytes per distinct input. `progress(so_far,
    fraction_read)` is called after every BATCH rows (the keys are not set yet then)."""
    result = ReferenceKeys(np.empty(0, dtype=np.uint64))
    readers = {"csv": _csv_texts, "jsonl": _jsonl_texts, "parquet": _parquet_texts}
    position = _Position(raw)
    parts, batch = [], []
    for where, text in readers[kind](raw, column, position):
        result.rows += 1
        if progress is not None and not result.rows % BATCH:
            progress(result, position.fraction(result.rows))
        key = near_duplicate_key(text) if isinstance(text, str) else ""
        if key:
            batch.append(_hashed(key))
            if len(batch) >= BATCH:
                parts.append(np.unique(np.array(batch, dtype=np.uint64)))
                batch = []
            continue
        result.skipped += 1
        if len(result.problems) < MAX_PROBLEMS:
            result.problems.append(f"{where}: {_why(text, column)}")
    parts.append(np.array(batch, dtype=np.uint64))
    result.keys = np.unique(np.concatenate(parts))
    if not len(result.keys):
        raise ReferenceInvalid({"text_column": [NO_ROWS.format(column=column)]})
    return result


def contains(keys: np.ndarray, key: int) -> bool:
    i = int(np.searchsorted(keys, np.uint64(key)))
    return i < len(keys) and int(keys[i]) == key


class _Missing:
    """The row has no such field (told apart from an empty or null one)."""


class _NotObject:
    """A JSON Lines line that is not a JSON object."""


def _why(value, column: str) -> str:
    if value is _NotObject:
        return "not a JSON object"
    if value is _Missing:
        return f"no {column!r} field"
    if value is None or value == "":
        return f"{column!r} is empty"
    if isinstance(value, str):
        return f"{column!r} has no words"
    return f"{column!r} is {type(value).__name__}, not text"


def _columns(names) -> str:
    names = [str(name) for name in names][:30]
    return ", ".join(repr(name) for name in names) or "none"


def _decoded_lines(raw, failed_at: list[int]) -> Iterator[str]:
    """The file's lines as text, decoded one by one so that a bad byte is reported on its
    own line (a decoder reading ahead in blocks cannot tell which)."""
    for number, line in enumerate(raw, start=1):
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            failed_at.append(number)
            raise
        yield text.removeprefix("\ufeff") if number == 1 else text


def _csv_texts(raw, column: str, position: _Position) -> Iterator[tuple[str, object]]:
    failed_at: list[int] = []
    reader = csv.reader(_decoded_lines(raw, failed_at))
    try:
        try:
            header = next(reader)
        except StopIteration:
            raise ReferenceInvalid({"file": ["The file is empty."]}) from None
        if column not in header:
            raise ReferenceInvalid(
                {"text_column": [NO_COLUMN.format(column=column, columns=_columns(header))]}
            )
        index = header.index(column)
        for row in reader:
            if not row:
                continue  # a blank line, as pandas and spreadsheets skip it
            # Numbered as an editor shows them (the header is line 1; a quoted text may
            # span lines: its last one).
            yield f"line {reader.line_num}", row[index] if index < len(row) else _Missing
    except UnicodeDecodeError:
        raise ReferenceInvalid({"file": [NOT_UTF8.format(line=failed_at[0])]}) from None
    except csv.Error as error:
        raise ReferenceInvalid(
            {"file": [NOT_CSV.format(line=reader.line_num, error=error)]}
        ) from None


def _jsonl_texts(raw, column: str, position: _Position) -> Iterator[tuple[str, object]]:
    for number, line in enumerate(raw, start=1):
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            record = None
        if not isinstance(record, dict):
            yield f"line {number}", _NotObject
            continue
        yield f"line {number}", record.get(column, _Missing)


def _parquet_texts(raw, column: str, position: _Position) -> Iterator[tuple[str, object]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(raw)
    except (pa.ArrowException, OSError):
        raise ReferenceInvalid({"file": [NOT_PARQUET]}) from None
    schema = parquet.schema_arrow
    if column not in schema.names:
        raise ReferenceInvalid(
            {"text_column": [NO_COLUMN.format(column=column, columns=_columns(schema.names))]}
        )
    kind = schema.field(column).type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        raise ReferenceInvalid({"text_column": [NOT_TEXT.format(column=column, kind=kind)]})
    position.rows_total = parquet.metadata.num_rows
    number = 0
    try:
        for batch in parquet.iter_batches(columns=[column], batch_size=BATCH):
            for value in batch.column(0).to_pylist():
                number += 1
                yield f"row {number}", value
    except (pa.ArrowException, OSError):
        raise ReferenceInvalid({"file": [NOT_PARQUET]}) from None
