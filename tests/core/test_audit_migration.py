"""The audit log moved from triage to core: rows written before the move are kept."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from core.models import AuditEvent

# Feedback too: its later migrations add columns the old Project model does not know.
BEFORE = [
    ("triage", "0005_reference_datasets"),
    ("core", None),
    ("feedback", "0007_feedback_prediction_without_constraint"),
]


@pytest.mark.django_db(transaction=True)
def test_audit_events_written_before_the_move_are_in_core_after_it(django_user_model):
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old_apps = executor.loader.project_state([BEFORE[0]]).apps
    project = old_apps.get_model("feedback", "Project").objects.create(slug="p", name="P")
    old_apps.get_model("triage", "AuditEvent").objects.create(
        project_id=project.id, action="rename", target_type="errorcategory", target_id=7
    )

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    (event,) = AuditEvent.objects.filter(project_id=project.id)
    assert (event.action, event.target_type, event.target_id) == ("rename", "errorcategory", 7)
    assert AuditEvent._meta.db_table == "core_auditevent"
    assert "triage_auditevent" not in connection.introspection.table_names()
