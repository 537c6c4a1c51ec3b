"""Ingest API (docs/api.md): thin views that parse, call one service, serialize."""

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from core.api import ProjectApiView, error_responses
from core.api_errors import InvalidBody, PayloadTooLarge
from core.public_urls import public_url

from . import ingest, services
from .api_parsers import BoundedJSONParser, NDJSONParser
from .api_schema import (
    FeedbackBatchSerializer,
    FeedbackLinkSerializer,
    IngestResponseSerializer,
    PredictionBatchSerializer,
    PredictionOutSerializer,
)
from .selectors import prediction_get, prediction_ids_by_request_id


def batch_items(request, key: str) -> list:
    """The items of a batch: `{"<key>": [...]}` as JSON, or one item per NDJSON line."""
    data = request.data
    if isinstance(data, list) and request.content_type.startswith(NDJSONParser.media_type):
        items = data
    elif isinstance(data, dict) and isinstance(data.get(key), list):
        items = data[key]
    else:
        raise InvalidBody(
            _("Expected a JSON object with a '%(key)s' list, or NDJSON lines.") % {"key": key}
        )
    limit = settings.VOC_API_MAX_BATCH_ITEMS
    if len(items) > limit:
        raise PayloadTooLarge(
            _("A batch holds at most %(limit)s items.") % {"limit": limit},
            {"max_items": limit, "max_bytes": settings.VOC_API_MAX_BODY_BYTES},
        )
    return items


def feedback_link_url(request, project, prediction_id: int) -> tuple[str, object]:
    token, claims = services.feedback_link_token(project=project, prediction_id=prediction_id)
    return public_url(reverse("feedback-form", args=[token]), request), claims


BATCH_ERRORS = error_responses(400, 401, 403, 413, 415)


class PredictionBatchApi(ProjectApiView):
    required_scopes = ("ingest",)
    parser_classes = [BoundedJSONParser, NDJSONParser]

    @extend_schema(
        operation_id="predictions_ingest",
        request={
            "application/json": PredictionBatchSerializer,
            "application/x-ndjson": OpenApiTypes.STR,
        },
        parameters=[
            OpenApiParameter(
                "feedback_links", OpenApiTypes.BOOL, description="Return a link per prediction."
            )
        ],
        responses={200: IngestResponseSerializer, **BATCH_ERRORS},
    )
    def post(self, request, slug):
        result = ingest.prediction_ingest(
            project=self.project, items=batch_items(request, "predictions")
        )
        body = result.as_response()
        if _flag(request, "feedback_links"):
            body["feedback_links"] = {
                request_id: feedback_link_url(request, self.project, prediction_id)[0]
                for prediction_id, request_id in result.inserted
            }
        return Response(body)


class FeedbackBatchApi(ProjectApiView):
    required_scopes = ("ingest",)
    parser_classes = [BoundedJSONParser, NDJSONParser]

    @extend_schema(
        operation_id="feedback_ingest",
        request={
            "application/json": FeedbackBatchSerializer,
            "application/x-ndjson": OpenApiTypes.STR,
        },
        responses={200: IngestResponseSerializer, **BATCH_ERRORS},
    )
    def post(self, request, slug):
        result = ingest.feedback_ingest(
            project=self.project, items=batch_items(request, "feedback")
        )
        return Response(result.as_response())


class PredictionDetailApi(ProjectApiView):
    required_scopes = ("read", "ingest")

    @extend_schema(
        operation_id="prediction_retrieve",
        responses={200: PredictionOutSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request, slug, request_id):
        prediction = prediction_get(project=self.project, request_id=request_id)
        if prediction is None:
            raise NotFound(_("No prediction with this request_id."))
        return Response(PredictionOutSerializer(prediction).data)


class FeedbackLinkApi(ProjectApiView):
    required_scopes = ("ingest",)

    @extend_schema(
        operation_id="prediction_feedback_link",
        responses={200: FeedbackLinkSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request, slug, request_id):
        prediction_id = prediction_ids_by_request_id(project=self.project, request_id=request_id)
        if prediction_id is None:
            raise NotFound(_("No prediction with this request_id."))
        url, claims = feedback_link_url(request, self.project, prediction_id)
        return Response(FeedbackLinkSerializer({"url": url, "expires_at": claims.expires_at}).data)


def _flag(request, name: str) -> bool:
    value = request.query_params.get(name)
    if value in (None, "0", "false"):
        return False
    if value in ("1", "true"):
        return True
    raise ValidationError({name: [_("Use 1/true or 0/false.")]})
