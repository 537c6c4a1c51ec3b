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
    # What its label should probably have been: the corrected labels of its nearest corrected
    # errors, most likely first (`ranking.neighbour_labels`); the reviewer's first suggestions.
    neighbour_labels = models.JSONField(default=list, blank=True)
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


class InputVector(models.Model):
    """The sentence embedding of one distinct prediction input of a project, keyed by a hash
    of its text, so an input repeated by a thousand predictions is embedded once. Filled in
    the background for new traffic (`services/input_vectors.py`); the review queue ranks on
    them when the project uses sentence embeddings."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    model = models.CharField(max_length=200)
    text_hash = models.CharField(max_length=32)
    vector = models.BinaryField()
    # When it was stored, or last used as an error's vector by a refresh: the background pass
    # deletes vectors older than the queue's window (`input_vectors.py`, PRUNE_MARGIN).
    used_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "model", "text_hash"], name="input_vector_once"
            )
        ]
        indexes = [models.Index(fields=["project", "used_at"], name="input_vector_age")]

    def __str__(self) -> str:
        return f"vector of input {self.text_hash} in project {self.project_id}"


class InputVectorProgress(models.Model):
    """How far the background embedding of a project's new predictions has read, what it
    embedded and what it left out when it could not keep up; `leased_until` keeps two passes
    from working the same project at once."""

    project = models.OneToOneField(
        Project, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    last_prediction_id = models.BigIntegerField(default=0)
    # Running totals: distinct inputs embedded; distinct new inputs left out of a pass for
    # lack of time; predictions passed over unread (older than the newest the queue ranks).
    embedded = models.BigIntegerField(default=0)
    skipped_inputs = models.BigIntegerField(default=0)
    skipped_predictions = models.BigIntegerField(default=0)
    leased_until = models.DateTimeField(null=True, blank=True)
    pruned_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"input vectors of project {self.project_id} up to {self.last_prediction_id}"
