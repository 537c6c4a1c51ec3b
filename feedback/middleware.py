"""Request middleware of the API."""

import io

from django.conf import settings
from django.http import JsonResponse


class ChunkedApiBodyMiddleware:
    """Chunked API uploads (NDJSON streamed without a Content-Length).

    Django and DRF treat a body without a length as empty. A server that de-chunks its input
    (gunicorn marks it `wsgi.input_terminated`) lets us read it to its end: at most the limit
    plus one byte, then a 413, so memory stays bounded whatever the client sends.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        meta = request.META
        if (
            request.path.startswith("/api/")
            and not meta.get("CONTENT_LENGTH")
            and "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower()
            and meta.get("wsgi.input_terminated")
        ):
            limit = settings.VOC_API_MAX_BODY_BYTES
            body = meta["wsgi.input"].read(limit + 1)
            if len(body) > limit:
                # Imported here: the API modules load DRF, whose settings load this module.
                from core.api_errors import error_body

                from .api_parsers import _too_large

                error = _too_large(limit)
                return JsonResponse(
                    error_body("payload_too_large", str(error.detail), error.limits), status=413
                )
            request._stream = io.BytesIO(body)
            meta["CONTENT_LENGTH"] = str(len(body))
        return self.get_response(request)
