"""The review queue at scale, for `benchmarks/review_queue.py` (run it from there):
`benchmarks/pages.py`'s year-sized project (COPY: predictions, feedback, categories with their
items), every category made live, the newest CANDIDATES_MAX predictions given scores; one full
`review_queue_refresh` pass (time, peak memory), then the labelling page's next item for a
reviewer (page GET in-process and `review_queue_claim`), N times, with the project overview
page as baseline."""

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import peak_rss_mb  # noqa: E402
from benchmarks.pages import generate  # noqa: E402


def timed(call, repeats: int, between=None) -> dict:
    """Median and p95 of `call` in ms; `between` runs untimed before each call."""
    if between:
        between()
    call()  # warm caches (templates, connection, plans)
    times = []
    for _ in range(repeats):
        if between:
            between()
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {
        "median_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[max(0, int(round(0.95 * len(times))) - 1)], 1),
    }


def scale(n_predictions: int, n_categories: int, repeats: int) -> dict:
    from django.db import connection
    from django.test import Client

    from triage.models import ClusteringSettings, ErrorCategory, ReviewQueueEntry
    from triage.selectors_review_queue import (
        review_queue_categories,
        review_queue_claim,
        review_queue_next,
        review_queue_remaining,
    )
    from triage.services.review_queue import CANDIDATES_MAX, review_queue_refresh
    from triage.services.reviewer_labels import reviewer_label_record

    started = time.perf_counter()
    data = generate(n_predictions, n_predictions // 10, n_categories)
    project, user = data["project"], data["user"]
    # pages.py spreads its categories over the six board states; a refresh skips fixed and
    # won't-fix ones, so make them all live. Its predictions carry no scores and one
    # confidence: give the newest (those a refresh reads) top-two scores and a spread.
    ErrorCategory.objects.filter(project=project).update(state="new")
    # LSA, as on the replay: with sentence embeddings the refresh ranks on vectors a
    # background pass stores (falling back to LSA while fewer than half have one).
    ClusteringSettings.objects.create(project=project, representation="lsa")
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE feedback_prediction p SET confidence = s.c,
                scores = jsonb_build_object(p.predicted_label, s.c, 'intent_76', s.c * s.r)
            FROM (SELECT id, round((0.2 + 0.8 * random())::numeric, 3)::float AS c,
                         random() AS r
                  FROM feedback_prediction WHERE project_id = %s
                  ORDER BY served_at DESC, id DESC LIMIT %s) s
            WHERE p.id = s.id
            """,
            [project.id, CANDIDATES_MAX],
        )
        cursor.execute("ANALYZE")
    generated = time.perf_counter() - started

    rss_before = peak_rss_mb()
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM: the pass's own peak
    started = time.perf_counter()
    result = review_queue_refresh(project=project)
    refresh = {
        "seconds": round(time.perf_counter() - started, 1),
        "peak_rss_mb": round(peak_rss_mb(), 0),
        "peak_rss_before_mb": round(rss_before, 0),
        "categories": result.categories,
        "candidates_read": result.candidates,
        "candidates_max": CANDIDATES_MAX,
        "entries": result.entries,
        "representation": getattr(result, "representation", "lsa"),
    }
    biggest = data["biggest"].id

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    slug = project.slug

    def get(url):
        def call():
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)

        return call

    def verdict():
        """Skip the item the reviewer holds (untimed): the next call must find a new one."""
        held = (
            ReviewQueueEntry.objects.filter(project=project, claimed_by=user)
            .values_list("prediction__request_id", flat=True)
            .first()
        )
        if held:
            reviewer_label_record(
                project=project, user=user, request_id=held, label="", category=None
            )

    def measure() -> dict:
        requests = {
            "baseline: project overview": timed(get(f"/p/{slug}/"), repeats),
            "labelling page, item already held": timed(get(f"/p/{slug}/review-queue/"), repeats),
            "labelling page, next item after a verdict": timed(
                get(f"/p/{slug}/review-queue/"), repeats, verdict
            ),
            "labelling page, biggest category, next item after a verdict": timed(
                get(f"/p/{slug}/review-queue/?category={biggest}"), repeats, verdict
            ),
            "review_queue_claim, next item after a verdict": timed(
                lambda: review_queue_claim(project=project, user=user), repeats, verdict
            ),
            "review_queue_next, 50 items": timed(
                lambda: review_queue_next(project=project, limit=50), repeats
            ),
            # Two of the labelling page's other queries, alone.
            "page part: category list": timed(
                lambda: list(review_queue_categories(project=project)), repeats
            ),
            "page part: review_queue_remaining": timed(
                lambda: review_queue_remaining(project=project), repeats
            ),
        }
        baseline = requests["baseline: project overview"]["median_ms"]
        for figures in requests.values():
            figures["median_to_baseline"] = round(figures["median_ms"] / baseline, 1)
        return requests

    # Right after the refresh the planner has no statistics on the new entries; autovacuum
    # analyzes the table soon after (it was all rewritten), so measure both.
    right_after = measure()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE triage_reviewqueueentry")
    analyzed = measure()
    return {
        "predictions": n_predictions,
        "feedback": n_predictions // 10,
        "categories": n_categories,
        "generation_seconds": round(generated, 1),
        "refresh": refresh,
        "repeats": repeats,
        "requests_right_after_refresh": right_after,
        "requests_after_analyze": analyzed,
    }
