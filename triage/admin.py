from django.contrib import admin

from .models import ErrorCategory, ItemAssignment


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
