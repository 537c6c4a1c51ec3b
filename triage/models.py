"""Error categories and the state of each feedback item in triage."""

from django.db import models
from django.utils import timezone

from feedback.models import Feedback, Project


class ErrorCategory(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="categories")
    title = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "error categories"

    def __str__(self) -> str:
        return self.title


class ItemAssignment(models.Model):
    """Where a feedback item stands in triage. Its existence means the follow-up work after
    ingest is done; the sweeper re-enqueues feedback that has none."""

    feedback = models.OneToOneField(
        Feedback, on_delete=models.CASCADE, primary_key=True, related_name="assignment"
    )
    category = models.ForeignKey(
        ErrorCategory, null=True, blank=True, on_delete=models.SET_NULL, related_name="items"
    )
    processed_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"feedback {self.feedback_id} -> {self.category_id or '-'}"
