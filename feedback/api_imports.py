"""CSV imports through the API: upload (multipart) and follow a job."""

from django.db import transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_noop as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from core import files
from core.api import ProjectApiView, error_responses
from core.api_errors import PayloadTooLarge
from core.uploads import TOO_BIG, bounded_uploads

from . import imports
from .api_schema import ImportCreateSerializer, ImportJobSerializer
from .selectors import import_job_get

MISSING_FILE = _("Send the CSV as the multipart field 'file'.")
COLUMN_PARAMS = {f"{name}_column": name for name in imports.FIELD_OF}


def _errors_as_params(errors: dict) -> dict:
    """Service errors name item fields (text); the API's parameters are text_column."""
    return {(f"{k}_column" if k in imports.FIELD_OF else k): v for k, v in errors.items()}


class ImportListApi(ProjectApiView):
    required_scopes = ("ingest",)
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="imports_create",
        request={"multipart/form-data": ImportCreateSerializer},
        responses={202: ImportJobSerializer, **error_responses(400, 401, 403, 413)},
        description="Upload a CSV export of complaints; it is imported in the background. "
        "Columns not given are guessed from the header. Rows are idempotent by the ticket "
        "id column, else by their content. Poll the job for progress.",
    )
    def post(self, request, slug):
        handler = bounded_uploads(request._request)
        data = request.data
        if handler.exceeded:
            raise PayloadTooLarge(
                gettext(TOO_BIG).format(limit=handler.limit), {"max_bytes": handler.limit}
            )
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationError({"file": [gettext(MISSING_FILE)]})
        job = None
        try:
            with transaction.atomic():
                job = imports.import_job_upload(
                    project=self.project,
                    upload=upload,
                    encoding=data.get("encoding") or "utf-8",
                    delimiter=data.get("delimiter") or ",",
                    api_key=request.auth,
                )
                mapping = dict(job.mapping)
                for param, name in COLUMN_PARAMS.items():
                    if data.get(param) is not None:
                        mapping[name] = data[param]
                job = imports.import_job_start(
                    job=job, mapping=mapping, tz=data.get("timezone") or "UTC"
                )
        except imports.ImportInvalid as invalid:
            if job is not None:  # its row is rolled back; its file goes too
                job.file.delete(save=False)
            raise ValidationError(_errors_as_params(invalid.errors)) from invalid
        return Response(ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class ImportDetailApi(ProjectApiView):
    required_scopes = ("ingest", "read")

    @extend_schema(
        operation_id="imports_retrieve",
        responses={200: ImportJobSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request, slug, job_id):
        job = import_job_get(project=self.project, job_id=job_id)
        if job is None:
            raise NotFound(gettext("No import with this id."))
        return Response(ImportJobSerializer(job).data)


class ImportReportApi(ProjectApiView):
    required_scopes = ("ingest", "read")

    @extend_schema(
        operation_id="imports_report",
        responses={
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="Rejected rows: line, column, message (cells formula-neutralised).",
            ),
            **error_responses(401, 403, 404),
        },
    )
    def get(self, request, slug, job_id):
        job = import_job_get(project=self.project, job_id=job_id)
        if job is None or not files.exists(job.report.name):
            raise NotFound(gettext("No report for this import (yet)."))
        return files.download_response(
            job.report.name,
            filename=f"import-{job.id}-rejected-rows.csv",
            content_type="text/csv; charset=utf-8",
            redirect=False,  # small: never worth a signed URL
        )
