"""Records of the data lifecycle: erasures of a customer's data (GDPR Art. 17, PIPA)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.jobs import BackgroundJob


class Erasure(BackgroundJob):
    """One request to erase a customer's data in a project, worked on in the background
    (core.jobs: QUEUED -> RUNNING -> SUCCEEDED | FAILED).

    The customer is named only by the keyed hash of their reference (the hash ingest stores
    on their predictions and feedback): the plain reference is never stored, here or in the
    audit log. The counts say what this run removed; running it again finds nothing left and
    counts zeros.
    """

    TASK_NAME = "lifecycle.erasure_run"
    GAVE_UP = "Stopped after {attempts} attempts: the worker died while erasing."

    class Source(models.TextChoices):
        API = "api", _("Api")
        PAGE = "page", _("Page")
        COMMAND = "command", _("Command")

    project = models.ForeignKey(
        "feedback.Project", on_delete=models.CASCADE, related_name="erasures"
    )
    customer_hash = models.CharField(max_length=64)
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.API)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    api_key = models.ForeignKey(
        "feedback.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # When the customer's texts were blanked in the database (committed): exports built after
    # it cannot contain them, those built before are rebuilt.
    scrubbed_at = models.DateTimeField(null=True, blank=True)
    feedback_texts = models.PositiveIntegerField(default=0)
    prediction_inputs = models.PositiveIntegerField(default=0)
    vectors = models.PositiveIntegerField(default=0)
    import_rows = models.PositiveIntegerField(default=0)
    categories_recomputed = models.PositiveIntegerField(default=0)
    exports_rebuilt = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["project", "customer_hash"], name="erasure_project_customer"),
            models.Index(fields=["status", "heartbeat_at"], name="erasure_status_heartbeat"),
        ]

    def __str__(self) -> str:
        return f"erasure #{self.pk} ({self.status})"

    COUNTS = (
        "feedback_texts",
        "prediction_inputs",
        "vectors",
        "import_rows",
        "categories_recomputed",
        "exports_rebuilt",
    )

    @property
    def counts(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.COUNTS}
