"""Redaction of personal data in customer text: pure functions, no Django.

Applied by `ingest.feedback_ingest` before anything is stored when the project enables it,
so the API, the customer page and the CSV import all get it. What is recognised:

- e-mail addresses;
- Korean resident registration numbers (주민등록번호, YYMMDD-NNNNNNN): a real date and a
  valid 7th digit; written without the hyphen they must also pass the checksum, because
  13-digit order numbers often start with a date too;
- card numbers: 13 to 19 digits, optionally grouped by spaces or hyphens, that pass the Luhn
  check (a 16-digit order number almost never does);
- phone numbers: international (+CC ...), Korean mobile (010-1234-5678, 01012345678) and
  landline (02-123-4567, 031-123-4567, 070-...), and North American ((555) 123-4567).

The patterns prefer missing an unusual format over destroying ordinary text (order numbers,
dates, amounts, versions): tests list the near-misses that must survive. The order matters:
a resident number is also 13 digits, so it is recognised before card numbers.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

EMAIL = "[EMAIL]"
PHONE = "[PHONE]"
CARD = "[CARD]"
RRN = "[KR-RRN]"

_EMAIL_RE = re.compile(
    # ASCII only on both sides: Korean particles are written straight after an address
    # ("abc@naver.com입니다"), and \w would swallow them or defeat the boundary.
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,63}(?![A-Za-z0-9-])"
)
_RRN_RE = re.compile(
    r"(?<![\d-])(\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]))([- ]?)([1-8]\d{6})(?![\d-])"
)
_CARD_RE = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
_PHONE_RES = [
    # International: + country code, then groups; the digit count is checked below.
    re.compile(r"(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,5}(?!\d)"),
    # Korean mobile, with or without separators: 010-1234-5678, 010 1234 5678, 01012345678.
    re.compile(r"(?<![\d-])01[016789][ .-]?\d{3,4}[ .-]?\d{4}(?![\d-])"),
    # Korean landline, separators required (a bare 10-digit number is too often something
    # else): 02-123-4567, (031) 123-4567, 070.1234.5678.
    re.compile(r"(?<![\d-])\(?0(?:2|[3-6][1-5]|70)\)?[ .-]\d{3,4}[ .-]\d{4}(?![\d-])"),
    # North American: (555) 123-4567, 555-123-4567, 555.123.4567.
    re.compile(r"(?<![\d-])(?:\(\d{3}\) ?|\d{3}[.-])\d{3}[.-]\d{4}(?![\d-])"),
]
_NON_DIGIT = re.compile(r"\D")


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum of a string of digits (card numbers)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def rrn_checksum_valid(digits: str) -> bool:
    """The check digit of a 13-digit resident registration number (issued before Oct 2020)."""
    weights = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
    total = sum(int(d) * w for d, w in zip(digits[:12], weights, strict=True))
    return (11 - total % 11) % 10 == int(digits[12])


def _card(match: re.Match) -> str | None:
    digits = _NON_DIGIT.sub("", match.group(0))
    return CARD if 13 <= len(digits) <= 19 and luhn_valid(digits) else None


def _rrn(match: re.Match) -> str | None:
    birth, separator, rest = match.groups()
    if separator or rrn_checksum_valid(birth + rest):
        return RRN
    return None


def _phone(match: re.Match) -> str | None:
    digits = len(_NON_DIGIT.sub("", match.group(0)))
    return PHONE if 8 <= digits <= 15 else None


@dataclass(frozen=True)
class _Rule:
    pattern: re.Pattern
    # The replacement for a match, or None to leave it (a check such as Luhn failed).
    replace: Callable[[re.Match], str | None]


def _always(token: str) -> Callable[[re.Match], str]:
    return lambda match: token


RULES: tuple[_Rule, ...] = (
    _Rule(_EMAIL_RE, _always(EMAIL)),
    _Rule(_RRN_RE, _rrn),
    _Rule(_CARD_RE, _card),
    *(_Rule(pattern, _phone) for pattern in _PHONE_RES),
)


def _apply(rule: _Rule, text: str) -> str:
    def substitute(match: re.Match) -> str:
        return rule.replace(match) or match.group(0)

    return rule.pattern.sub(substitute, text)


def redact(text: str) -> str:
    """`text` with e-mail addresses, phone numbers, card numbers and Korean resident
    registration numbers replaced by placeholders such as [EMAIL]. Idempotent."""
    if not text:
        return text
    for rule in RULES:
        text = _apply(rule, text)
    return text
