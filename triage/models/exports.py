"""Dataset exports of mislabeled samples: immutable, numbered snapshots for retraining."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.jobs import BackgroundJob
from feedback.models import ApiKey, Project


class DatasetExport(BackgroundJob):
    """One export of a project's resolved corrections, numbered v1, v2, ... per project.

    Lifecycle (core.jobs): QUEUED -> RUNNING -> SUCCEEDED | FAILED. What goes in is fixed when the export
    is requested: its filters, policy and `as_of` (feedback received later never enters it),
    so a rebuild after a lost worker writes the same rows. Once SUCCEEDED nothing changes it:
    the services only ever update QUEUED or RUNNING rows, and the file is written read-only.
    """

    TASK_NAME = "triage.export_build"
    GAVE_UP = "Stopped after {attempts} attempts: the worker died while building this export."

    class Format(models.TextChoices):
        CSV = "csv", _("CSV")
        JSONL = "jsonl", _("JSON Lines")
        PARQUET = "parquet", _("Parquet")

    class Resolution(models.TextChoices):
        LATEST = "latest", _("latest correction")
        MAJORITY = "majority", _("majority of corrections")
        UNANIMOUS = "unanimous", _("unanimous corrections only")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="exports")
    number = models.PositiveIntegerField()
    format = models.CharField(max_length=10, choices=Format.choices)
    resolution = models.CharField(
        max_length=20, choices=Resolution.choices, default=Resolution.LATEST
    )
    # Normalised filters: categories, improvement_points, model_versions, labels, since,
    # until, reviewed_only (see triage/exports/query.py).
    filters = models.JSONField(default=dict, blank=True)
    # {"validation": 0.2, "seed": 0} or {} for no split; plus further options (flagged).
    split = models.JSONField(default=dict, blank=True)
    options = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    api_key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The snapshot's cut-off: feedback received after it is not part of this export.
    as_of = models.DateTimeField(default=timezone.now)
    # Progress: corrections read of the (estimated) total.
    items_total = models.PositiveBigIntegerField(default=0)
    items_done = models.PositiveBigIntegerField(default=0)
    row_count = models.PositiveBigIntegerField(null=True, blank=True)
    file = models.FileField(max_length=300, blank=True)
    size_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    manifest = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="export_number_unique")
        ]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="export_status_heartbeat")]

    def __str__(self) -> str:
        return f"{self.project.slug} {self.label}"

    @property
    def label(self) -> str:
        return f"v{self.number}"

    @property
    def progress(self) -> float:
        if self.status == self.Status.SUCCEEDED:
            return 1.0
        return min(1.0, self.items_done / self.items_total) if self.items_total else 0.0

    @property
    def file_name(self) -> str:
        """What the download is called: project, version and format; never from a request."""
        return f"{self.project.slug}-export-{self.label}.{self.format}"


def _reference_upload_to(dataset: "ReferenceDataset", filename: str) -> str:
    # Never the uploader's file name on disk: it is shown, not trusted.
    return f"references/{dataset.project_id}/upload-{uuid.uuid4().hex}"


class ReferenceDataset(BackgroundJob):
    """A file the team uploaded as their current training set, kept as the sorted 64-bit
    keys of its inputs (triage/exports/reference.py): an export can then mark or leave out
    the rows they already train on, so re-exported samples are not counted as new.

    Lifecycle (core.jobs): the upload is stored and the dataset QUEUED; a worker reads the
    file (RUNNING, with progress) into keys and it is SUCCEEDED ("ready": only then can an
    export use it) or FAILED with the reason. A read that dies starts again from the top
    (it is seconds per million rows). The uploaded file is deleted once read: only the keys
    are kept."""

    TASK_NAME = "triage.reference_read"
    GAVE_UP = "Stopped after {attempts} attempts: the worker died while reading this file."

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="references")
    name = models.CharField(max_length=200)
    text_column = models.CharField(max_length=200)
    format = models.CharField(max_length=10)
    sha256 = models.CharField(max_length=64, blank=True)  # of the uploaded file
    size_bytes = models.PositiveBigIntegerField()
    # The uploaded file while it waits to be read (emptied once read).
    upload = models.FileField(upload_to=_reference_upload_to, max_length=300, blank=True)
    # Progress and outcome; rows and skipped grow while the file is read.
    bytes_read = models.PositiveBigIntegerField(default=0)
    rows = models.PositiveBigIntegerField(default=0)  # data rows read
    skipped = models.PositiveBigIntegerField(default=0)  # ... without a usable text
    key_count = models.PositiveBigIntegerField(default=0)  # distinct inputs (near-dups as one)
    problems = models.JSONField(default=list, blank=True)  # the first few skipped rows, why
    keys = models.FileField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "heartbeat_at"], name="reference_status_heartbeat")
        ]

    def __str__(self) -> str:
        return f"{self.project.slug} reference {self.name}"

    @property
    def is_ready(self) -> bool:
        """Read into keys: the only state in which an export may use it."""
        return self.status == self.Status.SUCCEEDED

    @property
    def status_label(self) -> str:
        return "ready" if self.is_ready else self.status

    @property
    def progress(self) -> float:
        """Share of the file read, 0..1."""
        if self.is_ready:
            return 1.0
        return min(1.0, self.bytes_read / self.size_bytes) if self.size_bytes else 0.0
