"""Webhook SSRF protection against real HTTP receivers on loopback.

Receivers are real servers in threads: a "canary" that must never be reached unless allowed,
and a redirector that points elsewhere. Every address used is on this machine (127.0.0.0/8);
public and metadata addresses are refused before any connection, so nothing leaves it."""

import ipaddress
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dashboards import webhooks
from dashboards.webhooks import AllowList, WebhookRefused, check_url, deliver


class Receiver:
    """A real HTTP server on a loopback address, recording every request it gets."""

    def __init__(self, host="127.0.0.1", redirect_to=None, status=204):
        self.hits: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                receiver.hits.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "host": self.headers.get("Host"),
                        "body": self.rfile.read(length) if length else b"",
                    }
                )
                if redirect_to:
                    self.send_response(302)
                    self.send_header("Location", redirect_to)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = _handle

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.host, self.port = host, self.server.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def canary():
    receiver = Receiver()
    yield receiver
    receiver.close()


def allow(text: str) -> AllowList:
    return AllowList.parse(text)


def test_a_loopback_receiver_is_refused_by_default_and_reached_when_allow_listed(canary, figures):
    attempts = refused = 0
    for url in (
        f"{canary.url}/hook",
        f"http://localhost:{canary.port}/hook",
        f"http://2130706433:{canary.port}/hook",  # 127.0.0.1 as one decimal number
        f"http://[::ffff:127.0.0.1]:{canary.port}/hook",
    ):
        attempts += 1
        result = deliver(url, {"event": "opened"})
        refused += result.refused and not result.ok
    figures.update(attempts=attempts, refused=refused, canary_hits=len(canary.hits))
    assert refused == attempts and canary.hits == []

    result = deliver(f"{canary.url}/hook?x=1", {"event": "opened"}, allow=allow("127.0.0.1/32"))

    figures["delivered_when_allow_listed"] = int(result.ok)
    assert result.ok and result.status == 204
    assert len(canary.hits) == 1
    hit = canary.hits[0]
    assert hit["method"] == "POST" and hit["path"] == "/hook?x=1"
    assert json.loads(hit["body"]) == {"event": "opened"}


def test_a_redirect_to_loopback_is_refused_even_from_an_allowed_receiver(canary, figures):
    # The redirector listens on another loopback address, which the allow list lets through;
    # the canary's address is not listed.
    redirector = Receiver(host="127.0.0.2", redirect_to=f"{canary.url}/steal")
    metadata = Receiver(host="127.0.0.3", redirect_to="http://169.254.169.254/latest/meta-data/")
    try:
        first = deliver(f"{redirector.url}/hook", {"a": 1}, allow=allow("127.0.0.2"))
        second = deliver(f"{metadata.url}/hook", {"a": 1}, allow=allow("127.0.0.3/32"))
    finally:
        redirector.close()
        metadata.close()
    figures.update(
        redirect_attempts=2,
        redirects_refused=int(first.refused) + int(second.refused),
        canary_hits=len(canary.hits),
    )
    assert len(redirector.hits) == 1 and len(metadata.hits) == 1
    assert first.refused and not first.ok and "loopback" in first.detail
    assert second.refused and second.detail == webhooks.METADATA
    assert canary.hits == []


def test_an_allowed_redirect_is_followed_after_its_check(canary):
    redirector = Receiver(host="127.0.0.2", redirect_to=f"{canary.url}/final")
    try:
        result = deliver(f"{redirector.url}/hook", {"a": 1}, allow=allow("127.0.0.0/8"))
    finally:
        redirector.close()
    assert result.ok and len(result.hops) == 2
    assert [hit["path"] for hit in canary.hits] == ["/final"]


def test_it_connects_to_the_checked_address_without_resolving_again(canary):
    """DNS rebinding: the name is resolved once; the connection goes to that address and the
    request still names the original host."""
    calls = []

    def resolver(host, port):
        calls.append(host)
        return ["127.0.0.1"] if len(calls) == 1 else ["169.254.169.254"]

    result = deliver(
        f"http://hooks.example.test:{canary.port}/in",
        {"b": 2},
        allow=allow("hooks.example.test"),
        resolver=resolver,
    )

    assert result.ok and calls == ["hooks.example.test"]
    assert canary.hits[0]["host"] == f"hooks.example.test:{canary.port}"


@pytest.mark.parametrize(
    "url, reason",
    [
        ("ftp://example.com/x", webhooks.BAD_SCHEME),
        ("file:///etc/passwd", webhooks.BAD_SCHEME),
        ("gopher://127.0.0.1:6379/_INFO", webhooks.BAD_SCHEME),
        ("http://user:pw@example.com/", webhooks.CREDENTIALS),
        ("http:///nohost", webhooks.NO_HOST),
        ("http://example.com:99999/", webhooks.BAD_PORT),
        ("http://169.254.169.254/latest/meta-data/", webhooks.METADATA),
        ("http://[fd00:ec2::254]/latest/", webhooks.METADATA),
        ("http://[::ffff:169.254.169.254]/", webhooks.METADATA),
        ("http://10.1.2.3/", "private"),
        ("http://192.168.0.1/", "private"),
        ("http://172.16.5.5/", "private"),
        ("http://169.254.1.1/", "link-local"),
        ("http://[fe80::1]/", "link-local"),
        ("http://224.0.0.1/", "multicast"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://[::1]/", "loopback"),
        ("http://100.64.0.1/", "non-public"),
        ("http://240.0.0.1/", "reserved"),
    ],
)
def test_it_refuses_urls_before_connecting(url, reason):
    with pytest.raises(WebhookRefused) as refused:
        check_url(url, AllowList())
    assert reason in str(refused.value)


def test_metadata_addresses_are_refused_even_when_their_network_is_allowed():
    wide = allow("169.254.0.0/16\nfd00::/8\n0.0.0.0/0")
    for url in ("http://169.254.169.254/", "http://[fd00:ec2::254]/"):
        with pytest.raises(WebhookRefused, match="metadata"):
            check_url(url, wide)
    assert check_url("http://169.254.1.1/", wide).address == "169.254.1.1"


def test_a_host_resolving_to_one_public_and_one_private_address_is_refused():
    def resolver(host, port):
        return ["93.184.215.14", "10.0.0.7"]

    with pytest.raises(WebhookRefused, match="private"):
        check_url("https://mixed.example.test/", AllowList(), resolver)
    target = check_url("https://public.example.test/x", AllowList(), lambda h, p: ["93.184.215.14"])
    assert (target.address, target.port, target.path) == ("93.184.215.14", 443, "/x")


def test_the_allow_list_names_the_line_it_cannot_read():
    parsed = allow("# internal receivers\n10.0.0.0/8\nAlerts.Internal.\n\n::1")
    assert parsed.hosts == {"alerts.internal"}
    assert ipaddress.ip_network("10.0.0.0/8") in parsed.networks
    with pytest.raises(ValueError, match="line 2"):
        AllowList.parse("10.0.0.0/8\nhttp://bad host/")
