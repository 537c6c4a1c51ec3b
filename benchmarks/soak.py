"""A soak under a realistic mix, on real PostgreSQL, Redis, gunicorn, a Celery worker and beat,
all on loopback, for `--minutes` (30 by default; `make soak`).

    python benchmarks/soak.py --minutes 30 --rate 300 --json soak.json

The Banking77 demo is loaded and clustered first. Then, at once:

- predictions at a steady `--rate` per second (batches every 0.1 s), with feedback for 5 % of
  them (corrections and complaints, batched every second), through the ingest API;
- `--users` team members (10) logged in, each opening the board, the inbox, the quality page,
  the categories list or a category page, one every 1-3 s;
- every `--every` seconds (300): a clustering run, an export (waited for), an erasure of one
  customer when the server has the endpoint, and the retention sweep (beat also runs its own);
- every 10 s: the worker's queue length in Redis and the memory (RSS) of every process.

Afterwards, once the queue is empty: every prediction and feedback item sent must be stored
exactly once. The report has requests served, errors by status, ingest and page latency
p50/p95/p99 per minute, the queue's length over time and RSS per process at start and end.
"""

import argparse
import itertools
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import ROOT, django_setup, free_port, fresh_database, machine, report  # noqa: E402


class Recorder:
    """Latencies and statuses by kind and minute, thread-safe."""

    def __init__(self, started: float):
        self.started = started
        self.lock = threading.Lock()
        self.latency: dict[tuple[str, int], list[float]] = defaultdict(list)
        self.statuses: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))

    def add(self, kind: str, seconds: float, status: int) -> None:
        minute = int((time.monotonic() - self.started) // 60)
        with self.lock:
            self.latency[(kind, minute)].append(seconds * 1000)
            self.statuses[kind][status] += 1

    def per_minute(self, kind: str) -> list[dict]:
        rows = []
        for (name, minute), values in sorted(self.latency.items(), key=lambda item: item[0][1]):
            if name != kind:
                continue
            ordered = sorted(values)

            def at(q: float, ordered=ordered) -> float:
                return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

            rows.append({"minute": minute, "requests": len(ordered), "p50_ms": at(0.5),
                         "p95_ms": at(0.95), "p99_ms": at(0.99)})  # fmt: skip
        return rows


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (from /proc)."""
    children = defaultdict(list)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children[ppid].append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


class Services:
    """gunicorn, a Celery worker and beat for the soak's database, in subprocesses."""

    def __init__(self, database_url: str, data_dir: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "DATABASE_URL": database_url, "VOC_DATA_DIR": str(data_dir),
                    "DJANGO_SETTINGS_MODULE": "config.settings.local", "DJANGO_DEBUG": "false",
                    "DJANGO_LOG_LEVEL": "WARNING"}  # fmt: skip
        self.logs = data_dir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        celery = [sys.executable, "-m", "celery", "-A", "config"]
        self.commands = {
            "web": [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{self.port}",
                    "--workers", "2", "--threads", "4", "--log-level", "warning"],
            "worker": [*celery, "worker", "--loglevel", "WARNING", "--concurrency", "2",
                       "--without-gossip", "--without-mingle", "-n", f"soak-{os.getpid()}@%h"],
            "beat": [*celery, "beat", "--loglevel", "WARNING", "-s", str(data_dir / "beat-schedule")],
        }  # fmt: skip
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self) -> None:
        import requests

        for name, command in self.commands.items():
            log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - the process owns it
            self.processes[name] = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/healthz", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise RuntimeError("the app did not answer /healthz with 200")

    def memory(self) -> dict[str, float]:
        figures = {}
        for name, process in self.processes.items():
            for n, pid in enumerate(process_tree(process.pid)):
                value = rss_mb(pid)
                if value is not None:
                    figures[f"{name}[{n}]"] = value
        return figures

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def logged_in_session(url: str, username: str, password: str):
    import requests

    session = requests.Session()
    page = session.get(f"{url}/accounts/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    done = session.post(f"{url}/accounts/login/", data={"username": username, "password": password,
                        "csrfmiddlewaretoken": token}, headers={"Referer": f"{url}/accounts/login/"},
                        timeout=30, allow_redirects=False)  # fmt: skip
    assert done.status_code == 302, f"login of {username} failed: {done.status_code}"
    return session


def predictions_accounted(project, sent: list[tuple[str, str, bool]]) -> dict:
    """Every prediction sent is stored, or was deleted by retention as it may be: served before
    the project's sweep mark, and without feedback. Anything else is lost."""
    from datetime import datetime

    from feedback.models import Prediction

    stored = set(
        Prediction.objects.filter(project=project, request_id__startswith="soak-").values_list(
            "request_id", flat=True
        )
    )
    mark = project.predictions_swept_before
    swept, lost = 0, []
    for request_id, served_at, has_feedback in sent:
        if request_id in stored:
            continue
        if mark is not None and not has_feedback and datetime.fromisoformat(served_at) < mark:
            swept += 1
        else:
            lost.append(request_id)
    return {
        "predictions_sent": len(sent),
        "predictions_present": len(sent) - swept - len(lost),
        "predictions_deleted_by_retention": swept,
        "predictions_lost": len(lost),
        "predictions_lost_first": lost[:5],
    }


def main() -> None:  # noqa: C901 - one scripted scenario, read top to bottom
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rate", type=int, default=300, help="predictions per second")
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--every", type=float, default=300.0, help="seconds between runs/exports")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="voc-soak-"))
    os.environ["VOC_DATA_DIR"] = str(data_dir)
    # A Redis database of its own: no other worker on the same server takes the soak's tasks.
    base = os.environ.get("REDIS_URL")
    if not base:
        sys.exit("The soak runs on Redis: use `make soak` or set REDIS_URL.")
    os.environ["REDIS_URL"] = base.rsplit("/", 1)[0] + "/7" if base.count("/") > 2 else base + "/7"
    import redis

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    database_url = fresh_database("voc_soak")
    django_setup(database_url)
    import requests
    from django.contrib.auth import get_user_model
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    from feedback.demo import demo_load
    from feedback.models import ApiKey, Feedback, Prediction, Project
    from feedback.replay import build_replay
    from feedback.services import api_key_create
    from triage.models import ClusteringSettings
    from triage.services.clustering import clustering_run_execute, clustering_run_request

    demo_load(slug="soak")
    project = Project.objects.get(slug="soak")
    # Half of the demo's four weeks is past this: the sweeps have real work beside the load.
    project.prediction_retention_days = 14
    project.save(update_fields=["prediction_retention_days"])
    ClusteringSettings.objects.update_or_create(project=project, defaults={"representation": "lsa"})
    run, _ = clustering_run_request(project=project)
    clustering_run_execute(run_id=run.id, task_id="soak-setup")
    scopes = [scope for scope in ApiKey.Scope.values]
    _, key = api_key_create(project=project, scopes=scopes)
    users = []
    for n in range(args.users):
        user = get_user_model().objects.create_user(f"soak-{n}", password="soak-password")  # noqa: S106
        project.memberships.create(user=user, role="admin" if n == 0 else "reviewer")
        users.append(user.username)
    replay = build_replay(seed=1).predictions
    labels = project.labels
    api = f"/api/v1/projects/{project.slug}"
    headers = {"Authorization": f"Bearer {key}"}

    services = Services(database_url, data_dir)
    services.start()
    started = time.monotonic()
    stop = threading.Event()
    rec = Recorder(started)
    sent = {"predictions": [], "feedback": 0}
    events: list[dict] = []
    queue_lengths: list[tuple[float, int]] = []
    memory_start = services.memory()
    customers = sorted({item["customer_ref"] for item in replay if item.get("customer_ref")})

    failures: list[str] = []

    def timed(kind: str, call):
        began = time.monotonic()
        try:
            response = call()
        except requests.RequestException as exc:
            rec.add(kind, time.monotonic() - began, 0)  # no answer at all
            failures.append(f"{kind}: {type(exc).__name__}: {exc}"[:300])
            return None
        rec.add(kind, time.monotonic() - began, response.status_code)
        return response

    with_feedback: set[str] = set()

    def ingest() -> None:
        session = requests.Session()
        counter = itertools.count()
        pending_feedback: list[dict] = []
        per_tick = max(1, args.rate // 10)
        tick, next_feedback = time.monotonic(), time.monotonic() + 1
        while not stop.is_set():
            batch = []
            for _ in range(per_tick):
                n = next(counter)
                item = dict(replay[n % len(replay)], request_id=f"soak-{n:09d}")
                batch.append(item)
                if n % 20 == 0:
                    with_feedback.add(item["request_id"])
                    wrong = next(label for label in labels if label != item["predicted_label"])
                    pending_feedback.append({"kind": "correction", "request_id": item["request_id"],
                                             "corrected_label": wrong, "external_id": f"soak-fb-{n}"}
                                            if n % 40 == 0 else
                                            {"kind": "complaint", "request_id": item["request_id"],
                                             "text": "That is not what I asked", "external_id": f"soak-fb-{n}"})  # fmt: skip
            response = timed("ingest", lambda b=batch: session.post(f"{services.url}{api}/predictions", json={"predictions": b}, headers=headers, timeout=60))  # fmt: skip
            if response is not None and response.status_code == 200:
                sent["predictions"].extend(
                    (item["request_id"], item["served_at"], item["request_id"] in with_feedback)
                    for item in batch
                )
            if time.monotonic() >= next_feedback and pending_feedback:
                response = timed("feedback", lambda f=pending_feedback: session.post(f"{services.url}{api}/feedback", json={"feedback": f}, headers=headers, timeout=60))  # fmt: skip
                if response is not None and response.status_code == 200:
                    sent["feedback"] += len(pending_feedback)
                    pending_feedback = []
                next_feedback += 1
            tick += 0.1
            time.sleep(max(0.0, tick - time.monotonic()))

    def browse(session) -> None:
        # As a browser does: a page asked on a kept-alive connection the server has just
        # closed (gunicorn's keep-alive is 2 s, a user thinks 1-3 s) is asked again once.
        retry = Retry(total=1, connect=1, read=1, status=0, allowed_methods={"GET"})
        session.mount("http://", HTTPAdapter(max_retries=retry))
        pages = {
            "board": "board/",
            "inbox": "inbox/",
            "quality": "quality/",
            "categories": "categories/",
        }
        category_ids: list[int] = []
        while not stop.is_set():
            kind = random.choice([*pages, "category"])  # noqa: S311 - a load mix, not secrets
            if kind == "category":
                if not category_ids:
                    listed = session.get(
                        f"{services.url}{api}/categories", headers=headers, timeout=60
                    )
                    category_ids = [row["id"] for row in listed.json().get("results", [])][:50] or [
                        0
                    ]
                path = f"categories/{random.choice(category_ids)}/"  # noqa: S311
            else:
                path = pages[kind]
            timed(f"page:{kind}", lambda p=path: session.get(f"{services.url}/p/{project.slug}/{p}", timeout=60))  # fmt: skip
            stop.wait(random.uniform(1, 3))  # noqa: S311

    def periodic() -> None:
        session = requests.Session()
        erasures = iter(customers)
        while not stop.wait(min(args.every, 30) if not events else args.every):
            event = {"at_s": round(time.monotonic() - started)}
            response = timed("api:run", lambda: session.post(f"{services.url}{api}/clustering-runs", json={}, headers=headers, timeout=60))  # fmt: skip
            event["run"] = response.status_code if response is not None else None
            response = timed("api:export", lambda: session.post(f"{services.url}{api}/exports", json={"format": "jsonl"}, headers=headers, timeout=60))  # fmt: skip
            if response is not None and response.status_code == 202:
                export_id = response.json()["id"]
                deadline = time.monotonic() + 240
                while time.monotonic() < deadline and not stop.is_set():
                    status = session.get(f"{services.url}{api}/exports/{export_id}", headers=headers, timeout=60).json()["status"]  # fmt: skip
                    if status in ("succeeded", "failed"):
                        event["export"] = status
                        break
                    time.sleep(2)
            erase = session.post(f"{services.url}{api}/erasures", json={"customer_ref": next(erasures)}, headers=headers, timeout=60)  # fmt: skip
            event["erasure"] = erase.status_code  # 404 on a server without erasures
            if erase.status_code >= 500:
                rec.add("api:erasure", 0, erase.status_code)
            from lifecycle.retention import retention_sweep

            event["retention_deleted"] = retention_sweep(time_budget=30).deleted
            events.append(event)

    memory_series: list[tuple[int, float]] = []

    def monitor() -> None:
        broker = redis.Redis.from_url(os.environ["REDIS_URL"])
        ticks = itertools.count(1)
        while not stop.wait(10):
            at = round(time.monotonic() - started)
            queue_lengths.append((at, broker.llen("quick") + broker.llen("heavy")))
            if next(ticks) % 6 == 0:  # each minute: the total, to see growth level off
                memory_series.append((at, round(sum(services.memory().values()), 1)))

    threads = [threading.Thread(target=ingest), threading.Thread(target=periodic), threading.Thread(target=monitor)]  # fmt: skip
    # Logged in before the load starts, so a refused login stops the soak at once, loudly.
    sessions = [logged_in_session(services.url, name, "soak-password") for name in users]
    threads += [threading.Thread(target=browse, args=(session,)) for session in sessions]
    for thread in threads:
        thread.start()
    try:
        stop.wait(args.minutes * 60)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=300)
    memory_end = services.memory()
    broker = redis.Redis.from_url(os.environ["REDIS_URL"])
    drained = time.monotonic()
    while broker.llen("quick") + broker.llen("heavy") and time.monotonic() - drained < 300:
        time.sleep(2)
    drain_s = round(time.monotonic() - drained, 1)
    services.stop()

    project.refresh_from_db()
    accounted = predictions_accounted(project, sent["predictions"])
    feedback_stored = Feedback.objects.filter(
        project=project, external_id__startswith="soak-fb-"
    ).count()
    statuses = {kind: dict(counts) for kind, counts in rec.statuses.items()}
    figures = {
        "minutes": args.minutes,
        "rate_per_s": args.rate,
        "users": args.users,
        "requests": sum(sum(counts.values()) for counts in statuses.values()),
        "server_errors_5xx": sum(
            n for counts in statuses.values() for status, n in counts.items() if status >= 500
        ),  # fmt: skip
        "no_answer": sum(counts.get(0, 0) for counts in statuses.values()),
        "no_answer_first": failures[:5],
        "statuses": statuses,
        **accounted,
        "feedback_sent": sent["feedback"],
        "feedback_present": feedback_stored,
        # Feedback whose prediction is gone: the sweep and ingest raced wrongly (must be 0).
        "feedback_without_prediction": Feedback.objects.filter(
            project=project, prediction__isnull=False
        )
        .exclude(prediction_id__in=Prediction.objects.filter(project=project).values("id"))
        .count(),
        "ingest_per_minute": rec.per_minute("ingest"),
        "pages_per_minute": {
            kind.split(":")[1]: rec.per_minute(kind)
            for kind in statuses
            if kind.startswith("page:")
        },  # fmt: skip
        "events": events,
        "queue_length_max": max((n for _, n in queue_lengths), default=0),
        "queue_length_series": queue_lengths,
        "queue_drained_after_s": drain_s,
        "rss_mb_start": memory_start,
        "rss_mb_end": memory_end,
        "rss_mb_total_per_minute": memory_series,
        "machine": machine(),
    }
    report(figures, args.json)


if __name__ == "__main__":
    main()
