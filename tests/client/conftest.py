"""Fixtures of the client library's tests: a stub HTTP server and a closed port."""

import gzip
import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

try:
    import voc_triage_client  # noqa: F401 - installed by `make setup`
except ImportError:  # a checkout without `make setup`: the package beside the tests
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent / "clients" / "python"))

# Short delays everywhere: each test runs in seconds.
FAST = {"flush_interval": 0.05, "backoff_base": 0.01, "backoff_max": 0.05, "timeout": 5.0}


class StubServer:
    """Answers ingest requests like the real API, or with the statuses queued in `script`.

    `requests` records (path, items, headers) of every POST, `accepted` (path, items) of those
    answered 200; `script` is a list of (status, headers) consumed one per request before
    answering 200.
    """

    def __init__(self):
        self.requests: list[tuple[str, list, dict]] = []
        self.accepted: list[tuple[str, list]] = []
        self.script: list[tuple[int, dict]] = []
        self.max_items: int | None = None
        # Seconds each request takes, and how many were being answered at once at most.
        self.delay = 0.0
        self.in_flight = self.max_in_flight = 0
        self.lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                assert self.headers["Content-Encoding"] == "gzip"
                body = json.loads(gzip.decompress(raw))
                key = next(iter(body))
                with stub.lock:
                    stub.requests.append((self.path, body[key], dict(self.headers)))
                    scripted = stub.script.pop(0) if stub.script else None
                    stub.in_flight += 1
                    stub.max_in_flight = max(stub.max_in_flight, stub.in_flight)
                time.sleep(stub.delay)
                with stub.lock:
                    stub.in_flight -= 1
                if scripted:
                    self.answer(scripted[0], {"error": {"code": "x", "message": "x"}}, scripted[1])
                elif stub.max_items is not None and len(body[key]) > stub.max_items:
                    self.answer(413, {"error": {"code": "payload_too_large", "message": "big"}})
                else:
                    with stub.lock:
                        stub.accepted.append((self.path, body[key]))
                    self.answer(200, {"accepted": len(body[key]), "duplicates": 0, "rejected": []})

            def answer(self, status, payload, headers=None):
                out = json.dumps(payload).encode()
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def items(self, kind: str) -> list:
        with self.lock:
            return [item for path, items in self.accepted if path.endswith(kind) for item in items]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub():
    server = StubServer()
    yield server
    server.stop()


@pytest.fixture
def closed_port_url():
    """A URL nothing listens on: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def make_client():
    """VocClient(...) with fast delays, closed after the test."""
    from voc_triage_client import VocClient

    made = []

    def make(base_url, api_key="key", project="proj", **options):
        client = VocClient(base_url, api_key, project, **{**FAST, **options})
        made.append(client)
        return client

    yield make
    for client in made:
        client.close(timeout=0)
