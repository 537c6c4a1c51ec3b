"""One type per column in every format: the same export read back with pandas, as a data team
reads it, gives the same dtypes from CSV, JSON Lines and Parquet."""

import io
import json

import pandas as pd
import pytest

from core import files
from tests.factories import ErrorCategoryFactory, FeedbackFactory, PredictionFactory
from triage.exports.rows import COLUMNS
from triage.models import ItemAssignment
from triage.services.export_build import export_build
from triage.services.exports import export_request

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def read(export) -> pd.DataFrame:
    with files.open_read(export.file.name) as stored:
        data = io.BytesIO(stored.read())
    if export.format == "csv":
        # A CSV cell holds text: the id lists are JSON arrays in it.
        lists = {"feedback_ids": json.loads, "category_ids": json.loads}
        return pd.read_csv(data, parse_dates=["served_at"], converters=lists)
    if export.format == "jsonl":
        # pyarrow's reader keeps the file's types (pandas' own turns 1.0 into 1 when it can);
        # times are RFC 3339 text, as in the CSV.
        frame = pd.read_json(data, lines=True, engine="pyarrow")
        return frame.assign(served_at=pd.to_datetime(frame["served_at"]))
    return pd.read_parquet(data)


def exported(project, fmt: str, **options) -> pd.DataFrame:
    export = export_request(project=project, format=fmt, **options)
    export_build(export_id=export.id)
    export.refresh_from_db()
    assert export.status == "succeeded", export.error
    return read(export)


def dtypes(frame: pd.DataFrame) -> dict[str, str]:
    # The timestamp's unit is pandas' own choice per reader (ns, us): its kind is the type.
    return {
        name: "datetime64[UTC]" if str(dtype).startswith("datetime64") else str(dtype)
        for name, dtype in frame.dtypes.items()
    }


@pytest.mark.parametrize("options", [{}, {"flagged": "mark"}])
def test_every_format_reads_back_with_the_same_column_types(project, options):
    category = ErrorCategoryFactory(project=project)
    for i in range(6):
        prediction = PredictionFactory(project=project, predicted_label="card_arrival")
        feedback = FeedbackFactory(prediction=prediction, corrected_label="card_delivery_estimate")
        if i % 2:
            ItemAssignment.objects.create(feedback=feedback, category=category)
    frames = {fmt: exported(project, fmt, **options) for fmt in ("csv", "jsonl", "parquet")}

    types = {fmt: dtypes(frame) for fmt, frame in frames.items()}
    assert list(frames["csv"].columns) == list(COLUMNS)
    assert types["csv"] == types["jsonl"] == types["parquet"], types
    assert types["csv"]["agreement"] == "float64"
    assert types["csv"]["flagged"] == types["csv"]["in_reference"] == "bool"
    assert types["csv"]["split"] == "str" and set(frames["csv"]["split"]) == {"train"}
