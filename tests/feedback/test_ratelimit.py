import uuid

import pytest
import time_machine
from django.core.cache import caches
from django.test import RequestFactory

from feedback.ratelimit import client_address, rate_limit_hit, rate_limit_peek, rate_limit_reset

START = 1_900_000_000  # a window boundary for windows of 100 s


def unique_key() -> str:
    return f"test:{uuid.uuid4()}"


def test_it_allows_up_to_the_limit_then_refuses_until_the_window_ends():
    key = unique_key()
    with time_machine.travel(START + 10, tick=False):
        decisions = [rate_limit_hit(key=key, limit=3, window=100) for _ in range(5)]

        assert [d.allowed for d in decisions] == [True, True, True, False, False]
        assert [d.remaining for d in decisions[:3]] == [2, 1, 0]
        assert decisions[3].retry_after == 90

    with time_machine.travel(START + 100, tick=False):
        assert rate_limit_hit(key=key, limit=3, window=100).allowed


def test_keys_and_windows_are_counted_apart():
    first, second = unique_key(), unique_key()
    with time_machine.travel(START, tick=False):
        rate_limit_hit(key=first, limit=1, window=100)

        assert not rate_limit_hit(key=first, limit=1, window=100).allowed
        assert rate_limit_hit(key=second, limit=1, window=100).allowed
        assert rate_limit_hit(key=first, limit=1, window=60).allowed


def test_peek_does_not_count_and_reset_forgets():
    key = unique_key()
    with time_machine.travel(START, tick=False):
        assert rate_limit_peek(key=key, limit=1, window=100).allowed
        rate_limit_hit(key=key, limit=1, window=100)
        assert not rate_limit_peek(key=key, limit=1, window=100).allowed

        rate_limit_reset(key=key, window=100)

        assert rate_limit_hit(key=key, limit=1, window=100).allowed


def test_any_string_is_a_valid_key():
    assert rate_limit_hit(key="spaces and ünïcode\n" + "x" * 1000, limit=1, window=10).allowed


def test_it_works_on_the_file_cache_of_the_embedded_default(settings, tmp_path):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path),
        }
    }
    key = unique_key()
    try:
        with time_machine.travel(START, tick=False):
            results = [rate_limit_hit(key=key, limit=2, window=100).allowed for _ in range(3)]
        assert results == [True, True, False]
    finally:
        caches["default"].close()


def test_it_fails_open_when_the_cache_is_down(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",  # nothing listens on the discard port
            "OPTIONS": {"socket_connect_timeout": 0.2},
        }
    }
    decision = rate_limit_hit(key=unique_key(), limit=1, window=100)

    assert decision.allowed


@pytest.mark.parametrize(
    ("remote", "forwarded", "proxies", "expected"),
    [
        ("203.0.113.9", "", 0, "203.0.113.9"),
        ("10.0.0.1", "198.51.100.7, 10.0.0.1", 0, "10.0.0.1"),  # not trusted: ignored
        ("10.0.0.1", "6.6.6.6, 198.51.100.7", 1, "198.51.100.7"),  # forged first hop ignored
        ("2001:db8:1:2:3:4:5:6", "", 0, "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.9", "", 0, "203.0.113.9"),
    ],
)
def test_the_client_address_is_what_our_proxies_saw(settings, remote, forwarded, proxies, expected):
    settings.VOC_TRUSTED_PROXIES = proxies
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)

    assert client_address(request) == expected
