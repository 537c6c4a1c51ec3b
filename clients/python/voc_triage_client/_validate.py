"""Client-side checks of one record, mirroring the server's contract (docs/api.md).

`prediction_fields_json` and `feedback_json` return the record serialised as a JSON string
(what the sender and the spool keep), or raise `InvalidRecord` with a message naming the
field. A prediction is checked in two halves: `prediction_fields` on the caller's thread (only
what costs next to nothing), `prediction_fields_json` on the sender thread (the rest, and the
JSON). The
server still validates everything; these checks only catch what would certainly be rejected,
without a round trip.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from collections.abc import Mapping
from typing import Any

FEEDBACK_KINDS = ("complaint", "correction", "rating")
MAX_ID = 200
MAX_MODEL_VERSION = 100
MAX_LABEL = 200
MAX_TEXT = 5000


class InvalidRecord(ValueError):
    """A record the client will not send; the message names the field."""


def _string(name: str, value: Any, *, required: bool, max_length: int | None = None) -> str | None:
    if value is None:
        if required:
            raise InvalidRecord(f"{name} is required")
        return None
    if not isinstance(value, str):
        raise InvalidRecord(f"{name} must be a string, not {type(value).__name__}")
    if required and not value.strip():
        raise InvalidRecord(f"{name} must not be empty")
    if max_length is not None and len(value) > max_length:
        raise InvalidRecord(f"{name} is longer than {max_length} characters")
    return value


def _number(name: str, value: Any, *, low: float | None = None, high: float | None = None):
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, (int, float)):
        value = value.item()  # numpy scalars
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidRecord(f"{name} must be a number, not {type(value).__name__}")
    if not math.isfinite(value):
        raise InvalidRecord(f"{name} must be finite")
    if low is not None and value < low:
        raise InvalidRecord(f"{name} must be at least {low}")
    if high is not None and value > high:
        raise InvalidRecord(f"{name} must be at most {high}")
    return value


def _object(name: str, value: Any) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidRecord(f"{name} must be an object (a dict), not {type(value).__name__}")
    return dict(value)


def _time(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidRecord(f"{name} must be timezone-aware")
        return value.isoformat()
    raise InvalidRecord(f"{name} must be a datetime or an RFC 3339 string")


# One encoder for every record: json.dumps builds a new one per call when given options.
_ENCODER = json.JSONEncoder(allow_nan=False, ensure_ascii=False, separators=(",", ":"))


def _dump(record: dict) -> str:
    body = {key: value for key, value in record.items() if value is not None}
    try:
        return _ENCODER.encode(body)
    except (TypeError, ValueError) as exc:
        raise InvalidRecord(f"not JSON-serialisable: {exc}") from exc


# The order of a prediction's fields as the caller's half of the checks queues them (a plain
# tuple: the cheapest thing to build on the host's thread).
PREDICTION_FIELDS = (
    "request_id",
    "model_version",
    "predicted_label",
    "input_text",
    "input_data",
    "confidence",
    "scores",
    "latency_ms",
    "served_at",
    "metadata",
    "customer_ref",
)


def prediction_fields(
    request_id: Any,
    model_version: Any,
    predicted_label: Any,
    input_text: Any,
    input_data: Any,
    confidence: Any,
    scores: Any,
    latency_ms: Any,
    served_at: Any,
    metadata: Any,
    customer_ref: Any,
) -> tuple:
    """The caller's half of a prediction's checks: required ids and label, an input, the
    confidence. Returns the fields in PREDICTION_FIELDS order, the caller's dicts copied
    (changing them after the call changes nothing sent); raises `InvalidRecord`.
    `prediction_fields_json(fields)` checks the rest.

    Written out rather than through the helpers above: this runs in the host's request path,
    where each function call counts (see the client's benchmark)."""
    if type(request_id) is not str or not request_id or len(request_id) > MAX_ID:
        _string("request_id", request_id, required=True, max_length=MAX_ID)
        raise InvalidRecord("request_id must not be empty")
    if (
        type(model_version) is not str
        or not model_version
        or len(model_version) > MAX_MODEL_VERSION
    ):
        _string("model_version", model_version, required=True, max_length=MAX_MODEL_VERSION)
        raise InvalidRecord("model_version must not be empty")
    if type(predicted_label) is not str or not predicted_label or len(predicted_label) > MAX_LABEL:
        _string("predicted_label", predicted_label, required=True, max_length=MAX_LABEL)
        raise InvalidRecord("predicted_label must not be empty")
    if input_text is None and input_data is None:
        raise InvalidRecord("one of input_text or input_data is required")
    if confidence is not None and not (type(confidence) is float and 0.0 <= confidence <= 1.0):
        confidence = _number("confidence", confidence, low=0.0, high=1.0)
    return (
        request_id,
        model_version,
        predicted_label,
        input_text,
        dict(input_data) if type(input_data) is dict else input_data,
        confidence,
        dict(scores) if type(scores) is dict else scores,
        latency_ms,
        served_at,
        dict(metadata) if type(metadata) is dict else metadata,
        customer_ref,
    )


def prediction_fields_json(fields: tuple) -> str:
    """The sender's half of a prediction's checks, on what `prediction_fields` returned: the
    rest of the fields, then the JSON text; or `InvalidRecord`."""
    (
        request_id,
        model_version,
        predicted_label,
        input_text,
        input_data,
        confidence,
        scores,
        latency_ms,
        served_at,
        metadata,
        customer_ref,
    ) = fields
    record: dict[str, Any] = {
        "request_id": _string("request_id", request_id, required=True),  # not blank
        "model_version": model_version,
        "predicted_label": predicted_label,
    }
    if input_text is not None:
        record["input_text"] = _string("input_text", input_text, required=False)
    if input_data is not None:
        record["input_data"] = _object("input_data", input_data)
    if confidence is not None:
        record["confidence"] = confidence
    if scores is not None:
        # A finite float passes at once (-inf < x < inf is False for NaN and the infinities).
        record["scores"] = {
            label if type(label) is str else str(label): score
            if type(score) is float and -math.inf < score < math.inf
            else _number(f"scores[{label!r}]", score)
            for label, score in _object("scores", scores).items()
        }
    if latency_ms is not None:
        record["latency_ms"] = _number("latency_ms", latency_ms, low=0.0)
    if served_at is not None:
        record["served_at"] = _time("served_at", served_at)
    if metadata is not None:
        record["metadata"] = _object("metadata", metadata)
    if customer_ref is not None:
        record["customer_ref"] = _string("customer_ref", customer_ref, required=False)
    try:
        return _ENCODER.encode(record)
    except (TypeError, ValueError) as exc:
        raise InvalidRecord(f"not JSON-serialisable: {exc}") from exc


def feedback_json(
    *,
    kind: Any,
    request_id: Any = None,
    text: Any = None,
    corrected_label: Any = None,
    rating: Any = None,
    external_id: Any = None,
    source: Any = None,
    customer_ref: Any = None,
    created_at: Any = None,
) -> str:
    """One feedback item of `POST .../feedback` as JSON text, or `InvalidRecord`.

    Without an `external_id` one is generated: the server deduplicates feedback by it, so a
    batch resent after a lost response does not store the same feedback twice.
    """
    if kind not in FEEDBACK_KINDS:
        raise InvalidRecord(f"kind must be one of {', '.join(FEEDBACK_KINDS)}, not {kind!r}")
    needs_prediction = kind in ("correction", "rating")
    record = {
        "kind": kind,
        "request_id": _string("request_id", request_id, required=needs_prediction),
        "text": _string("text", text, required=kind == "complaint", max_length=MAX_TEXT),
        "corrected_label": _string(
            "corrected_label", corrected_label, required=kind == "correction", max_length=MAX_LABEL
        ),
        "external_id": _string("external_id", external_id, required=False, max_length=MAX_ID)
        or f"vc-{uuid.uuid4().hex}",
        "source": _string("source", source, required=False),
        "customer_ref": _string("customer_ref", customer_ref, required=False),
        "created_at": _time("created_at", created_at),
    }
    if rating is not None or kind == "rating":
        if isinstance(rating, bool) or not isinstance(rating, int) or rating not in (-1, 1):
            raise InvalidRecord("rating must be -1 or 1")
        record["rating"] = int(rating)
    return _dump(record)
