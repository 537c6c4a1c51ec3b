"""The HTTP side of the client: one request to the API, and reading what came back.
Standard library only (urllib)."""

from __future__ import annotations

import email.utils
import gzip
import http.client
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

VERSION = "0.1.0"
# The ingest endpoints, and the kinds of record the client sends to them.
PREDICTIONS = "predictions"
FEEDBACK = "feedback"
# Statuses worth retrying: the server is overloaded, restarting or behind a proxy that is.
RETRY_STATUSES = frozenset({429, 502, 503, 504})


class VocError(Exception):
    """Base class of the errors `feedback_link` raises (the `log_*` methods never raise)."""


class VocConnectionError(VocError):
    """The server could not be reached."""


class VocApiError(VocError):
    """The server answered with an error status."""

    def __init__(self, status: int, message: str, body: Any = None) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.body = body


def api_request(
    *,
    base_url: str,
    project: str,
    api_key: str,
    method: str,
    path: str,
    body: bytes | None,
    timeout: float,
) -> tuple[int | None, Mapping[str, str] | None, Any]:
    """(status, headers, body bytes), or (None, None, error text) when unreachable."""
    url = f"{base_url}/api/v1/projects/{urllib.parse.quote(project)}/{path}"
    headers = {
        "Authorization": f"Bearer {api_key}",
        "Accept": "application/json",
        "User-Agent": f"voc-triage-client/{VERSION}",
    }
    if body is not None:
        # Batches of text compress several times over; level 1 costs the sender thread little.
        body = gzip.compress(body, compresslevel=1)
        headers["Content-Type"] = "application/json"
        headers["Content-Encoding"] = "gzip"
    request = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.headers, exc.read()
    except (OSError, ValueError, http.client.HTTPException) as exc:
        # URLError, timeouts, resets, a body cut short, bad URLs
        reason = getattr(exc, "reason", exc)
        return None, None, f"{type(exc).__name__}: {reason}"


def json_or_none(body: Any) -> Any:
    if not isinstance(body, (bytes, str)):
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def error_message(data: Any, raw: Any) -> str:
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        return str(data["error"].get("message") or data["error"].get("code"))
    if isinstance(raw, bytes):
        return raw[:200].decode("utf-8", "replace")
    return str(raw)[:200]


def retry_after(headers: Mapping[str, str] | None) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
