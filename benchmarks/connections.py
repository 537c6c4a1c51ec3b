"""How the web workers keep their PostgreSQL connections: a new connection per request (the
baseline), persistent connections with health checks (CONN_MAX_AGE, the default), or
psycopg's pool (DATABASE_POOL=true), against the same gunicorn in the same run.

    python benchmarks/connections.py --rounds 3

For each setting gunicorn (2 sync workers) is started afresh and given, from 2 client
threads: ingest in 1,000-item batches (Banking77 replay predictions), ingest in 10-item
batches (a small logger: the connection is a bigger share of each request), and a logged-in
page (the project overview: session, membership, template). Reported per setting: the median
over the rounds of requests/s and rows/s, each as a ratio to the baseline, and the server
connections it holds (pg_stat_activity, sampled every 50 ms while it runs and once idle after)
and opens (pg_stat_database.sessions).
"""

import argparse
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import Server, django_setup, fresh_database, machine, report  # noqa: E402

DATABASE = "voc_bench_connections"
SETTINGS = {
    "new connection per request (CONN_MAX_AGE=0)": {
        "DATABASE_POOL": "false",
        "DATABASE_CONN_MAX_AGE": "0",
    },
    "persistent, health checks (CONN_MAX_AGE=60)": {
        "DATABASE_POOL": "false",
        "DATABASE_CONN_MAX_AGE": "60",
    },
    "psycopg pool (DATABASE_POOL=true, 1-4 per process)": {
        "DATABASE_POOL": "true",
        "DATABASE_POOL_MIN_SIZE": "1",
        "DATABASE_POOL_MAX_SIZE": "4",
    },
}
BASELINE = next(iter(SETTINGS))


class Connections:
    """Samples the server connections to the benchmark's database while a workload runs."""

    def __init__(self, admin_url: str):
        import psycopg

        self.conn = psycopg.connect(admin_url, autocommit=True)
        self.samples: list[int] = []
        self.stop = threading.Event()

    def count(self) -> int:
        return self.conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [DATABASE]
        ).fetchone()[0]

    def sessions(self) -> int:
        """Connections ever opened to the database (counted within about a second)."""
        time.sleep(1.2)
        self.conn.execute("SELECT pg_stat_clear_snapshot()")
        return self.conn.execute(
            "SELECT sessions FROM pg_stat_database WHERE datname = %s", [DATABASE]
        ).fetchone()[0]

    def __enter__(self):
        self.samples.clear()
        self.stop.clear()

        def sample():
            while not self.stop.wait(0.05):
                self.samples.append(self.count())

        self.thread = threading.Thread(target=sample, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def run(send, bodies: list, threads: int) -> float:
    """Send every body from `threads` threads, each with a keep-alive session of its own;
    returns the wall time (after one warm-up request per thread)."""
    import requests

    local = threading.local()

    def one(body):
        if not hasattr(local, "session"):
            local.session = requests.Session()
        return send(local.session, body)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(one, bodies[:threads]))
        start = time.perf_counter()
        list(pool.map(one, bodies[threads:]))
        return time.perf_counter() - start


def measure(database_url, admin_url, env, fixture, tag: str, args) -> dict:
    import orjson

    from benchmarks.ingest import make_items

    headers = {"Authorization": f"Bearer {fixture['key']}", "Content-Type": "application/json"}
    ingest_url = f"/api/v1/projects/{fixture['slug']}/predictions"
    page_url = f"/p/{fixture['slug']}/"
    connections = Connections(admin_url)
    sessions_before = connections.sessions()
    server = Server(database_url, workers=args.workers, env=env)
    figures: dict = {}
    held: list[int] = []
    try:

        def post(session, body):
            response = session.post(server.url + ingest_url, data=body, headers=headers)
            assert response.ok and response.json()["accepted"] == body.count(b"request_id")

        def get(session, _):
            response = session.get(server.url + page_url, cookies=fixture["cookies"])
            assert response.status_code == 200 and b"logout" in response.content.lower()

        for name, batch, requests_ in (
            ("ingest, 1,000-item batches", 1000, args.big_batches),
            ("ingest, 10-item batches", 10, args.small_batches),
        ):
            n = (requests_ + args.threads) * batch
            items = make_items(n)
            for i, item in enumerate(items):
                item["request_id"] = f"{tag}-{batch}-{i}"
            bodies = [
                orjson.dumps({"predictions": items[i : i + batch]}) for i in range(0, n, batch)
            ]
            with connections:
                seconds = run(post, bodies, args.threads)
            held += connections.samples
            figures[name] = {
                "requests_per_s": round(requests_ / seconds, 1),
                "rows_per_s": round(requests_ * batch / seconds),
            }
        with connections:
            seconds = run(get, [None] * (args.pages + args.threads), args.threads)
        held += connections.samples
        figures["logged-in page (project overview)"] = {
            "requests_per_s": round(args.pages / seconds, 1)
        }
        time.sleep(0.5)
        figures["server connections held while busy (max)"] = max(held)
        figures["server connections held idle after"] = connections.count()
    finally:
        server.stop()
    total = args.big_batches + args.small_batches + args.pages + 3 * args.threads
    opened = connections.sessions() - sessions_before
    figures["server connections opened per 1,000 requests"] = round(opened * 1000 / total, 1)
    connections.conn.close()
    return figures


def prepare() -> dict:
    from django.db import connection
    from django.test import Client

    from feedback.models import Membership
    from feedback.services import api_key_create, project_create
    from tests.factories import UserFactory

    project = project_create(slug="bench-connections", name="Connections")
    _, key = api_key_create(project=project, scopes=["ingest"])
    user = UserFactory(username="bench")
    Membership.objects.create(project=project, user=user, role="reviewer", team="data")
    client = Client()
    client.force_login(user)
    connection.close()  # the benchmark's own connection stays out of the counts
    return {
        "slug": project.slug,
        "key": key,
        "cookies": {"sessionid": client.cookies["sessionid"].value},
    }


def summarise(rounds: list[dict]) -> dict:
    """Per setting and workload, the median over the rounds, and its ratio to the baseline."""
    out: dict = {}
    for setting in SETTINGS:
        out[setting] = {}
        for workload, value in rounds[0][setting].items():
            if isinstance(value, dict):
                medians = {
                    k: statistics.median(r[setting][workload][k] for r in rounds) for k in value
                }
                base = statistics.median(r[BASELINE][workload]["requests_per_s"] for r in rounds)
                medians["ratio_to_baseline"] = round(medians["requests_per_s"] / base, 2)
                medians["per_round_requests_per_s"] = [
                    r[setting][workload]["requests_per_s"] for r in rounds
                ]
                out[setting][workload] = medians
            else:
                out[setting][workload] = statistics.median(r[setting][workload] for r in rounds)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="each setting once per round")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=2, help="client threads")
    parser.add_argument("--big-batches", type=int, default=60, help="1,000-item requests")
    parser.add_argument("--small-batches", type=int, default=2000, help="10-item requests")
    parser.add_argument("--pages", type=int, default=1000, help="page requests")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    from urllib.parse import urlsplit, urlunsplit

    database_url = fresh_database(DATABASE)
    admin_url = urlunsplit(urlsplit(database_url)._replace(path="/postgres"))
    django_setup(database_url)
    fixture = prepare()
    rounds = []
    for n in range(args.rounds):
        # Each round starts with a different setting: none always runs on a colder machine.
        names = list(SETTINGS)[n % len(SETTINGS) :] + list(SETTINGS)[: n % len(SETTINGS)]
        rounds.append(
            {
                name: measure(database_url, admin_url, SETTINGS[name], fixture, f"r{n}s{i}", args)
                for i, name in enumerate(names)
            }
        )
    figures = {
        "gunicorn_workers": args.workers,
        "client_threads": args.threads,
        "rounds": args.rounds,
        **summarise(rounds),
        "machine": machine(),
    }
    report(figures, args.json)


if __name__ == "__main__":
    main()
