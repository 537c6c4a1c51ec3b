import importlib

import pytest
from django.apps import apps

from feedback.models import Feedback
from tests.factories import FeedbackFactory, ModelVersionFactory, PredictionFactory

pytestmark = pytest.mark.django_db

backfill = importlib.import_module(
    "feedback.migrations.0004_feedback_prediction_copies_and_text_search"
)


def test_feedback_stored_before_the_copies_existed_gets_them(project):
    version = ModelVersionFactory(project=project, version="v7")
    prediction = PredictionFactory(project=project, model_version=version, predicted_label="x")
    linked = FeedbackFactory(prediction=prediction)
    unlinked = Feedback.objects.create(project=project, kind="complaint", text="t")
    Feedback.objects.update(predicted_label="", model_version=None)

    backfill.copy_prediction_fields(apps, schema_editor=None)

    linked.refresh_from_db()
    unlinked.refresh_from_db()
    assert (linked.predicted_label, linked.model_version_id) == ("x", version.id)
    assert (unlinked.predicted_label, unlinked.model_version_id) == ("", None)


def test_inbox_search_has_its_trigram_index_on_postgresql():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = %s", [backfill.TRIGRAM_INDEX]
        )
        (definition,) = cursor.fetchone()

    assert "gin" in definition and "gin_trgm_ops" in definition
