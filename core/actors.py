"""Who did it: services take the request's user, which may be anonymous or an API client."""


def user_or_none(actor):
    """The actor as a user row to store, or None for anonymous callers and API clients."""
    return actor if getattr(actor, "is_authenticated", False) else None
