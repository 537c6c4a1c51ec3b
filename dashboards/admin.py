from django.contrib import admin

from .models import AlertEvent, AlertRule, DashboardSettings, MetricRollup


@admin.register(MetricRollup)
class MetricRollupAdmin(admin.ModelAdmin):
    """Read-only: rollups are derived data, recomputed from the raw tables."""

    list_display = ["project", "model_version", "hour", "predictions", "corrections", "complaints"]
    list_filter = ["project"]
    date_hierarchy = "hour"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(DashboardSettings)
class DashboardSettingsAdmin(admin.ModelAdmin):
    list_display = ["project", "sla_latency_p95_ms", "target_correction_rate", "updated_at"]


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "project",
        "metric",
        "comparator",
        "threshold",
        "window_hours",
        "enabled",
    ]
    list_filter = ["project", "metric", "enabled"]


@admin.register(AlertEvent)
class AlertEventAdmin(admin.ModelAdmin):
    list_display = ["rule", "project", "status", "opened_at", "resolved_at", "value"]
    list_filter = ["project", "status"]
    readonly_fields = ["deliveries"]
