import pytest

from feedback import pii
from feedback.pii import CARD, EMAIL, PHONE, RRN, redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail me at john.doe+shop@example.co.kr please", f"mail me at {EMAIL} please"),
        ("메일은abc_1@naver.com입니다", f"메일은{EMAIL}입니다"),
        ("<a@b.io>", f"<{EMAIL}>"),
    ],
)
def test_it_redacts_email_addresses(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "my card 4111 1111 1111 1111 was declined",
        "my card 4111-1111-1111-1111 was declined",
        "my card 5555555555554444 was declined",
        "my card 3782 822463 10005 was declined",  # Amex grouping, 15 digits
        "my card 6011111111111117 was declined",
    ],
)
def test_it_redacts_card_numbers_that_pass_the_luhn_check(text):
    assert redact(text) == f"my card {CARD} was declined"


@pytest.mark.parametrize(
    "text",
    [
        "주민번호 900101-1234567 확인해 주세요",  # hyphenated: date and 7th digit suffice
        "주민번호 850715 2345671 확인해 주세요",
        "주민번호 9001011234568 확인해 주세요",  # no hyphen: the checksum must hold
        "주민번호 201231-3123456 확인해 주세요",  # born 2020+: no checksum any more
    ],
)
def test_it_redacts_korean_resident_registration_numbers(text):
    assert redact(text) == f"주민번호 {RRN} 확인해 주세요"


@pytest.mark.parametrize(
    "phone",
    [
        "010-1234-5678",
        "010 1234 5678",
        "01012345678",
        "011-123-4567",
        "02-123-4567",
        "031-1234-5678",
        "(031) 123-4567",
        "070.1234.5678",
        "+82 10-1234-5678",
        "+821012345678",
        "+1 (555) 123-4567",
        "+44 20 7946 0958",
        "(555) 123-4567",
        "555-123-4567",
    ],
)
def test_it_redacts_phone_numbers_in_international_and_korean_formats(phone):
    assert redact(f"call me on {phone} tonight") == f"call me on {PHONE} tonight"


@pytest.mark.parametrize(
    "text",
    [
        "order 4111111111111112 is missing",  # 16 digits failing Luhn
        "order number 1234567890123456",
        "order ORD-20240115-0042 arrived broken",
        "order 2401151234567 (13 digits, a date, failing the resident-number checksum)",
        "ORD-2401151234567",
        "invoice 1234567890",
        "charged ₩1,234,567 twice",
        "on 2024-01-15 at 10:30",
        "on 2024.01.15",
        "app v1.2.3 on 192.168.0.1",
        "tracking 1Z999AA10123456784",
        "refund of 12345 won",
        "+82 only",
        "order #12-3456-7890",
        "user@localhost is not an address",
        "call 1588-1234 (a company's number)",
    ],
)
def test_it_leaves_near_misses_alone(text):
    assert redact(text) == text


def test_it_redacts_several_kinds_in_one_text_and_is_idempotent():
    text = "I'm kim@example.com, 010-9876-5432, card 4111111111111111, RRN 900101-1234567."

    once = redact(text)

    assert once == f"I'm {EMAIL}, {PHONE}, card {CARD}, RRN {RRN}."
    assert redact(once) == once


def test_the_check_digit_functions_agree_with_known_numbers():
    assert pii.luhn_valid("4111111111111111") and not pii.luhn_valid("4111111111111112")
    assert pii.rrn_checksum_valid("9001011234568")
    assert not pii.rrn_checksum_valid("9001011234567")


def test_it_copes_with_empty_and_hostile_input():
    # Its speed on such input is a benchmark's business; here, what it returns.
    assert redact("") == ""
    long_digits = "1" * 100_000
    assert redact(long_digits) == long_digits
    dashes = "+" + "1-" * 10_000  # single digits between dashes are no phone number
    assert redact(dashes) == dashes
    assert redact(dashes + " call +1-415-555-0100") == dashes + f" call {PHONE}"
