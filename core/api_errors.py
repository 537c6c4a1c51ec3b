"""The API's error shape: {"error": {"code", "message", "details"}} with a 4xx status."""

import logging

from django import db
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"
    default_detail = _("The request body is too large.")

    def __init__(self, detail: str, limits: dict):
        super().__init__(detail)
        self.limits = limits


class InvalidBody(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid_body"
    default_detail = _("The request body does not have the expected shape.")


logger = logging.getLogger(__name__)

CODES = {
    exceptions.ParseError: "invalid_json",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "not_authenticated",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "rate_limited",
    exceptions.ValidationError: "invalid_request",
}


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "unavailable"
    default_detail = _("The database is unavailable; retry shortly (nothing was stored).")
    wait = 5


def api_exception_handler(exc, context):
    if isinstance(exc, db.OperationalError | db.InterfaceError):
        # The database went away (restart, failover): the request's transaction is gone, so
        # nothing was stored. Say so with a retryable status instead of a 500.
        logger.warning("database unavailable during an API request", exc_info=True)
        exc = ServiceUnavailable()
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None  # a real bug: let Django log it and answer 500

    details: dict = {}
    if isinstance(exc, exceptions.ValidationError):
        message = gettext("The request is invalid.")
        details = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
    else:
        message = str(exc.detail)
    if isinstance(exc, PayloadTooLarge):
        details = exc.limits
    code = getattr(exc, "default_code", None) if type(exc) not in CODES else CODES[type(exc)]
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    if not isinstance(exc, ServiceUnavailable):
        set_rollback()
    return Response(
        error_body(code or "error", message, details), status=exc.status_code, headers=headers
    )
