"""Reference datasets in the public API (docs/api.md): upload (202: a worker reads it), list,
read (with the status and progress of the background read), delete."""

from django.utils.translation import gettext
from django.utils.translation import gettext_noop as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from core.api import PAGE_PARAMETERS, ProjectApiView, error_responses, paginated
from core.api_errors import PayloadTooLarge
from core.uploads import TOO_BIG, bounded_uploads

from .api import Pagination
from .models import ReferenceDataset
from .selectors_exports import reference_get, references_for_project
from .services.references import ReferenceInvalid, reference_delete, reference_upload

NOT_FOUND = _("No reference dataset with this id.")
MISSING_FILE = _("Send the training set as the multipart field 'file'.")


class ReferenceSerializer(serializers.ModelSerializer):
    problems = serializers.ListField(
        child=serializers.CharField(), help_text="The first skipped rows, by line, and why."
    )
    status = serializers.ChoiceField(
        choices=ReferenceDataset.Status.choices,
        help_text="queued, running (being read), succeeded (ready: exports can use it) or "
        "failed (see error).",
    )
    ready = serializers.BooleanField(source="is_ready")
    progress = serializers.FloatField(help_text="Share of the file read, 0..1.")

    class Meta:
        model = ReferenceDataset
        fields = [
            "id",
            "name",
            "text_column",
            "format",
            "status",
            "ready",
            "progress",
            "bytes_read",
            "error",
            "sha256",
            "size_bytes",
            "rows",
            "skipped",
            "key_count",
            "problems",
            "created_at",
            "finished_at",
        ]


class ReferenceCreateSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text="CSV (with a header row), JSON Lines (.jsonl, .ndjson) or Parquet; named "
        "with its extension."
    )
    text_column = serializers.CharField(
        required=False,
        default="text",
        max_length=200,
        help_text="The column that holds the input texts.",
    )


class ReferenceListApi(ProjectApiView):
    parser_classes = [MultiPartParser]

    @property
    def required_scopes(self) -> tuple[str, ...]:
        # Reading needs either scope; uploading changes what exports can use: export only.
        return ("export",) if self.request.method == "POST" else ("export", "read")

    @extend_schema(
        operation_id="references_create",
        request={"multipart/form-data": ReferenceCreateSerializer},
        responses={202: ReferenceSerializer, **error_responses(400, 401, 403, 413)},
        description="Upload a training set; it is read into keys in the background. Poll "
        "the dataset until its status is succeeded (ready) or failed (see error).",
    )
    def post(self, request, slug):
        handler = bounded_uploads(request._request)
        data = request.data
        if handler.exceeded:
            raise PayloadTooLarge(
                gettext(TOO_BIG).format(limit=handler.limit), {"max_bytes": handler.limit}
            )
        if request.FILES.get("file") is None:
            raise ValidationError({"file": [gettext(MISSING_FILE)]})
        values = ReferenceCreateSerializer(data=data)
        values.is_valid(raise_exception=True)
        try:
            dataset = reference_upload(
                project=self.project,
                upload=values.validated_data["file"],
                text_column=values.validated_data["text_column"],
                api_key=request.auth,
            )
        except ReferenceInvalid as invalid:
            raise ValidationError(invalid.errors) from invalid
        return Response(ReferenceSerializer(dataset).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        operation_id="references_list",
        parameters=PAGE_PARAMETERS,
        responses={
            200: paginated("PaginatedReferenceList", ReferenceSerializer),
            **error_responses(400, 401, 403, 404),
        },
        description="The project's reference datasets, newest first.",
    )
    def get(self, request, slug):
        paginator = Pagination()
        page = paginator.paginate_queryset(
            references_for_project(project=self.project), request, view=self
        )
        return paginator.get_paginated_response(ReferenceSerializer(page, many=True).data)


class ReferenceDetailApi(ProjectApiView):
    @property
    def required_scopes(self) -> tuple[str, ...]:
        # Reading needs either scope; deleting changes what exports can use: export only.
        return ("export",) if self.request.method == "DELETE" else ("export", "read")

    def _reference(self, reference_id: int) -> ReferenceDataset:
        dataset = reference_get(project=self.project, reference_id=reference_id)
        if dataset is None:
            raise NotFound(gettext(NOT_FOUND))
        return dataset

    @extend_schema(
        operation_id="references_retrieve",
        responses={200: ReferenceSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request, slug, reference_id: int):
        return Response(ReferenceSerializer(self._reference(reference_id)).data)

    @extend_schema(
        operation_id="references_destroy",
        responses={204: None, **error_responses(401, 403, 404)},
        description="Delete the dataset and its keys. Exports built with it keep their "
        "manifest; an export still queued with it fails, saying so.",
    )
    def delete(self, request, slug, reference_id: int):
        reference_delete(dataset=self._reference(reference_id), api_key=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)
