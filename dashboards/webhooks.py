"""Webhook delivery that cannot be turned against the inside of the network (SSRF).

An alert's webhook URL is typed by a project admin, so it may point anywhere: at the cloud
metadata service, at a database on loopback, at an internal admin page. Before any byte is
sent:

- the scheme must be http or https, with a host and no credentials in the URL;
- the host is resolved once, and every address it resolves to must be public: loopback,
  private, link-local, multicast, reserved, unspecified, shared (CGNAT) and the metadata
  addresses are refused, IPv4-mapped IPv6 addresses are judged as the IPv4 they carry;
- the connection goes to the address that was checked (no second lookup, so a DNS answer
  that changes between check and connect - DNS rebinding - cannot reach anything else), with
  the original host name in the Host header and for TLS (SNI and certificate check);
- a redirect is not followed blindly: its target goes through the same checks, at most
  MAX_REDIRECTS times.

A project's allow list (DashboardSettings.webhook_allow_list) lets internal receivers
through: an address inside a listed network, or a listed host name. Metadata addresses are
refused even then.
"""

import http.client
import ipaddress
import json
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

TIMEOUT_SECONDS = 5.0
MAX_REDIRECTS = 3
# Enough of the receiver's answer to show in an error, never stored whole.
MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = "VoC-Triage-Webhook/1"

# Cloud instance metadata services (AWS IPv4/IPv6, GCP/Azure share 169.254.169.254, Alibaba,
# ECS task metadata): refused whatever the allow list says.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "169.254.170.2")
)
REDIRECTS = {301, 302, 303, 307, 308}

BAD_SCHEME = "Only http and https webhook URLs are allowed."
NO_HOST = "The webhook URL has no host."
CREDENTIALS = "Credentials in the webhook URL are not allowed."
BAD_PORT = "The webhook URL has an invalid port."
UNRESOLVED = "The webhook host does not resolve."
METADATA = "The webhook host is a cloud metadata address."
TOO_MANY_REDIRECTS = f"More than {MAX_REDIRECTS} redirects."


class WebhookRefused(Exception):
    """The URL (or a redirect's target) is not allowed; nothing was sent to it."""


Resolver = Callable[[str, int], list[str]]


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


@dataclass
class AllowList:
    networks: list = field(default_factory=list)
    hosts: set[str] = field(default_factory=set)

    @classmethod
    def parse(cls, text: str) -> "AllowList":
        """One IP, network or host name per line; blank lines and `#` comments skipped.
        Raises ValueError naming the first entry that is neither."""
        allow = cls()
        for number, raw in enumerate((text or "").splitlines(), start=1):
            entry = raw.split("#", 1)[0].strip().lower()
            if not entry:
                continue
            try:
                allow.networks.append(ipaddress.ip_network(entry, strict=False))
                continue
            except ValueError:
                pass
            name = entry.rstrip(".")
            if (
                not name
                or len(name) > 253
                or not all(
                    part and len(part) <= 63 and part.replace("-", "").isalnum()
                    for part in name.split(".")
                )
            ):
                raise ValueError(
                    f"line {number}: “{raw.strip()[:80]}” is not an IP, network or host"
                )
            allow.hosts.add(name)
        return allow

    def allows(self, host: str, address) -> bool:
        return host.rstrip(".").lower() in self.hosts or any(
            address.version == net.version and address in net for net in self.networks
        )


def address_problem(address) -> str | None:
    """Why an address may not receive webhooks, or None when it is public."""
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in METADATA_ADDRESSES:
        return METADATA
    for attribute, reason in (
        ("is_loopback", "loopback"),
        ("is_link_local", "link-local"),
        ("is_multicast", "multicast"),
        ("is_unspecified", "unspecified"),
        ("is_reserved", "reserved"),
        ("is_private", "private"),
    ):
        if getattr(address, attribute):
            return f"The webhook host resolves to a {reason} address ({address})."
    if not address.is_global:  # shared address space (100.64/10), documentation ranges...
        return f"The webhook host resolves to a non-public address ({address})."
    return None


@dataclass
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str


def check_url(url: str, allow: AllowList, resolver: Resolver = system_resolver) -> Target:
    """Resolve and check a URL; the Target carries the one address to connect to. Raises
    WebhookRefused with the reason."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise WebhookRefused(BAD_PORT) from error
    if parts.scheme not in ("http", "https"):
        raise WebhookRefused(BAD_SCHEME)
    if parts.username is not None or parts.password is not None:
        raise WebhookRefused(CREDENTIALS)
    host = parts.hostname
    if not host:
        raise WebhookRefused(NO_HOST)
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in resolver(host, port)]
    except (OSError, UnicodeError, ValueError) as error:
        raise WebhookRefused(UNRESOLVED) from error
    if not addresses:
        raise WebhookRefused(UNRESOLVED)
    # Every address must pass: a host answering with one public and one private address
    # would otherwise reach the private one on some attempts.
    for address in addresses:
        problem = address_problem(address)
        if problem == METADATA or (problem and not allow.allows(host, address)):
            raise WebhookRefused(problem)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, host, port, path, str(addresses[0]))


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the checked address, whatever the host name resolves to now."""

    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float, context: ssl.SSLContext):
        super().__init__(target.host, target.port, timeout=timeout, context=context)
        self._address = target.address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        # SNI and certificate verification against the host name of the URL.
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


@dataclass
class Delivery:
    ok: bool
    refused: bool = False
    status: int | None = None
    detail: str = ""
    hops: list[str] = field(default_factory=list)


def deliver(
    url: str,
    payload: dict,
    *,
    allow: AllowList | None = None,
    resolver: Resolver = system_resolver,
    timeout: float = TIMEOUT_SECONDS,
    ssl_context: ssl.SSLContext | None = None,
) -> Delivery:
    """POST `payload` as JSON to `url` after the checks above, re-checking every redirect.
    Never raises for the receiver's faults: the Delivery says what happened (ok for a 2xx,
    refused when a check stopped it before sending)."""
    allow = allow or AllowList()
    body = json.dumps(payload, default=str).encode()
    method, hops = "POST", []
    for _ in range(MAX_REDIRECTS + 1):
        try:
            target = check_url(url, allow, resolver)
        except WebhookRefused as refused:
            return Delivery(ok=False, refused=True, detail=str(refused), hops=hops)
        hops.append(f"{target.host} ({target.address})")
        if target.scheme == "https":
            conn = _PinnedHTTPSConnection(
                target, timeout, ssl_context or ssl.create_default_context()
            )
        else:
            conn = _PinnedHTTPConnection(target, timeout)
        headers = {"User-Agent": USER_AGENT}
        if method == "POST":
            headers["Content-Type"] = "application/json"
        try:
            conn.request(method, target.path, body=body if method == "POST" else None,
                         headers=headers)  # fmt: skip
            response = conn.getresponse()
            status, location = response.status, response.getheader("Location")
            text = response.read(MAX_RESPONSE_BYTES).decode("utf-8", "replace")
        except (OSError, http.client.HTTPException) as error:
            return Delivery(ok=False, detail=f"{type(error).__name__}: {error}"[:300], hops=hops)
        finally:
            conn.close()
        if status in REDIRECTS and location:
            url = urljoin(url, location)
            if status in (301, 302, 303):
                method = "GET"  # as browsers do; 307/308 repeat the POST
            continue
        ok = 200 <= status < 300
        return Delivery(ok=ok, status=status, detail="" if ok else text[:300], hops=hops)
    return Delivery(ok=False, detail=TOO_MANY_REDIRECTS, hops=hops)
