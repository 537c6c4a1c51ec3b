"""Team pages of the dashboards app, under /p/<slug>/ (see config/urls.py)."""

from django.urls import path

from . import views

urlpatterns = [
    path("quality/", views.overview, name="quality-overview"),
    path("quality/settings", views.settings_edit, name="quality-settings"),
    path("quality/alerts/", views.alerts, name="quality-alerts"),
    path("quality/alerts/allow-list", views.alert_allow_list, name="quality-alert-allow-list"),
    path("quality/alerts/<int:rule_id>/", views.alert_rule_edit, name="quality-alert-edit"),
    path(
        "quality/alerts/<int:rule_id>/delete",
        views.alert_rule_delete,
        name="quality-alert-delete",
    ),
]
