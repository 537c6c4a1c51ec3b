"""API keys: generated once, stored as a SHA-256 hash, looked up by a public prefix."""

import functools
import hashlib
import hmac
import secrets

KEY_MARKER = "voc"
PREFIX_BYTES = 6  # 12 hex characters: unique enough for lookup, not a secret
SECRET_BYTES = 32


def key_generate() -> tuple[str, str]:
    """A new (full_key, prefix). The full key is shown once and never stored."""
    prefix = secrets.token_hex(PREFIX_BYTES)
    return f"{KEY_MARKER}_{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}", prefix


def key_hash(full_key: str) -> str:
    # Keys carry 256 random bits, so a fast hash is enough (no password stretching needed).
    return hashlib.sha256(full_key.encode()).hexdigest()


def key_prefix(full_key: str) -> str | None:
    parts = full_key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_MARKER or len(parts[1]) != PREFIX_BYTES * 2:
        return None
    return parts[1]


def key_matches(full_key: str, stored_hash: str) -> bool:
    return hmac.compare_digest(key_hash(full_key), stored_hash)


@functools.lru_cache(maxsize=4)
def _keyed_hasher(secret: str):
    return hmac.new(secret.encode(), digestmod=hashlib.sha256)


def customer_ref_hash(*, project_id: int, customer_ref: str, secret: str) -> str:
    """Keyed hash of a customer reference, per project so two projects cannot link a person."""
    hasher = _keyed_hasher(secret).copy()  # copying the keyed state skips re-keying per call
    hasher.update(f"{project_id}:{customer_ref}".encode())
    return hasher.hexdigest()
