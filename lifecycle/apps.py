from django.apps import AppConfig


class LifecycleConfig(AppConfig):
    """Work over the data of every app: customer erasure, retention of the prediction log,
    backup and restore. Sits above feedback, triage and dashboards; none of them imports it."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "lifecycle"
