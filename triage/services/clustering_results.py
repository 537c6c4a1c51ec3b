"""Writing a clustering run's results: categories continued or created, snapshots, lineage,
each item's place, all in one transaction that first checks the run is still this worker's
(so a worker killed mid-run leaves nothing half-written)."""

import logging
import time
from collections import Counter, defaultdict
from functools import partial

import numpy as np
from django.db import transaction
from django.utils import timezone

from core.bulk import upsert
from core.jobs import (
    JobLost,
    job_finish,
)
from core.publish import publish
from feedback.models import Feedback, Project

from ..clustering import ClusteringOutcome, EngineConfig
from ..clustering.representations import pack_arrays
from ..models import (
    CategoryLineage,
    CategorySnapshot,
    ClusteringRun,
    ErrorCategory,
    ItemAssignment,
)
from .categories import categories_recount

logger = logging.getLogger(__name__)

WRITE_BATCH = 5000
UNSORTED_TITLE = "Fits nowhere (unsorted)"
# The bucket's title is written in the language of the items, like the automatic titles.
UNSORTED_TITLES = {"en": UNSORTED_TITLE, "ko": "어디에도 맞지 않음 (미분류)"}


def _unsorted_bucket(project: Project, language: str) -> ErrorCategory:
    title = UNSORTED_TITLES.get(language, UNSORTED_TITLE)
    bucket, _ = ErrorCategory.objects.get_or_create(
        project=project,
        is_unsorted=True,
        defaults={"title": title, "auto_title": title, "title_locked": True},
    )
    if bucket.title != title and bucket.title in UNSORTED_TITLES.values():  # not renamed
        bucket.title = bucket.auto_title = title
        bucket.save(update_fields=["title", "auto_title"])
    return bucket


def clustering_results_write(run: ClusteringRun, outcome: ClusteringOutcome, context: dict) -> None:
    project = run.project
    previous = context["previous"]
    n_items = sum(len(c.item_ids) for c in outcome.clusters) + len(outcome.noise_ids)
    now = timezone.now()
    with transaction.atomic():
        # Still ours? (The sweeper may have given the run to another attempt meanwhile.)
        locked = (
            ClusteringRun.objects.select_for_update()
            .filter(id=run.id, status=ClusteringRun.Status.RUNNING, task_id=run.task_id)
            .exists()
        )
        if not locked:
            raise JobLost()
        # Clusters continuing the same category (a human-merged one absorbs several) share it.
        by_category: dict[int | None, list] = defaultdict(list)
        new_clusters = []
        for cluster in outcome.clusters:
            if cluster.category_id is None:
                new_clusters.append(cluster)
            else:
                by_category[cluster.category_id].append(cluster)
        known = {c.id: c for c in ErrorCategory.objects.filter(id__in=list(by_category))}
        category_of_cluster: dict[int, ErrorCategory] = {}
        for category_id, clusters in by_category.items():
            for cluster in clusters:
                category_of_cluster[cluster.index] = known[category_id]
        for cluster in new_clusters:
            category_of_cluster[cluster.index] = ErrorCategory.objects.create(
                project=project,
                title=cluster.auto_title[:200],
                auto_title=cluster.auto_title[:200],
                created_run=run,
                state=ErrorCategory.State.NEW,
            )
        bucket = _unsorted_bucket(project, outcome.language)

        # Final place of every item: people's pins first, then this run's clusters.
        final: dict[int, int] = {}
        similarity: dict[int, float] = {}
        for cluster in outcome.clusters:
            for item_id in cluster.item_ids:
                final[item_id] = category_of_cluster[cluster.index].id
                similarity[item_id] = outcome.similarity.get(item_id, 0.0)
        for item_id in outcome.noise_ids:
            final[item_id] = bucket.id
            similarity[item_id] = 0.0
        pinned = {
            item_id: category_id
            for item_id, (category_id, is_pinned) in previous.items()
            if is_pinned and category_id is not None
        }
        final.update(pinned)

        sizes = Counter(final.values())
        _update_categories(run, outcome, category_of_cluster, bucket, now)
        _write_snapshots(run, project, sizes, n_items, category_of_cluster, outcome)
        _write_lineage(run, project, outcome, category_of_cluster)
        _write_assignments(run, final, similarity, pinned, bucket.id, now)
        categories_recount(project=project)

        context["timings"]["write"] = round(time.perf_counter() - context["clock"], 3)
        ClusteringRun.objects.filter(project=project).exclude(id=run.id).update(model_state=None)
        # Categories changed: their rates per model version (and regressions) follow.
        transaction.on_commit(partial(publish, "triage.verification", project.id))
        job_finish(
            run,
            ClusteringRun.Status.SUCCEEDED,
            since=context["since"],
            until=context["until"],
            representation=context["representation"],
            params={
                "boilerplate": context["boilerplate"][:50],
                "threshold": EngineConfig(representation=context["representation"]).threshold,
            },
            n_items=n_items,
            n_categories=len({c.id for c in category_of_cluster.values()}),
            n_noise=len(outcome.noise_ids),
            n_embedded=context["n_embedded"],
            timings=context["timings"],
            model_state=pack_arrays(context["state"]),
            error="",
        )


def _merge_cluster_facts(clusters) -> dict:
    """One category's facts from the clusters it continues (usually one)."""
    biggest = max(clusters, key=lambda c: c.size)
    confusions: Counter = Counter()
    labels = {"predicted": Counter(), "corrected": Counter()}
    for cluster in clusters:
        for pair in cluster.top_confusions:
            confusions[(pair["predicted"], pair["corrected"])] += pair["count"]
        for side in ("predicted", "corrected"):
            labels[side].update(cluster.labels[side])
    seen = [c.first_seen for c in clusters if c.first_seen]
    last = [c.last_seen for c in clusters if c.last_seen]
    centroid = np.mean([c.centroid * c.size for c in clusters], axis=0)
    return {
        "auto_title": biggest.auto_title,
        "keywords": biggest.keywords,
        "representative_ids": biggest.representative_ids,
        "top_confusions": [
            {"predicted": p, "corrected": c, "count": n}
            for (p, c), n in sorted(confusions.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
        ],
        "labels": {side: dict(counter.most_common()) for side, counter in labels.items()},
        "first_seen": min(seen) if seen else None,
        "last_seen": max(last) if last else None,
        "centroid": (centroid / (np.linalg.norm(centroid) or 1)).astype(np.float32),
    }


def _update_categories(run, outcome, category_of_cluster, bucket, now):
    clusters_of: dict[int, list] = defaultdict(list)
    for cluster in outcome.clusters:
        clusters_of[category_of_cluster[cluster.index].id].append(cluster)
    categories = {c.id: c for c in category_of_cluster.values()}
    for category_id, clusters in clusters_of.items():
        category = categories[category_id]
        facts = _merge_cluster_facts(clusters)
        category.auto_title = facts["auto_title"][:200]
        if not category.title_locked:
            category.title = category.auto_title
        category.keywords = facts["keywords"]
        category.representative_ids = facts["representative_ids"]
        category.top_confusions = facts["top_confusions"]
        category.labels = facts["labels"]
        if facts["first_seen"] and (
            category.first_seen is None or facts["first_seen"] < category.first_seen
        ):
            category.first_seen = facts["first_seen"]
        if facts["last_seen"] and (
            category.last_seen is None or facts["last_seen"] > category.last_seen
        ):
            category.last_seen = facts["last_seen"]
        category.centroid = facts["centroid"].tobytes()
        category.centroid_run = run
        category.updated_at = now
        category.save()
    # Categories this run did not see keep their state and history.
    bucket.representative_ids = outcome.noise_ids[:5]
    bucket.save(update_fields=["representative_ids"])


TREND_POINTS = 12


def _write_snapshots(run, project, sizes, n_items, category_of_cluster, outcome):
    """One snapshot per live category, and its trend line and growth on the category row."""
    confusions = {}
    for cluster in outcome.clusters:
        confusions.setdefault(category_of_cluster[cluster.index].id, cluster.top_confusions)
    categories = list(ErrorCategory.objects.filter(project=project, merged_into__isnull=True))
    for category in categories:
        size = sizes.get(category.id, 0)
        # Growth since the previous run; a category's first run has nothing to grow from.
        previous = category.trend[-1] if category.trend else None
        category.growth = (size - previous) / max(previous, 1) if previous is not None else 0
        category.trend = [*category.trend, size][-TREND_POINTS:]
    ErrorCategory.objects.bulk_update(categories, ["trend", "growth"], batch_size=500)
    category_ids = [category.id for category in categories]
    CategorySnapshot.objects.bulk_create(
        [
            CategorySnapshot(
                run=run,
                category_id=category_id,
                size=sizes.get(category_id, 0),
                share=sizes.get(category_id, 0) / n_items if n_items else 0,
                top_confusions=confusions.get(category_id, []),
            )
            for category_id in category_ids
        ]
    )


def _write_lineage(run, project, outcome, category_of_cluster):
    def resolve(ref):
        return category_of_cluster[int(ref[1:])].id if isinstance(ref, str) else ref

    rows = {
        (kind, resolve(parent), resolve(child))
        for kind, parent, child in outcome.lineage
        if resolve(parent) != resolve(child)
    }
    CategoryLineage.objects.bulk_create(
        [
            CategoryLineage(project=project, run=run, kind=kind, parent_id=parent, child_id=child)
            for kind, parent, child in sorted(rows)
        ]
    )


def _write_assignments(run, final, similarity, pinned, bucket_id, now):
    """Every unpinned item's place, in one upsert; then the triage state of the items whose
    state changes (a re-run leaves most as they were, and rewriting a feedback row means
    updating all the inbox's indexes)."""
    upsert(
        ItemAssignment._meta.db_table,
        ["feedback_id", "category_id", "pinned", "similarity", "run_id", "processed_at"],
        [
            (item_id, category_id, False, similarity.get(item_id, 0.0), run.id, now)
            for item_id, category_id in final.items()
            if item_id not in pinned
        ],
        conflict="feedback_id",
        update=["category_id", "similarity", "run_id", "processed_at"],
    )
    categorized = [item_id for item_id, category_id in final.items() if category_id != bucket_id]
    unsorted = [item_id for item_id, category_id in final.items() if category_id == bucket_id]
    for ids, state in (
        (categorized, Feedback.TriageState.CATEGORIZED),
        (unsorted, Feedback.TriageState.NEW),
    ):
        for start in range(0, len(ids), WRITE_BATCH):
            Feedback.objects.filter(id__in=ids[start : start + WRITE_BATCH]).exclude(
                triage_state__in=[Feedback.TriageState.NOT_AN_ERROR, state]
            ).update(triage_state=state)
