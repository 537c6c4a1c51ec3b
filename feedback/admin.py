from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext as _

from . import services
from .models import ApiKey, Feedback, ImportJob, Membership, ModelVersion, Prediction, Project


class _ReadOnly:
    """Members change on the project's Members page or with `add_member` (feedback.members:
    audited, and a project always keeps an admin); the admin only shows them."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class MembershipInline(_ReadOnly, admin.TabularInline):
    model = Membership
    extra = 0
    fields = ["user", "role", "team"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "pii_redaction", "feedback_link_days", "created_at"]
    search_fields = ["slug", "name"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = ["user", "project", "role", "team"]
    list_filter = ["project", "role", "team"]


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


class ApiKeyAdminForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["project", "name", "scopes"]

    def clean_scopes(self):
        # The service's check, so a key made here is one the command or the API could make.
        return services.api_key_scopes_clean(self.cleaned_data["scopes"])


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are made, changed and revoked by feedback.services; the admin only calls them."""

    form = ApiKeyAdminForm
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
    readonly_fields = [
        "prefix", "key_hash", "created_at", "last_used_at", "created_by", "revoked_at",
    ]  # fmt: skip
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        # A key never moves to another project: its holder would write into that one.
        return [*self.readonly_fields, "project"] if obj else self.readonly_fields

    def save_form(self, request, form, change):
        obj = super().save_form(request, form, change)
        if change:
            return obj
        # The service makes the row: the secret exists only here and is shown once.
        api_key, full_key = services.api_key_create(
            project=obj.project, scopes=obj.scopes, name=obj.name, created_by=request.user
        )
        messages.warning(request, _("The new key, shown only now: %(key)s") % {"key": full_key})
        return api_key

    def save_model(self, request, obj, form, change):
        if change:
            services.api_key_update(api_key=obj, name=obj.name, scopes=obj.scopes)

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset):
        revoked = sum(services.api_key_revoke(api_key=api_key) for api_key in queryset)
        self.message_user(request, f"Revoked {revoked} key(s).")


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
