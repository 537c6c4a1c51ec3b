"""Clustering runs and error categories in the public API (docs/api.md)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from core.api import PAGE_PARAMETERS, ProjectApiView, error_responses, paginated
from core.api_errors import InvalidBody

from . import selectors
from .models import ClusteringRun, ErrorCategory
from .selectors_categories import category_get
from .services.clustering import clustering_run_request

BAD_WINDOW = "since must be before until."


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request):
        # DRF quietly falls back to the default for a page_size it cannot read; say so instead.
        raw = request.query_params.get(self.page_size_query_param)
        if raw is not None and not (raw.isascii() and raw.isdigit() and int(raw) > 0):
            raise serializers.ValidationError({"page_size": ["Use a whole number from 1."]})
        return super().get_page_size(request)


class RunInputSerializer(serializers.Serializer):
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)

    def validate(self, data):
        if data.get("since") and data.get("until") and data["since"] >= data["until"]:
            raise serializers.ValidationError({"since": [BAD_WINDOW]})
        return data


class RunOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = ClusteringRun
        fields = ["id", "status", "started_at", "finished_at", "n_items", "n_categories", "error"]


class RunQueuedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()


class ClusteringRunsApi(ProjectApiView):
    required_scopes = ("read",)

    @extend_schema(
        operation_id="clustering_run_create",
        request=RunInputSerializer,
        responses={
            202: RunQueuedSerializer,
            200: RunQueuedSerializer,
            **error_responses(400, 401, 403),
        },
        description="Queue a clustering run; a run already queued or running is returned (200).",
    )
    def post(self, request, slug):
        if not isinstance(request.data, dict):
            raise InvalidBody('The body must be a JSON object: {} or {"since", "until"}.')
        serializer = RunInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        run, created = clustering_run_request(
            project=self.project, trigger="api", **serializer.validated_data
        )
        return Response(
            {"id": run.id, "status": run.status},
            status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK,
        )


class ClusteringRunDetailApi(ProjectApiView):
    required_scopes = ("read",)

    @extend_schema(
        operation_id="clustering_run_retrieve",
        responses={200: RunOutputSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request, slug, run_id: int):
        run = selectors.run_get(project=self.project, run_id=run_id)
        if run is None:
            raise NotFound("No clustering run with this id in this project.")
        return Response(RunOutputSerializer(run).data)


class ConfusionSerializer(serializers.Serializer):
    predicted = serializers.CharField()
    corrected = serializers.CharField()
    count = serializers.IntegerField()


class CategoryOutputSerializer(serializers.ModelSerializer):
    keywords = serializers.ListField(child=serializers.CharField())
    top_confusions = ConfusionSerializer(many=True)
    unsorted = serializers.BooleanField(source="is_unsorted")

    class Meta:
        model = ErrorCategory
        fields = [
            "id",
            "title",
            "keywords",
            "state",
            "size",
            "owner_team",
            "first_seen",
            "last_seen",
            "top_confusions",
            "unsorted",
        ]


class CategoriesApi(ProjectApiView):
    required_scopes = ("read",)

    @extend_schema(
        operation_id="categories_list",
        parameters=PAGE_PARAMETERS,
        responses={
            200: paginated("PaginatedCategoryList", CategoryOutputSerializer),
            **error_responses(400, 401, 403, 404),
        },
    )
    def get(self, request, slug):
        paginator = Pagination()
        page = paginator.paginate_queryset(
            selectors.categories_for_project(project=self.project).order_by("-size", "id"),
            request,
            view=self,
        )
        return paginator.get_paginated_response(CategoryOutputSerializer(page, many=True).data)


class CategoryItemSerializer(serializers.Serializer):
    feedback_id = serializers.IntegerField(source="id")
    external_id = serializers.CharField(allow_null=True)
    kind = serializers.CharField()
    request_id = serializers.CharField(
        source="prediction.request_id", allow_null=True, default=None
    )
    text = serializers.CharField()
    predicted_label = serializers.CharField(
        source="prediction.predicted_label", allow_null=True, default=None
    )
    corrected_label = serializers.CharField()


class CategoryItemsApi(ProjectApiView):
    required_scopes = ("read",)

    @extend_schema(
        operation_id="category_items",
        parameters=PAGE_PARAMETERS,
        responses={
            200: paginated("PaginatedCategoryItemList", CategoryItemSerializer),
            **error_responses(400, 401, 403, 404),
        },
    )
    def get(self, request, slug, category_id: int):
        category = category_get(project=self.project, category_id=category_id)
        if category is None:
            raise NotFound("No category with this id in this project.")
        paginator = Pagination()
        page = paginator.paginate_queryset(
            selectors.category_items(category=category), request, view=self
        )
        return paginator.get_paginated_response(CategoryItemSerializer(page, many=True).data)
