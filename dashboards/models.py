"""Pre-aggregated online metrics (rollups) and the bookkeeping that keeps them current.

A rollup row holds everything the dashboards need about one project, model version and hour
of *serving time*: feedback counts under the hour its prediction was served in, so late
feedback updates that hour, not the hour it arrived. Rows are recomputed from the raw tables
hour by hour (`services/rollups.py`), never incremented: re-running an hour gives the same
numbers.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from feedback.models import ModelVersion, Project


class RollupCounts(models.Model):
    """The counts every rollup keeps, hourly or over a longer span (they merge by addition)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    # NULL: complaints not linked to any prediction, counted in the hour they were written.
    model_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    predictions = models.PositiveIntegerField(default=0)
    # Predictions with at least one current (not superseded) feedback item of any kind.
    feedback_predictions = models.PositiveIntegerField(default=0)
    # Predictions with a current correction (a prediction corrected twice counts once).
    corrections = models.PositiveIntegerField(default=0)
    complaints = models.PositiveIntegerField(default=0)
    ratings_up = models.PositiveIntegerField(default=0)
    ratings_down = models.PositiveIntegerField(default=0)
    # predicted label -> predictions.
    label_counts = models.JSONField(default=dict, blank=True)
    # predicted label -> corrected label -> corrected predictions.
    corrected_pairs = models.JSONField(default=dict, blank=True)
    # Predictions and corrected predictions per confidence bin (metrics.CONFIDENCE_BINS).
    confidence_predictions = models.JSONField(default=list, blank=True)
    confidence_corrections = models.JSONField(default=list, blank=True)
    # Log-bucket latency sketch, bucket -> count (metrics.latency_bucket); merges by addition.
    latency_sketch = models.JSONField(default=dict, blank=True)
    latency_count = models.PositiveIntegerField(default=0)
    latency_sum_ms = models.FloatField(default=0)
    # Most predictions served in one second of the span.
    peak_per_second = models.PositiveIntegerField(default=0)
    # Per metadata key (and pair of keys), per value: [predictions, corrections, complaints,
    # ratings up, ratings down] (services/rollup_segments.py says how values are bounded).
    segment_counts = models.JSONField(default=dict, blank=True)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True


class MetricRollup(RollupCounts):
    hour = models.DateTimeField(help_text="Start of the UTC hour the predictions were served in.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "model_version", "hour"],
                condition=Q(model_version__isnull=False),
                name="rollup_project_version_hour",
            ),
            models.UniqueConstraint(
                fields=["project", "hour"],
                condition=Q(model_version__isnull=True),
                name="rollup_project_unlinked_hour",
            ),
        ]
        indexes = [models.Index(fields=["project", "hour"], name="rollup_project_hour")]

    def __str__(self) -> str:
        return f"{self.project_id}/{self.model_version_id}/{self.hour:%Y-%m-%d %H}h"


class RollupSums(RollupCounts):
    """The fields of a rollup over a span longer than an hour: the hourly rollups of the span
    added up, with the hours that had traffic (average throughput is per active hour)."""

    active_hours = models.PositiveSmallIntegerField(default=0)

    class Meta:
        abstract = True


class MetricRollupDay(RollupSums):
    """The hourly rollups of one UTC day added up, so long periods read one row per version
    and day instead of 24. Rewritten from the day's hourly rows whenever one of them is
    recomputed, in the same transaction."""

    day = models.DateTimeField(help_text="Start of the UTC day the predictions were served in.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "model_version", "day"],
                condition=Q(model_version__isnull=False),
                name="rollup_day_project_version",
            ),
            models.UniqueConstraint(
                fields=["project", "day"],
                condition=Q(model_version__isnull=True),
                name="rollup_day_project_unlinked",
            ),
        ]
        indexes = [models.Index(fields=["project", "day"], name="rollup_day_project_day")]

    def __str__(self) -> str:
        return f"{self.project_id}/{self.model_version_id}/{self.day:%Y-%m-%d}"


class MetricRollupWeek(RollupSums):
    """The daily rollups of one week (Monday 00:00 UTC to the next) added up: a year per week
    reads 53 rows per version. Rewritten from the week's daily rows with them."""

    week = models.DateTimeField(help_text="Monday 00:00 UTC of the week.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "model_version", "week"],
                condition=Q(model_version__isnull=False),
                name="rollup_week_project_version",
            ),
            models.UniqueConstraint(
                fields=["project", "week"],
                condition=Q(model_version__isnull=True),
                name="rollup_week_project_unlinked",
            ),
        ]
        indexes = [models.Index(fields=["project", "week"], name="rollup_week_project_week")]

    def __str__(self) -> str:
        return f"{self.project_id}/{self.model_version_id}/{self.week:%Y-%m-%d}w"


class RollupDirtyHour(models.Model):
    """An hour of a project whose rollup must be recomputed: new predictions served in it,
    new or superseded feedback about them. Deleted by the recompute that saw every change
    marked before it started (`marked_at`)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    hour = models.DateTimeField()
    marked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "hour"], name="rollup_dirty_unique")
        ]

    def __str__(self) -> str:
        return f"{self.project_id}/{self.hour:%Y-%m-%d %H}h"


class RollupCursor(models.Model):
    """How far the rollup passes have looked into the raw tables (one row).

    Ids are sequence values, and a transaction can commit a smaller id after a larger one was
    seen; each pass therefore scans from the watermark of the pass *before* the last one, so
    every id range is looked at twice, one pass interval apart. `claimed_until` is the
    database claim that keeps two passes from running at once."""

    name = models.CharField(max_length=50, unique=True, default="default")
    prediction_id = models.BigIntegerField(default=0)
    prediction_id_before = models.BigIntegerField(default=0)
    feedback_id = models.BigIntegerField(default=0)
    feedback_id_before = models.BigIntegerField(default=0)
    passed_at = models.DateTimeField(null=True, blank=True)
    passed_at_before = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name


class DashboardSettings(models.Model):
    """Per-project targets the overview page measures against. A project without a row uses
    the defaults (`for_project` does not write one)."""

    DEFAULT_TARGET_CORRECTION_RATE = 0.05

    project = models.OneToOneField(
        Project, on_delete=models.CASCADE, related_name="dashboard_settings"
    )
    # The latency p95 the service promises; None: no SLA, nothing flagged.
    sla_latency_p95_ms = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0.1), MaxValueValidator(600_000)],
        help_text="Latency p95 the service promises, in milliseconds (empty: no SLA).",
    )
    # The threshold explorer suggests the lowest threshold whose automatic answers are
    # corrected at most this often.
    target_correction_rate = models.FloatField(
        default=DEFAULT_TARGET_CORRECTION_RATE,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Correction rate acceptable for automatic answers (0 to 1).",
    )
    # Webhook receivers inside the network are refused (SSRF) unless listed here: one IP
    # address, network (CIDR) or exact host name per line (dashboards/webhooks.py).
    webhook_allow_list = models.TextField(
        blank=True,
        default="",
        help_text="Internal webhook receivers to allow: one IP, network (10.0.0.0/8) or host "
        "name per line. Cloud metadata addresses are always refused.",
    )
    # Metadata keys the segment counts leave out (ids, free text): their values say nothing
    # about a population and would only crowd out the keys that do.
    segment_ignore_keys = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "dashboard settings"

    def __str__(self) -> str:
        return f"dashboard settings of {self.project_id}"

    @classmethod
    def for_project(cls, project: Project) -> "DashboardSettings":
        found = cls.objects.filter(project=project).first()
        return found or cls(project=project)


class AlertRule(models.Model):
    """A threshold on an online metric of a project, evaluated over the last `window_hours`
    complete hours of rollups (all model versions together) by a beat task."""

    class Metric(models.TextChoices):
        CORRECTION_RATE = "correction_rate", _("correction rate")
        COMPLAINT_RATE = "complaint_rate", _("complaint rate")
        TOP_LABEL_SHARE = "top_label_share", _("top predicted label's share")
        PSI = "psi", _("PSI of predicted labels (vs the 7 days before)")
        LATENCY_P95 = "latency_p95", _("latency p95 (ms)")

    class Comparator(models.TextChoices):
        GT = "gt", ">"
        GTE = "gte", "≥"
        LT = "lt", "<"
        LTE = "lte", "≤"

    # What a team member sets on the alerts page (form and rule_save alike); the rest is
    # the project, who created it and the evaluation's own state.
    EDITABLE_FIELDS = (
        "name",
        "metric",
        "comparator",
        "threshold",
        "window_hours",
        "min_volume",
        "segment_key",
        "segment_value",
        "email_to",
        "webhook_url",
        "enabled",
    )

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="alert_rules")
    name = models.CharField(max_length=100)
    metric = models.CharField(max_length=30, choices=Metric.choices)
    comparator = models.CharField(max_length=3, choices=Comparator.choices, default="gt")
    threshold = models.FloatField(validators=[MinValueValidator(0), MaxValueValidator(1e7)])
    window_hours = models.PositiveIntegerField(
        default=24, validators=[MinValueValidator(1), MaxValueValidator(24 * 31)]
    )
    # Fewer predictions than this in the window: too little to judge, nothing changes.
    min_volume = models.PositiveIntegerField(
        default=100, validators=[MinValueValidator(1), MaxValueValidator(10**9)]
    )
    # Limited to one slice of the traffic (metadata key = value, as the segment counts keep
    # them); blank: all the traffic. Only the correction and complaint rates have a slice.
    segment_key = models.CharField(max_length=100, blank=True, default="")
    segment_value = models.CharField(max_length=100, blank=True, default="")
    email_to = models.TextField(
        blank=True, default="", help_text="Addresses to notify, separated by commas."
    )
    webhook_url = models.URLField(max_length=500, blank=True, default="")
    enabled = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    SEGMENT_METRICS = ("correction_rate", "complaint_rate")

    def clean(self):
        if bool(self.segment_key) != bool(self.segment_value):
            field = "segment_value" if self.segment_key else "segment_key"
            raise ValidationError({field: _("Give both the key and the value of the slice.")})
        if self.segment_key and self.metric not in self.SEGMENT_METRICS:
            raise ValidationError(
                {"segment_key": _("Only the correction and complaint rates have a slice.")}
            )

    def describe(self) -> str:
        """The rule's condition as one sentence, in the active language."""
        if self.segment_key:
            return gettext(
                "%(metric)s of %(segment)s %(comparator)s %(threshold)s over %(hours)s h "
                "(min. %(volume)s predictions)"
            ) % {
                "metric": self.get_metric_display(),
                "segment": f"{self.segment_key} = {self.segment_value}",
                "comparator": self.get_comparator_display(),
                "threshold": f"{self.threshold:g}",
                "hours": self.window_hours,
                "volume": self.min_volume,
            }
        return gettext(
            "%(metric)s %(comparator)s %(threshold)s over %(hours)s h (min. %(volume)s predictions)"
        ) % {
            "metric": self.get_metric_display(),
            "comparator": self.get_comparator_display(),
            "threshold": f"{self.threshold:g}",
            "hours": self.window_hours,
            "volume": self.min_volume,
        }

    def breached(self, value: float) -> bool:
        return {
            "gt": value > self.threshold,
            "gte": value >= self.threshold,
            "lt": value < self.threshold,
            "lte": value <= self.threshold,
        }[self.comparator]

    @property
    def webhook_host(self) -> str:
        """The receiver's host only: webhook URLs often carry a secret token (shown to
        admins only)."""
        from urllib.parse import urlsplit

        try:
            return urlsplit(self.webhook_url).hostname or ""
        except ValueError:
            return ""

    @property
    def emails(self) -> list[str]:
        return [a.strip() for a in self.email_to.replace(";", ",").split(",") if a.strip()]


class AlertEvent(models.Model):
    """One firing of a rule: opened when the metric crosses the threshold, resolved when it
    is back. At most one open event per rule (a constraint), so a rule never fires again
    while it is open."""

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        RESOLVED = "resolved", _("resolved")

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="events")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    opened_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    # The metric and the volume of the window that opened the event, then of the last check.
    value = models.FloatField()
    predictions = models.PositiveIntegerField(default=0)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    last_value = models.FloatField(null=True, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    # Notification attempts: [{"transition", "channel", "ok", "refused", "detail", "at"}].
    deliveries = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule"], condition=Q(status="open"), name="alert_one_open_event_per_rule"
            )
        ]
        indexes = [models.Index(fields=["project", "-opened_at"], name="alert_event_project")]

    def __str__(self) -> str:
        return f"{self.rule_id} {self.status} {self.opened_at:%Y-%m-%d %H:%M}"
