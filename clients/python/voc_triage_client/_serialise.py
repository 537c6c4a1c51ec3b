"""Queued records made ready to send: a prediction is queued as a tuple of its fields (the
caller's thread does only the cheap checks) and checked in full and serialised here, on the
sender thread; what fails is logged once with the field at fault."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from ._http import PREDICTIONS
from ._spool import Record
from ._validate import prediction_fields_json

logger = logging.getLogger("voc_triage_client")


def log_rejected(kind: str, request_id: Any, exc: Exception) -> None:
    logger.warning(
        "voc_triage_client: %s record rejected before sending (request_id=%r): %s",
        "prediction" if kind == PREDICTIONS else "feedback",
        request_id,
        exc,
    )


def serialise(records: Iterable[Record]) -> tuple[list[Record], list[tuple[Record, Exception]]]:
    """The records with every payload as JSON text (a prediction is queued as a tuple of its
    fields and checked in full here, off the caller's thread), and apart those that fail."""
    good: list[Record] = []
    bad: list[tuple[Record, Exception]] = []
    for record in records:
        rowid, seq, kind, payload = record
        if type(payload) is str:
            good.append(record)
            continue
        try:
            good.append((rowid, seq, kind, prediction_fields_json(payload)))
        except Exception as exc:
            bad.append((record, exc))
    return good, bad
