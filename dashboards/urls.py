"""Team pages of the dashboards app, under /p/<slug>/ (see config/urls.py)."""

from django.urls import path

from . import views

urlpatterns = [
    path("quality/", views.overview, name="quality-overview"),
    path("quality/settings", views.settings_edit, name="quality-settings"),
]
