"""A small fixed-window rate limiter on Django's cache, reusable for any key.

    decision = rate_limit_hit(key=f"feedback-token:{token}", limit=30, window=3600)
    if not decision.allowed:
        ...answer 429 with Retry-After: decision.retry_after

Counters live in the default cache: atomic `INCR` on Redis; on the file cache of the embedded
default the increment is a read-modify-write, so simultaneous requests may undercount a little
(fine for a single-machine default). A fixed window admits at most 2 x limit around a window
boundary; that is the usual trade for one cache operation per request.

When the cache is unreachable the limiter fails open (allows and logs): losing the cache must
not take the product down with it. Keys are hashed, so any string (a token, an address, an API
key prefix) is a valid key on every backend.
"""

import hashlib
import ipaddress
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

PREFIX = "voc:rl:"


@dataclass(frozen=True)
class RateLimit:
    allowed: bool
    # Seconds until the current window ends (0 when allowed): the Retry-After value.
    retry_after: int
    # Requests still allowed in this window after this one.
    remaining: int


def _cache_key(key: str, window: int, now: float) -> tuple[str, int]:
    bucket = int(now // window)
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"{PREFIX}{window}:{digest}:{bucket}", window - int(now % window)


def _decision(count: int, limit: int, seconds_left: int) -> RateLimit:
    if count > limit:
        return RateLimit(False, max(1, seconds_left), 0)
    return RateLimit(True, 0, limit - count)


def rate_limit_hit(*, key: str, limit: int, window: int) -> RateLimit:
    """Count one event for `key` and say whether it is within `limit` per `window` seconds."""
    cache_key, seconds_left = _cache_key(key, window, time.time())
    try:
        # add() is a no-op when the counter exists; the expiry outlives the window a little so
        # a counter never vanishes between add() and incr().
        cache.add(cache_key, 0, timeout=window + 5)
        try:
            count = cache.incr(cache_key)
        except ValueError:  # expired in between (file cache): start the window again
            cache.set(cache_key, 1, timeout=window + 5)
            count = 1
    except Exception:  # the cache is outside our control: fail open
        logger.warning("rate limiter cache unavailable; allowing the request")
        return RateLimit(True, 0, limit)
    return _decision(count, limit, seconds_left)


def rate_limit_peek(*, key: str, limit: int, window: int) -> RateLimit:
    """Whether one more event for `key` would be allowed, without counting it (e.g. check
    before an expensive step and count only failures with `rate_limit_hit`)."""
    cache_key, seconds_left = _cache_key(key, window, time.time())
    try:
        count = cache.get(cache_key, 0)
    except Exception:
        logger.warning("rate limiter cache unavailable; allowing the request")
        return RateLimit(True, 0, limit)
    return _decision(count + 1, limit, seconds_left)


def rate_limit_reset(*, key: str, window: int) -> None:
    """Forget the current window's count for `key` (e.g. after a successful login)."""
    cache_key, _ = _cache_key(key, window, time.time())
    try:
        cache.delete(cache_key)
    except Exception:
        logger.warning("rate limiter cache unavailable; nothing reset")


def client_address(request) -> str:
    """The client's address for rate limiting.

    REMOTE_ADDR, unless VOC_TRUSTED_PROXIES says how many reverse proxies of ours append to
    X-Forwarded-For (then the address that many hops from the right). IPv6 addresses are
    reduced to their /64, which one subscriber typically holds whole.
    """
    address = request.META.get("REMOTE_ADDR", "")
    proxies = getattr(settings, "VOC_TRUSTED_PROXIES", 0)
    if proxies:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [h for h in hops if h]
        if len(hops) >= proxies:
            address = hops[-proxies]
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address[:64] or "unknown"
    if parsed.version == 6:
        if parsed.ipv4_mapped:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)
