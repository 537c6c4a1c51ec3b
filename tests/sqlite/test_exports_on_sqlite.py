"""Dataset exports on the embedded default (SQLite): the build's portable stream path."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from tests.factories import FeedbackFactory, PredictionFactory
from triage.services.export_build import export_build
from triage.services.exports import export_request

pytestmark = pytest.mark.sqlite


@pytest.fixture(autouse=True)
def _only_on_sqlite(settings, tmp_path):
    if connection.vendor != "sqlite":
        pytest.skip("runs in the SQLite phase of `make test`")
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.mark.django_db
def test_an_export_groups_corrections_and_provenance_per_prediction_on_sqlite(project):
    first = PredictionFactory(project=project, predicted_label="card_arrival")
    second = PredictionFactory(project=project, predicted_label="card_arrival")
    now = timezone.now()
    older = FeedbackFactory(
        prediction=first,
        corrected_label="lost_or_stolen_card",
        created_at=now - timedelta(minutes=5),
    )
    newer = FeedbackFactory(prediction=first, corrected_label="card_linking", created_at=now)
    FeedbackFactory(prediction=second, corrected_label="card_arrival")  # agrees: left out

    export = export_request(project=project, format="jsonl")
    export_build(export_id=export.id)
    export.refresh_from_db()

    assert export.status == "succeeded", export.error
    rows = [json.loads(line) for line in open(export.file.path, "rb")]
    assert [(r["request_id"], r["corrected_label"]) for r in rows] == [
        (first.request_id, "card_linking")
    ]
    assert rows[0]["feedback_ids"] == sorted([older.id, newer.id])
    assert (rows[0]["n_corrections"], rows[0]["agreement"]) == (2, 0.5)
    assert export.manifest["excluded"]["agrees_with_prediction"] == 1
