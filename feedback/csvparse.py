"""Streaming parser for CSV exports of ticket tools: pure code, no ORM.

`records(stream, mapping, options)` reads a binary stream once, line by line, and yields one
`Record` per data row: either a feedback item in the ingest API's shape, or the problems that
reject it (line, column, message). Nothing is ever held beyond one physical line (at most
MAX_LINE_CHARS characters) and one record (at most csv.field_size_limit() characters per
field), so a file of any size parses in constant memory. Every input, however broken (wrong
encoding, NUL bytes, ragged rows, unterminated quotes, huge fields, no header at all), gives
records and problems, never an exception.

Line numbers are physical lines of the file, 1-based, the header being line 1; a record
spanning several lines (a quoted value with line breaks) is reported at its first line.
"""

import codecs
import csv
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils.translation import gettext, gettext_noop

ENCODINGS = {"utf-8": "utf-8-sig", "cp949": "cp949"}  # cp949: Korean Excel's "ANSI" export
DELIMITERS = {",": ",", ";": ";", "\t": "\t", "|": "|"}
MAX_LINE_CHARS = 1_000_000
MAX_TEXT = 5_000
MAX_ID = 200
FIELDS = ("text", "created_at", "request_id", "customer_ref", "external_id")
REQUIRED_FIELDS = ("text", "created_at")

# Messages (constants: tests and the report rely on them). Kept in English in the report and
# the job's sample, which a worker writes; marked for translation (gettext_noop) and translated
# where they are shown (`message_translated`).
NO_HEADER = gettext_noop("The file has no header row.")
MISSING_COLUMN = gettext_noop("No column named '{column}' in the header.")
UNREADABLE = gettext_noop("This line cannot be read as CSV ({detail}).")
_LINE_TOO_LONG = gettext_noop("The line is longer than {limit} characters.")
LINE_TOO_LONG = _LINE_TOO_LONG.format(limit=f"{MAX_LINE_CHARS:,}")
BAD_ENCODING = gettext_noop("Not valid {encoding} text.")
NUL_CHARACTER = gettext_noop("Contains a NUL character.")
TOO_FEW_FIELDS = gettext_noop("Missing: the row has {got} fields, the header {want}.")
TOO_MANY_FIELDS = gettext_noop(
    "The row has {got} fields, the header {want}: probably a comma or quote inside an "
    "unquoted value."
)
EMPTY_TEXT = gettext_noop("Empty: a complaint needs text.")
_VALUE_TOO_LONG = gettext_noop("Longer than {limit} characters.")
TEXT_TOO_LONG = _VALUE_TOO_LONG.format(limit=f"{MAX_TEXT:,}")
ID_TOO_LONG = _VALUE_TOO_LONG.format(limit=MAX_ID)
EMPTY_DATE = gettext_noop("Empty: the date and time of the ticket is required.")
BAD_DATE = gettext_noop(
    "Not a date and time we can read: use e.g. 2025-01-31 14:05, 2025-01-31T14:05:00+09:00 "
    "or 2025. 1. 31. 오후 2:05."
)
DATE_OUT_OF_RANGE = gettext_noop("The date is before 1971 or in the future.")
# The messages with values, as patterns that give the values back from a stored message.
_TEMPLATES = (MISSING_COLUMN, UNREADABLE, _LINE_TOO_LONG, BAD_ENCODING, TOO_FEW_FIELDS,
              TOO_MANY_FIELDS, _VALUE_TOO_LONG)  # fmt: skip


def _pattern(template: str) -> re.Pattern:
    """A template's regular expression: each {name} becomes the group `name`."""
    escaped = re.escape(template)  # "{column}" becomes "\\{column\\}"
    return re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>.*?)", escaped) + "$")


_PATTERNS = [(template, _pattern(template)) for template in _TEMPLATES]


def message_translated(message: str) -> str:
    """A problem's message (stored in English) in the active language; as stored when the
    catalogue does not know it."""
    translated = gettext(message)
    if translated != message:
        return translated
    for template, pattern in _PATTERNS:
        found = pattern.match(message)
        if found:
            return gettext(template).format(**found.groupdict())
    return message


_SURROGATE = re.compile("[\udc80-\udcff]")
_SEPARATED_DATE = re.compile(r"^(\d{4})[./](\d{1,2})[./](\d{1,2})\.?(?:[ T]+(.*))?$")
_KOREAN_DATE = re.compile(
    r"^(\d{4})\.\s*(\d{1,2})\.\s*(\d{1,2})\.?\s*(오전|오후)?\s*(\d{1,2}):(\d{2})(?::(\d{2}))?$"
)
_EPOCH = re.compile(r"^\d{9,10}(\d{3})?$")


@dataclass(frozen=True)
class Mapping:
    """Which CSV column holds each item field ("" for not mapped)."""

    text: str
    created_at: str
    request_id: str = ""
    customer_ref: str = ""
    external_id: str = ""

    def columns(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in FIELDS if getattr(self, name)}


@dataclass(frozen=True)
class Options:
    encoding: str = "utf-8"
    delimiter: str = ","
    timezone: str = "UTC"  # for timestamps written without an offset


@dataclass(frozen=True)
class Problem:
    line: int
    column: str
    message: str


@dataclass
class Record:
    """One data row: `ordinal` counts data rows from 1 (the resume point of a job)."""

    ordinal: int
    line: int
    item: dict | None = None
    problems: list[Problem] = field(default_factory=list)


class _Lines:
    """Physical lines of a text stream, each at most MAX_LINE_CHARS long: a longer line is
    skipped to its end, replaced by an empty line and remembered in `too_long`."""

    def __init__(self, text: io.TextIOBase, max_chars: int = MAX_LINE_CHARS):
        self.text = text
        self.max_chars = max_chars
        self.number = 0
        self.too_long: set[int] = set()

    def __iter__(self):
        return self

    def __next__(self) -> str:
        try:
            chunk = self.text.readline(self.max_chars)
        except UnicodeError:  # a codec that fails despite surrogateescape (not expected)
            chunk = ""
        if not chunk:
            raise StopIteration
        self.number += 1
        if len(chunk) >= self.max_chars and not chunk.endswith(("\n", "\r")):
            self.too_long.add(self.number)
            while True:
                rest = self.text.readline(self.max_chars)
                if not rest or rest.endswith(("\n", "\r")):
                    break
            return "\n"
        return chunk


def text_stream(stream, options: Options) -> io.TextIOWrapper:
    """Decode without ever failing: undecodable bytes become lone surrogates, which the
    parser reports per column."""
    return io.TextIOWrapper(
        stream, encoding=ENCODINGS[options.encoding], errors="surrogateescape", newline=""
    )


def _reader(lines: _Lines, options: Options):
    return csv.reader(lines, delimiter=DELIMITERS[options.delimiter], strict=True)


def _raw_records(lines: _Lines, options: Options) -> Iterator[tuple[int, list[str] | None, str]]:
    """(first line, fields or None, problem) for every record, surviving csv errors."""
    reader = _reader(lines, options)
    consumed = 0
    while True:
        start = consumed + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if lines.number == consumed:  # no progress: give up rather than loop
                yield start, None, UNREADABLE.format(detail=str(exc)[:100])
                return
            consumed = lines.number
            yield start, None, UNREADABLE.format(detail=str(exc)[:100])
            continue
        end, consumed = reader.line_num, lines.number
        if any(number in lines.too_long for number in range(start, end + 1)):
            yield start, None, LINE_TOO_LONG
            continue
        yield start, fields, ""


def read_header(stream, options: Options) -> list[str]:
    """The column names of the file's first non-empty row ([] when there is none). Reads only
    as far as that row."""
    lines = _Lines(text_stream(stream, options))
    for _, fields, _ in _raw_records(lines, options):
        if fields and any(value.strip() for value in fields):
            return [_clean_name(value) for value in fields]
    return []


def _clean_name(value: str) -> str:
    return _SURROGATE.sub("\ufffd", value.replace("\x00", "")).strip()


def _timezone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def parse_timestamp(value: str, zone: tzinfo) -> datetime | None:
    """An aware datetime from the formats ticket tools export, or None. Naive times are in
    `zone`."""
    value = value.strip()
    if _EPOCH.match(value):
        seconds = int(value) / (1000 if len(value) > 10 else 1)
        return datetime.fromtimestamp(seconds, tz=UTC)
    korean = _KOREAN_DATE.match(value)
    if korean:
        year, month, day, half, hour, minute, second = korean.groups()
        hour = int(hour)
        if half == "오후" and hour < 12:
            hour += 12
        elif half == "오전" and hour == 12:
            hour = 0
        try:
            return datetime(
                int(year), int(month), int(day), hour, int(minute), int(second or 0), tzinfo=zone
            )
        except ValueError:
            return None
    separated = _SEPARATED_DATE.match(value)
    if separated:
        year, month, day, rest = separated.groups()
        value = f"{year}-{int(month):02d}-{int(day):02d}" + (f" {rest}" if rest else "")
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed


def content_key(*, text: str, created_at: datetime, request_id: str, customer_ref: str) -> str:
    """The idempotency key of a row without an external id: its content, so re-uploading the
    same rows (in any order, in any later export) stores nothing twice."""
    material = "\x1f".join(
        [text, created_at.astimezone(UTC).isoformat(), request_id, customer_ref]
    ).encode("utf-8", "surrogatepass")
    return "csv-" + hashlib.sha256(material).hexdigest()[:40]


def _check(value: str, column: str, line: int, encoding: str, problems: list) -> str | None:
    if _SURROGATE.search(value):
        problems.append(Problem(line, column, BAD_ENCODING.format(encoding=encoding.upper())))
        return None
    if "\x00" in value:
        problems.append(Problem(line, column, NUL_CHARACTER))
        return None
    return value


def records(
    stream, mapping: Mapping, options: Options, *, now: datetime | None = None
) -> Iterator[Record]:
    """Every data row of the file as a Record (see the module docstring). A file without a
    header, or without a mapped column, yields one Record of line 1 with the problem."""
    lines = _Lines(text_stream(stream, options))
    raw = _raw_records(lines, options)
    zone = _timezone(options.timezone)
    latest = (now or datetime.now(UTC)) + timedelta(days=1)
    earliest = datetime(1971, 1, 1, tzinfo=UTC)

    header: list[str] | None = None
    for _start, fields, _problem in raw:
        if fields is None:
            continue
        if any(value.strip() for value in fields):
            header = [_clean_name(value) for value in fields]
            break
    if header is None:
        yield Record(0, 1, problems=[Problem(1, "", NO_HEADER)])
        return
    positions: dict[str, int] = {}
    columns = mapping.columns()
    for name, column in columns.items():
        if column not in header:
            yield Record(0, 1, problems=[Problem(1, column, MISSING_COLUMN.format(column=column))])
            return
        positions[name] = header.index(column)
    width = len(header)

    ordinal = 0
    for start, fields, problem in raw:
        if fields is not None and not any(value.strip() for value in fields):
            continue  # blank lines, and Excel's trailing ",,,," rows
        ordinal += 1
        record = Record(ordinal, start)
        if fields is None:
            record.problems.append(Problem(start, "", problem))
            yield record
            continue
        if len(fields) > width and any(value.strip() for value in fields[width:]):
            record.problems.append(
                Problem(start, "", TOO_MANY_FIELDS.format(got=len(fields), want=width))
            )
            yield record
            continue
        values: dict[str, str] = {}
        for name, position in positions.items():
            column = columns[name]
            if position >= len(fields):
                # A short row leaves optional columns empty; a required one is a problem.
                if name in REQUIRED_FIELDS:
                    record.problems.append(
                        Problem(start, column, TOO_FEW_FIELDS.format(got=len(fields), want=width))
                    )
                continue
            value = _check(
                fields[position].strip(), column, start, options.encoding, record.problems
            )
            if value is not None:
                values[name] = value
        item = _item(values, mapping, start, zone, earliest, latest, record.problems)
        if not record.problems:
            record.item = item
        yield record


def _item(values, mapping, line, zone, earliest, latest, problems) -> dict | None:
    text = values.get("text")
    if text is not None:
        if not text:
            problems.append(Problem(line, mapping.text, EMPTY_TEXT))
        elif len(text) > MAX_TEXT:
            problems.append(Problem(line, mapping.text, TEXT_TOO_LONG))
    created_at = None
    stamp = values.get("created_at")
    if stamp is not None:
        if not stamp:
            problems.append(Problem(line, mapping.created_at, EMPTY_DATE))
        else:
            created_at = parse_timestamp(stamp, zone)
            if created_at is None:
                problems.append(Problem(line, mapping.created_at, BAD_DATE))
            elif not earliest <= created_at <= latest:
                problems.append(Problem(line, mapping.created_at, DATE_OUT_OF_RANGE))
                created_at = None
    for name in ("request_id", "customer_ref", "external_id"):
        if len(values.get(name) or "") > MAX_ID:
            problems.append(Problem(line, getattr(mapping, name), ID_TOO_LONG))
    if problems or text is None or created_at is None:
        return None
    item = {
        "kind": "complaint",
        "text": text,
        "created_at": created_at.isoformat(),
        "source": "import",
    }
    for name in ("request_id", "customer_ref"):
        if values.get(name):
            item[name] = values[name]
    item["external_id"] = values.get("external_id") or content_key(
        text=text,
        created_at=created_at,
        request_id=values.get("request_id", ""),
        customer_ref=values.get("customer_ref", ""),
    )
    return item


def valid_encoding(name: str) -> bool:
    try:
        return name in ENCODINGS and bool(codecs.lookup(ENCODINGS[name]))
    except LookupError:
        return False
