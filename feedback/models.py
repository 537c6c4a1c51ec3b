"""Projects, model versions, logged predictions, customer feedback and API keys.

The idempotency keys are database constraints: (project, request_id) for predictions and
(project, external_id) for feedback that carries one. Ingest relies on them (INSERT ... ON
CONFLICT DO NOTHING), so retried and concurrent batches can never store a row twice.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from core.jobs import BackgroundJob

from .framing import validate_frame_ancestors


class Project(models.Model):
    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    # The allowed outputs of the model; empty means "any label".
    labels = models.JSONField(default=list, blank=True)
    # Human-readable names shown to customers, label -> name.
    label_names = models.JSONField(default=dict, blank=True)
    # The same names in other languages, language -> label -> name ({"ko": {"card_arrival":
    # "카드 배송"}}): a customer or member reading that language sees these.
    label_translations = models.JSONField(default=dict, blank=True)
    pii_redaction = models.BooleanField(
        default=False, help_text="Redact emails, phone and card numbers from customer text."
    )
    feedback_link_days = models.PositiveIntegerField(
        default=30, help_text="How long a feedback link sent to a customer stays valid."
    )
    prediction_retention_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        default=90,
        help_text="Predictions without feedback are deleted this many days after they were "
        "served (counts on the quality pages stay). Empty: keep them all.",
    )
    # Every hour before this may have lost predictions to retention: its rollup keeps the
    # prediction counts it had (lifecycle/retention.py sets it, dashboards' recount reads it).
    predictions_swept_before = models.DateTimeField(null=True, blank=True, editable=False)
    show_input_to_customer = models.BooleanField(
        default=True, help_text="Show the model's input on the customer's feedback page."
    )
    frame_ancestors = models.CharField(
        max_length=1000,
        blank=True,
        validators=[validate_frame_ancestors],
        help_text="Origins allowed to embed the feedback page, space-separated "
        "(e.g. https://shop.example.com). Empty: no framing.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug

    @property
    def has_label_set(self) -> bool:
        return bool(self.labels)

    def label_display(self, label: str, language: str | None = None) -> str:
        """The label's name in `language` (default: the active one), else its name, else the
        label with its underscores as spaces."""
        language = (language or translation.get_language() or "").split("-")[0]
        translated = self.label_translations.get(language) or {}
        return (
            translated.get(label)
            or self.label_names.get(label)
            or label.replace("_", " ").capitalize()
        )


class ModelVersion(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="model_versions")
    version = models.CharField(max_length=100)
    released_at = models.DateTimeField(default=timezone.now)
    # Metrics recorded at release on the offline test set: accuracy, macro_f1, per_class.
    offline_metrics = models.JSONField(default=dict, blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["project", "released_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "version"], name="model_version_unique")
        ]

    def __str__(self) -> str:
        return self.version


class Prediction(models.Model):
    # The log of everything the model answered: the highest-volume table. Its two foreign keys
    # have no database constraint because PostgreSQL checks them row by row at commit, which
    # measured 40 % of the ingest time; ingest resolves both ids in the same transaction, and
    # the ORM still cascades/protects on delete. The composite indexes below serve lookups.
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, db_index=False, db_constraint=False
    )
    # PROTECT: a version with logged traffic is history.
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, db_index=False, db_constraint=False
    )
    request_id = models.CharField(max_length=200)
    input_text = models.TextField(blank=True)
    input_data = models.JSONField(null=True, blank=True)
    predicted_label = models.CharField(max_length=200)
    scores = models.JSONField(null=True, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    latency_ms = models.FloatField(null=True, blank=True)
    served_at = models.DateTimeField()
    metadata = models.JSONField(default=dict, blank=True)
    customer_hash = models.CharField(max_length=64, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "request_id"], name="prediction_request_id")
        ]
        indexes = [
            models.Index(fields=["project", "served_at"], name="prediction_project_served"),
            models.Index(
                fields=["project", "model_version", "served_at"], name="prediction_project_version"
            ),
        ]

    def __str__(self) -> str:
        return self.request_id


class Feedback(models.Model):
    class Kind(models.TextChoices):
        COMPLAINT = "complaint", _("Complaint")
        CORRECTION = "correction", _("Correction")
        RATING = "rating", _("Rating")

    class TriageState(models.TextChoices):
        NEW = "new", _("new")
        CATEGORIZED = "categorized", _("in a category")
        NOT_AN_ERROR = "not_an_error", _("not a model error")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, db_index=False)
    # No database constraint: PostgreSQL would check every prediction the retention sweep
    # deletes, one by one, at commit (half the sweep's time). Integrity instead rests on the
    # one writer of this column, ingest, holding its predictions (FOR KEY SHARE) until its
    # commit, and on the sweep checking what it deleted before its own (lifecycle/retention.py;
    # tests/lifecycle/test_retention.py races the two). The ORM still cascades on delete.
    prediction = models.ForeignKey(
        Prediction,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="feedback",
        db_constraint=False,
    )
    # Copies of the linked prediction's answer and version (a logged prediction never
    # changes), set by ingest: the inbox and the metrics filter feedback by them without
    # joining the largest table. Empty/NULL when there is no linked prediction.
    predicted_label = models.CharField(max_length=200, blank=True)
    # DO_NOTHING: a copy, not a relation of its own; the prediction's PROTECT guards versions.
    model_version = models.ForeignKey(
        ModelVersion,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_index=False,
        db_constraint=False,
        related_name="+",
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    text = models.TextField(blank=True)
    corrected_label = models.CharField(max_length=200, blank=True)
    rating = models.SmallIntegerField(null=True, blank=True)
    source = models.CharField(max_length=30, default="api")
    # NULL, not "": the uniqueness of (project, external_id) applies only when one is given.
    external_id = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    customer_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    received_at = models.DateTimeField(default=timezone.now)
    triage_state = models.CharField(
        max_length=20, choices=TriageState.choices, default=TriageState.NEW
    )
    # Normalised text hash: the same customer repeating the same complaint is counted, not
    # stored again.
    dedup_key = models.CharField(max_length=64, blank=True)
    repeat_count = models.PositiveIntegerField(default=1)
    # A customer who changes their correction supersedes the earlier one; history is kept.
    superseded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "external_id"],
                condition=Q(external_id__isnull=False),
                name="feedback_external_id",
            ),
            models.CheckConstraint(
                condition=~Q(kind="correction")
                | (Q(prediction__isnull=False) & ~Q(corrected_label="")),
                name="feedback_correction_complete",
            ),
            models.CheckConstraint(
                condition=~Q(kind="rating") | (Q(prediction__isnull=False) & Q(rating__in=[-1, 1])),
                name="feedback_rating_complete",
            ),
            models.CheckConstraint(
                condition=~Q(kind="complaint") | ~Q(text=""), name="feedback_complaint_has_text"
            ),
        ]
        indexes = [
            models.Index(fields=["project", "created_at"], name="feedback_project_created"),
            models.Index(fields=["project", "kind", "created_at"], name="feedback_project_kind"),
            models.Index(fields=["project", "received_at"], name="feedback_project_received"),
            # Near-duplicate lookup at ingest: only complaints with a known customer have a key.
            models.Index(
                fields=["project", "dedup_key", "created_at"],
                condition=~Q(dedup_key=""),
                name="feedback_dedup",
            ),
            # The inbox's filters, newest first (benchmarks/inbox.py measures them). Free-text
            # search uses a trigram index created on PostgreSQL only (migration 0004).
            models.Index(
                fields=["project", "triage_state", "created_at"], name="feedback_project_state"
            ),
            models.Index(
                fields=["project", "source", "created_at"], name="feedback_project_source"
            ),
            models.Index(
                fields=["project", "model_version", "created_at"],
                condition=Q(model_version__isnull=False),
                name="feedback_project_version",
            ),
            models.Index(
                fields=["project", "predicted_label", "created_at"],
                condition=~Q(predicted_label=""),
                name="feedback_project_predicted",
            ),
            models.Index(
                fields=["project", "corrected_label", "created_at"],
                condition=~Q(corrected_label=""),
                name="feedback_project_corrected",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"


class FeedbackRepeat(models.Model):
    """One more occurrence of a complaint already stored: the same customer said the same
    thing again within the dedup window (see `dedup.py`). The complaint's `repeat_count` is
    1 + its repeats. Kept as rows so a retried item (same external_id) is recognised and not
    counted twice, and so the inbox can say when the repeats happened."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, db_index=False)
    feedback = models.ForeignKey(Feedback, on_delete=models.CASCADE, related_name="repeats")
    external_id = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    source = models.CharField(max_length=30)
    created_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "external_id"],
                condition=Q(external_id__isnull=False),
                name="feedback_repeat_external_id",
            )
        ]

    def __str__(self) -> str:
        return f"repeat of #{self.feedback_id}"


class Membership(models.Model):
    """A user's role in a project. Every team page and API call checks it."""

    class Role(models.TextChoices):
        VIEWER = "viewer", _("Viewer")
        REVIEWER = "reviewer", _("Reviewer")
        ADMIN = "admin", _("Admin")

    class Team(models.TextChoices):
        MODEL = "model", _("model team")
        DATA = "data", _("data team")

    RANK = {Role.VIEWER: 0, Role.REVIEWER: 1, Role.ADMIN: 2}

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.VIEWER)
    team = models.CharField(max_length=20, choices=Team.choices, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.project} ({self.role})"

    def has_role(self, role: str) -> bool:
        return self.RANK[self.role] >= self.RANK[role]


class ApiKey(models.Model):
    class Scope(models.TextChoices):
        INGEST = "ingest"
        READ = "read"
        EXPORT = "export"
        # Erasure of a customer's data (lifecycle): its own scope, since it destroys data.
        PRIVACY = "privacy"
        # Reviewers' labels of the review queue (triage).
        REVIEW = "review"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, blank=True)
    # Public part of the key, for lookup; the secret is stored only as a SHA-256 hash.
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["project", "-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.project.slug})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


def _import_upload_to(job: "ImportJob", filename: str) -> str:
    # Never the uploader's file name on disk: it is shown, not trusted.
    return f"imports/{job.project_id}/{uuid.uuid4().hex}.csv"


class ImportJob(BackgroundJob):
    """A CSV export of complaints from a ticket tool, imported in the background.

    Lifecycle: DRAFT (uploaded, header read, waiting for the column mapping), then the
    lifecycle of every job (core.jobs): QUEUED -> RUNNING -> SUCCEEDED | FAILED. The counters are committed together with each batch of
    rows, so a run that dies resumes after the last committed batch (`rows_read`).
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    TASK_NAME = "feedback.import_run"
    GAVE_UP = "Stopped after {attempts} attempts: the worker died while importing this file."

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="imports")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL)
    file = models.FileField(upload_to=_import_upload_to, max_length=300)
    file_name = models.CharField(max_length=255, help_text="The uploaded file's name, as given.")
    size_bytes = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    encoding = models.CharField(max_length=20, default="utf-8")
    delimiter = models.CharField(max_length=1, default=",")
    time_zone = models.CharField(max_length=64, default="UTC")
    header = models.JSONField(default=list, blank=True)
    # Item field -> CSV column: text, created_at, request_id, customer_ref, external_id.
    mapping = models.JSONField(default=dict, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)  # a draft is not queued yet
    rows_read = models.PositiveBigIntegerField(default=0)
    rows_accepted = models.PositiveBigIntegerField(default=0)
    rows_repeated = models.PositiveBigIntegerField(default=0)
    rows_duplicate = models.PositiveBigIntegerField(default=0)
    rows_rejected = models.PositiveBigIntegerField(default=0)
    bytes_read = models.PositiveBigIntegerField(default=0)
    report = models.FileField(max_length=300, blank=True)
    report_bytes = models.PositiveBigIntegerField(default=0)
    report_lines = models.PositiveBigIntegerField(default=0)
    # The first rejected rows, for the page: [{"line", "column", "message"}].
    problems_sample = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["project", "-created_at"], name="import_project_created"),
            models.Index(fields=["status", "heartbeat_at"], name="import_status_heartbeat"),
        ]

    def __str__(self) -> str:
        return f"import #{self.pk} ({self.file_name})"

    @property
    def progress(self) -> float:
        """Share of the file read, 0..1 (bytes: the number of rows is unknown until the end)."""
        if self.status == self.Status.SUCCEEDED:
            return 1.0
        return min(1.0, self.bytes_read / self.size_bytes) if self.size_bytes else 0.0
