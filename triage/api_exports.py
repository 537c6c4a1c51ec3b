"""Dataset exports in the public API (docs/api.md): request, follow, download."""

from django.http import HttpResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_noop as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from core import files
from core.api import PAGE_PARAMETERS, ProjectApiView, error_responses, paginated

from .api import Pagination
from .models import DatasetExport
from .selectors_exports import export_get, exports_for_project
from .services.exports import ExportInvalid, export_downloaded, export_file_name, export_request

NOT_FOUND = _("No export with this id.")


class NotReady(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "not_ready"
    default_detail = _("This export has no file to download: it is not built (or it failed).")


class FiltersSerializer(serializers.Serializer):
    categories = serializers.ListField(child=serializers.IntegerField(), required=False)
    improvement_points = serializers.ListField(child=serializers.IntegerField(), required=False)
    model_versions = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False
    )
    labels = serializers.ListField(child=serializers.CharField(max_length=200), required=False)
    since = serializers.DateTimeField(required=False, allow_null=True)
    until = serializers.DateTimeField(required=False, allow_null=True)
    reviewed_only = serializers.BooleanField(required=False, default=False)
    sources = serializers.ListField(
        child=serializers.ChoiceField(choices=["customer", "reviewer"]),
        required=False,
        help_text="Whose labels the rows take: customers' corrections, reviewers' labels "
        "(default both). A reviewer's label wins over customers' corrections of the same "
        "prediction either way.",
    )


class SplitSerializer(serializers.Serializer):
    validation = serializers.FloatField(min_value=0, max_value=1)
    seed = serializers.IntegerField(min_value=0, required=False, default=0)


class ExportCreateSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=DatasetExport.Format.choices)
    filters = FiltersSerializer(required=False)
    resolution = serializers.ChoiceField(
        choices=DatasetExport.Resolution.choices, required=False, default="latest"
    )
    split = SplitSerializer(required=False, allow_null=True)
    flagged = serializers.ChoiceField(
        choices=["ignore", "mark", "exclude"],
        required=False,
        default="ignore",
        help_text="Likely-wrong corrections: ignore (no check), mark (the `flagged` column) "
        "or exclude (left out, counted in the manifest).",
    )
    reference = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=2**63 - 1,
        help_text="Id of a reference dataset of the project (the team's training set, "
        "uploaded on the exports page): rows whose input it holds are marked or left out.",
    )
    reference_handling = serializers.ChoiceField(
        choices=["mark", "exclude"],
        required=False,
        default="mark",
        help_text="mark (the `in_reference` column) or exclude (left out, counted).",
    )


class ExportQueuedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.CharField()
    status = serializers.CharField()


class ExportSerializer(serializers.ModelSerializer):
    version = serializers.CharField(source="label")
    progress = serializers.FloatField()
    manifest = serializers.JSONField()
    filters = serializers.JSONField()
    split = serializers.JSONField()
    options = serializers.JSONField()

    class Meta:
        model = DatasetExport
        fields = [
            "id",
            "version",
            "status",
            "format",
            "resolution",
            "filters",
            "split",
            "options",
            "progress",
            "row_count",
            "size_bytes",
            "sha256",
            "created_at",
            "finished_at",
            "error",
            "manifest",
        ]


def _service_errors(invalid: ExportInvalid) -> ValidationError:
    """The service names nested fields with dots (filters.categories); the API nests them
    the way the serializers do: {"filters": {"categories": [...]}}."""
    errors: dict = {}
    for name, messages in invalid.errors.items():
        head, _, rest = name.partition(".")
        if rest:
            errors.setdefault(head, {})[rest] = messages
        else:
            errors[head] = messages
    return ValidationError(errors)


CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/x-ndjson",
    "parquet": "application/vnd.apache.parquet",
}


class ExportListApi(ProjectApiView):
    @property
    def required_scopes(self):
        # Creating needs `export`; listing is reading.
        return ("export",) if self.request.method == "POST" else ("export", "read")

    @extend_schema(
        operation_id="exports_create",
        request=ExportCreateSerializer,
        responses={202: ExportQueuedSerializer, **error_responses(400, 401, 403)},
        description="Queue an export of the project's resolved corrections (one row per "
        "prediction). It is numbered v1, v2, ... per project and immutable once built. "
        "Needs the `export` scope.",
    )
    def post(self, request, slug):
        data = request.data if isinstance(request.data, dict) else {}
        serializer = ExportCreateSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        values = serializer.validated_data
        try:
            export = export_request(
                project=self.project,
                format=values["format"],
                filters=values.get("filters") or {},
                resolution_policy=values["resolution"],
                split=values.get("split"),
                flagged=values["flagged"],
                reference=values.get("reference"),
                reference_handling=values["reference_handling"],
                api_key=request.auth,
            )
        except ExportInvalid as invalid:
            raise _service_errors(invalid) from invalid
        return Response(
            {"id": export.id, "version": export.label, "status": export.status},
            status=status.HTTP_202_ACCEPTED,
        )

    @extend_schema(
        operation_id="exports_list",
        parameters=PAGE_PARAMETERS,
        responses={
            200: paginated("PaginatedExportList", ExportSerializer),
            **error_responses(400, 401, 403, 404),
        },
        description="The project's exports, newest first.",
    )
    def get(self, request, slug):
        paginator = Pagination()
        page = paginator.paginate_queryset(
            exports_for_project(project=self.project).order_by("-number"), request, view=self
        )
        return paginator.get_paginated_response(ExportSerializer(page, many=True).data)


class ExportDetailApi(ProjectApiView):
    required_scopes = ("export", "read")

    @extend_schema(
        operation_id="exports_retrieve",
        responses={200: ExportSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request, slug, export_id: int):
        export = export_get(project=self.project, export_id=export_id)
        if export is None:
            raise NotFound(gettext(NOT_FOUND))
        return Response(ExportSerializer(export).data)


class ExportDownloadApi(ProjectApiView):
    required_scopes = ("export",)

    @extend_schema(
        operation_id="exports_download",
        responses={
            **{
                (200, content_type.split(";")[0]): OpenApiResponse(
                    OpenApiTypes.BINARY,
                    description="The export's file (CSV, JSON Lines or Parquet); its sha256 is "
                    "in the manifest.",
                )
                for content_type in CONTENT_TYPES.values()
            },
            302: OpenApiResponse(
                description="Where files are in a bucket and downloads are presigned "
                "(VOC_STORAGE_PRESIGNED): a redirect to a signed URL of the file, valid for a "
                "few minutes. Its sha256 is in X-Content-SHA256 either way."
            ),
            **error_responses(401, 403, 404, 409),
        },
    )
    def get(self, request, slug, export_id: int):
        export = export_get(project=self.project, export_id=export_id)
        if export is None:
            raise NotFound(gettext(NOT_FOUND))
        name = export_file_name(export)
        if name is None:
            raise NotReady()
        export_downloaded(export=export, api_key=request.auth)
        return export_file_response(export, name)


def export_file_response(export: DatasetExport, name: str) -> HttpResponse:
    """The file as an attachment named after the export (never a name from the request):
    streamed, or a redirect to a short-lived signed URL of the bucket (core.files)."""
    response = files.download_response(
        name, filename=export.file_name, content_type=CONTENT_TYPES[export.format]
    )
    response["X-Content-SHA256"] = export.sha256
    return response
