from django.contrib import admin, messages

from . import keys
from .models import ApiKey, Feedback, ImportJob, Membership, ModelVersion, Prediction, Project


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    raw_id_fields = ["user"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "pii_redaction", "feedback_link_days", "created_at"]
    search_fields = ["slug", "name"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "project", "role", "team"]
    list_filter = ["project", "role", "team"]
    raw_id_fields = ["user"]


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["version", "project", "released_at"]
    list_filter = ["project"]
    search_fields = ["version"]


@admin.register(Prediction)
class PredictionAdmin(admin.ModelAdmin):
    list_display = ["request_id", "project", "model_version", "predicted_label", "served_at"]
    list_filter = ["project"]
    search_fields = ["=request_id"]
    raw_id_fields = ["model_version"]
    list_select_related = ["project", "model_version"]
    show_full_result_count = False  # COUNT(*) over millions of rows on every page is too slow
    readonly_fields = ["customer_hash", "received_at"]


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "project", "source", "triage_state", "created_at"]
    list_filter = ["project", "kind", "source", "triage_state"]
    search_fields = ["=external_id"]
    raw_id_fields = ["prediction", "model_version"]
    list_select_related = ["project"]
    show_full_result_count = False
    readonly_fields = ["customer_hash", "received_at", "dedup_key", "repeat_count", "superseded_at"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = [
        "prefix",
        "name",
        "project",
        "scopes",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["project"]
    readonly_fields = ["prefix", "key_hash", "created_at", "last_used_at", "created_by"]
    actions = ["revoke"]

    def save_model(self, request, obj, form, change):
        if not change:
            full_key, obj.prefix = keys.key_generate()
            obj.key_hash = keys.key_hash(full_key)
            obj.created_by = request.user
            messages.warning(request, f"The new key, shown only now: {full_key}")
        super().save_model(request, obj, form, change)

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset):
        from django.utils import timezone

        queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    """Read-only: imports are made and run through their pages and the API."""

    list_display = ["id", "file_name", "project", "status", "rows_read", "rows_rejected",
                    "created_at"]  # fmt: skip
    list_filter = ["project", "status"]
    list_select_related = ["project"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
