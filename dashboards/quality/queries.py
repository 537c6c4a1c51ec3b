"""The overview's reads: the rollups of the period (daily rows for whole days, hourly ones for
the ends, `selectors.rollup_rows`), of the reference windows, the unlinked complaints, and the
project's error categories that name the confused pairs."""

from datetime import datetime, timedelta

from django.db.models import Min, OuterRef, Subquery

from feedback.models import Feedback, Project
from triage.models import ErrorCategory, ReviewerLabel

from ..models import MetricRollup, MetricRollupDay
from ..rollup_fields import ROLLUP_FIELDS
from ..selectors import rollup_rows
from .reviewers import VerdictRow

# Every figure but the latency count and sum (the page's latencies come from the sketch) and
# the segment counts (the segments section reads them on its own).
ROW_FIELDS = [
    "model_version_id",
    "hour",
    *(
        name
        for name in ROLLUP_FIELDS
        if name not in ("latency_count", "latency_sum_ms", "segment_counts")
    ),
]
# What the per-version totals need beyond the per-bucket rows. A long period per day reads
# them from a second, coarser read (weekly rows for its whole weeks): corrected pairs and
# latency sketches are most of the rollups' bytes, and ~53 rows of them are cheaper to fetch
# and decode than ~365.
DETAIL_FIELDS = [
    "model_version_id",
    "corrected_pairs",
    "confidence_corrections",
    "latency_sketch",
    "peak_per_second",
]
BUCKET_FIELDS = [f for f in ROW_FIELDS if f not in DETAIL_FIELDS or f == "model_version_id"]
COARSE_DETAILS_AFTER = timedelta(days=35)
# Drift and collapse compare with a reference's label counts and confidences only.
REFERENCE_FIELDS = ["model_version_id", "predictions", "label_counts", "confidence_predictions"]


def data_end(project: Project) -> datetime | None:
    """End of the last hour with rollups: the default end of the period."""
    last = MetricRollup.objects.filter(project=project).order_by("-hour").first()
    return last.hour + timedelta(hours=1) if last else None


def period_rows(
    *, project: Project, version_ids: list[int], since: datetime, until: datetime, weeks: bool
) -> tuple[list[dict], list[dict] | None]:
    """The period's rollup rows (weekly rows for whole weeks when `weeks`), and for a long
    period per day its per-version details from a coarser read (DETAIL_FIELDS); None when the
    rows carry the details themselves."""
    coarse = not weeks and until - since > COARSE_DETAILS_AFTER
    period = {"project": project, "version_ids": version_ids, "since": since, "until": until}
    rows = rollup_rows(**period, fields=BUCKET_FIELDS if coarse else ROW_FIELDS, weeks=weeks)
    details = rollup_rows(**period, fields=DETAIL_FIELDS, weeks=True) if coarse else None
    return rows, details


def reference_rows(
    *,
    project: Project,
    since: datetime,
    until: datetime,
    version_ids: list[int] | None = None,
) -> list[dict]:
    """The label counts and confidences of [since, until), of every version unless given."""
    return rollup_rows(
        project=project,
        fields=REFERENCE_FIELDS,
        version_ids=version_ids,
        since=since,
        until=until,
    )


def first_traffic_days(project: Project) -> dict[int, datetime]:
    """Each version's first day of traffic (from the daily rows: a few hundred for a year)."""
    return dict(
        MetricRollupDay.objects.filter(project=project, model_version__isnull=False)
        .values("model_version_id")
        .annotate(first=Min("day"))
        .values_list("model_version_id", "first")
    )


def unlinked_complaints(*, project: Project, since: datetime, until: datetime) -> int:
    """Complaints of the period not linked to any prediction (so to no version)."""
    rows = rollup_rows(
        project=project, fields=["complaints"], since=since, until=until, unlinked_only=True
    )
    return sum(row["complaints"] for row in rows)


def pair_categories(project: Project) -> dict[tuple[str, str], dict]:
    """(predicted, corrected) -> the error category (id, title; not merged, not the unsorted
    one) that counts the pair most often among its top confusions."""
    best: dict[tuple[str, str], tuple[int, dict]] = {}
    for category in ErrorCategory.objects.filter(
        project=project, merged_into__isnull=True, is_unsorted=False
    ).values("id", "title", "top_confusions"):
        for confusion in category["top_confusions"] or []:
            try:
                key = (confusion["predicted"], confusion["corrected"])
                count = int(confusion.get("count", 0))
            except (KeyError, TypeError, ValueError):
                continue
            if key not in best or count > best[key][0]:
                best[key] = (count, {"id": category["id"], "title": category["title"]})
    return {key: value for key, (_, value) in best.items()}


def reviewer_verdicts(
    *, project: Project, version_ids: list[int], since: datetime, until: datetime
) -> list[VerdictRow]:
    """The latest verdict with a label of each prediction served in the period (a skip says
    nothing), with the customer's latest correction of it ("" when none)."""
    customer = (
        Feedback.objects.filter(
            prediction_id=OuterRef("prediction_id"), kind="correction", superseded_at__isnull=True
        )
        .order_by("-created_at", "-id")
        .values("corrected_label")[:1]
    )
    rows = (
        ReviewerLabel.objects.filter(
            project=project,
            prediction__served_at__gte=since,
            prediction__served_at__lt=until,
            prediction__model_version_id__in=version_ids,
        )
        .exclude(label="")
        .annotate(customer=Subquery(customer))
        .order_by("prediction_id", "created_at", "id")
        .values_list(
            "prediction_id",
            "prediction__model_version_id",
            "prediction__predicted_label",
            "label",
            "customer",
        )
    )
    latest = {
        prediction_id: VerdictRow(version_id, predicted, label, customer or "")
        for prediction_id, version_id, predicted, label, customer in rows
    }
    return list(latest.values())
