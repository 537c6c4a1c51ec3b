"""Request body parsers that enforce the body size limit themselves.

DRF's parsers read the WSGI stream directly, skipping Django's DATA_UPLOAD_MAX_MEMORY_SIZE, so
without these a client could send any amount. Chunked bodies (no Content-Length) are made
readable, still bounded, by `feedback.middleware.ChunkedApiBodyMiddleware`.
"""

import zlib

import orjson
from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError, UnsupportedMediaType
from rest_framework.parsers import BaseParser

from core.api_errors import PayloadTooLarge

from .validation import InvalidItem

READ_CHUNK = 64 * 1024


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        _("The request body exceeds %(limit)s bytes.") % {"limit": limit},
        {"max_bytes": limit, "max_items": settings.VOC_API_MAX_BATCH_ITEMS},
    )


def _gunzipped(body: bytes, limit: int) -> bytes:
    """The body a gzip stream holds, read no further than the limit (a small compressed body
    can unpack to gigabytes: past the limit it is refused, never held in memory)."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise ParseError(_("The body is not valid gzip.")) from exc
    if len(out) > limit or inflater.unconsumed_tail:
        raise _too_large(limit)
    if not inflater.eof:
        raise ParseError(_("The gzip body is cut short."))
    return out


def read_bounded_body(stream, parser_context) -> bytes:
    """The request body, at most VOC_API_MAX_BODY_BYTES (compressed, and once unpacked when
    sent with Content-Encoding: gzip)."""
    limit = settings.VOC_API_MAX_BODY_BYTES
    request = parser_context["request"]._request
    encoding = request.META.get("HTTP_CONTENT_ENCODING", "").strip().lower()
    if encoding not in ("", "identity", "gzip"):
        raise UnsupportedMediaType(
            f"Content-Encoding {encoding[:50]}", detail=_("Send the body plain or as gzip.")
        )
    declared = request.META.get("CONTENT_LENGTH")
    if declared:
        try:
            if int(declared) > limit:
                raise _too_large(limit)
        except ValueError as exc:
            raise ParseError(_("Invalid Content-Length.")) from exc
    chunks, size = [], 0
    while True:
        chunk = stream.read(READ_CHUNK) if stream is not None else b""
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    body = b"".join(chunks)
    return _gunzipped(body, limit) if encoding == "gzip" else body


class BoundedJSONParser(BaseParser):
    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        body = read_bounded_body(stream, parser_context)
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise ParseError(_("Malformed JSON: %(error)s") % {"error": exc}) from exc


class NDJSONParser(BaseParser):
    media_type = "application/x-ndjson"

    def parse(self, stream, media_type=None, parser_context=None):
        body = read_bounded_body(stream, parser_context)
        items = []
        for line in body.splitlines():
            if not line.strip():
                continue
            try:
                items.append(orjson.loads(line))
            except orjson.JSONDecodeError as exc:
                # reported as a rejected item; the other lines are kept
                items.append(InvalidItem(_("Malformed JSON: %(error)s") % {"error": exc}))
        return items
