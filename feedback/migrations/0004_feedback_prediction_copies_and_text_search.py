"""Fill Feedback.predicted_label/model_version for feedback stored before they existed, and
give the inbox's text search a trigram index on PostgreSQL.

The trigram index is created only on PostgreSQL, and only when the pg_trgm extension can be
created (it is a trusted extension: the database owner may). Without it, search still works
(a sequential scan); nothing in the models depends on it, so it is not in Meta.indexes.
"""

import logging

from django.db import DatabaseError, migrations, transaction
from django.db.models import OuterRef, Subquery

logger = logging.getLogger(__name__)

TRIGRAM_INDEX = "feedback_text_trgm"


def copy_prediction_fields(apps, schema_editor):
    Feedback = apps.get_model("feedback", "Feedback")
    Prediction = apps.get_model("feedback", "Prediction")
    linked = Feedback.objects.filter(prediction__isnull=False, model_version__isnull=True)
    prediction = Prediction.objects.filter(id=OuterRef("prediction_id"))
    linked.update(
        predicted_label=Subquery(prediction.values("predicted_label")[:1]),
        model_version_id=Subquery(prediction.values("model_version_id")[:1]),
    )


def create_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            # Django's icontains is UPPER(text) LIKE UPPER(%s): index that expression.
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {TRIGRAM_INDEX} ON feedback_feedback "
                "USING gin (UPPER(text) gin_trgm_ops)"
            )
    except DatabaseError:
        logger.warning("pg_trgm unavailable: inbox search will scan instead of using an index")


def drop_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {TRIGRAM_INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("feedback", "0003_capture_repeats_imports_inbox_indexes"),
    ]

    operations = [
        migrations.RunPython(copy_prediction_fields, migrations.RunPython.noop),
        migrations.RunPython(create_trigram_index, drop_trigram_index),
    ]
