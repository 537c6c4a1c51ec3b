"""The review queue: predictions nobody reported, ranked per error category by how likely they
are wrong in the same way (`triage/review_queue/ranking.py`), stored so the queue opens at
once. Rebuilt by the background job after each clustering run."""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import F
from django.utils import timezone

from feedback.models import Prediction, Project

from .clustering import ErrorCategory

# How long an item opened on the labelling page stays its reviewer's.
CLAIM_DURATION = timedelta(minutes=5)


class ReviewQueueEntry(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    category = models.ForeignKey(
        ErrorCategory, on_delete=models.CASCADE, related_name="review_queue"
    )
    # No database constraint: retention deletes old predictions without feedback in bulk
    # (lifecycle/retention.py), queued ones among them; an entry left behind is never read
    # (the queue joins its prediction) and goes at the next refresh.
    prediction = models.ForeignKey(
        Prediction, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    score = models.FloatField()
    # Why it was chosen (each in [0, 1]): its input is like the category's confirmed errors,
    # the model was unsure, and the category's confusions start from its predicted label.
    similarity = models.FloatField()
    uncertainty = models.FloatField()
    label_affinity = models.FloatField()
    computed_at = models.DateTimeField(default=timezone.now)
    # The reviewer who has it open on the labelling page, until then (a short claim: two
    # reviewers working one queue never get the same item).
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(F("project"), F("score").desc(), name="review_queue_project"),
            models.Index(F("category"), F("score").desc(), name="review_queue_category"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["category", "prediction"], name="review_queue_once_per_category"
            )
        ]

    def __str__(self) -> str:
        return f"prediction {self.prediction_id} for category {self.category_id}: {self.score:.3f}"


class ReviewerLabel(models.Model):
    """A reviewer's verdict on a prediction nobody reported: its true label, or skipped
    (`label` empty). One per prediction and reviewer; a prediction with any verdict leaves the
    queue, and retention keeps it as it keeps predictions with feedback."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    prediction = models.ForeignKey(
        Prediction, on_delete=models.CASCADE, related_name="reviewer_labels"
    )
    # Who: a member's username, or the name an API client gives.
    reviewer = models.CharField(max_length=150)
    label = models.CharField(max_length=200, blank=True)
    # The queue it was reviewed from, when it was.
    category = models.ForeignKey(
        ErrorCategory, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["prediction", "reviewer"], name="reviewer_label_once_per_reviewer"
            )
        ]
        indexes = [models.Index(fields=["project", "created_at"], name="reviewer_label_project")]

    def __str__(self) -> str:
        return f"{self.reviewer}: prediction {self.prediction_id} -> {self.label or '(skipped)'}"

    @property
    def skipped(self) -> bool:
        return not self.label
