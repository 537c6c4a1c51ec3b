from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("dashboards", "0006_segment_counts"),
    ]

    operations = [
        migrations.AddField(
            model_name="alertrule",
            name="segment_key",
            field=models.CharField(blank=True, default="", max_length=100),
        ),
        migrations.AddField(
            model_name="alertrule",
            name="segment_value",
            field=models.CharField(blank=True, default="", max_length=100),
        ),
    ]
