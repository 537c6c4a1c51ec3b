from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from feedback import views as feedback_views

urlpatterns = [
    path("", feedback_views.home, name="home"),
    path("f/<str:token>", feedback_views.feedback_form, name="feedback-form"),
    path("p/<slug:slug>/", feedback_views.project_home, name="project-home"),
    path("p/<slug:slug>/", include("triage.urls")),
    path("p/<slug:slug>/imports/", include("feedback.urls_imports")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("feedback.urls_api")),
    path("api/v1/", include("triage.urls_api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its script as a file: no inline script, so the CSP holds.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]
