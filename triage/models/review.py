"""What the weekly review decides: improvement points, and the discussion around them."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from feedback.models import ModelVersion, Project

from .clustering import ErrorCategory


class ImprovementPoint(models.Model):
    """A decision to fix something, made from one or more error categories."""

    class Kind(models.TextChoices):
        MODEL = "model"
        TRAINING_DATA = "training_data", "training data"
        EVAL_DATA = "eval_data", "evaluation data"
        LABELING_GUIDELINE = "labeling_guideline", "labeling guideline"
        PRODUCT = "product"

    class State(models.TextChoices):
        PROPOSED = "proposed"
        ACCEPTED = "accepted"
        IN_PROGRESS = "in_progress", "in progress"
        DONE = "done"
        REJECTED = "rejected"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="improvements")
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=30, choices=Kind.choices)
    description = models.TextField(blank=True)  # Markdown, rendered through a sanitiser
    owner_team = models.CharField(max_length=20, choices=ErrorCategory.Team.choices, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_improvements",
    )
    state = models.CharField(max_length=20, choices=State.choices, default=State.PROPOSED)
    categories = models.ManyToManyField(ErrorCategory, related_name="improvements", blank=True)
    target_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The model version that shipped the fix (set when the point is done).
    done_in_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision_date = models.DateField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["project", "state"], name="improvement_project_state")]

    def __str__(self) -> str:
        return self.title


class Comment(models.Model):
    """A remark on a category or an improvement point (Markdown, sanitised when shown)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    category = models.ForeignKey(
        ErrorCategory, null=True, blank=True, on_delete=models.CASCADE, related_name="comments"
    )
    improvement = models.ForeignKey(
        ImprovementPoint, null=True, blank=True, on_delete=models.CASCADE, related_name="comments"
    )
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(category__isnull=False, improvement__isnull=True)
                | Q(category__isnull=True, improvement__isnull=False),
                name="comment_has_one_target",
            )
        ]

    def __str__(self) -> str:
        return f"comment {self.pk}"
