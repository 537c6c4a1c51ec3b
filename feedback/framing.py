"""Which sites may embed a project's customer feedback page (CSP `frame-ancestors`).

The project setting is a space-separated list of origins. It is validated when saved and
filtered again when used, because it ends up in a response header: an entry such as
"; script-src *" must never widen the policy.
"""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext, gettext_noop

# https://shop.example.com, https://*.example.com, http://localhost:3000 ('self' too).
_ORIGIN_RE = re.compile(
    r"^https?://(\*\.)?[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*"
    r"(?::\d{1,5})?$"
)
SELF = "'self'"
BAD_ORIGIN = gettext_noop(
    "'{value}' is not an origin such as https://shop.example.com or https://*.example.com."
)


def _valid(entry: str) -> bool:
    return entry == SELF or bool(_ORIGIN_RE.match(entry.lower()))


def validate_frame_ancestors(value: str) -> None:
    bad = [entry for entry in value.split() if not _valid(entry)]
    if bad:
        raise ValidationError(gettext(BAD_ORIGIN).format(value=bad[0][:100]), code="invalid")


def frame_ancestors(value: str) -> list[str]:
    """The valid origins of the setting, in order, without duplicates."""
    seen: list[str] = []
    for entry in value.split():
        entry = entry if entry == SELF else entry.lower()
        if _valid(entry) and entry not in seen:
            seen.append(entry)
    return seen
