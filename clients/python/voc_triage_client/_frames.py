"""pandas DataFrames as predictions to log (pandas is imported lazily: not a dependency)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from ._validate import PREDICTION_FIELDS  # the columns used (others are ignored)

logger = logging.getLogger("voc_triage_client")


def frame_predictions(frame: Any) -> Iterator[dict[str, Any]]:
    """log_prediction's arguments for each row; nothing (with a warning) when pandas is missing
    or `frame` is not a usable DataFrame."""
    try:
        import pandas as pd
    except ImportError:
        logger.warning("log_predictions_frame needs pandas, which is not installed")
        return
    try:
        columns = [name for name in PREDICTION_FIELDS if name in frame.columns]
        rows = frame[columns].to_dict("records")
    except Exception as exc:
        logger.warning("log_predictions_frame: not a usable DataFrame (%s)", exc)
        return
    for row in rows:
        yield {name: _cell(pd, value) for name, value in row.items()}


def _cell(pd: Any, value: Any) -> Any:
    """A DataFrame cell as log_prediction takes it: missing as None, timestamps as datetimes,
    numpy scalars as Python numbers."""
    if isinstance(value, (dict, list, tuple, str)):
        return value
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        return value
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item"):
        return value.item()
    return value
