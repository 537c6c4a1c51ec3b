"""What the client benchmarks share: the app served live by gunicorn, replay predictions as
log_prediction's arguments, and reading back what the server stored."""

import os
import signal
import subprocess
import sys
import time
import urllib.request

from benchmarks.common import ROOT, free_port


class LiveServer:
    """gunicorn serving the app on a fixed port, which can be stopped and started again."""

    def __init__(self, database_url: str, workers: int = 2):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "DJANGO_DEBUG": "false",
            "DJANGO_LOG_LEVEL": "WARNING",
        }
        self.process: subprocess.Popen | None = None

    def start(self) -> float:
        """Start gunicorn and wait until /healthz answers 200; returns the seconds it took."""
        started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{self.port}",
             "--workers", str(self.workers), "--log-level", "warning"],
            cwd=ROOT, env=self.env,
        )  # fmt: skip
        deadline = started + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("gunicorn exited")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=5) as response:
                    if response.status == 200:
                        return time.monotonic() - started
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("the app did not answer /healthz with 200")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)
        self.process = None


def make_items(n: int, prefix: str) -> list[dict]:
    """`n` Banking77 replay predictions (text, top-5 scores, metadata, customer reference) as
    `log_prediction`'s keyword arguments, with request ids of their own."""
    items = []
    for i in range(n):
        item = dict(REPLAY[i % len(REPLAY)])
        item["request_id"] = f"{prefix}-{i:08d}"
        items.append(item)
    return items


REPLAY: list[dict] = []


def percentiles(samples_ns: list[int]) -> dict:
    ordered = sorted(samples_ns)
    n = len(ordered)

    def at(q: float) -> float:
        return round(ordered[min(n - 1, int(q * n))] / 1000, 2)

    return {"p50_us": at(0.50), "p99_us": at(0.99), "p999_us": at(0.999), "calls": n}


def stored(slug: str) -> tuple[int, int]:
    from feedback.models import Prediction

    rows = Prediction.objects.filter(project__slug=slug)
    return rows.count(), rows.values("request_id").distinct().count()
