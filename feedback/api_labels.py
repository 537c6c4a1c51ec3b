"""The names customers see for the labels, per language, in the public API (docs/api.md)."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from core.api import ProjectApiView, error_responses

from .label_names import label_names_list, label_names_update


class LabelNameSerializer(serializers.Serializer):
    label = serializers.CharField()
    name = serializers.CharField(help_text="The default name; empty when none is set.")
    translations = serializers.DictField(
        child=serializers.CharField(), help_text='Names in other languages: {"ko": "카드 배송"}.'
    )


class LabelNamesSerializer(serializers.Serializer):
    results = LabelNameSerializer(many=True)


class LabelNamesChangeSerializer(serializers.Serializer):
    names = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        required=False,
        help_text="label → default name; an empty name removes it.",
    )
    translations = serializers.DictField(
        child=serializers.DictField(child=serializers.CharField(allow_blank=True)),
        required=False,
        help_text='language → label → name: {"ko": {"card_arrival": "카드 배송"}}.',
    )


def _answer(project) -> Response:
    rows = label_names_list(project)
    return Response({"results": LabelNameSerializer(rows, many=True).data})


class LabelNamesApi(ProjectApiView):
    @property
    def required_scopes(self) -> tuple[str, ...]:
        # The service that deploys a model (ingest key) names its labels; reading: either.
        return ("ingest",) if self.request.method == "PATCH" else ("ingest", "read")

    @extend_schema(
        operation_id="labels_list",
        responses={200: LabelNamesSerializer, **error_responses(401, 403)},
        description="The project's labels (in the label set's order) with the names customers "
        "see, per language.",
    )
    def get(self, request, slug):
        return _answer(self.project)

    @extend_schema(
        operation_id="labels_update",
        request=LabelNamesChangeSerializer,
        responses={200: LabelNamesSerializer, **error_responses(400, 401, 403)},
        description="Set or remove names; labels not mentioned keep theirs. All or nothing: "
        "an error names the field (`names.<label>`, `translations.<language>.<label>`).",
    )
    def patch(self, request, slug):
        change = LabelNamesChangeSerializer(data=request.data)
        change.is_valid(raise_exception=True)  # shapes and types; the service, the labels
        data = change.validated_data
        try:
            project = label_names_update(
                project=self.project,
                names=data.get("names"),
                translations=data.get("translations"),
                api_key=request.auth,
            )
        except DjangoValidationError as invalid:
            raise ValidationError(invalid.message_dict) from invalid
        return _answer(project)
