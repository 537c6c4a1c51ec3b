"""API key authentication and project/scope permissions for the public API."""

from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext
from django.utils.translation import gettext_noop as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from .ratelimit import client_address, rate_limit_hit, rate_limit_peek
from .selectors import api_key_authenticate

BAD_KEY = _("Invalid or revoked API key.")
TOO_MANY_FAILURES = _("Too many failed authentication attempts; retry later.")
AUTH_FAILURE_WINDOW = 60


@dataclass
class ApiClient:
    """The principal behind an API key (request.user); the key itself is request.auth."""

    project_slug: str
    is_authenticated: bool = True
    is_staff: bool = False

    def __str__(self) -> str:
        return f"api-client:{self.project_slug}"


class ApiKeyAuthentication(BaseAuthentication):
    """Bearer API keys. A client that keeps presenting wrong keys is slowed down: after
    VOC_API_AUTH_FAILURES failures within a minute from one address, every attempt from it is
    answered 429 with Retry-After until the minute is over (guessing keys stays pointless)."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header:
            return None
        throttle_key = f"api-auth-failure:{client_address(request)}"
        limit = settings.VOC_API_AUTH_FAILURES
        verdict = rate_limit_peek(key=throttle_key, limit=limit, window=AUTH_FAILURE_WINDOW)
        if not verdict.allowed:
            raise exceptions.Throttled(wait=verdict.retry_after, detail=gettext(TOO_MANY_FAILURES))
        api_key = None
        if header[0].lower() == self.keyword.lower().encode() and len(header) == 2:
            try:
                api_key = api_key_authenticate(full_key=header[1].decode("ascii"))
            except UnicodeDecodeError:
                api_key = None
        if api_key is None:
            rate_limit_hit(key=throttle_key, limit=limit, window=AUTH_FAILURE_WINDOW)
            raise exceptions.AuthenticationFailed(gettext(BAD_KEY))
        return ApiClient(project_slug=api_key.project.slug), api_key

    def authenticate_header(self, request):
        return self.keyword


class ApiKeySchema(OpenApiAuthenticationExtension):
    """Documents the bearer API key in the OpenAPI schema."""

    target_class = ApiKeyAuthentication
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A project API key (`python manage.py create_api_key SLUG`).",
        }
