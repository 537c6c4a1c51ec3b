"""Check that a running demo answers as a newcomer would find it, over HTTP only.

    python scripts/check_demo.py --url http://127.0.0.1:8000 --user demo --password demo

`make run` runs this when VOC_RUN_CHECK=1 (the fresh-clone test) and stops once it passes:
1. /healthz answers 200 (the web server, the database and the broker),
2. the demo login works and the board of the demo project shows categories (the worker did
   the clustering run `make run` queued),
3. /healthz reports a rollup pass finished after this check started (beat scheduled it and a
   worker did it).
Standard library only; exits 0 when all hold within --timeout seconds, 1 otherwise.
"""

import argparse
import http.cookiejar
import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime

CARD = re.compile(rb'class="[^"]*\bcategory-card\b')
LOGIN_FORM = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


class Session:
    def __init__(self, base_url: str):
        self.base_url = base_url.rstrip("/")
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def get(self, path: str) -> tuple[int, bytes, str]:
        return self._open(urllib.request.Request(self.base_url + path))

    def post(self, path: str, fields: dict) -> tuple[int, bytes, str]:
        body = urllib.parse.urlencode(fields).encode()
        request = urllib.request.Request(self.base_url + path, data=body, method="POST")
        request.add_header("Referer", self.base_url + path)  # Django's CSRF check on HTTPS
        return self._open(request)

    def _open(self, request) -> tuple[int, bytes, str]:
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.read(), response.url
        except urllib.error.HTTPError as error:
            return error.code, error.read(), request.full_url


def wait(what: str, check, deadline: float, started: float) -> None:
    last_error = None
    while time.monotonic() < deadline:
        try:
            if check():
                print(f"  ok after {time.monotonic() - started:5.1f}s: {what}", flush=True)
                return
        except (OSError, ValueError) as error:  # not up yet
            last_error = error
        time.sleep(1)
    raise SystemExit(f"check failed: {what} (last error: {last_error})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--user", default="demo")
    parser.add_argument("--password", default="demo")
    parser.add_argument("--project", default="banking77")
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    started = time.monotonic()
    deadline = started + args.timeout
    check_started_at = datetime.now(UTC)
    session = Session(args.url)
    print(f"Checking the demo at {args.url} ...", flush=True)

    def health() -> dict:
        status, body, _ = session.get("/healthz")
        return json.loads(body) if status == 200 else {}

    wait("/healthz: web server, database and broker answer", health, deadline, started)

    def login() -> bool:
        status, page, _ = session.get("/accounts/login/")
        token = LOGIN_FORM.search(page)
        if status != 200 or token is None:
            return False
        fields = {
            "username": args.user,
            "password": args.password,
            "csrfmiddlewaretoken": token.group(1).decode(),
        }
        status, _, landed = session.post("/accounts/login/", fields)
        return status == 200 and "/accounts/login/" not in landed

    wait(f"the demo login ({args.user}) works", login, deadline, started)

    def board_has_categories() -> bool:
        status, page, _ = session.get(f"/p/{args.project}/board/")
        return status == 200 and len(CARD.findall(page)) > 0

    wait("the board shows the worker's categories", board_has_categories, deadline, started)

    def beat_and_worker() -> bool:
        passed = health().get("details", {}).get("rollup_last_pass")
        return bool(passed) and datetime.fromisoformat(passed) > check_started_at

    wait("beat scheduled a rollup pass and a worker did it", beat_and_worker, deadline, started)
    print(f"Demo check passed in {time.monotonic() - started:.1f}s.", flush=True)


if __name__ == "__main__":
    sys.exit(main())
