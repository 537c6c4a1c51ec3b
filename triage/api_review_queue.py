"""The review queue in the public API (docs/api.md): the unreported predictions most likely
wrong, best first."""

from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from core.api import ProjectApiView, error_responses
from core.api_errors import InvalidBody, PayloadTooLarge

from .models import ErrorCategory
from .selectors_review_queue import review_queue_next
from .services.reviewer_labels import reviewer_labels_add

MAX_LIMIT = 500


class QueryParams(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT, default=50)
    category = serializers.IntegerField(min_value=1, required=False)


class ReasonsSerializer(serializers.Serializer):
    similarity = serializers.FloatField()
    uncertainty = serializers.FloatField()
    label = serializers.FloatField()


class QueueEntrySerializer(serializers.Serializer):
    request_id = serializers.CharField()
    input_text = serializers.CharField()
    predicted_label = serializers.CharField()
    confidence = serializers.FloatField(allow_null=True)
    category_id = serializers.IntegerField()
    score = serializers.FloatField()
    reasons = ReasonsSerializer()
    suggested_labels = serializers.ListField(child=serializers.CharField())


class QueueSerializer(serializers.Serializer):
    results = QueueEntrySerializer(many=True)


class ReviewQueueApi(ProjectApiView):
    required_scopes = ("read",)

    @extend_schema(
        operation_id="review_queue",
        parameters=[
            OpenApiParameter("limit", OpenApiTypes.INT, description="1 to 500 (default 50)"),
            OpenApiParameter("category", OpenApiTypes.INT, description="an error category's id"),
        ],
        responses={200: QueueSerializer, **error_responses(400, 401, 403, 404)},
    )
    def get(self, request, slug):
        params = QueryParams(data=request.query_params)
        params.is_valid(raise_exception=True)
        category_id = params.validated_data.get("category")
        if (
            category_id is not None
            and not ErrorCategory.objects.filter(project=self.project, id=category_id).exists()
        ):
            raise NotFound("No category with this id in this project.")
        rows = review_queue_next(
            project=self.project, category_id=category_id, limit=params.validated_data["limit"]
        )
        return Response({"results": QueueEntrySerializer(rows, many=True).data})


class LabelItemSerializer(serializers.Serializer):
    request_id = serializers.CharField()
    label = serializers.CharField(allow_blank=True, allow_null=True, required=False)
    reviewer = serializers.CharField()


class LabelsBodySerializer(serializers.Serializer):
    labels = LabelItemSerializer(many=True)


class LabelsResponseSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    rejected = serializers.ListField(child=serializers.DictField())


class ReviewLabelsApi(ProjectApiView):
    required_scopes = ("review",)

    @extend_schema(
        operation_id="review_labels",
        request=LabelsBodySerializer,
        responses={200: LabelsResponseSerializer, **error_responses(400, 401, 403, 404, 413)},
    )
    def post(self, request, slug):
        body = request.data
        if not isinstance(body, dict) or not isinstance(body.get("labels"), list):
            raise InvalidBody(
                _("Expected a JSON object with a '%(key)s' list.") % {"key": "labels"}
            )
        limit = settings.VOC_API_MAX_BATCH_ITEMS
        if len(body["labels"]) > limit:
            raise PayloadTooLarge(
                _("A batch holds at most %(limit)s items.") % {"limit": limit},
                {"max_items": limit, "max_bytes": settings.VOC_API_MAX_BODY_BYTES},
            )
        result = reviewer_labels_add(project=self.project, items=body["labels"])
        return Response(result.as_response())
