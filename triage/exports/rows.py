"""The row of an export file: one per corrected prediction, the same in every format."""

from datetime import datetime
from typing import NamedTuple


class ExportRow(NamedTuple):
    request_id: str
    input_text: str
    predicted_label: str
    corrected_label: str
    model_version: str
    served_at: datetime
    n_feedback: int
    n_corrections: int
    agreement: float  # share of the prediction's kept corrections that name corrected_label
    feedback_ids: list[int]
    category_ids: list[int]
    # One type per column in every format: no nulls (the manifest says what was asked for).
    split: str  # "train" / "validation"; "train" for every row without a split
    flagged: bool  # likely-wrong correction (False when the export did not check)
    in_reference: bool  # input in the chosen reference dataset (False without one)
    # Whose label corrected_label is: "customer" (resolved from customers' corrections) or
    # "reviewer" (a reviewer's verdict, which wins over customers' corrections).
    source: str


# The files' columns, in this order (CSV header, JSONL keys, Parquet schema).
COLUMNS = ExportRow._fields
