"""Oversized bodies against the production server (gunicorn): the limit plus one byte, 100x the
limit, and NDJSON streamed without a length (chunked). Each is a 413 naming the limit, and the
worker's memory stays bounded (it never holds the whole body).

Figures: status of each case (must be 413) and the worker's peak memory growth in MB.
"""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
import requests
from django.db import connections

from feedback.services import api_key_create
from tests.factories import ProjectFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

LIMIT = 1_000_000  # 1 MB, so 100x the limit is 100 MB


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url() -> str:
    db = connections["default"].settings_dict
    if "postgresql" not in db["ENGINE"]:
        pytest.skip("the production server test runs on PostgreSQL")
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.fixture
def gunicorn(tmp_path):
    port = free_port()
    env = {
        **os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url(), "VOC_API_MAX_BODY_BYTES": str(LIMIT),
    }  # fmt: skip
    server = subprocess.Popen(
        [Path(sys.executable).with_name("gunicorn"), "config.wsgi", "--bind",
         f"127.0.0.1:{port}", "--workers", "1", "--timeout", "60"],
        env=env, stdout=subprocess.DEVNULL, stderr=open(tmp_path / "gunicorn.log", "w"),
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(f"{url}/healthz", timeout=10)
            break
        except requests.RequestException:
            time.sleep(0.2)
    yield url, server
    server.terminate()
    server.wait(10)


def worker_peak_mb(master_pid: int) -> float:
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    status = Path(f"/proc/{children[0]}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def test_oversized_bodies_are_refused_with_bounded_memory(gunicorn, figures):
    url, server = gunicorn
    project = ProjectFactory(labels=[])
    _, key = api_key_create(project=project, scopes=["ingest"])
    endpoint = f"{url}/api/v1/projects/{project.slug}/predictions"
    headers = {"Authorization": f"Bearer {key}"}
    line = orjson.dumps({"request_id": "r", "model_version": "v1", "input_text": "x" * 200,
                         "predicted_label": "a"}) + b"\n"  # fmt: skip

    def body(size: int) -> bytes:
        return (line * (size // len(line) + 1))[:size]

    # Warm the worker (imports, connections), then measure what the big bodies add.
    requests.post(endpoint, data=body(1000), headers={**headers,
                  "Content-Type": "application/x-ndjson"}, timeout=30)  # fmt: skip
    baseline = worker_peak_mb(server.pid)

    def chunks(total: int, size: int = 64 * 1024):
        sent = 0
        while sent < total:
            yield line * (size // len(line))
            sent += size

    statuses = {
        "limit_plus_one": requests.post(endpoint, data=body(LIMIT + 1), timeout=60,
            headers={**headers, "Content-Type": "application/x-ndjson"}),
        "hundred_times_the_limit": requests.post(endpoint, data=body(100 * LIMIT), timeout=120,
            headers={**headers, "Content-Type": "application/json"}),
        "ndjson_chunked_without_length": requests.post(endpoint, data=chunks(100 * LIMIT),
            timeout=120, headers={**headers, "Content-Type": "application/x-ndjson"}),
    }  # fmt: skip
    growth = worker_peak_mb(server.pid) - baseline
    figures.update(
        {name: response.status_code for name, response in statuses.items()},
        limit_bytes=LIMIT,
        worker_peak_growth_mb=round(growth, 1),
    )
    for name, response in statuses.items():
        assert response.status_code == 413, (name, response.text[:500])
        assert response.json()["error"]["details"]["max_bytes"] == LIMIT
    # The worker never held a 100 MB body: at most the limit and a few read buffers.
    assert growth < 20
    # A body just inside the limit is still accepted.
    ok = requests.post(endpoint, data=body(LIMIT - 10).rsplit(b"\n", 1)[0], timeout=60,
                       headers={**headers, "Content-Type": "application/x-ndjson"})  # fmt: skip
    assert ok.status_code == 200
    # And NDJSON streamed without a length within the limit is read whole.
    lines = (orjson.dumps({"request_id": f"c{i}", "model_version": "v1", "input_text": "hi",
                           "predicted_label": "a"}) + b"\n" for i in range(50))  # fmt: skip
    streamed = requests.post(endpoint, data=lines, timeout=60,
                             headers={**headers, "Content-Type": "application/x-ndjson"})  # fmt: skip
    assert streamed.status_code == 200 and streamed.json()["accepted"] == 50
