from django.contrib import admin

from .models import DatasetExport, ErrorCategory, ItemAssignment


@admin.register(ErrorCategory)
class ErrorCategoryAdmin(admin.ModelAdmin):
    list_display = ["title", "project", "created_at"]
    list_filter = ["project"]
    search_fields = ["title"]


@admin.register(ItemAssignment)
class ItemAssignmentAdmin(admin.ModelAdmin):
    list_display = ["feedback", "category", "processed_at"]
    raw_id_fields = ["feedback", "category"]
    list_select_related = ["feedback", "category"]


@admin.register(DatasetExport)
class DatasetExportAdmin(admin.ModelAdmin):
    """Read-only: an export is immutable once requested (a new version is a new export)."""

    list_display = ["project", "number", "format", "status", "row_count", "created_at"]
    list_filter = ["project", "status", "format"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
