"""Celery entry points of the triage app: thin wrappers around services."""

from celery import shared_task

from .services import clustering, followup, review_queue

# Clustering is CPU-heavy and may embed thousands of new items: its own, longer limits
# (CELERY_BROKER_TRANSPORT_OPTIONS' visibility timeout stays above them).
CLUSTERING_SOFT_LIMIT = 1500
CLUSTERING_HARD_LIMIT = 1800


@shared_task(name="triage.feedback_process")
def feedback_process(feedback_ids: list[int]) -> None:
    """Embed new feedback and place it; idempotent, so redelivery is harmless."""
    followup.feedback_process(feedback_ids=feedback_ids)


@shared_task(name="triage.followup_sweep")
def followup_sweep() -> None:
    """Find feedback whose follow-up was never done (lost message, broker down) and redo it."""
    followup.followup_sweep()


@shared_task(
    bind=True,
    name="triage.clustering_run",
    soft_time_limit=CLUSTERING_SOFT_LIMIT,
    time_limit=CLUSTERING_HARD_LIMIT,
)
def clustering_run(self, run_id: int) -> None:
    """Claim and execute a clustering run; a second delivery of the run is skipped."""
    clustering.clustering_run_execute(run_id=run_id, task_id=self.request.id or "")


@shared_task(name="triage.clustering_schedule")
def clustering_schedule() -> None:
    """The weekly re-clustering of every project (beat)."""
    clustering.clustering_runs_schedule()


@shared_task(name="triage.clustering_sweep")
def clustering_sweep() -> None:
    """Requeue or fail runs whose worker died; republish runs whose message was lost."""
    clustering.clustering_runs_sweep()


@shared_task(name="triage.verification")
def verification(project_id: int | None = None) -> None:
    """Rates per model version and regression checks, for one project or all (beat)."""
    from .services.verification import verification_refresh_projects

    verification_refresh_projects(project_id=project_id)


@shared_task(name="triage.notify_mentions")
def notify_mentions(comment_id: int, user_ids: list[int]) -> None:
    """Email the members mentioned in a comment."""
    from .notifications import mentions_notify

    mentions_notify(comment_id=comment_id, user_ids=user_ids)


@shared_task(name="triage.weekly_digest")
def weekly_digest() -> None:
    """The weekly review agenda by email to each project's members (beat, Monday morning)."""
    from .notifications import digests_send

    digests_send()


# An export of a million rows takes about a minute; the limits leave room for slow disks.
EXPORT_SOFT_LIMIT = 1500
EXPORT_HARD_LIMIT = 1800


@shared_task(
    bind=True,
    name="triage.export_build",
    soft_time_limit=EXPORT_SOFT_LIMIT,
    time_limit=EXPORT_HARD_LIMIT,
)
def export_build(self, export_id: int) -> None:
    """Claim and build a dataset export; a second delivery of the export is skipped."""
    from .services.export_build import export_build as build

    build(export_id=export_id, task_id=self.request.id or "")


@shared_task(name="triage.export_sweep")
def export_sweep() -> None:
    """Requeue exports whose worker died; republish exports whose message was lost."""
    from .services.export_build import exports_sweep

    exports_sweep()


# A million rows take about ten seconds; the limits leave room for files of many millions
# and stay under the broker's visibility timeout (CELERY_LONGEST_TASK_SECONDS).
REFERENCE_SOFT_LIMIT = 1500
REFERENCE_HARD_LIMIT = 1800


@shared_task(
    bind=True,
    name="triage.reference_read",
    soft_time_limit=REFERENCE_SOFT_LIMIT,
    time_limit=REFERENCE_HARD_LIMIT,
)
def reference_read(self, reference_id: int) -> None:
    """Claim and read an uploaded reference dataset into keys; a second delivery is skipped."""
    from .services.reference_read import reference_read as read

    read(reference_id=reference_id, task_id=self.request.id or "")


@shared_task(name="triage.reference_sweep")
def reference_sweep() -> None:
    """Requeue reference reads whose worker died; republish those whose message was lost."""
    from .services.reference_read import references_sweep

    references_sweep()


@shared_task(name="triage.review_queue_refresh")
def review_queue_refresh(project_id: int) -> None:
    """Re-rank one project's review queue (after a clustering run, and hourly for new
    traffic); idempotent."""
    review_queue.review_queue_refresh_project(project_id=project_id)


@shared_task(name="triage.review_queue_schedule")
def review_queue_schedule() -> None:
    """The hourly refresh: one task per project that has live categories (beat)."""
    review_queue.review_queue_refresh_all()


# The check costs about what an export's check costs (BENCHMARKS.md, likely-wrong
# corrections): seconds on the demo, a few minutes on a million corrections.
CORRECTION_FLAGS_SOFT_LIMIT = 1500
CORRECTION_FLAGS_HARD_LIMIT = 1800


@shared_task(
    name="triage.correction_flags_refresh",
    soft_time_limit=CORRECTION_FLAGS_SOFT_LIMIT,
    time_limit=CORRECTION_FLAGS_HARD_LIMIT,
)
def correction_flags_refresh(project_id: int) -> None:
    """Flag one project's likely-wrong corrections (after each clustering run); idempotent."""
    from .services.correction_flags import correction_flags_refresh_project

    correction_flags_refresh_project(project_id=project_id)


# A pass embeds for at most input_vectors.TIME_BUDGET (20 s) after reading up to 200,000
# predictions; the limits leave room for a slow database.
INPUT_VECTORS_SOFT_LIMIT = 90
INPUT_VECTORS_HARD_LIMIT = 120


@shared_task(
    name="triage.input_vectors_fill",
    soft_time_limit=INPUT_VECTORS_SOFT_LIMIT,
    time_limit=INPUT_VECTORS_HARD_LIMIT,
)
def input_vectors_fill(project_id: int) -> None:
    """Embed the distinct inputs of one project's new predictions, within a time budget (a
    sample, counted, when there is no time for all); idempotent, a concurrent pass is
    skipped."""
    from .services.input_vectors import input_vectors_fill_project

    input_vectors_fill_project(project_id=project_id)


@shared_task(name="triage.input_vectors_schedule")
def input_vectors_schedule() -> None:
    """Every minute: a pass for each project whose review queue ranks on sentence embeddings
    (beat)."""
    review_queue.review_queue_vectors_schedule()
