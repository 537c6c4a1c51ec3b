"""Signed, expiring feedback links bound to one project and one prediction."""

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.core import signing

SALT = "voc-triage.feedback-link"


@dataclass(frozen=True)
class LinkClaims:
    project_id: int
    prediction_id: int
    expires_at: datetime


def link_token_create(*, project_id: int, prediction_id: int, lifetime: timedelta) -> LinkClaims:
    """The claims of a new token; `link_token_sign` turns them into the token."""
    expires = int(time.time() + lifetime.total_seconds())
    return LinkClaims(project_id, prediction_id, datetime.fromtimestamp(expires, tz=UTC))


def link_token_sign(claims: LinkClaims) -> str:
    payload = {
        "p": claims.project_id,
        "r": claims.prediction_id,
        "e": int(claims.expires_at.timestamp()),
    }
    return signing.dumps(payload, salt=SALT, compress=True)


class LinkInvalid(Exception):
    """The token was tampered with, made for something else, or has expired."""


class LinkExpired(LinkInvalid):
    """A genuine token past its expiry; its claims are known (the page may say so)."""

    def __init__(self, claims: LinkClaims):
        super().__init__("expired")
        self.claims = claims


def link_token_verify(token: str) -> LinkClaims:
    try:
        payload = signing.loads(token, salt=SALT)
    except signing.BadSignature as exc:
        raise LinkInvalid("bad signature") from exc
    try:
        claims = LinkClaims(
            int(payload["p"]), int(payload["r"]), datetime.fromtimestamp(payload["e"], tz=UTC)
        )
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise LinkInvalid("malformed payload") from exc
    if claims.expires_at.timestamp() < time.time():
        raise LinkExpired(claims)
    return claims


# --- form keys of the customer page ----------------------------------------------------------

FORM_SALT = "voc-triage.feedback-form"
# A page left open this long must be reloaded before it can be sent.
FORM_KEY_MAX_AGE = 24 * 3600


def form_key_create(claims: LinkClaims) -> str:
    """A key the customer page embeds in its forms, bound to the link's prediction."""
    return signing.TimestampSigner(salt=FORM_SALT).sign(
        f"{claims.project_id}:{claims.prediction_id}"
    )


def form_key_valid(key: str, claims: LinkClaims) -> bool:
    """Whether `key` was made by `form_key_create` for this link's prediction, recently."""
    try:
        value = signing.TimestampSigner(salt=FORM_SALT).unsign(key, max_age=FORM_KEY_MAX_AGE)
    except signing.BadSignature:
        return False
    return value == f"{claims.project_id}:{claims.prediction_id}"
