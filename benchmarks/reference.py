"""A reference dataset (the team's training set) of 1,000,000 rows: the upload request, and
the background job that reads it into keys.

    python benchmarks/reference.py --rows 1000000

A training set of `--rows` Banking77 queries (each copy varied by a word, so every row is a
distinct input) is written as CSV and as Parquet. Each file is

- uploaded through the API (`POST .../references`) to gunicorn, as in production, streamed
  from disk: the request's time, and the same for a CSV `--big` times larger (the request
  must not grow with the file);
- read by the job (`triage.reference_read`) in a real Celery worker (solo pool, so that its
  peak resident memory is the worker's own): the job's time from its claim to its finish;
- read by `read_keys` alone (the engine, no Django) in a fresh process.

Baseline in the same run: pandas reading the same column of the same file (no keys), in a
fresh process. Runs on PostgreSQL (a fresh database) and on Redis (a database number of its
own, emptied at the end) when REDIS_URL is set.
"""

import argparse
import csv
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (  # noqa: E402
    ROOT,
    Server,
    django_setup,
    fresh_database,
    machine,
    peak_rss_mb,
    report,
)

TRAIN = ROOT / "feedback" / "demo_data" / "banking77" / "train.csv"


def _word(n: int) -> str:
    letters = ""
    while True:
        n, digit = divmod(n, 26)
        letters += "abcdefghijklmnopqrstuvwxyz"[digit]
        if not n:
            return "ref" + letters


def write_files(rows: int, folder: Path) -> dict[str, Path]:
    import pandas as pd

    with open(TRAIN, newline="", encoding="utf-8") as handle:
        texts = [row[0] for row in csv.reader(handle)][1:]
    # Numbers do not count in a key: a word tells the copies of a query apart.
    column = [f"{texts[i % len(texts)]} {_word(i // len(texts))}" for i in range(rows)]
    frame = pd.DataFrame({"text": column, "label": "x"})
    paths = {"csv": folder / "train.csv", "parquet": folder / "train.parquet"}
    frame.to_csv(paths["csv"], index=False)
    frame.to_parquet(paths["parquet"])
    return paths


def child(kind: str, path: str, how: str) -> dict:
    start = time.perf_counter()
    if how == "baseline":
        import pandas as pd

        reader = pd.read_csv if kind == "csv" else pd.read_parquet
        options = {"usecols": ["text"]} if kind == "csv" else {"columns": ["text"]}
        rows, keys = len(reader(path, **options)), None
    else:
        from triage.exports.reference import read_keys

        with open(path, "rb") as raw:
            result = read_keys(raw, kind=kind, column="text")
        rows, keys = result.rows, len(result.keys)
    seconds = time.perf_counter() - start
    return {
        "file": kind,
        "read by": "pandas (baseline)" if how == "baseline" else "read_keys",
        "file_mb": round(Path(path).stat().st_size / 1e6, 1),
        "rows": rows,
        "keys": keys,
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def write_big(path: Path, copies: int) -> Path:
    """The CSV's data rows `copies` times over (only its upload is timed, not its read)."""
    big = path.with_name(f"train-x{copies}.csv")
    with open(path, "rb") as source, open(big, "wb") as out:
        header = source.readline()
        out.write(header)
        for _ in range(copies):
            source.seek(len(header))
            shutil.copyfileobj(source, out, 16 * 1024 * 1024)
    return big


# Each file is uploaded this many times (the median and the slowest are reported).
UPLOADS = 3


def upload(server_url: str, key: str, slug: str, path: Path) -> tuple[float, float, dict]:
    """POST the file as multipart, streamed from disk: the seconds to the answer, the seconds
    from the body's last byte to the answer (the request's own work once it has the file),
    and the answer."""
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="text_column"\r\n\r\ntext\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="{path.name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    size = len(head) + path.stat().st_size + len(tail)

    sent = []

    def body():
        yield head
        with open(path, "rb") as handle:
            while chunk := handle.read(1024 * 1024):
                yield chunk
        yield tail
        sent.append(time.perf_counter())  # asked for once the tail went out

    host = urlsplit(server_url)
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=300)
    start = time.perf_counter()
    conn.request(
        "POST",
        f"/api/v1/projects/{slug}/references",
        body=body(),
        headers={
            "Authorization": f"Bearer {key}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(size),
        },
    )
    response = conn.getresponse()
    answered = time.perf_counter()
    answer = json.loads(response.read())
    conn.close()
    if response.status != 202:
        raise RuntimeError(f"upload answered {response.status}: {answer}")
    return answered - start, answered - sent[0], answer


class Worker:
    """A Celery worker with the solo pool: the job runs in this very process."""

    def __init__(self, env: dict, log: Path, queue: str = "heavy"):
        self.log_path = log
        self.log = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo",
             "--loglevel", "INFO", "--without-gossip", "--without-mingle",
             "--without-heartbeat", "-Q", queue, "-n", f"bench-{queue}-{os.getpid()}@%h"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while b"ready." not in self.log_path.read_bytes():
            if time.monotonic() > deadline:
                raise RuntimeError("the worker did not start")
            time.sleep(0.2)

    def peak_rss_mb(self) -> float:
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)
        self.log.close()


def uploads_and_jobs(paths: dict[str, Path], big: Path, folder: Path) -> list[dict]:
    """Each file uploaded to gunicorn and read by a worker; the big CSV only uploaded."""
    database_url = fresh_database("voc_bench_reference")
    media = folder / "media"
    os.environ["VOC_MEDIA_ROOT"] = str(media)
    os.environ["VOC_DATA_DIR"] = str(folder / "data")
    if os.environ.get("REDIS_URL"):  # a database number of its own: nothing else's queue
        os.environ["REDIS_URL"] = urlunsplit(urlsplit(os.environ["REDIS_URL"])._replace(path="/9"))
    django_setup(database_url)
    from feedback.services import api_key_create, project_create
    from triage.models import ReferenceDataset

    project = project_create(slug="bench-reference", name="Reference benchmark")
    key = api_key_create(project=project, scopes=["export"])[1]
    server = Server(database_url)
    results = []
    try:
        # A gunicorn worker's first request imports what it needs (seconds): warm both up.
        tiny = folder / "tiny.csv"
        tiny.write_text("text\nwarm up\n")
        for _ in range(4):
            upload(server.url, key, project.slug, tiny)
        ids = {}
        for kind, path in [*paths.items(), ("csv", big)]:
            times, after_body = [], []
            for _ in range(UPLOADS):
                seconds, own, answer = upload(server.url, key, project.slug, path)
                times.append(seconds)
                after_body.append(own)
                ids.setdefault(path, answer["id"])  # the first one's read is measured
            times.sort()
            results.append({
                "file": kind, "what": f"upload request (POST to gunicorn, {UPLOADS} times)",
                "file_mb": round(path.stat().st_size / 1e6, 1),
                "seconds_median": round(times[len(times) // 2], 3),
                "seconds_max": round(times[-1], 3),
                "after_last_byte_max": round(max(after_body), 3), "status": answer["status"],
            })  # fmt: skip
            print(json.dumps(results[-1]), flush=True)
        ReferenceDataset.objects.filter(project=project).exclude(id__in=ids.values()).delete()
        # The big file's read is not measured: it goes before the worker starts.
        ReferenceDataset.objects.filter(id=ids.pop(big)).delete()
        env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE":
               "config.settings.local", "DJANGO_DEBUG": "false"}  # fmt: skip
        # The memory of a worker that has run nothing (a queue of its own: it takes nothing).
        idle = Worker(env, folder / "idle.log", queue="bench-idle")
        idle.wait_ready()
        results.append({"what": "worker, idle", "worker_peak_rss_mb": round(idle.peak_rss_mb(), 1)})
        idle.stop()
        worker = Worker(env, folder / "worker.log")
        try:
            for path, dataset_id in ids.items():
                deadline = time.monotonic() + 600
                while (dataset := ReferenceDataset.objects.get(id=dataset_id)).is_active:
                    if time.monotonic() > deadline:
                        raise RuntimeError("the job did not finish in 10 minutes")
                    time.sleep(0.2)
                if not dataset.is_ready:
                    raise RuntimeError(f"the job failed: {dataset.error}")
                seconds = (dataset.finished_at - dataset.started_at).total_seconds()
                results.append({
                    "file": dataset.format, "what": "job (worker: sha256, keys, .npy)",
                    "file_mb": round(path.stat().st_size / 1e6, 1), "rows": dataset.rows,
                    "keys": dataset.key_count, "seconds": round(seconds, 2),
                    "rows_per_s": round(dataset.rows / seconds),
                    "worker_peak_rss_mb": round(worker.peak_rss_mb(), 1),
                })  # fmt: skip
                print(json.dumps(results[-1]), flush=True)
        finally:
            worker.stop()
    finally:
        server.stop()
        if os.environ.get("REDIS_URL"):
            import redis

            redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--big", type=int, default=5, help="the big CSV: this many copies")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    results = []
    with tempfile.TemporaryDirectory() as folder:
        paths = write_files(args.rows, Path(folder))
        big = write_big(paths["csv"], args.big)
        for kind, path in paths.items():
            for how in ("baseline", "keys"):
                output = subprocess.run(
                    [sys.executable, __file__, "--child", kind, str(path), how],
                    check=True, capture_output=True, text=True,
                ).stdout  # fmt: skip
                results.append(json.loads(output.strip().splitlines()[-1]))
                print(json.dumps(results[-1]), flush=True)
        results += uploads_and_jobs(paths, big, Path(folder))
    pandas = {
        r["file"]: r["rows_per_s"] for r in results if r.get("read by", "").startswith("pandas")
    }
    for result in results:
        if "rows_per_s" in result and not result.get("read by", "").startswith("pandas"):
            result["vs_pandas"] = round(result["rows_per_s"] / pandas[result["file"]], 3)
    figures = {"machine": machine(), "rows": args.rows, "results": results}
    report(figures, args.json)


if __name__ == "__main__":
    main()
