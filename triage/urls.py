"""Team pages of the triage app, under /p/<slug>/ (see config/urls.py)."""

from django.urls import path

from . import views, views_inbox

urlpatterns = [
    path("categories/", views.category_list, name="category-list"),
    path("categories/runs/", views.run_status, name="run-status"),
    path("categories/runs/new", views.run_request, name="run-request"),
    path("categories/<int:category_id>/", views.category_detail, name="category-detail"),
    path("categories/<int:category_id>/rename", views.category_rename, name="category-rename"),
    path("categories/<int:category_id>/merge", views.category_merge, name="category-merge"),
    path(
        "categories/<int:category_id>/items",
        views.category_items_action,
        name="category-items-action",
    ),
    path("inbox/", views_inbox.inbox, name="inbox"),
    path("inbox/<int:feedback_id>/", views_inbox.feedback_detail, name="feedback-detail"),
]
