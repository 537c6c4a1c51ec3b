"""The metrics endpoint of the public API (docs/api.md): figures from the rollups."""

import dataclasses

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from core.api import ProjectApiView, error_responses

from . import selectors
from .services import segments

BAD_WINDOW = "since must be before until."


class MetricsInputSerializer(serializers.Serializer):
    bucket = serializers.ChoiceField(choices=list(selectors.BUCKETS), default="day")
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)
    model_version = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False
    )

    def validate(self, data):
        if data.get("since") and data.get("until") and data["since"] >= data["until"]:
            raise serializers.ValidationError({"since": [BAD_WINDOW]})
        return data


class MetricsRowSerializer(serializers.Serializer):
    bucket_start = serializers.DateTimeField()
    model_version = serializers.CharField()
    predictions = serializers.IntegerField()
    corrections = serializers.IntegerField(help_text="Predictions with a current correction.")
    complaints = serializers.IntegerField(help_text="Complaints linked to these predictions.")
    ratings_up = serializers.IntegerField()
    ratings_down = serializers.IntegerField()
    correction_rate = serializers.FloatField(allow_null=True)
    correction_rate_ci = serializers.ListField(
        child=serializers.FloatField(),
        allow_null=True,
        help_text="95 % Wilson interval [lo, hi] of the correction rate.",
    )
    complaint_rate = serializers.FloatField(allow_null=True)
    complaint_rate_ci = serializers.ListField(child=serializers.FloatField(), allow_null=True)
    predictions_with_feedback = serializers.IntegerField()
    online_accuracy_proxy = serializers.FloatField(
        allow_null=True, help_text="1 - correction rate."
    )
    online_accuracy_among_feedback = serializers.FloatField(
        allow_null=True, help_text="1 - corrections / predictions that received feedback."
    )


class MetricsApi(ProjectApiView):
    required_scopes = ("read",)

    @extend_schema(
        operation_id="metrics_list",
        parameters=[
            OpenApiParameter("model_version", OpenApiTypes.STR, many=True),
            OpenApiParameter("bucket", OpenApiTypes.STR, enum=list(selectors.BUCKETS)),
            OpenApiParameter("since", OpenApiTypes.DATETIME),
            OpenApiParameter("until", OpenApiTypes.DATETIME),
        ],
        responses={200: MetricsRowSerializer(many=True), **error_responses(400, 401, 403)},
        description="Online figures per bucket (UTC day, or week from Monday) and model "
        "version, from hourly rollups: an hour counts when its start is in [since, until).",
    )
    def get(self, request, slug):
        params = request.query_params
        data = {key: params[key] for key in ("bucket", "since", "until") if key in params}
        if params.getlist("model_version"):
            data["model_version"] = params.getlist("model_version")
        serializer = MetricsInputSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        options = serializer.validated_data
        rows = selectors.metrics_series(
            project=self.project,
            bucket=options["bucket"],
            versions=options.get("model_version"),
            since=options.get("since"),
            until=options.get("until"),
        )
        return Response(MetricsRowSerializer(rows, many=True).data)


class SegmentsInputSerializer(serializers.Serializer):
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)
    model_version = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False
    )
    min_predictions = serializers.IntegerField(
        min_value=1, max_value=10**9, default=segments.MIN_PREDICTIONS
    )

    def validate(self, data):
        if data.get("since") and data.get("until") and data["since"] >= data["until"]:
            raise serializers.ValidationError({"since": [BAD_WINDOW]})
        return data


class SliceSerializer(serializers.Serializer):
    segment = serializers.DictField(
        child=serializers.CharField(),
        help_text='Key -> value: one key, or two for a two-way slice ({"channel": "kiosk"}).',
    )
    predictions = serializers.IntegerField()
    corrections = serializers.IntegerField(help_text="Predictions with a current correction.")
    correction_rate = serializers.FloatField(allow_null=True)
    ci_low = serializers.FloatField(allow_null=True, help_text="95 % Wilson interval, low end.")
    ci_high = serializers.FloatField(allow_null=True)
    rest_correction_rate = serializers.FloatField(
        allow_null=True, help_text="The correction rate of every other prediction."
    )
    lift = serializers.FloatField(allow_null=True, help_text="correction_rate / rest rate.")
    excess_corrections = serializers.FloatField(
        help_text="predictions × (correction_rate − rest rate): the order of the list."
    )
    p_value = serializers.FloatField(allow_null=True)
    q_value = serializers.FloatField(
        allow_null=True,
        help_text="Benjamini–Hochberg adjusted over every slice tested; null when not tested "
        "(fewer than min_predictions).",
    )
    significant = serializers.BooleanField(
        help_text="Fails: q ≤ 0.05, enough predictions, and a two-way slice worse than both "
        "of its one-way parents."
    )


class SegmentsSerializer(serializers.Serializer):
    predictions = serializers.IntegerField(help_text="Every prediction of the period.")
    corrections = serializers.IntegerField()
    results = SliceSerializer(many=True)


class SegmentsApi(ProjectApiView):
    required_scopes = ("read",)

    @extend_schema(
        operation_id="segments_list",
        parameters=[
            OpenApiParameter("model_version", OpenApiTypes.STR, many=True),
            OpenApiParameter("since", OpenApiTypes.DATETIME),
            OpenApiParameter("until", OpenApiTypes.DATETIME),
            OpenApiParameter("min_predictions", OpenApiTypes.INT),
        ],
        responses={200: SegmentsSerializer, **error_responses(400, 401, 403)},
        description="Correction rates by segment (metadata values, pairs of them, model "
        "version, predicted label) from the rollups, each tested against the rest of the "
        "traffic: failing slices first, then the others by excess corrections.",
    )
    def get(self, request, slug):
        params = request.query_params
        data = {k: params[k] for k in ("since", "until", "min_predictions") if k in params}
        if params.getlist("model_version"):
            data["model_version"] = params.getlist("model_version")
        serializer = SegmentsInputSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        options = serializer.validated_data
        totals, found = segments.segments_report(
            project=self.project,
            since=options.get("since"),
            until=options.get("until"),
            versions=options.get("model_version"),
            min_predictions=options["min_predictions"],
        )
        body = {
            "predictions": totals.predictions,
            "corrections": totals.corrections,
            "results": [dataclasses.asdict(s) for s in found],
        }
        return Response(SegmentsSerializer(body).data)
