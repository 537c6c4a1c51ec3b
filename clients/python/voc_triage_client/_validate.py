"""Cheap client-side checks of one record, mirroring the server's contract (docs/api.md).

Each check returns the record serialised as a JSON string (what the sender and the spool keep,
so a caller mutating its dict afterwards changes nothing), or raises `InvalidRecord` with a
message naming the field. The server still validates everything; these checks only catch what
would certainly be rejected, without a round trip.
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


def _dump(record: dict) -> str:
    body = {key: value for key, value in record.items() if value is not None}
    try:
        return json.dumps(body, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise InvalidRecord(f"not JSON-serialisable: {exc}") from exc


def prediction_json(
    *,
    request_id: Any,
    model_version: Any,
    predicted_label: Any,
    input_text: Any = None,
    input_data: Any = None,
    confidence: Any = None,
    scores: Any = None,
    latency_ms: Any = None,
    served_at: Any = None,
    metadata: Any = None,
    customer_ref: Any = None,
) -> str:
    """One prediction item of `POST .../predictions` as JSON text, or `InvalidRecord`."""
    record = {
        "request_id": _string("request_id", request_id, required=True, max_length=MAX_ID),
        "model_version": _string(
            "model_version", model_version, required=True, max_length=MAX_MODEL_VERSION
        ),
        "predicted_label": _string(
            "predicted_label", predicted_label, required=True, max_length=MAX_LABEL
        ),
        "input_text": _string("input_text", input_text, required=False),
        "input_data": _object("input_data", input_data),
        "confidence": _number("confidence", confidence, low=0.0, high=1.0),
        "latency_ms": _number("latency_ms", latency_ms, low=0.0),
        "served_at": _time("served_at", served_at),
        "metadata": _object("metadata", metadata),
        "customer_ref": _string("customer_ref", customer_ref, required=False),
    }
    if record["input_text"] is None and record["input_data"] is None:
        raise InvalidRecord("one of input_text or input_data is required")
    checked_scores = _object("scores", scores)
    if checked_scores is not None:
        record["scores"] = {
            str(label): _number(f"scores[{label!r}]", score)
            for label, score in checked_scores.items()
        }
    return _dump(record)


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
