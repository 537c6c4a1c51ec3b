"""What the weekly review decides: improvement points, and the discussion around them."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from feedback.models import ModelVersion, Project

from .clustering import ErrorCategory


class ImprovementPoint(models.Model):
    """A decision to fix something: from one or more error categories, or project-wide."""

    class Kind(models.TextChoices):
        MODEL = "model", _("Model")
        TRAINING_DATA = "training_data", _("Training data")
        EVAL_DATA = "eval_data", _("Evaluation data")
        LABELING_GUIDELINE = "labeling_guideline", _("Labeling guideline")
        PRODUCT = "product", _("Product")

    class State(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        ACCEPTED = "accepted", _("Accepted")
        IN_PROGRESS = "in_progress", _("In progress")
        DONE = "done", _("Done")
        REJECTED = "rejected", _("Rejected")

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


class ReviewSettings(models.Model):
    """How a project runs its weekly review and verifies fixes."""

    project = models.OneToOneField(
        Project, on_delete=models.CASCADE, related_name="review_settings"
    )
    # A fixed category regresses when its rate under the fixing version is at least this
    # share of its rate before...
    regression_share = models.FloatField(
        default=0.5,
        help_text="A fixed category regresses when its rate comes back to this share of its "
        "rate before the fix (0.5 = the fix removed less than half of the errors).",
    )
    # ...once that version has served this many predictions of the category's labels.
    regression_min_predictions = models.PositiveIntegerField(
        default=200, help_text="Predictions of the category's labels needed before judging."
    )
    digest = models.BooleanField(default=True, help_text="Send the weekly digest email.")
    big_category_size = models.PositiveIntegerField(
        default=20, help_text="Categories at least this big need an owner (review agenda)."
    )

    def __str__(self) -> str:
        return f"review settings of {self.project}"


class ReviewSession(models.Model):
    """One weekly meeting: its agenda (generated from the data since the last one), who came,
    and what was decided."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="reviews")
    period_start = models.DateTimeField()
    started_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    attendees = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    decisions = models.TextField(blank=True)  # Markdown, sanitised when shown
    agenda = models.JSONField(default=dict, blank=True)  # frozen when the review closes

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project"], condition=Q(closed_at__isnull=True), name="one_open_review"
            )
        ]

    def __str__(self) -> str:
        return f"review of {self.project} on {self.started_at:%Y-%m-%d}"
