"""Clustering runs: requested, claimed, computed, written in one transaction, swept.

Guarantees:
- at most one queued or running run per project (a partial unique index is the lock);
- a run is claimed atomically before work (core.jobs); only the Celery message that claimed
  it may work on it, and a run is taken back only once its heartbeat went stale;
- results (categories, snapshots, lineage, assignments, the run's status) are written in one
  transaction at the end, so a worker killed mid-run leaves nothing half-written;
- a run whose heartbeat stopped is requeued by the sweeper, or failed after its attempts.
"""

import logging
import time
from datetime import datetime, timedelta
from functools import partial

import numpy as np
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.jobs import (
    Claim,
    JobHeartbeat,
    JobLost,
    SweepCounts,
    job_claim,
    job_fail,
    jobs_sweep,
)
from core.publish import publish
from feedback.models import Project

from .. import selectors
from ..clustering import ClusteringOutcome, EngineConfig, ExistingCategory, cluster_feedback
from ..clustering.representations import LsaRepresentation
from ..clustering.text import find_boilerplate, item_text
from ..models import (
    ClusteringRun,
    ErrorCategory,
)
from .clustering_results import clustering_results_write
from .correction_flags import REFRESH_TASK as CORRECTION_FLAGS_TASK
from .review_queue import REFRESH_TASK as REVIEW_QUEUE_TASK
from .vectors import clustering_settings, embedded_vectors, embedding_model, representation_for

logger = logging.getLogger(__name__)

ALREADY_RUNNING = "A clustering run is already queued or running for this project."


# --- requesting ------------------------------------------------------------------------------


def clustering_run_request(
    *,
    project: Project,
    requested_by=None,
    trigger: str = "manual",
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[ClusteringRun, bool]:
    """Queue a run, or return the project's queued/running one. Returns (run, created)."""
    try:
        with transaction.atomic():
            run = ClusteringRun.objects.create(
                project=project,
                requested_by=requested_by,
                trigger=trigger,
                since=since,
                until=until,
            )
    except IntegrityError:
        existing = selectors.active_run(project=project)
        if existing is None:  # finished between our insert and this read: try once more
            return clustering_run_request(
                project=project,
                requested_by=requested_by,
                trigger=trigger,
                since=since,
                until=until,
            )
        return existing, False
    transaction.on_commit(partial(publish, ClusteringRun.TASK_NAME, run.id))
    return run, True


def clustering_runs_schedule() -> int:
    """Queue the weekly run of every project that wants one. Returns how many were queued."""
    queued = 0
    for project in Project.objects.all():
        if clustering_settings(project).weekly:
            queued += clustering_run_request(project=project, trigger="schedule")[1]
    return queued


# --- executing -------------------------------------------------------------------------------


def clustering_run_execute(*, run_id: int, task_id: str) -> str:
    """Work on a queued run if this message may claim it (core.jobs). Returns the run's final
    status, "busy" when a live worker has it, or "skipped" when there is nothing to do."""
    claim = job_claim(ClusteringRun, run_id, task_id)
    if claim is not Claim.TAKEN:
        return "busy" if claim is Claim.BUSY else "skipped"
    run = ClusteringRun.objects.select_related("project").get(id=run_id)
    try:
        with JobHeartbeat(run):
            outcome, context = _compute(run)
            clustering_results_write(run, outcome, context)
    except JobLost:
        logger.info("clustering run %s was taken over; this attempt stops", run_id)
        return "skipped"
    except Exception as exc:
        logger.exception("clustering run %s failed", run_id)
        job_fail(run, f"{type(exc).__name__}: {exc}")
        return ClusteringRun.Status.FAILED
    # The categories changed: re-rank the review queue (its own job on the heavy queue).
    publish(REVIEW_QUEUE_TASK, run.project_id)
    # New corrections came in since the last run: check them for likely-wrong ones (its own
    # job on the heavy queue, like an export's check).
    publish(CORRECTION_FLAGS_TASK, run.project_id)
    return ClusteringRun.Status.SUCCEEDED


def _compute(run: ClusteringRun) -> tuple[ClusteringOutcome, dict]:
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 3)
        clock = now

    project = run.project
    preferences = clustering_settings(project)
    until = run.until or timezone.now()
    since = run.since or until - timedelta(days=preferences.window_days)
    raw = selectors.clustering_items(project=project, since=since, until=until)
    previous = selectors.previous_assignments(
        feedback_ids=[item.id for item in raw], project=project
    )
    lap("load")

    boilerplate = find_boilerplate(
        [item.own_text for item in raw if item.own_text],
        selectors.reference_inputs(project=project),
    )
    texts_of: dict[tuple[str, str], str] = {}  # many items repeat the same words
    texts = []
    for item in raw:
        key = (item.own_text, item.input_text)
        if key not in texts_of:
            texts_of[key] = item_text(
                own_text=item.own_text, input_text=item.input_text, boilerplate=boilerplate
            )
        texts.append(texts_of[key])
    representation = representation_for(project)
    state: dict[str, np.ndarray] = {}
    n_embedded = 0
    if representation == "embeddings":
        text_vectors, n_embedded = embedded_vectors(
            ids=[item.id for item in raw], texts=texts, project_id=project.id
        )
        state["embedding_model"] = np.array([embedding_model()])
    else:
        lsa = LsaRepresentation(seed=0).fit(texts) if texts else None
        text_vectors = lsa.transform(texts) if lsa else np.zeros((0, 1), np.float32)
        if lsa:
            state.update(lsa.state())
    lap("represent")

    categories = list(
        ErrorCategory.objects.filter(project=project, is_unsorted=False).values_list(
            "id", "merged_into_id", "human_merged"
        )
    )
    merged_into = {category_id: target for category_id, target, _ in categories}
    existing = {
        category_id: ExistingCategory(id=category_id, absorbs=absorbs)
        for category_id, target, absorbs in categories
        if target is None
    }
    previous_category = {}
    for item_id, (category_id, pinned) in previous.items():
        if category_id is not None:
            resolved = selectors.category_resolve(category_id, merged_into)
            if resolved in existing:
                previous_category[item_id] = resolved
                # Pinned items never move, so they take no part in identity decisions.
                if not pinned:
                    existing[resolved].members.add(item_id)
    config = EngineConfig(
        representation=representation,
        granularity=preferences.granularity,
        seed=0,
        labels=project.labels,
        display=partial(project.label_display, language="en"),
        display_in={"ko": partial(project.label_display, language="ko")},
    )
    items = [
        item.to_item(text, previous_category.get(item.id))
        for item, text in zip(raw, texts, strict=True)
    ]
    outcome = cluster_feedback(items, text_vectors, config=config, existing=list(existing.values()))
    lap("cluster")
    state.update(
        {
            "representation": np.array([representation]),
            "boilerplate": np.array(boilerplate, dtype=str),
            "labels": np.array(outcome.labels, dtype=str),
            "previous_space": np.array(outcome.previous_space, dtype=np.int64),
        }
    )
    context = {
        "since": since,
        "until": until,
        "previous": previous,
        "representation": representation,
        "state": state,
        "timings": timings,
        "n_embedded": n_embedded,
        "boilerplate": boilerplate,
        "clock": clock,
    }
    return outcome, context


# --- sweeping --------------------------------------------------------------------------------


def clustering_runs_sweep() -> SweepCounts:
    """Requeue runs whose worker died, fail those that used up their attempts, republish runs
    whose message was lost (core.jobs)."""
    return jobs_sweep(ClusteringRun)
