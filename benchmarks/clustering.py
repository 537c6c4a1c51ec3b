"""Clustering quality and speed on the Banking77 replay, through the app, on PostgreSQL.

    python benchmarks/clustering.py                 # quality (both representations) + scale
    python benchmarks/clustering.py --scale-items 0 # quality only
    python benchmarks/clustering.py --korean        # Korean, English on the same intents, mixed

Quality: the replay is ingested through the ingest services, a clustering run is done by the
same service the Celery task calls, and the resulting categories are scored against the true
intents that only the replay knows (NMI, ARI), over complaint-only items and over all items.
Baseline in the same run: TF-IDF + k-means on the items' raw text with k = the number of
categories the app found.

Scale: the replay served N times (until there are at least --scale-items error items), with
their embeddings already stored (as the ingest follow-up leaves them); one run end to end
(database read, clustering, matching, writing) and a second run (next week's re-run, matching
against the categories of the first), with the process's peak memory.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import django_setup, fresh_database, machine, peak_rss_mb  # noqa: E402


def load(replay, slug: str):
    from feedback.ingest import feedback_ingest, prediction_ingest
    from feedback.models import Project
    from feedback.services import project_create

    project = project_create(slug=slug, name=slug, labels=replay.labels)
    for start in range(0, len(replay.predictions), 5000):
        prediction_ingest(project=project, items=replay.predictions[start : start + 5000])
    for start in range(0, len(replay.feedback), 5000):
        feedback_ingest(project=project, items=replay.feedback[start : start + 5000])
    return Project.objects.get(id=project.id)


def run_once(project, task_id: str):
    from triage.models import ClusteringRun
    from triage.services.clustering import clustering_run_execute, clustering_run_request

    run, _ = clustering_run_request(project=project)
    start = time.perf_counter()
    status = clustering_run_execute(run_id=run.id, task_id=task_id)
    seconds = time.perf_counter() - start
    run = ClusteringRun.objects.defer("model_state").get(id=run.id)
    if status != "succeeded":
        raise SystemExit(f"run failed: {run.error}")
    return run, seconds


def scores(project, replay) -> dict:
    from sklearn.cluster import KMeans
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    from feedback.models import Feedback

    rows = list(
        # Ordered: k-means (the baseline) depends on the order of its rows.
        Feedback.objects.filter(project=project, assignment__run__isnull=False)
        .order_by("id")
        .values_list(
            "external_id", "kind", "text", "prediction__input_text", "assignment__category_id",
            "assignment__category__is_unsorted",
        )
    )  # fmt: skip
    truth = np.array([replay.feedback_intent[row[0]] for row in rows])
    # Items in the unsorted bucket each count as their own category (no credit for them).
    found = np.array([f"noise-{i}" if row[5] else str(row[4]) for i, row in enumerate(rows)])
    complaints = np.array([row[1] == "complaint" for row in rows])
    k = len({row[4] for row in rows if not row[5]})
    raw_text = [row[2] or row[3] or "" for row in rows]
    baseline = KMeans(k, n_init=4, random_state=0).fit_predict(
        TfidfVectorizer(sublinear_tf=True).fit_transform(raw_text)
    )

    def pair(labels, mask=slice(None)):
        return {
            "nmi": round(float(normalized_mutual_info_score(truth[mask], labels[mask])), 3),
            "ari": round(float(adjusted_rand_score(truth[mask], labels[mask])), 3),
        }

    return {
        "items": len(rows),
        "complaints": int(complaints.sum()),
        "categories": k,
        "unsorted_share": round(float(np.mean([row[5] for row in rows])), 4),
        "app_all": pair(found),
        "app_complaints": pair(found, complaints),
        "baseline_all": pair(baseline),
        "baseline_complaints": pair(baseline, complaints),
    }


def quality(replay) -> dict:
    from triage.clustering.representations import embeddings_available
    from triage.models import ClusteringSettings

    results = {}
    for representation in ("lsa", "embeddings"):
        if representation == "embeddings" and not embeddings_available():
            results[representation] = "skipped: embeddings extra not installed"
            continue
        project = load(replay, f"quality-{representation}")
        ClusteringSettings.objects.create(project=project, representation=representation)
        run, seconds = run_once(project, f"bench-{representation}")
        results[representation] = {
            **scores(project, replay),
            "run_seconds": round(seconds, 2),
            "embedded_in_run": run.n_embedded,
            "timings": run.timings,
        }
    return results


def english_like_korean(korean, folder: Path) -> Path:
    """The English Banking77 files cut to the Korean replay's intents and per-intent counts
    (test queries as many as the Korean ones, sampled with a fixed seed)."""
    import pandas as pd

    from feedback.replay import KOREAN_DATA_DIR, load_banking77

    train, test, _ = load_banking77()
    ko_train, ko_test, intents = load_banking77(KOREAN_DATA_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    for name, english, ko in (("train", train, ko_train), ("test", test, ko_test)):
        wanted = ko.category.value_counts()
        parts = [
            english[english.category == intent].sample(n=int(n), random_state=0, replace=False)
            for intent, n in wanted.items()
        ]
        pd.concat(parts).to_csv(folder / f"{name}.csv", index=False)
    (folder / "categories.json").write_text(json.dumps(intents))
    return folder


def mixed_languages(project) -> dict:
    """How many categories hold both Korean and English items."""
    from feedback.models import Feedback
    from triage.clustering.hangul import has_hangul

    languages: dict[int, set[bool]] = {}
    for category, text, input_text in Feedback.objects.filter(
        project=project, assignment__category__is_unsorted=False
    ).values_list("assignment__category_id", "text", "prediction__input_text"):
        languages.setdefault(category, set()).add(has_hangul(text or input_text or ""))
    return {
        "categories": len(languages),
        "mixing_both_languages": sum(len(found) == 2 for found in languages.values()),
    }


def korean_quality(folder: Path) -> dict:
    """The Korean replay, the English one on the same intents and counts, and both in one
    project (half Korean, half English complaints about the same intents)."""
    from feedback.replay import build_replay
    from triage.clustering.representations import embeddings_available
    from triage.models import ClusteringSettings

    korean = build_replay(seed=0, language="ko")
    english = build_replay(english_like_korean(korean, folder), seed=0)
    mixed = build_replay(seed=0, language="ko")
    mixed.predictions += english.predictions
    mixed.feedback += english.feedback
    mixed.feedback_intent.update(english.feedback_intent)
    results = {}
    for name, replay in (("ko", korean), ("en_same_intents", english), ("mixed", mixed)):
        for representation in ("lsa", "embeddings"):
            key = f"{name}_{representation}"
            if representation == "embeddings" and not embeddings_available():
                results[key] = "skipped: embeddings extra not installed"
                continue
            project = load(replay, f"{name.replace('_', '-')}-{representation}")
            ClusteringSettings.objects.create(project=project, representation=representation)
            run_once(project, f"bench-{key}")
            results[key] = scores(project, replay)
            if name == "mixed":
                results[key]["languages"] = mixed_languages(project)
    return results


def store_embeddings(project) -> int:
    """Embed each distinct item text once and store every item's vector, as the ingest
    follow-up would have done over the weeks."""
    from django.utils import timezone

    from triage import selectors
    from triage.clustering.representations import EmbeddingRepresentation
    from triage.clustering.text import find_boilerplate, item_text
    from triage.models import ItemVector
    from triage.services.vectors import embedding_model, text_hash

    raw = selectors.clustering_items(
        project=project, since=timezone.now() - timezone.timedelta(days=3650), until=timezone.now()
    )
    boilerplate = find_boilerplate(
        [i.own_text for i in raw if i.own_text], selectors.reference_inputs(project=project)
    )
    texts = [item_text(own_text=i.own_text, input_text=i.input_text, boilerplate=boilerplate)
             for i in raw]  # fmt: skip
    distinct = sorted(set(texts))
    vectors = EmbeddingRepresentation().transform(distinct)
    by_text = dict(zip(distinct, vectors, strict=True))
    model = embedding_model()
    rows = [
        ItemVector(
            feedback_id=i.id, model=model, text_hash=text_hash(t), vector=by_text[t].tobytes()
        )
        for i, t in zip(raw, texts, strict=True)
    ]
    ItemVector.objects.bulk_create(rows, batch_size=5000)
    return len(distinct)


def scale_prepare(items_wanted: int) -> dict:
    from feedback.replay import build_replay
    from triage.models import ClusteringSettings

    repeat = max(1, round(items_wanted / 1030))
    started = time.perf_counter()
    replay = build_replay(seed=0, repeat=repeat)
    project = load(replay, "scale")
    ClusteringSettings.objects.create(project=project, representation="embeddings")
    distinct = store_embeddings(project)
    return {
        "predictions": len(replay.predictions),
        "distinct_texts_embedded_beforehand": distinct,
        "preparation_seconds": round(time.perf_counter() - started, 1),
    }


def scale_reset(project) -> None:
    """Forget the clustering results of a previous benchmark on the same data (--reuse)."""
    from django.db import connection

    from feedback.models import Feedback
    from triage.models import ClusteringRun, ErrorCategory, ItemAssignment

    ItemAssignment.objects.filter(feedback__project=project).delete()
    ErrorCategory.objects.filter(project=project).delete()
    ClusteringRun.objects.filter(project=project).delete()
    Feedback.objects.filter(project=project).update(triage_state="new")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def scale_runs() -> dict:
    """Two runs in a process of their own, so its peak memory is the runs' alone."""
    from feedback.models import Project

    project = Project.objects.get(slug="scale")
    scale_reset(project)
    first, first_seconds = run_once(project, "scale-1")
    second, second_seconds = run_once(project, "scale-2")
    return {
        "items": first.n_items,
        "first_run_seconds": round(first_seconds, 1),
        "first_run_categories": first.n_categories,
        "first_run_timings": first.timings,
        "second_run_seconds": round(second_seconds, 1),
        "second_run_new_categories": second.n_categories - first.n_categories,
        "second_run_timings": second.timings,
        "embedded_during_runs": first.n_embedded + second.n_embedded,
        "peak_rss_mb": round(peak_rss_mb()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale-items", type=int, default=100_000)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--reuse", action="store_true",
        help="scale runs only, on the data a previous benchmark left (skips 10+ minutes of "
             "ingest and embedding; the results of its runs are cleared first)",
    )  # fmt: skip
    parser.add_argument("--scale-runs", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--korean", action="store_true",
        help="quality on the Korean replay, the English one on the same intents, and both mixed",
    )  # fmt: skip
    args = parser.parse_args()

    if args.scale_runs:  # the child process of the scale part
        django_setup(os.environ["DATABASE_URL"])
        print(json.dumps(scale_runs(), default=str))
        return
    if args.reuse:
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(os.environ["DATABASE_URL"])
        database_url = urlunsplit(parts._replace(path="/voc_bench_clustering"))
    else:
        database_url = fresh_database("voc_bench_clustering")
    django_setup(database_url)
    from feedback.replay import build_replay
    from triage.clustering.representations import embeddings_available

    if args.korean:
        import tempfile

        with tempfile.TemporaryDirectory() as folder:
            figures = {"korean": korean_quality(Path(folder)), "machine": machine()}
        print(json.dumps(figures, indent=2, default=str))
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2, default=str) + "\n")
        return
    figures = {} if args.reuse else {"quality": quality(build_replay(seed=0))}
    if args.scale_items and embeddings_available():
        figures["scale"] = {"reused_data": True} if args.reuse else scale_prepare(args.scale_items)
        child = subprocess.run(
            [sys.executable, __file__, "--scale-runs"],
            env={**os.environ, "DATABASE_URL": database_url},
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        figures["scale"].update(json.loads(child.stdout.strip().splitlines()[-1]))
    elif args.scale_items:
        figures["scale"] = "skipped: embeddings extra not installed"
    figures["machine"] = machine()
    print(json.dumps(figures, indent=2, default=str))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
