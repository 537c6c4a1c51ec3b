"""Team pages of the triage app, under /p/<slug>/ (see config/urls.py)."""

from django.urls import path

from . import views_inbox

urlpatterns: list = [
    path("inbox/", views_inbox.inbox, name="inbox"),
    path("inbox/<int:feedback_id>/", views_inbox.feedback_detail, name="feedback-detail"),
]
