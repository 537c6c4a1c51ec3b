# core.AuditEvent takes over the table triage created (state only), then renames it.
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("feedback", "0001_initial"),
        ("triage", "0006_auditevent_to_core"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AuditEvent",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("action", models.CharField(max_length=50)),
                        ("target_type", models.CharField(max_length=50)),
                        ("target_id", models.BigIntegerField(blank=True, null=True)),
                        ("data", models.JSONField(blank=True, default=dict)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("actor", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to=settings.AUTH_USER_MODEL)),
                        ("project", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to="feedback.project")),
                    ],
                    options={
                        "db_table": "triage_auditevent",
                        "ordering": ["-created_at", "-id"],
                        "indexes": [
                            models.Index(fields=["project", "-created_at"], name="audit_project_time"),
                            models.Index(fields=["target_type", "target_id"], name="audit_target"),
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        # Now a real rename: the table belongs to core (indexes keep their explicit names).
        migrations.AlterModelTable(name="auditevent", table=None),
    ]
