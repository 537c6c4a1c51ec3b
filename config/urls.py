from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpResponsePermanentRedirect, JsonResponse
from django.templatetags.static import static
from django.urls import include, path
from django.views.defaults import page_not_found
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config.health import healthz
from core.api_errors import error_body
from core.language import language_set
from feedback import views as feedback_views
from lifecycle import views as lifecycle_views


def favicon(request):
    # Resolved per request: production's hashed static names exist only after collectstatic.
    return HttpResponsePermanentRedirect(static("favicon.svg"))


class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI. The split view serves its script as a file, so no inline script runs; the
    UI sets style attributes, allowed on this page only (it shows our schema, never customer
    text)."""

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        response.csp_overrides = {"style-src": "'self' 'unsafe-inline'"}
        return response


urlpatterns = [
    # Browsers ask for /favicon.ico whatever the page says.
    path("favicon.ico", favicon),
    path("healthz", healthz, name="healthz"),
    path("language", language_set, name="language-set"),
    path("", feedback_views.home, name="home"),
    path("f/<str:token>", feedback_views.feedback_form, name="feedback-form"),
    path("p/<slug:slug>/", feedback_views.project_home, name="project-home"),
    path("p/<slug:slug>/", include("triage.urls")),
    path("p/<slug:slug>/imports/", include("feedback.urls_imports")),
    path("p/<slug:slug>/members/", include("feedback.urls_members")),
    path("p/<slug:slug>/privacy/", include("lifecycle.urls")),
    path("p/<slug:slug>/settings/", lifecycle_views.project_settings, name="project-settings"),
    path("p/<slug:slug>/", include("dashboards.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # One-time set-password links for new members (feedback/members.py).
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("admin/", admin.site.urls),
    path("api/v1/", include("feedback.urls_api")),
    path("api/v1/", include("triage.urls_api")),
    path("api/v1/", include("dashboards.urls_api")),
    path("api/v1/", include("lifecycle.urls_api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", ApiDocsView.as_view(url_name="api-schema"), name="api-docs"),
]


def api_aware_404(request, exception):
    """API paths answer in the API's error shape even when no route matched (a malformed id)."""
    if request.path.startswith("/api/"):
        body = error_body("not_found", "No such resource.")
        return JsonResponse(body, status=404)
    return page_not_found(request, exception)


handler404 = api_aware_404
