# The audit log moved to the core app (core.AuditEvent). State only: core's migrations take
# over the table and rename it, so no row is copied or lost.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("triage", "0005_reference_datasets")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="AuditEvent")],
            database_operations=[],
        )
    ]
