"""Absolute URLs for people outside the request: feedback links, e-mails, set-password links."""

from django.conf import settings

# Without VOC_PUBLIC_BASE_URL and without a request (e-mails, commands): `make run`'s address.
LOCAL_BASE_URL = "http://127.0.0.1:8000"


def public_url(path: str, request=None) -> str:
    """VOC_PUBLIC_BASE_URL + path; else the address the request came to; else the local one."""
    base = settings.VOC_PUBLIC_BASE_URL
    if base:
        return base.rstrip("/") + path
    if request is not None:
        return request.build_absolute_uri(path)
    return LOCAL_BASE_URL + path
