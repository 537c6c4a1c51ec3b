"""The review queue: does it find the model's unreported mistakes, do their labels retrain the
model better than other picks, and how long do the refresh and the next item take at scale.

    python benchmarks/review_queue.py                    # seeds 0 1 2, then 2,000,000 predictions
    python benchmarks/review_queue.py --seeds 0 --predictions 0   # one seed, no scale part
    python benchmarks/review_queue.py --quick            # seed 0, 200,000 predictions

Quality (Banking77 replay, per seed; only this benchmark reads the replay's truth). What the app
knew at the replay's midpoint is loaded into a project of its own: the first half's predictions
and the feedback sent before the midpoint. Its feedback is clustered (LSA) by the service the
Celery task calls, then `review_queue_refresh` ranks its unreported predictions, so the queue
sees nothing of the second half. Then:

1. precision of the queue's top K (the project-wide queue by score, each prediction once): the
   share of wrong answers (predicted label != true intent), against the base rate among the
   unreported predictions; and the mean top-10 precision of the categories' own queues;
2. retraining as in `benchmarks/loop.py` (the whole replay ingested, the first half's
   corrections exported, the replay's v1 model retrained, accuracy on the second half): the
   corrections alone, then plus K rows with true labels (as a careful reviewer gives) picked by
   the queue, at random (mean of RANDOM_DRAWS draws) or by lowest confidence, all among the
   same unreported first-half predictions.

Scale (`review_queue_scale.py`): `benchmarks/pages.py`'s year-sized project (COPY: predictions,
feedback, categories with their items), every category made live, the newest CANDIDATES_MAX
predictions given scores; one full `review_queue_refresh` pass (time, peak memory), then the
labelling page's next item for a reviewer (page GET in-process and `review_queue_claim`), N
times, with the project overview page as baseline.
"""

import argparse
import dataclasses
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (  # noqa: E402
    django_setup,
    fresh_database,
    machine,
    report,
)
from benchmarks.loop import END, accuracy, export_rows  # noqa: E402
from benchmarks.review_queue_scale import scale  # noqa: E402

KS = (100, 300)
RANDOM_DRAWS = 5
PER_CATEGORY_TOP = 10


def wrong_share(request_ids, truth, predicted) -> float | None:
    if not request_ids:
        return None
    return round(float(np.mean([predicted[r] != truth[r] for r in request_ids])), 4)


def midpoint_project(replay, seed: int, middle: str):
    """A project holding what the app knew at the midpoint, clustered, its queue refreshed."""
    from unittest import mock

    from feedback.demo import demo_load
    from feedback.models import Project
    from triage.models import ClusteringRun, ClusteringSettings
    from triage.services.clustering import clustering_run_execute, clustering_run_request
    from triage.services.review_queue import review_queue_refresh

    known = dataclasses.replace(
        replay,
        predictions=[p for p in replay.predictions if p["served_at"] < middle],
        feedback=[f for f in replay.feedback if f["created_at"] < middle],
    )
    slug = f"queue-{seed}"
    with mock.patch("feedback.demo.build_replay", lambda *args, **kwargs: known):
        demo_load(slug=slug, seed=seed, end=END)
    project = Project.objects.get(slug=slug)
    ClusteringSettings.objects.create(project=project, representation="lsa")
    run, _ = clustering_run_request(
        project=project, since=datetime(2000, 1, 1, tzinfo=UTC), until=datetime.now(UTC)
    )
    started = time.perf_counter()
    assert clustering_run_execute(run_id=run.id, task_id=f"bench-{seed}") == "succeeded"
    clustered = time.perf_counter() - started
    started = time.perf_counter()
    refreshed = review_queue_refresh(project=project)
    refresh_seconds = time.perf_counter() - started
    run = ClusteringRun.objects.defer("model_state").get(id=run.id)
    return project, {
        "predictions": len(known.predictions),
        "feedback": len(known.feedback),
        "clustered_items": run.n_items,
        "categories": run.n_categories,
        "clustering_seconds": round(clustered, 1),
        "queue_categories": refreshed.categories,
        "queue_candidates": refreshed.candidates,
        "queue_entries": refreshed.entries,
        "queue_representation": getattr(refreshed, "representation", "lsa"),
        "refresh_seconds": round(refresh_seconds, 2),
    }


def queue_order(project) -> tuple[list[str], dict[int, list[str]]]:
    """The project-wide queue (best score first, each prediction once) and each category's."""
    from triage.models import ReviewQueueEntry

    entries = (
        ReviewQueueEntry.objects.filter(project=project)
        .order_by("-score", "prediction_id")
        .values_list("prediction__request_id", "category_id")
    )
    overall, seen, per_category = [], set(), {}
    for request_id, category_id in entries:
        per_category.setdefault(category_id, []).append(request_id)
        if request_id not in seen:
            seen.add(request_id)
            overall.append(request_id)
    return overall, per_category


def run_seed(seed: int) -> dict:
    from unittest import mock

    from sklearn.model_selection import train_test_split

    from feedback.demo import demo_load
    from feedback.models import Prediction, Project
    from feedback.replay import VERSION_TRAIN_SHARE, build_replay, load_banking77

    started = time.perf_counter()
    replay = build_replay(seed=seed, end=END)
    truth = replay.true_label
    predicted = {p["request_id"]: p["predicted_label"] for p in replay.predictions}
    middle = sorted(p["served_at"] for p in replay.predictions)[len(replay.predictions) // 2]
    first = [p for p in replay.predictions if p["served_at"] < middle]
    second = [p for p in replay.predictions if p["served_at"] >= middle]

    # The queue, from the midpoint's knowledge only.
    queue_project, built = midpoint_project(replay, seed, middle)
    pool = list(
        Prediction.objects.filter(project=queue_project, feedback__isnull=True)
        .order_by("confidence", "request_id")
        .values_list("request_id", "input_text")
    )
    pool_ids = [request_id for request_id, _ in pool]
    text_of = dict(pool)
    queue, per_category = queue_order(queue_project)
    outside = set(queue) - set(pool_ids)
    assert not outside, f"{len(outside)} queued predictions are not unreported first-half ones"

    wrong_first = [
        p["request_id"] for p in first if predicted[p["request_id"]] != truth[p["request_id"]]
    ]
    base_rate = wrong_share(pool_ids, truth, predicted)
    precision = {
        "unreported_first_half": len(pool_ids),
        "wrong_first_half": len(wrong_first),
        "wrong_unreported": sum(predicted[r] != truth[r] for r in pool_ids),
        "base_rate": base_rate,
        "queue_length": len(queue),
    }
    for k in KS:
        share = wrong_share(queue[:k], truth, predicted)
        precision[f"top_{k}"] = share
        precision[f"top_{k}_to_base"] = round(share / base_rate, 2)
        precision[f"lowest_confidence_{k}"] = wrong_share(pool_ids[:k], truth, predicted)
    tops = [wrong_share(ids[:PER_CATEGORY_TOP], truth, predicted) for ids in per_category.values()]
    precision[f"per_category_top_{PER_CATEGORY_TOP}_mean"] = round(float(np.mean(tops)), 4)

    # Retraining, as benchmarks/loop.py does it (the replay built above, not built again).
    with mock.patch("feedback.demo.build_replay", lambda *args, **kwargs: replay):
        demo_load(slug=f"loop-{seed}", seed=seed, end=END)
    project = Project.objects.get(slug=f"loop-{seed}")
    rows, _ = export_rows(
        project, filters={"until": datetime.fromisoformat(middle)}, flagged="mark"
    )
    train, _, _ = load_banking77()
    part, _ = train_test_split(
        train, train_size=VERSION_TRAIN_SHARE["v1"], stratify=train.category, random_state=seed
    )
    base_texts, base_labels = part.text.tolist(), part.category.tolist()
    corrections = (
        [r["input_text"] for r in rows],
        [r["corrected_label"] for r in rows],
    )
    test_texts = [p["input_text"] for p in second]
    test_labels = [truth[p["request_id"]] for p in second]

    def score(request_ids=()) -> float:
        texts = base_texts + corrections[0] + [text_of[r] for r in request_ids]
        labels = base_labels + corrections[1] + [truth[r] for r in request_ids]
        return accuracy(texts, labels, test_texts, test_labels, seed)

    before = accuracy(base_texts, base_labels, test_texts, test_labels, seed)
    alone = score()
    retraining = {
        "exported_corrections": len(rows),
        "accuracy": {"before (v1 training rows only)": before, "customer corrections": alone},
    }
    rng = np.random.default_rng(seed)
    for k in KS:
        draws = [
            score([pool_ids[i] for i in rng.choice(len(pool_ids), size=k, replace=False)])
            for _ in range(RANDOM_DRAWS)
        ]
        retraining["accuracy"] |= {
            f"+ {k} queue labels": score(queue[:k]),
            f"+ {k} random unreported, mean of {RANDOM_DRAWS}": float(np.mean(draws)),
            f"+ {k} lowest-confidence unreported": score(pool_ids[:k]),
        }
        retraining[f"random_{k}_draws"] = [round(d, 4) for d in draws]
    retraining["accuracy"] = {name: round(v, 4) for name, v in retraining["accuracy"].items()}
    retraining["gain_over_corrections"] = {
        name: round(v - round(alone, 4), 4)
        for name, v in retraining["accuracy"].items()
        if name.startswith("+")
    }
    return {
        "seed": seed,
        "seconds": round(time.perf_counter() - started, 1),
        "midpoint_project": built,
        "precision": precision,
        "retraining": retraining,
    }


def quality_total(seeds: list[dict]) -> dict:
    def total(key):
        return sum(s["precision"][key] for s in seeds)

    pool = total("unreported_first_half")
    wrong = total("wrong_unreported")
    out = {"unreported": pool, "wrong_unreported": wrong, "base_rate": round(wrong / pool, 4)}
    for k in KS:
        # Every seed's top K holds K predictions (checked: queues hold more than 300).
        hits = sum(round(s["precision"][f"top_{k}"] * k) for s in seeds)
        out[f"top_{k}"] = round(hits / (k * len(seeds)), 4)
        out[f"top_{k}_to_base"] = round(out[f"top_{k}"] / out["base_rate"], 2)
        low = sum(round(s["precision"][f"lowest_confidence_{k}"] * k) for s in seeds)
        out[f"lowest_confidence_{k}"] = round(low / (k * len(seeds)), 4)
    out[f"per_category_top_{PER_CATEGORY_TOP}_mean"] = round(
        float(
            np.mean([s["precision"][f"per_category_top_{PER_CATEGORY_TOP}_mean"] for s in seeds])
        ),
        4,
    )
    names = seeds[0]["retraining"]["accuracy"].keys()
    out["mean_accuracy"] = {
        name: round(float(np.mean([s["retraining"]["accuracy"][name] for s in seeds])), 4)
        for name in names
    }
    alone = out["mean_accuracy"]["customer corrections"]
    out["mean_gain_over_corrections"] = {
        name: round(value - alone, 4)
        for name, value in out["mean_accuracy"].items()
        if name.startswith("+")
    }
    return out


# The queue's code, hashed as this run imports it (the figures belong to that version).
QUEUE_MODULES = (
    "triage.review_queue.ranking",
    "triage.services.review_queue",
    "triage.selectors_review_queue",
    "triage.views_review_queue",
)


def code_version() -> dict:
    """Import the queue's modules and the URLs (which Django loads at the first request) now,
    so that the whole run uses one version of the app however the tree changes meanwhile."""
    import hashlib
    import importlib

    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 (loads every view module)
    versions = {}
    for name in QUEUE_MODULES:
        module = importlib.import_module(name)
        digest = hashlib.sha256(Path(module.__file__).read_bytes()).hexdigest()[:12]
        versions[name] = digest
    return versions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument("--predictions", type=int, default=2_000_000, help="0: no scale part")
    parser.add_argument("--categories", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="seed 0, 200,000 predictions")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.predictions = [0], min(args.predictions, 200_000)

    django_setup(fresh_database("voc_bench_review_queue"))
    from django.conf import settings

    import triage.services.clustering as clustering_services
    import triage.services.exports as export_services

    settings.VOC_FEEDBACK_INGESTED_TASKS = []  # measure the queue, not the broker
    export_services.publish = lambda *args: False  # this process builds the exports itself
    clustering_services.publish = lambda *args: False  # and refreshes the queue itself

    figures: dict = {"machine": machine(), "code": code_version()}
    started = time.perf_counter()
    if args.seeds:
        with tempfile.TemporaryDirectory() as folder:
            settings.MEDIA_ROOT = folder
            seeds = [run_seed(seed) for seed in args.seeds]
        figures["seeds"] = seeds
        figures["quality_total"] = quality_total(seeds)
        figures["quality_seconds"] = round(time.perf_counter() - started, 1)
        if args.json:  # kept if the scale part fails
            report(figures, args.json)
    if args.predictions:
        started = time.perf_counter()
        figures["scale"] = scale(args.predictions, args.categories, args.repeats)
        figures["scale_seconds"] = round(time.perf_counter() - started, 1)
    report(figures, args.json)


if __name__ == "__main__":
    main()
