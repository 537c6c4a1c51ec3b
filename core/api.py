"""The API kernel every app's endpoints stand on: the project-scoped base view, its permission,
and the schema pieces every endpoint shares (the error shape, the page envelope).

The key itself is found by `feedback.api_auth.ApiKeyAuthentication` (API keys are project data);
this layer only asks the key two things: which project it belongs to and which scopes it has.
"""

from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import BasePermission
from rest_framework.views import APIView

# One message for "wrong project" and "wrong scope": nothing about other projects leaks.
FORBIDDEN = "This key is not allowed to do this on this project."


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


class ProjectApiView(APIView):
    """Base for /api/v1/projects/{slug}/...: the key must belong to the project and carry
    one of `required_scopes`."""

    permission_classes = [HasProjectScope]
    required_scopes: tuple[str, ...] = ()

    @property
    def project(self):
        return self.request.auth.project


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.DictField()


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


def error_responses(*statuses: int) -> dict:
    return {status: ErrorSerializer for status in statuses}


def paginated(name: str, item_serializer) -> serializers.Serializer:
    """The page envelope our list endpoints answer with (DRF's PageNumberPagination)."""
    return inline_serializer(
        name=name,
        fields={
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": item_serializer(many=True),
        },
    )


PAGE_PARAMETERS = [
    OpenApiParameter("page", int, description="Page number, from 1."),
    OpenApiParameter("page_size", int, description="Items per page (at most 500)."),
]
