"""API key authentication and project/scope permissions for the public API."""

from dataclasses import dataclass

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission

from .selectors import api_key_authenticate

# One message for "wrong project" and "wrong scope": nothing about other projects leaks.
FORBIDDEN = "This key is not allowed to do this on this project."
BAD_KEY = "Invalid or revoked API key."


@dataclass
class ApiClient:
    """The principal behind an API key (request.user); the key itself is request.auth."""

    project_slug: str
    is_authenticated: bool = True
    is_staff: bool = False

    def __str__(self) -> str:
        return f"api-client:{self.project_slug}"


class ApiKeyAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header:
            return None
        if header[0].lower() != self.keyword.lower().encode() or len(header) != 2:
            raise exceptions.AuthenticationFailed(BAD_KEY)
        try:
            full_key = header[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed(BAD_KEY) from exc
        api_key = api_key_authenticate(full_key=full_key)
        if api_key is None:
            raise exceptions.AuthenticationFailed(BAD_KEY)
        return ApiClient(project_slug=api_key.project.slug), api_key

    def authenticate_header(self, request):
        return self.keyword


class HasProjectScope(BasePermission):
    """The key belongs to the project in the URL and carries one of the view's scopes."""

    message = FORBIDDEN

    def has_permission(self, request, view):
        api_key = request.auth
        if api_key is None or not hasattr(api_key, "scopes"):
            return False
        if api_key.project.slug != view.kwargs.get("slug"):
            return False
        return any(scope in api_key.scopes for scope in view.required_scopes)


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
