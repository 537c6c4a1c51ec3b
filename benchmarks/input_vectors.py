"""The review queue's sentence embeddings of prediction inputs (triage/services/
input_vectors.py): how many distinct inputs one background pass embeds, hence what share of a
1,000 predictions/s stream one quick worker covers, and what a pass leaves out when it cannot
keep up.

    python benchmarks/input_vectors.py                 # 60,000 predictions (a minute at 1,000/s)
    python benchmarks/input_vectors.py --predictions 20000 --budget 10

1. The model alone: distinct Banking77 texts per second (all-MiniLM-L6-v2 on the CPU, the
   batch size the app uses), after loading it.
2. One pass as the task runs it, on PostgreSQL: a minute of traffic at 1,000 predictions/s
   (inputs drawn from Banking77's 13,000 texts with repeats, Zipf-like, so some share is
   distinct), the pass's budget (input_vectors.TIME_BUDGET), then what it read, embedded
   and left out, and the distinct inputs it embeds per second including its reads and writes.
3. The share of a 1,000 predictions/s stream one worker covers, from that rate: with the
   default budget (a pass a minute, TIME_BUDGET seconds each) and with a worker doing nothing
   else (55 s a minute).
4. The queue's precision with sentence embeddings against LSA (`--seeds`), on the Banking77
   replay as `benchmarks/review_queue.py` measures it (what the app knew at the midpoint,
   clustered with LSA): the share of wrong answers in the project-wide queue's top K and in
   each category's top 10, and how often the suggested labels hold the true one for the
   queue's wrong answers; once ranked on LSA, then on the embeddings a pass stored.
"""

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import django_setup, fresh_database, machine, report  # noqa: E402

STREAM = 1000  # predictions per second


def model_alone(texts: list[str]) -> dict:
    from triage.clustering.representations import EmbeddingRepresentation
    from triage.services.vectors import embedding_model

    representation = EmbeddingRepresentation(embedding_model())
    started = time.perf_counter()
    representation.transform(texts[:64])
    loaded = time.perf_counter() - started
    started, cpu = time.perf_counter(), time.process_time()
    representation.transform(texts)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "texts": len(texts),
        "load_and_first_batch_seconds": round(loaded, 1),
        "seconds": round(seconds, 1),
        "texts_per_second": round(len(texts) / seconds),
        # On a shared machine the wall clock counts other processes' work; CPU seconds do
        # not: texts per CPU second times the cores is what an idle machine would do.
        "cpu_seconds": round(cpu, 1),
        "texts_per_cpu_second": round(len(texts) / cpu),
        "load_average": round(os.getloadavg()[0], 1),
    }


def one_pass(texts: list[str], n: int, budget: float, seed: int) -> dict:
    from django.utils import timezone

    from feedback.ingest import prediction_ingest
    from feedback.models import Prediction, Project
    from triage.models import ClusteringSettings
    from triage.services import input_vectors

    rng = np.random.default_rng(seed)
    # Repeats as real traffic has them: a few inputs very often, most once or twice.
    ranks = np.minimum(rng.zipf(1.3, size=n), len(texts)) - 1
    order = rng.permutation(len(texts))
    stream = [texts[order[r]] for r in ranks]
    project = Project.objects.create(slug="vectors", name="Vectors", labels=["a", "b"])
    ClusteringSettings.objects.create(project=project, representation="embeddings")
    for start in range(0, n, 10_000):
        prediction_ingest(
            project=project,
            items=[
                {
                    "request_id": f"r{start + i}",
                    "model_version": "v1",
                    "input_text": text,
                    "predicted_label": "a",
                    "confidence": 0.5,
                }
                for i, text in enumerate(stream[start : start + 10_000])
            ],
        )
    Prediction.objects.filter(project=project).update(
        received_at=timezone.now() - timedelta(minutes=1)
    )
    started, cpu = time.perf_counter(), time.process_time()
    result = input_vectors.input_vectors_fill(project=project, budget=budget)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    stored = set(
        input_vectors.InputVector.objects.filter(project=project).values_list(
            "text_hash", flat=True
        )
    )
    return {
        "predictions": n,
        "distinct_inputs": len(set(stream)),
        "distinct_share": round(len(set(stream)) / n, 3),
        "budget_seconds": budget,
        "pass_seconds": round(seconds, 1),
        "read": result.read,
        "distinct_new": result.distinct_new,
        "embedded": result.embedded,
        "skipped_inputs": result.skipped_inputs,
        "predictions_covered": round(
            float(np.mean([input_vectors.text_hash(text) in stored for text in stream])), 3
        ),
        "embedded_per_second": round(result.embedded / seconds),
        "cpu_seconds": round(cpu, 1),
        "load_average": round(os.getloadavg()[0], 1),
    }


def precision(seed: int) -> dict:
    from django.utils import timezone

    from benchmarks.loop import END
    from benchmarks.review_queue import (
        KS,
        PER_CATEGORY_TOP,
        midpoint_project,
        queue_order,
        wrong_share,
    )
    from feedback.models import Prediction
    from feedback.replay import build_replay
    from triage.models import ClusteringSettings, ReviewQueueEntry
    from triage.selectors_review_queue import suggested_labels
    from triage.services import input_vectors
    from triage.services.review_queue import review_queue_refresh

    replay = build_replay(seed=seed, end=END)
    truth = replay.true_label
    predicted = {p["request_id"]: p["predicted_label"] for p in replay.predictions}
    middle = sorted(p["served_at"] for p in replay.predictions)[len(replay.predictions) // 2]
    project, built = midpoint_project(replay, seed, middle)
    pool = list(
        Prediction.objects.filter(project=project, feedback__isnull=True).values_list(
            "request_id", flat=True
        )
    )
    base = wrong_share(pool, truth, predicted)

    def measure(refreshed) -> dict:
        queue, per_category = queue_order(project)
        figures = {"representation": refreshed.representation, "entries": refreshed.entries}
        for k in KS:
            figures[f"top_{k}"] = wrong_share(queue[:k], truth, predicted)
            figures[f"top_{k}_to_base"] = round(figures[f"top_{k}"] / base, 2)
        tops = [
            wrong_share(ids[:PER_CATEGORY_TOP], truth, predicted) for ids in per_category.values()
        ]
        figures[f"per_category_top_{PER_CATEGORY_TOP}_mean"] = round(float(np.mean(tops)), 4)
        entries = ReviewQueueEntry.objects.filter(project=project).select_related(
            "prediction", "category"
        )
        wrong = [
            e for e in entries if truth[e.prediction.request_id] != e.prediction.predicted_label
        ]
        for n in (1, 5):
            figures[f"suggestions_hit_at_{n}"] = round(
                float(
                    np.mean(
                        [
                            truth[e.prediction.request_id]
                            in suggested_labels(
                                e.category, e.prediction.predicted_label, e.neighbour_labels
                            )[:n]
                            for e in wrong
                        ]
                    )
                ),
                4,
            )
        return figures

    lsa = measure(review_queue_refresh(project=project))
    ClusteringSettings.objects.filter(project=project).update(representation="embeddings")
    Prediction.objects.filter(project=project).update(
        received_at=timezone.now() - timedelta(minutes=1)
    )
    started = time.perf_counter()
    filled = input_vectors.input_vectors_fill(project=project, budget=float("inf"))
    fill_seconds = time.perf_counter() - started
    started = time.perf_counter()
    embedded = measure(review_queue_refresh(project=project))
    embedded["refresh_seconds_with_error_embeddings"] = round(time.perf_counter() - started, 1)
    return {
        "seed": seed,
        "midpoint_project": built,
        "base_rate": base,
        "fill": {"embedded": filled.embedded, "seconds": round(fill_seconds, 1)},
        "lsa": lsa,
        "embeddings": embedded,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--predictions", type=int, default=60 * STREAM)
    parser.add_argument("--budget", type=float, default=None)
    parser.add_argument("--model-texts", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", type=int, nargs="*", default=[0], help="precision part")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    django_setup(fresh_database("voc_bench_input_vectors"))
    from feedback.replay import load_banking77
    from triage.services import input_vectors

    budget = args.budget if args.budget is not None else input_vectors.TIME_BUDGET
    train, test, _ = load_banking77()
    texts = list(dict.fromkeys(train.text.tolist() + test.text.tolist()))
    figures: dict = {"machine": machine()}
    figures["model_alone"] = model_alone(texts[: args.model_texts])
    figures["one_pass"] = one_pass(texts, args.predictions, budget, args.seed)
    rate = figures["one_pass"]["embedded_per_second"]
    distinct = figures["one_pass"]["distinct_share"]
    per_minute = {"default budget": rate * input_vectors.TIME_BUDGET, "whole worker": rate * 55}
    figures["stream_1000_per_second"] = {
        name: {
            "distinct_inputs_a_minute": round(embedded),
            "share_of_distinct_inputs_covered, at this distinct share": round(
                min(1.0, embedded / (60 * STREAM * distinct)), 3
            ),
            "share_covered if every input is distinct": round(
                min(1.0, embedded / (60 * STREAM)), 3
            ),
        }
        for name, embedded in per_minute.items()
    }
    if args.seeds:
        from django.conf import settings

        import triage.services.clustering as clustering_services

        settings.VOC_FEEDBACK_INGESTED_TASKS = []  # measure the queue, not the broker
        clustering_services.publish = lambda *args: False  # this process refreshes itself
        figures["precision"] = [precision(seed) for seed in args.seeds]
    report(figures, args.json)


if __name__ == "__main__":
    main()
