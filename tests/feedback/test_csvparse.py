"""The streaming CSV parser of imports: pure code, arbitrary bytes in, records out."""

import io
import tracemalloc
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedback import csvparse
from feedback.csvparse import Mapping, Options, Problem, parse_timestamp, records

MAPPING = Mapping(text="Body", created_at="Created", external_id="Ticket", customer_ref="Who")
HEADER = "Ticket,Created,Body,Who\n"
NOW = datetime(2025, 6, 1, tzinfo=UTC)


DEFAULTS = Options()


def parse(data: bytes | str, mapping=MAPPING, options=DEFAULTS):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return list(records(io.BytesIO(data), mapping, options, now=NOW))


def problems(data, **kwargs) -> list[Problem]:
    return [p for record in parse(data, **kwargs) for p in record.problems]


def test_it_reads_a_typical_export_with_quotes_line_breaks_and_a_bom():
    data = (
        "\ufeff" + HEADER + '1,2025-01-02 10:00,"Card declined, ""again""\nat the shop",c-1\n'
        "2,2025-01-03T09:30:00+09:00,App crashes,\n"
    )

    first, second = parse(data)

    assert (first.ordinal, first.line, second.ordinal, second.line) == (1, 2, 2, 4)
    assert first.item == {
        "kind": "complaint",
        "text": 'Card declined, "again"\nat the shop',
        "created_at": "2025-01-02T10:00:00+00:00",
        "source": "import",
        "customer_ref": "c-1",
        "external_id": "1",
    }
    assert second.item["created_at"] == "2025-01-03T09:30:00+09:00"
    assert "customer_ref" not in second.item


def test_rows_without_a_ticket_id_get_a_key_from_their_content():
    mapping = Mapping(text="Body", created_at="Created")
    rows = "x,2025-01-02 10:00,same words,a\ny,2025-01-02 10:00,other words,a\n"
    again = "z,2025-01-02T19:00:00+09:00,same words,b\n"

    keys = [r.item["external_id"] for r in parse(HEADER + rows, mapping=mapping)]
    key_again = parse(HEADER + again, mapping=mapping)[0].item["external_id"]

    assert keys[0] != keys[1] and keys[0].startswith("csv-")
    assert key_again == keys[0], "same text at the same instant: the same row"


def test_blank_lines_and_trailing_empty_rows_are_skipped():
    data = HEADER + "\n1,2025-01-02 10:00,a,\n,,,\n\n2,2025-01-02 10:00,b,\n"

    result = parse(data)

    assert [(r.ordinal, r.line) for r in result] == [(1, 3), (2, 6)]


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (b"1,2025-01-02 10:00,caf\xe9,\n", Problem(2, "Body", "Not valid UTF-8 text.")),
        (b"1,2025-01-02 10:00,a\x00b,\n", Problem(2, "Body", csvparse.NUL_CHARACTER)),
        (b"1,2025-01-02 10:00,,\n", Problem(2, "Body", csvparse.EMPTY_TEXT)),
        (b"1,2025-01-02 10:00," + b"x" * 5001 + b",\n", Problem(2, "Body", csvparse.TEXT_TOO_LONG)),
        (b"1,,text,\n", Problem(2, "Created", csvparse.EMPTY_DATE)),
        (b"1,yesterday,text,\n", Problem(2, "Created", csvparse.BAD_DATE)),
        (b"1,1969-12-31 10:00,text,\n", Problem(2, "Created", csvparse.DATE_OUT_OF_RANGE)),
        (b"1,2030-01-01 10:00,text,\n", Problem(2, "Created", csvparse.DATE_OUT_OF_RANGE)),
        (b"1,2025-01-02 10:00\n", Problem(2, "Body", "Missing: the row has 2 fields, the header 4.")),
        (b"1,2025-01-02 10:00,a,b,c,d\n", Problem(2, "", csvparse.TOO_MANY_FIELDS.format(got=6, want=4))),
        (b"x" * 201 + b",2025-01-02 10:00,a,\n", Problem(2, "Ticket", csvparse.ID_TOO_LONG)),
    ],
)  # fmt: skip
def test_each_bad_row_is_reported_with_line_and_column_and_the_rest_is_kept(row, expected):
    data = HEADER.encode() + row + b"9,2025-01-02 10:00,fine,\n"

    result = parse(data)

    assert result[0].item is None and expected in result[0].problems
    assert result[-1].item["text"] == "fine"


def test_a_short_row_leaves_optional_columns_empty():
    result = parse(HEADER + "1,2025-01-02 10:00,text\n")

    assert result[0].item["text"] == "text" and "customer_ref" not in result[0].item


def test_malformed_quotes_and_huge_fields_cost_only_their_rows():
    huge = '2,2025-01-02 10:00,"' + "y" * (csvparse.csv.field_size_limit() + 10) + '",\n'
    data = (
        HEADER + huge + '3,2025-01-02 10:00,"quoted"then more,\n'
        "4,2025-01-02 10:00,fine,\n"
        '5,2025-01-02 10:00,"never closed,\n'
    )

    result = parse(data)

    assert [r.item["text"] if r.item else r.problems[0].message[:34] for r in result] == [
        "This line cannot be read as CSV (f",
        "This line cannot be read as CSV ('",
        "fine",
        "This line cannot be read as CSV (u",
    ]


def test_a_line_longer_than_the_limit_is_skipped_and_reported():
    data = HEADER + "1,2025-01-02 10:00," + "z" * (csvparse.MAX_LINE_CHARS + 5) + "\n"
    data += "2,2025-01-02 10:00,after,\n"

    result = parse(data)

    assert result[0].problems == [Problem(2, "", csvparse.LINE_TOO_LONG)]
    assert result[1].item["text"] == "after" and result[1].line == 3


def test_a_file_without_header_or_mapped_column_says_so():
    assert problems(b"") == [Problem(1, "", csvparse.NO_HEADER)]
    assert problems(b"\n\n,,\n") == [Problem(1, "", csvparse.NO_HEADER)]
    assert problems("id,Body\n1,x\n") == [
        Problem(1, "Created", csvparse.MISSING_COLUMN.format(column="Created"))
    ]


def test_it_reads_korean_excel_exports_in_cp949_and_semicolons():
    data = "번호;작성일;내용\n7;2025. 3. 4. 오후 2:05;카드가 안 돼요\n".encode("cp949")
    mapping = Mapping(text="내용", created_at="작성일", external_id="번호")
    options = Options(encoding="cp949", delimiter=";", timezone="Asia/Seoul")

    (record,) = parse(data, mapping=mapping, options=options)

    assert record.item["text"] == "카드가 안 돼요"
    assert record.item["created_at"] == "2025-03-04T14:05:00+09:00"
    assert csvparse.read_header(io.BytesIO(data), options) == ["번호", "작성일", "내용"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-01-31 14:05", datetime(2025, 1, 31, 14, 5, tzinfo=ZoneInfo("Asia/Seoul"))),
        ("2025-01-31T14:05:00Z", datetime(2025, 1, 31, 14, 5, tzinfo=UTC)),
        ("2025-01-31T14:05:00.123+01:00",
         datetime(2025, 1, 31, 14, 5, 0, 123000, tzinfo=timezone(timedelta(hours=1)))),
        ("2025/1/31 14:05:06", datetime(2025, 1, 31, 14, 5, 6, tzinfo=ZoneInfo("Asia/Seoul"))),
        ("2025.01.31", datetime(2025, 1, 31, tzinfo=ZoneInfo("Asia/Seoul"))),
        ("2025. 1. 31. 오전 12:30", datetime(2025, 1, 31, 0, 30, tzinfo=ZoneInfo("Asia/Seoul"))),
        ("2025. 1. 31. 오후 12:30", datetime(2025, 1, 31, 12, 30, tzinfo=ZoneInfo("Asia/Seoul"))),
        ("1738332300", datetime(2025, 1, 31, 14, 5, tzinfo=UTC)),
        ("1738332300000", datetime(2025, 1, 31, 14, 5, tzinfo=UTC)),
        ("31/01/2025 14:05", None),
        ("2025-02-30", None),
        ("2025. 2. 30. 오후 1:00", None),
        ("", None),
    ],
)  # fmt: skip
def test_it_understands_the_timestamps_ticket_tools_write(value, expected):
    assert parse_timestamp(value, ZoneInfo("Asia/Seoul")) == expected


# --- arbitrary input -------------------------------------------------------------------------

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TOKENS = st.sampled_from(
    ['"', '""', ",", "\n", "\r\n", "\r", "\x00", "\ufeff", "é", "한글", " ", ";", "\t",
     "2025-01-02 10:00", "=SUM(A1)", "x" * 50, "\udcff"]
)  # fmt: skip


def check_invariants(result: list) -> None:
    ordinals = [record.ordinal for record in result if record.ordinal]
    assert ordinals == list(range(1, len(ordinals) + 1))
    lines = [record.line for record in result]
    assert all(line >= 1 for line in lines) and lines == sorted(lines)
    for record in result:
        assert (record.item is None) == bool(record.problems)
        if record.item is not None:
            text = record.item["text"]
            assert 0 < len(text) <= csvparse.MAX_TEXT
            assert "\x00" not in text and not csvparse._SURROGATE.search(text)
            datetime.fromisoformat(record.item["created_at"])


@FUZZ
@given(st.binary(max_size=2000))
def test_any_bytes_after_a_header_give_records_or_problems(data):
    check_invariants(parse(HEADER.encode() + data))


@FUZZ
@given(st.binary(max_size=2000))
def test_any_bytes_at_all_give_records_or_problems(data):
    check_invariants(parse(data))


@FUZZ
@given(st.lists(TOKENS, max_size=200), st.sampled_from(["utf-8", "cp949"]))
def test_csv_like_garbage_gives_records_or_problems(tokens, encoding):
    codec = csvparse.ENCODINGS[encoding]
    raw = b"".join(token.encode(codec, "surrogateescape") for token in tokens if can(token, codec))
    check_invariants(parse(HEADER.encode() + raw, options=Options(encoding=encoding)))


def can(token: str, codec: str) -> bool:
    try:
        token.encode(codec, "surrogateescape")
    except UnicodeEncodeError:
        return False
    return True


# --- bounded memory --------------------------------------------------------------------------


class GeneratedExport(io.RawIOBase):
    """A CSV export of `rows` rows, generated as it is read: no file, no big buffer."""

    def __init__(self, rows: int):
        self.rows, self.next_row, self.pending = rows, 0, bytearray(HEADER.encode())

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while len(self.pending) < len(buffer) and self.next_row < self.rows:
            block = range(self.next_row, min(self.rows, self.next_row + 500))
            self.pending += "".join(
                f'{i},2025-01-{1 + i % 28:02d} 10:{i % 60:02d},"complaint {i}, it broke",c{i}\n'
                for i in block
            ).encode()
            self.next_row = block.stop
        size = min(len(buffer), len(self.pending))
        buffer[:size] = self.pending[:size]
        del self.pending[:size]
        return size


def peak_memory_parsing(rows: int) -> tuple[int, int]:
    stream = io.BufferedReader(GeneratedExport(rows))
    tracemalloc.start()
    try:
        count = sum(1 for record in records(stream, MAPPING, Options(), now=NOW) if record.item)
        return count, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_parsing_streams_in_memory_that_does_not_grow_with_the_file():
    """A 1,000,000-row file must never be loaded whole: the parser's peak memory on a file
    ten times longer is the same (measured on 2,000 and 20,000 rows to stay fast; the
    benchmark runs the full million through the database)."""
    small_rows, small_peak = peak_memory_parsing(2_000)
    large_rows, large_peak = peak_memory_parsing(20_000)

    assert (small_rows, large_rows) == (2_000, 20_000)
    assert large_peak < small_peak * 1.5 + 64 * 1024
    assert large_peak < 2 * 1024 * 1024
