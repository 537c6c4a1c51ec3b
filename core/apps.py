from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Shared machinery under the apps (the audit log, ...); imports nothing of them."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "core"
