"""Team pages of the triage app, under /p/<slug>/ (see config/urls.py)."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
