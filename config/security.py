"""Content-Security-Policy on every response.

Scripts only from our own static files (no inline script, no eval), so customer text that
slips into a page can never run. A view may widen framing for itself by setting
`response.csp_frame_ancestors` (the customer's embeddable feedback page does).
"""

from django.conf import settings

BASE_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    # Styles only from our stylesheets too: no style attribute or element in any page (bars
    # are <meter>s, heat cells classes); scripts may still set styles through the CSSOM.
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "Content-Security-Policy" in response:
            return response
        policy = dict(BASE_POLICY)
        ancestors = getattr(response, "csp_frame_ancestors", None)
        if ancestors:
            policy["frame-ancestors"] = " ".join(ancestors)
        policy.update(getattr(response, "csp_overrides", {}))
        if not settings.DEBUG and request.is_secure():
            policy["upgrade-insecure-requests"] = ""
        response["Content-Security-Policy"] = "; ".join(
            f"{key} {value}".strip() for key, value in policy.items()
        )
        return response
