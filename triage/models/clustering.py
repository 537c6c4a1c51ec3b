"""Clustering runs, error categories (stable across runs), and each feedback item's place."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.jobs import BackgroundJob
from feedback.models import Feedback, ModelVersion, Project


class ClusteringSettings(models.Model):
    """Per-project clustering preferences (defaults apply when a project has none)."""

    class Representation(models.TextChoices):
        AUTO = "auto", _("embeddings when installed, else LSA")
        LSA = "lsa", _("LSA (TF-IDF + SVD)")
        EMBEDDINGS = "embeddings", _("sentence embeddings")

    project = models.OneToOneField(
        Project, on_delete=models.CASCADE, related_name="clustering_settings"
    )
    granularity = models.SmallIntegerField(
        default=0,
        choices=[
            (-2, "much fewer"),
            (-1, "fewer"),
            (0, "automatic"),
            (1, "more"),
            (2, "many more"),
        ],
        help_text="Bias the automatic number of categories towards fewer or more.",
    )
    representation = models.CharField(
        max_length=20, choices=Representation.choices, default=Representation.AUTO
    )
    window_days = models.PositiveIntegerField(
        default=90, help_text="A run clusters the feedback of this many days."
    )
    weekly = models.BooleanField(default=True, help_text="Re-cluster every week (Celery beat).")

    def __str__(self) -> str:
        return f"clustering settings of {self.project}"


class ClusteringRun(BackgroundJob):
    """One clustering of a project's feedback (the lifecycle: core.jobs)."""

    TASK_NAME = "triage.clustering_run"
    GAVE_UP = "Stopped after {attempts} attempts, giving up: the worker died while clustering."

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="clustering_runs")
    trigger = models.CharField(max_length=20, default="manual")  # manual, api, schedule
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    since = models.DateTimeField(null=True, blank=True)
    until = models.DateTimeField(null=True, blank=True)
    representation = models.CharField(max_length=20, blank=True)
    params = models.JSONField(default=dict, blank=True)
    n_items = models.PositiveIntegerField(null=True, blank=True)
    n_categories = models.PositiveIntegerField(null=True, blank=True)
    n_noise = models.PositiveIntegerField(null=True, blank=True)
    n_embedded = models.PositiveIntegerField(null=True, blank=True)
    timings = models.JSONField(default=dict, blank=True)
    # What is needed to place feedback arriving before the next run in this run's space:
    # boilerplate, label space, and the fitted LSA (numpy arrays, never pickle).
    model_state = models.BinaryField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # The lock: at most one queued or running run per project, held by the database.
            models.UniqueConstraint(
                fields=["project"],
                condition=Q(status__in=["queued", "running"]),
                name="one_active_clustering_run",
            )
        ]
        indexes = [models.Index(fields=["project", "status", "-created_at"], name="run_status")]

    def __str__(self) -> str:
        return f"run {self.pk} of {self.project} ({self.status})"


class ErrorCategory(models.Model):
    class State(models.TextChoices):
        NEW = "new", _("New")
        TRIAGING = "triaging", _("Triaging")
        PLANNED = "planned", _("Planned")
        FIXED = "fixed", _("Fixed")
        WONT_FIX = "wont_fix", _("won't fix")
        REGRESSED = "regressed", _("Regressed")

    class Team(models.TextChoices):
        MODEL = "model", _("model team")
        DATA = "data", _("data team")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="categories")
    title = models.CharField(max_length=200)
    auto_title = models.CharField(max_length=200, blank=True)
    # A human renamed it: runs keep updating auto_title but never the title.
    title_locked = models.BooleanField(default=False)
    keywords = models.JSONField(default=list, blank=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.NEW)
    owner_team = models.CharField(max_length=20, choices=Team.choices, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_categories",
    )
    # The "fits nowhere" bucket of the project: never matched, never titled by runs.
    is_unsorted = models.BooleanField(default=False)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_from"
    )
    # Formed by a human merge: runs must keep it one category.
    human_merged = models.BooleanField(default=False)
    size = models.PositiveIntegerField(default=0)
    share = models.FloatField(default=0)  # of the items of the latest run
    top_confusions = models.JSONField(default=list, blank=True)
    labels = models.JSONField(default=dict, blank=True)
    representative_ids = models.JSONField(default=list, blank=True)
    first_seen = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)
    # Sizes over the last runs (oldest first) and the change since the previous run, kept on
    # the row so the board draws 500 cards without a query per card.
    trend = models.JSONField(default=list, blank=True)
    growth = models.FloatField(default=0)
    # Its feedback per 1,000 predictions of the latest model version (all labels): the share of
    # traffic it touches times its correction rate there. The board sorts by it.
    impact = models.FloatField(default=0)
    # Its estimated true size (review_queue/true_size.py): unreported look-alikes of its
    # errors, the share of its reviewed queue found wrong, the estimate with its interval;
    # the estimate alone as a column, for the board to sort by (null until estimated).
    true_size = models.JSONField(default=dict, blank=True)
    estimated_unreported = models.FloatField(null=True, blank=True)
    # Verification: fixed in a model version; a fixed category whose rate comes back regresses.
    fixed_in_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    fixed_at = models.DateTimeField(null=True, blank=True)
    regressed_at = models.DateTimeField(null=True, blank=True)
    regression_note = models.CharField(max_length=300, blank=True)
    centroid = models.BinaryField(null=True, blank=True, editable=False)
    centroid_run = models.ForeignKey(
        ClusteringRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_run = models.ForeignKey(
        ClusteringRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "error categories"
        ordering = ["-size", "id"]
        indexes = [models.Index(fields=["project", "state"], name="category_project_state")]
        constraints = [
            models.UniqueConstraint(
                fields=["project"], condition=Q(is_unsorted=True), name="one_unsorted_bucket"
            )
        ]

    def __str__(self) -> str:
        return self.title


class CategoryVersionStat(models.Model):
    """A category's rate under one model version: its feedback per 1,000 predictions of the
    labels involved (the labels the model predicted for its items). Computed in the background
    after runs and as traffic arrives; the category page and the regression check read it."""

    category = models.ForeignKey(
        ErrorCategory, on_delete=models.CASCADE, related_name="version_stats"
    )
    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="+")
    items = models.PositiveIntegerField()
    predictions = models.PositiveIntegerField()
    rate = models.FloatField(null=True)  # per 1,000 predictions; None without predictions
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["category", "model_version"], name="version_stat_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.category_id}@{self.model_version_id}: {self.rate}"


class CategorySnapshot(models.Model):
    """A category as one run saw it: the points of its trend line."""

    run = models.ForeignKey(ClusteringRun, on_delete=models.CASCADE, related_name="snapshots")
    category = models.ForeignKey(ErrorCategory, on_delete=models.CASCADE, related_name="snapshots")
    size = models.PositiveIntegerField()
    share = models.FloatField()
    top_confusions = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "category"], name="snapshot_unique")]

    def __str__(self) -> str:
        return f"{self.category_id}@{self.run_id}: {self.size}"


class CategoryLineage(models.Model):
    class Kind(models.TextChoices):
        SPLIT = "split", _("Split")  # part of parent became child
        MERGE = "merge", _("Merge")  # parent went into child

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    parent = models.ForeignKey(ErrorCategory, on_delete=models.CASCADE, related_name="+")
    child = models.ForeignKey(ErrorCategory, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    run = models.ForeignKey(ClusteringRun, null=True, blank=True, on_delete=models.CASCADE)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.parent_id} {self.kind} -> {self.child_id}"


class ItemAssignment(models.Model):
    """Where a feedback item stands in triage. Its existence means the follow-up work after
    ingest is done; the sweeper re-enqueues feedback that has none."""

    feedback = models.OneToOneField(
        Feedback, on_delete=models.CASCADE, primary_key=True, related_name="assignment"
    )
    category = models.ForeignKey(
        ErrorCategory, null=True, blank=True, on_delete=models.SET_NULL, related_name="items"
    )
    # Put there by a person: no run moves it again.
    pinned = models.BooleanField(default=False)
    # Cosine to the category's centre when a run or the placement put it there; 0 when a
    # person did (or it fits nowhere), so the most typical items sort first.
    similarity = models.FloatField(default=0.0)
    run = models.ForeignKey(
        ClusteringRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    processed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # A category's items, most typical first (the category page's order).
            models.Index(F("category"), F("similarity").desc(), name="assignment_category")
        ]

    def __str__(self) -> str:
        return f"feedback {self.feedback_id} -> {self.category_id or '-'}"


class ItemVector(models.Model):
    """An item's sentence embedding, computed once (after ingest) and reused by every run.
    `text_hash` says which text it embeds; it is recomputed only when that text changes."""

    feedback = models.OneToOneField(
        Feedback, on_delete=models.CASCADE, primary_key=True, related_name="vector"
    )
    model = models.CharField(max_length=200)
    text_hash = models.CharField(max_length=32)
    vector = models.BinaryField()

    def __str__(self) -> str:
        return f"vector of feedback {self.feedback_id}"
