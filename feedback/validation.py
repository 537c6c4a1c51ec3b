"""Fast validation of ingest items (plain dicts from JSON), one item at a time.

DRF serializers cost tens of microseconds per field; ingest validates a few million fields a
minute, so these are plain functions. Each returns `(row, errors)`: a cleaned dict ready for
the database, or field -> [messages] naming what is wrong. Messages are constants so tests
and clients can rely on them; they are marked for translation (gettext_noop) and translated into
the reader's language where an error is recorded (gettext): error lists are stored and serialised.
"""

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson
from django.utils.translation import gettext
from django.utils.translation import gettext_noop as _

REQUIRED = _("This field is required.")
NOT_A_STRING = _("Must be a string.")
NOT_AN_OBJECT = _("Must be a JSON object.")
NOT_A_NUMBER = _("Must be a number.")
EMPTY = _("Must not be empty.")
NUL_BYTE = _("Must not contain NUL characters.")
TOO_LONG = _("At most {limit} characters.")
TOO_BIG = _("At most {limit} bytes once serialised.")
TOO_DEEP = _("Nested deeper than {limit} levels.")
NOT_IN_LABEL_SET = _("'{value}' is not in the project's label set.")
CONFIDENCE_RANGE = _("Must be between 0 and 1.")
NEGATIVE = _("Must be zero or more.")
BAD_TIMESTAMP = _("Must be an RFC 3339 timestamp with a timezone, e.g. 2025-01-31T12:00:00Z.")
TIMESTAMP_RANGE = _(
    "Out of range: must be from 1971-01-01 to one day ahead of the server's clock (UTC); "
    "is the sender's clock right?"
)
INPUT_MISSING = _("One of input_text or input_data is required.")
ITEM_NOT_OBJECT = _("Each item must be a JSON object.")
BAD_KIND = _("Must be one of: complaint, correction, rating.")
BAD_RATING = _("Must be -1 or 1.")
REQUEST_ID_REQUIRED_FOR = _("Required for a {kind}.")
UNKNOWN_PREDICTION = _("No prediction with this request_id in this project.")
SAME_AS_PREDICTED = _("Equals the predicted label; send a rating of 1 to confirm an answer.")

TOO_MANY_SCORES = _("At most {limit} labels.")
BAD_SCORE_LABEL = _("Invalid label {label}.")
SCORE_NOT_A_NUMBER = _("Score of {label} must be a number.")

MAX_JSON_DEPTH = 8
MAX_INPUT_DATA_BYTES = 64 * 1024
MAX_METADATA_BYTES = 16 * 1024
MAX_SCORES = 1000
# A timestamp outside these bounds comes from a broken clock: it would sit in the rollups and
# escape retention. The same bounds as CSV imports (csvparse.records).
EARLIEST_TIMESTAMP = datetime(1971, 1, 1, tzinfo=UTC)
CLOCK_SKEW = timedelta(days=1)


class InvalidItem:
    """A batch item that could not be parsed (e.g. an NDJSON line that is not JSON)."""

    def __init__(self, message: str):
        self.message = message


def _not_an_object(item) -> dict:
    return {"item": [item.message if isinstance(item, InvalidItem) else ITEM_NOT_OBJECT]}


@dataclass(frozen=True)
class Limits:
    max_input_text: int = 20_000
    max_feedback_text: int = 5_000


def _string(item, field, errors, *, required=False, max_length=200):
    value = item.get(field)
    if value is None:
        if required:
            errors[field] = [gettext(REQUIRED)]
        return None
    if type(value) is not str:
        errors[field] = [gettext(NOT_A_STRING)]
        return None
    if required and not value.strip():
        errors[field] = [gettext(EMPTY)]
        return None
    if len(value) > max_length:
        errors[field] = [gettext(TOO_LONG).format(limit=max_length)]
        return None
    if "\x00" in value:
        errors[field] = [gettext(NUL_BYTE)]
        return None
    return value


def _number(item, field, errors, *, low=None, high=None, low_msg=NEGATIVE):
    value = item.get(field)
    if value is None:
        return None
    if type(value) not in (int, float) or not math.isfinite(value):
        errors[field] = [gettext(NOT_A_NUMBER)]
        return None
    if (low is not None and value < low) or (high is not None and value > high):
        errors[field] = [gettext(low_msg)]
        return None
    return float(value)


def _json_is_safe(value, depth=0) -> str | None:
    """Why a JSON value cannot be stored (too deep, NUL characters), or None."""
    if depth > MAX_JSON_DEPTH:
        return gettext(TOO_DEEP).format(limit=MAX_JSON_DEPTH)
    if type(value) is str:
        return gettext(NUL_BYTE) if "\x00" in value else None
    if type(value) is dict:
        for key, child in value.items():
            if "\x00" in key:
                return gettext(NUL_BYTE)
            problem = _json_is_safe(child, depth + 1)
            if problem:
                return problem
    elif type(value) is list:
        for child in value:
            problem = _json_is_safe(child, depth + 1)
            if problem:
                return problem
    return None


def _json_object(item, field, errors, *, max_bytes):
    """The value serialised as JSON text (what the database stores), or None."""
    value = item.get(field)
    if value is None:
        return None
    if type(value) is not dict:
        errors[field] = [gettext(NOT_AN_OBJECT)]
        return None
    problem = _json_is_safe(value)
    if problem:
        errors[field] = [problem]
        return None
    encoded = orjson.dumps(value).decode()
    if len(encoded) > max_bytes:
        errors[field] = [gettext(TOO_BIG).format(limit=max_bytes)]
        return None
    return encoded


def parse_timestamp(value) -> datetime | None:
    """An aware datetime from an RFC 3339 string, or None when it is not one."""
    if type(value) is not str or len(value) > 40 or len(value) < 20:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed


def in_range_utc(parsed: datetime) -> datetime | None:
    """The UTC instant of an aware datetime when it lies between EARLIEST_TIMESTAMP and a day
    ahead of now; None otherwise (also when it has no UTC instant: 9999-12-31T23:59:59-14:00
    is past the last one Python can hold)."""
    try:
        instant = parsed.astimezone(UTC)
    except OverflowError:
        return None
    if instant < EARLIEST_TIMESTAMP or instant > datetime.now(UTC) + CLOCK_SKEW:
        return None
    return instant


def _timestamp(item, field, errors):
    value = item.get(field)
    if value is None:
        return None
    parsed = parse_timestamp(value)
    if parsed is None:
        errors[field] = [gettext(BAD_TIMESTAMP)]
        return None
    instant = in_range_utc(parsed)
    if instant is None:
        errors[field] = [gettext(TIMESTAMP_RANGE)]
    return instant


def _label(item, field, errors, labels, *, required):
    value = _string(item, field, errors, required=required, max_length=200)
    if value is not None and labels and value not in labels:
        errors[field] = [gettext(NOT_IN_LABEL_SET).format(value=value[:200])]
        return None
    return value


def clean_prediction(item, *, labels: frozenset, limits: Limits):
    """Validate one prediction item; returns (row, errors)."""
    if type(item) is not dict:
        return None, _not_an_object(item)
    errors: dict[str, list[str]] = {}
    row = {
        "request_id": _string(item, "request_id", errors, required=True, max_length=200),
        "model_version": _string(item, "model_version", errors, required=True, max_length=100),
        "input_text": _string(item, "input_text", errors, max_length=limits.max_input_text),
        "input_data": _json_object(item, "input_data", errors, max_bytes=MAX_INPUT_DATA_BYTES),
        "predicted_label": _label(item, "predicted_label", errors, labels, required=True),
        "confidence": _number(item, "confidence", errors, low=0, high=1, low_msg=CONFIDENCE_RANGE),
        "latency_ms": _number(item, "latency_ms", errors, low=0),
        "served_at": _timestamp(item, "served_at", errors),
        "metadata": _json_object(item, "metadata", errors, max_bytes=MAX_METADATA_BYTES),
        "customer_ref": _string(item, "customer_ref", errors, max_length=200),
    }
    if item.get("input_text") is None and item.get("input_data") is None:
        errors["input_text"] = [gettext(INPUT_MISSING)]
    scores = item.get("scores")
    if scores is not None:
        row["scores"] = _clean_scores(scores, errors)
    else:
        row["scores"] = None
    if errors:
        return None, errors
    return row, None


def _clean_scores(scores, errors):
    if type(scores) is not dict:
        errors["scores"] = [gettext(NOT_AN_OBJECT)]
        return None
    if len(scores) > MAX_SCORES:
        errors["scores"] = [gettext(TOO_MANY_SCORES).format(limit=MAX_SCORES)]
        return None
    for label, value in scores.items():
        if len(label) > 200 or "\x00" in label:
            errors["scores"] = [gettext(BAD_SCORE_LABEL).format(label=repr(label[:50]))]
            return None
        if type(value) not in (int, float) or not math.isfinite(value):
            errors["scores"] = [gettext(SCORE_NOT_A_NUMBER).format(label=repr(label[:50]))]
            return None
    return orjson.dumps(scores).decode()


FEEDBACK_KINDS = ("complaint", "correction", "rating")


def clean_feedback(item, *, labels: frozenset, limits: Limits, default_source: str = "api"):
    """Validate one feedback item; returns (row, errors). The prediction link is resolved by
    the caller, which knows the project's predictions."""
    if type(item) is not dict:
        return None, _not_an_object(item)
    errors: dict[str, list[str]] = {}
    kind = item.get("kind")
    if kind is None:
        errors["kind"] = [gettext(REQUIRED)]
    elif kind not in FEEDBACK_KINDS:
        errors["kind"] = [gettext(BAD_KIND)]
        kind = None
    needs_prediction = kind in ("correction", "rating")
    row = {
        "kind": kind,
        "request_id": _string(item, "request_id", errors, required=needs_prediction),
        "text": _string(
            item, "text", errors, required=kind == "complaint", max_length=limits.max_feedback_text
        ),
        "corrected_label": _label(
            item, "corrected_label", errors, labels, required=kind == "correction"
        ),
        "external_id": _string(item, "external_id", errors, max_length=200),
        "source": _string(item, "source", errors, max_length=30) or default_source,
        "customer_ref": _string(item, "customer_ref", errors, max_length=200),
        "created_at": _timestamp(item, "created_at", errors),
        "rating": None,
    }
    if needs_prediction and errors.get("request_id") == [gettext(REQUIRED)]:
        errors["request_id"] = [gettext(REQUEST_ID_REQUIRED_FOR).format(kind=kind)]
    rating = item.get("rating")
    if rating is not None or kind == "rating":
        if type(rating) is not int or rating not in (-1, 1):
            errors["rating"] = [gettext(REQUIRED if rating is None else BAD_RATING)]
        else:
            row["rating"] = rating
    if errors:
        return None, errors
    return row, None
