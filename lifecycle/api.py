"""Erasures in the public API (docs/api.md): request one, follow it. Scope `privacy`."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from core.api import ProjectApiView, error_responses

from .erasure import ErasureInvalid, erasure_get, erasure_request
from .models import Erasure

NOT_FOUND = "No erasure with this id."


class ErasureCreateSerializer(serializers.Serializer):
    customer_ref = serializers.CharField(
        max_length=200,
        trim_whitespace=False,
        help_text="The customer reference, exactly as sent with their predictions and "
        "feedback. Only its keyed hash is kept.",
    )


class ErasureCountsSerializer(serializers.Serializer):
    feedback_texts = serializers.IntegerField()
    prediction_inputs = serializers.IntegerField()
    vectors = serializers.IntegerField()
    import_rows = serializers.IntegerField()
    categories_recomputed = serializers.IntegerField()
    exports_rebuilt = serializers.IntegerField()


class ErasureSerializer(serializers.ModelSerializer):
    counts = ErasureCountsSerializer()

    class Meta:
        model = Erasure
        fields = [
            "id",
            "status",
            "source",
            "created_at",
            "started_at",
            "finished_at",
            "error",
            "counts",
        ]


class ErasureListApi(ProjectApiView):
    required_scopes = ("privacy",)

    @extend_schema(
        operation_id="erasures_create",
        request=ErasureCreateSerializer,
        responses={202: ErasureSerializer, **error_responses(400, 401, 403)},
        description="Queue the erasure of one customer's data in the project: their feedback "
        "texts and prediction inputs are blanked, their vectors and import rows removed, "
        "categories and exports recomputed without them. Needs the `privacy` scope.",
    )
    def post(self, request, slug):
        data = request.data if isinstance(request.data, dict) else {}
        serializer = ErasureCreateSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        try:
            erasure = erasure_request(
                project=self.project,
                customer_ref=serializer.validated_data["customer_ref"],
                source=Erasure.Source.API,
                api_key=request.auth,
            )
        except ErasureInvalid as invalid:
            raise ValidationError(invalid.errors) from invalid
        return Response(ErasureSerializer(erasure).data, status=status.HTTP_202_ACCEPTED)


class ErasureDetailApi(ProjectApiView):
    required_scopes = ("privacy",)

    @extend_schema(
        operation_id="erasures_retrieve",
        responses={200: ErasureSerializer, **error_responses(401, 403, 404)},
        description="An erasure's status and what it removed.",
    )
    def get(self, request, slug, erasure_id: int):
        erasure = erasure_get(project=self.project, erasure_id=erasure_id)
        if erasure is None:
            raise NotFound(NOT_FOUND)
        return Response(ErasureSerializer(erasure).data)
